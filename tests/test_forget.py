"""`cleantech-survey forget WAVE`: a trial wave's outputs archived, then the wave gone from the warehouse and the UI."""

import fcntl
import json
import os

import dagster as dg
import duckdb
import pytest

from generators.synthetic import generate_wave
from tests.conftest import command, write_wave
from tests.test_command_line import stage_into_warehouse
from workflows.warehouse.restatement import NOTHING_PUBLISHED, RESTATES_TAG


def wave_rows(database) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as conn:
        tables = conn.execute("select table_schema, table_name from information_schema.columns "
                              "where column_name = 'wave'").fetchall()
        return {f"{schema}.{table}": conn.execute(f'select count(*) from "{schema}"."{table}" where wave = \'trial\''
                                                  ).fetchall()[0][0] for schema, table in tables}


def partition_rows(instance: dg.DagsterInstance, wave: str) -> int:
    """The rows of the instance's asset index that name the wave's partition: events and check executions."""
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable

    with instance.event_log_storage.index_connection() as conn:
        return sum(len(conn.execute(table.select().where(table.c.partition == wave)).fetchall())
                   for table in (AssetCheckExecutionsTable, SqlEventLogStorageTable))


def test_forget_refuses_an_unknown_wave_a_wave_whose_file_is_in_the_raw_folder_and_waits_for_a_busy_warehouse(
        tmp_path, isolated_project, monkeypatch):
    done = command("forget", "trial")
    assert done.returncode == 2 and "no wave trial is known" in done.stderr
    assert command("forget", "../x").returncode == 2
    source = write_wave(isolated_project / "raw" / "trial.csv", generate_wave({"bat_trang": 3}, seed=1))
    stage_into_warehouse(isolated_project, source, "trial")
    done = command("forget", "trial")
    assert done.returncode == 2 and "still in the raw folder" in done.stderr
    assert sum(wave_rows(isolated_project / "warehouse" / "survey.duckdb").values()) > 0
    # Two files of the wave (which the sensor skips) still hold it in the raw folder.
    second = isolated_project / "raw" / "trial.xlsx"
    second.write_bytes(b"PK")
    done = command("forget", "trial")
    assert done.returncode == 2 and "trial.csv" in done.stderr and "trial.xlsx" in done.stderr
    second.unlink()

    source.rename(tmp_path / "trial.csv")
    monkeypatch.setenv("CLEANTECH_LOCK_WAIT_SECONDS", "0.3")
    lock = os.open(isolated_project / "warehouse" / "survey.duckdb.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a run holds the warehouse
        done = command("forget", "trial")
    finally:
        os.close(lock)
    assert done.returncode == 3 and "still in use by another run" in done.stderr
    assert sum(wave_rows(isolated_project / "warehouse" / "survey.duckdb").values()) > 0


@pytest.mark.integration  # a whole run, in this process, before the wave is forgotten
def test_forget_archives_the_outputs_then_removes_the_wave_from_the_warehouse_and_the_ui(tmp_path, isolated_project):
    rows = generate_wave({"bat_trang": 3, "dong_ky": 3}, seed=5)
    rows[1]["q1_noise"] = "11"
    assert command("run", str(write_wave(tmp_path / "trial.csv", rows))).returncode == 1
    database, outputs = isolated_project / "warehouse" / "survey.duckdb", isolated_project / "outputs"
    instance = dg.DagsterInstance.get()
    # The UI's account as a failed run leaves it after restatement, and another wave that must stay.
    for wave, tags in (("trial", {RESTATES_TAG: NOTHING_PUBLISHED}), ("keep", {})):
        instance.add_dynamic_partitions("wave", [wave])
        instance.report_runless_asset_event(dg.AssetMaterialization("survey_responses", partition=wave, tags=tags))
    assert "failed validation" in command("waves").stdout
    assert sum(wave_rows(database).values()) > 0
    assert partition_rows(instance, "trial") > 0

    done = command("forget", "trial")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Wave trial is forgotten: its outputs were moved to ")
    archived = list((outputs / "_archive").glob("trial-*/outputs"))
    assert len(archived) == 1 and not (outputs / "trial").exists()
    assert {p.name for p in archived[0].iterdir()} == {"validation.json", "validation.html", "issues.xlsx"}
    assert json.loads((archived[0] / "validation.json").read_text())["wave"] == "trial"
    assert set(wave_rows(database).values()) == {0}

    instance = dg.DagsterInstance.get()
    assert instance.get_dynamic_partitions("wave") == ["keep"]
    for key in instance.get_asset_keys():
        records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key, asset_partitions=["trial"]),
                                                  limit=10).records
        assert records == [], key
    assert partition_rows(instance, "trial") == 0
    kept = instance.get_latest_materialization_event(dg.AssetKey("survey_responses"))
    assert kept is not None and kept.dagster_event.partition == "keep"
    assert instance.get_latest_materialization_event(dg.AssetKey("raw_wave")) is None
    assert "trial" not in command("waves").stdout
    assert command("forget", "trial").returncode == 2
