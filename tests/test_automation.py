"""The sensor on the raw folder and the schedule for stale waves.

Both read the instance's events, not the runs: their tests fabricate the events a run leaves
(or materialize the one asset that is read), and one test loads waves whole, end to end.
"""

import hashlib
import json
import os
import shutil
import time

import duckdb

import dagster as dg
import pytest

from dagster._core.definitions.instigation_logger import get_instigation_log_records

from tests.conftest import materialize_wave, project_resources, write_wave
from tests.test_raw_folder import deadline, hostile_folder
from workflows.definitions import defs
from workflows.defs.automation import raw_wave_files, stale_waves
from workflows.defs.ingest import raw_wave
from workflows.defs.resources import WaveFiles
from workflows.command.terminal import printable
from generators.synthetic import generate_wave


@pytest.fixture
def setting(isolated_project):
    wave_files = WaveFiles(raw_dir=str(isolated_project / "raw"), outputs_dir=str(isolated_project / "outputs"))
    (isolated_project / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(isolated_project / "instance")) as instance:
        yield isolated_project / "raw", wave_files, instance


def tick(instance, wave_files, cursor=None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"wave_files": wave_files}) as context:
        return raw_wave_files(context)


def logged_tick(instance, wave_files, cursor=None):
    """One tick as the daemon runs it, its log kept by the instance: the result, the messages, the seconds."""
    with dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), cursor=cursor,
                                 resources={"wave_files": wave_files}, repository_name="cleantech",
                                 sensor_name="raw_wave_files") as context:
        before = len(get_instigation_log_records(instance, context.log_key))
        started = time.perf_counter()
        with deadline(10):
            result = raw_wave_files(context)
        seconds = time.perf_counter() - started
    records = get_instigation_log_records(instance, context.log_key)[before:]
    return result, [record["dagster_meta"]["orig_message"] for record in records], seconds


def test_the_sensor_runs_a_new_file_once_and_a_changed_file_again(setting):
    raw, wave_files, instance = setting
    path = write_wave(raw / "2011.csv", generate_wave({"van_phuc": 4}, seed=1))
    (raw / "not a wave.csv").write_text("x")
    (raw / "notes.txt").write_text("x")

    first = tick(instance, wave_files)
    assert [r.partition_key for r in first.run_requests] == ["2011"]
    assert first.dynamic_partitions_requests[0].partition_keys == ["2011"]
    instance.add_dynamic_partitions("wave", ["2011"])

    unchanged = tick(instance, wave_files, first.cursor)
    assert unchanged.run_requests == [] and unchanged.dynamic_partitions_requests == []

    os.utime(path, ns=(0, 10**18))  # touched, same bytes
    touched = tick(instance, wave_files, unchanged.cursor)
    assert touched.run_requests == []

    write_wave(path, generate_wave({"van_phuc": 5}, seed=2))
    changed = tick(instance, wave_files, touched.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2011"]
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key
    assert changed.dynamic_partitions_requests == []


def ran(instance, graph, wave: str, source, published: bool = True, older_code: tuple[str, ...] = ()) -> None:
    """The events a run of the wave on this file leaves, fabricated: every asset's materialization with its
    code version (`older_code`: an earlier one), or, for a run stopped by its blocking checks, raw_wave's alone."""
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    for key in graph.get_all_asset_keys() if published else [dg.AssetKey("raw_wave")]:
        name = key.to_user_string()
        metadata = {"raw_sha256": sha} if name in ("raw_wave", "survey_responses", "wave_report") else {}
        if name == "survey_responses":
            metadata["median_interview_date"] = "2007-09-15"
        if name == "wave_comparison":
            metadata["previous_wave"] = "none"
        version = "0ld" if name in older_code else graph.get(key).code_version
        instance.report_runless_asset_event(dg.AssetMaterialization(
            key, partition=wave, metadata=metadata, tags={"dagster/code_version": version}))


def test_the_schedule_reruns_only_stale_waves(setting):
    raw, wave_files, instance = setting
    source = write_wave(raw / "w.csv", generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=3))
    instance.add_dynamic_partitions("wave", ["w"])
    repository = defs().get_repository_def()

    def requests():
        with dg.build_schedule_context(instance=instance, resources={"wave_files": wave_files},
                                       repository_def=repository) as context:
            return {r.partition_key: r.tags["cleantech/stale_because"] for r in stale_waves(context)}

    assert requests() == {"w": "never reported"}
    ran(instance, repository.asset_graph, "w", source)
    assert requests() == {}

    broken = generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=3)
    broken[0]["q1_noise"] = "0"
    write_wave(source, broken)
    assert requests() == {"w": "the raw file changed"}
    ran(instance, repository.asset_graph, "w", source, published=False)
    assert requests() == {}  # this file failed validation: only a new file can help

    shutil.copy(source, raw / "copy.csv")
    write_wave(source, generate_wave({"bat_trang": 6, "dong_ky": 5, "van_phuc": 5}, seed=4))
    assert requests() == {"w": "the raw file changed"}
    ran(instance, repository.asset_graph, "w", source, older_code=("firm_indices",))
    assert requests() == {"w": "the code of firm_indices changed"}
    ran(instance, repository.asset_graph, "w", source)
    assert requests() == {}


@pytest.mark.integration
def test_a_wave_compares_with_the_wave_interviewed_before_it_whatever_the_order_of_loading(setting):
    raw, wave_files, instance = setting
    early = generate_wave({"bat_trang": 4, "dong_ky": 4, "van_phuc": 4}, seed=5)
    late = [dict(row, interview_date=row["interview_date"].replace("2007", "2009")) for row in early[2:]]
    late[0]["q6_equipment_installed"], late[0]["q9_introduced_by"] = "yes", "government"
    late[0]["q7_capital_cost_mvnd"] = "3.5"
    newcomer = dict(early[0], firm_id="BT-9999", interview_date="2009-09-10")
    # Each file as its form asks it: the early one without the energy question, which the 2009 form adds.
    from schemas.questionnaire import shipped

    write_wave(raw / "late.csv", [dict(row, q23_energy_source="gas") for row in late + [newcomer]], shipped()[1].columns)
    write_wave(raw / "early.csv", early, shipped()[0].columns)
    instance.add_dynamic_partitions("wave", ["late", "early"])
    definitions = defs()

    def materialize(wave):
        return materialize_wave(instance, raw.parent, wave)

    def scheduled():
        with dg.build_schedule_context(instance=instance, resources={"wave_files": wave_files},
                                       repository_def=definitions.get_repository_def()) as context:
            return sorted(r.partition_key for r in stale_waves(context))

    assert materialize("late").success  # loaded first: no earlier wave yet
    assert materialize("early").success
    assert scheduled() == ["late"]  # its predecessor is now "early"
    assert materialize("late").success
    assert scheduled() == []

    with duckdb.connect(os.environ["CLEANTECH_WAREHOUSE"], read_only=True) as conn:
        document = json.loads(conn.execute("select document from wave_comparisons where wave = 'late'").fetchall()[0][0])
        earlier = json.loads(conn.execute("select document from wave_comparisons where wave = 'early'").fetchall()[0][0])
    assert earlier["previous_wave"] is None
    assert document["previous_wave"] == "early"
    adopted_before = sum(r["q6_equipment_installed"] == "yes" for r in early[2:])
    changed = 1 if early[2]["q6_equipment_installed"] == "no" else 0
    assert document["panel"].get("left_the_panel") == 2 and document["panel"].get("new_entrant") == 1
    assert document["panel"].get("adopted_since", 0) == changed
    assert document["panel"].get("kept_adopting", 0) == adopted_before
    total = next(r for r in document["by_cluster"] if r["cluster"] == "total")
    assert (total["n"], total["n_previous"]) == (11, 12)
    assert total["adoption_share"] == pytest.approx((adopted_before + changed + (newcomer["q6_equipment_installed"] == "yes")) / 11)
    assert document["questionnaire"] == [{"question": "q23_energy_source", "change": "added",
                                          "details": ["Q23 Main source of energy for the kiln or loom"]}]


def test_the_sensor_skips_fifos_devices_folders_and_bad_names_quickly_and_says_so_once(setting):
    raw, wave_files, instance = setting
    expected = hostile_folder(raw)
    os.mkfifo(raw / "2012.csv")  # a wave's name, but a FIFO: it must not block the tick
    expected["2012.csv"] = "FIFO"
    write_wave(raw / "2011.csv", generate_wave({"van_phuc": 4}, seed=1))

    first, messages, seconds = logged_tick(instance, wave_files)
    print(f"first tick with a FIFO, /dev/zero and a folder named *.csv: {seconds * 1000:.1f} ms")
    assert seconds < 2
    assert [r.partition_key for r in first.run_requests] == ["2011"]
    assert first.dynamic_partitions_requests[0].partition_keys == ["2011"]
    for name, word in expected.items():
        said = [m for m in messages if m.startswith(f"skipped {printable(name)} in the raw folder: ")]
        assert len(said) == 1 and word in said[0], (name, messages)
    assert not any("\x1b" in m for m in messages)
    instance.add_dynamic_partitions("wave", ["2011"])

    again, messages, seconds = logged_tick(instance, wave_files, first.cursor)
    assert again.run_requests == [] and messages == [] and seconds < 2  # said once, not on every tick

    (raw / "folder.csv").rmdir()
    os.mkfifo(raw / "folder.csv")  # the same name, another kind: said again
    (raw / "pipe.csv").unlink()
    write_wave(raw / "pipe.csv", generate_wave({"dong_ky": 4}, seed=2))  # now a real file: a wave
    changed, messages, _ = logged_tick(instance, wave_files, again.cursor)
    assert messages == ["skipped folder.csv in the raw folder: it is a named pipe (FIFO), not a regular file."]
    assert [r.partition_key for r in changed.run_requests] == ["pipe"]


def test_the_sensor_reads_every_export_type_and_refuses_two_files_of_one_wave(setting):
    raw, wave_files, instance = setting
    from tests.test_platform_exports import write_sav, write_xlsx

    write_xlsx(raw / "2011.xlsx", generate_wave({"van_phuc": 4}, seed=1))
    write_sav(raw / "2012.sav", generate_wave({"dong_ky": 4}, seed=2))
    write_wave(raw / "2013.csv", generate_wave({"bat_trang": 4}, seed=3))
    write_xlsx(raw / "2013.xlsx", generate_wave({"bat_trang": 4}, seed=3))

    first, messages, _ = logged_tick(instance, wave_files)
    assert sorted(r.partition_key for r in first.run_requests) == ["2011", "2012"]
    assert {r.partition_key: r.tags["cleantech/source_file"] for r in first.run_requests} == {
        "2011": "2011.xlsx", "2012": "2012.sav"}
    refused = [m for m in messages if "wave 2013 has 2 files" in m]
    assert refused == [f"skipped {name} in the raw folder: wave 2013 has 2 files (2013.csv, 2013.xlsx) and none is "
                       "read until only one is left: remove or rename the others."
                       for name in ("2013.csv", "2013.xlsx")]
    instance.add_dynamic_partitions("wave", ["2011", "2012"])

    again, messages, _ = logged_tick(instance, wave_files, first.cursor)
    assert again.run_requests == [] and messages == []  # said once
    (raw / "2013.csv").unlink()
    resolved, _, _ = logged_tick(instance, wave_files, again.cursor)
    assert [(r.partition_key, r.tags["cleantech/source_file"]) for r in resolved.run_requests] == [
        ("2013", "2013.xlsx")]


def test_a_file_put_back_to_an_earlier_version_runs_again(setting):
    raw, wave_files, instance = setting
    a, b = generate_wave({"van_phuc": 4}, seed=1), generate_wave({"van_phuc": 4}, seed=2)
    path = write_wave(raw / "2011.csv", a)
    cursor, keys = None, []
    for rows, stamp in ((a, 10**18), (b, 2 * 10**18), (a, 3 * 10**18)):
        write_wave(path, rows)
        os.utime(path, ns=(stamp, stamp))
        result = tick(instance, wave_files, cursor)
        assert [r.partition_key for r in result.run_requests] == ["2011"]
        keys.append(result.run_requests[0].run_key)
        cursor = result.cursor
    assert len(set(keys)) == 3
    assert keys[0].endswith(keys[2].rsplit(":", 1)[1])  # the same bytes, a new key


def test_a_wave_already_judged_from_the_command_line_is_not_run_again_at_first_sight(setting):
    raw, wave_files, instance = setting
    write_wave(raw / "2011.csv", generate_wave({"bat_trang": 4, "dong_ky": 4, "van_phuc": 4}, seed=11))
    instance.add_dynamic_partitions("wave", ["2011"])
    # What the sensor reads of a run is its raw_wave materialization: that asset alone, as every run begins.
    assert dg.materialize([raw_wave], instance=instance, partition_key="2011",
                          resources=project_resources(raw.parent)).success
    write_wave(raw / "2012.csv", generate_wave({"van_phuc": 4}, seed=12))  # never run
    instance.delete_dynamic_partition("wave", "2011")  # its materializations stay: it is added again, not run

    first, messages, _ = logged_tick(instance, wave_files)
    assert [r.partition_key for r in first.run_requests] == ["2012"]
    assert first.dynamic_partitions_requests[0].partition_keys == ["2011", "2012"]
    assert any(m.startswith("wave 2011: 2011.csv was already judged") for m in messages), messages
    instance.add_dynamic_partitions("wave", ["2011", "2012"])

    write_wave(raw / "2011.csv", generate_wave({"bat_trang": 4, "dong_ky": 4, "van_phuc": 4}, seed=13))
    changed = tick(instance, wave_files, first.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2011"]
    # Its key counts on from the wave's latest raw_wave event: no key of an earlier daemon is reused.
    latest = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("raw_wave"), asset_partitions=["2011"]), limit=1).records[0]
    assert changed.run_requests[0].run_key.startswith(f"2011:{latest.storage_id + 1}:")


def test_the_cursor_stays_small_whatever_the_folder_held(setting):
    raw, wave_files, instance = setting
    for i in range(300):
        (raw / f"bad name {i}.csv").write_text("x")
    write_wave(raw / "2011.csv", generate_wave({"van_phuc": 4}, seed=1))

    first, messages, _ = logged_tick(instance, wave_files)
    assert len(messages) == 101 and messages[-1].startswith("200 more entries in the raw folder are skipped")
    assert len(first.cursor) < 3000
    again, messages, _ = logged_tick(instance, wave_files, first.cursor)
    assert messages == [] and again.run_requests == []

    for path in raw.glob("*.csv"):
        path.unlink()
    emptied = tick(instance, wave_files, again.cursor)
    assert json.loads(emptied.cursor) == {"v": 2, "waves": {}, "skipped": {}, "corrections": {}}


def test_the_first_cursor_format_is_read_without_rerunning_anything(setting):
    raw, wave_files, instance = setting
    path = write_wave(raw / "2011.csv", generate_wave({"van_phuc": 4}, seed=1))
    info = path.stat()
    old = json.dumps({"2011": {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                               "stamp": [info.st_size, info.st_mtime_ns]}})
    assert tick(instance, wave_files, old).run_requests == []
    write_wave(path, generate_wave({"van_phuc": 5}, seed=2))
    assert [r.run_key.split(":")[1] for r in tick(instance, wave_files, old).run_requests] == ["1"]
    assert [r.partition_key for r in tick(instance, wave_files, "not json").run_requests] == ["2011"]


def test_the_schedule_neither_reads_nor_waits_on_a_fifo(setting):
    raw, wave_files, instance = setting
    os.mkfifo(raw / "w.csv")
    instance.add_dynamic_partitions("wave", ["w"])
    with deadline(10), dg.build_schedule_context(instance=instance, resources={"wave_files": wave_files},
                                                 repository_def=defs().get_repository_def()) as context:
        assert list(stale_waves(context)) == []
