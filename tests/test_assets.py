"""The assets and checks called directly, with real resources on a temporary warehouse."""

import json

import dagster as dg
import duckdb
import pytest

from tests.conftest import write_wave
from workflows.defs.ingest import raw_wave
from workflows.defs.resources import WaveFiles
from workflows.warehouse.resource import Warehouse
from schemas.rules import RULE_GROUPS
from workflows.defs.validation import latest_verdict, rule_group_result


@pytest.fixture
def resources(isolated_project):
    return {
        # Called directly, outside a run: the warehouse opens a connection per use.
        "warehouse": Warehouse(isolated_project / "warehouse" / "survey.duckdb"),
        "wave_files": WaveFiles(raw_dir=str(isolated_project / "raw"), outputs_dir=str(isolated_project / "outputs")),
    }


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as ephemeral:
        ephemeral.add_dynamic_partitions("wave", ["w1"])
        yield ephemeral


def stage(resources, instance):
    context = dg.build_asset_context(partition_key="w1", instance=instance)
    return raw_wave(context, warehouse=resources["warehouse"], wave_files=resources["wave_files"])


def test_raw_wave_stages_every_row_and_records_the_file_hash(resources, instance, isolated_project, small_wave):
    write_wave(isolated_project / "raw" / "w1.csv", small_wave)
    result = stage(resources, instance)
    assert result.metadata["dagster/row_count"] == len(small_wave)
    assert result.metadata["errors"] == 0 and len(result.metadata["raw_sha256"]) == 64
    assert result.data_version.value == result.metadata["raw_sha256"]
    with duckdb.connect(str(resources["warehouse"].database)) as conn:
        staged = conn.execute("select count(*) from staging.raw_responses where wave = 'w1'").fetchall()[0][0]
    assert staged == len(small_wave)
    document = json.loads((isolated_project / "outputs" / "w1" / "validation.json").read_text())
    assert document == {"wave": "w1", "errors": [], "warnings": [], "counts": {}, "truncated": False}


def test_each_rule_group_check_reports_its_own_failures(resources, instance, isolated_project, small_wave):
    rows = [dict(r) for r in small_wave]
    rows[1]["q1_noise"] = "11"
    rows[2]["firm_id"] = rows[0]["firm_id"]
    write_wave(isolated_project / "raw" / "w1.csv", rows)
    stage(resources, instance)
    with resources["warehouse"].get_connection() as conn:
        verdict = latest_verdict(conn, "w1")
    results = {group.name: rule_group_result(group, *verdict) for group in RULE_GROUPS}
    outcomes = {name: (result.passed, result.metadata["failures"].value) for name, result in results.items()}
    assert outcomes["answers_in_range"] == (False, 1)
    assert outcomes["firm_ids_unique"] == (False, 1)
    assert all(passed for name, (passed, _) in outcomes.items() if name not in ("answers_in_range", "firm_ids_unique"))
    sample = results["firm_ids_unique"].metadata["sample"]
    assert [record.data["column"] for record in sample.records] == ["firm_id"]


def test_check_samples_show_cells_as_text_never_as_markdown(resources, instance, isolated_project, small_wave):
    rows = [dict(r) for r in small_wave]
    hostile = "![x](/graphql?query=mutation%7BlaunchRun%7D) <img src=x>"
    rows[1]["cluster"] = hostile
    write_wave(isolated_project / "raw" / "w1.csv", rows)
    stage(resources, instance)
    with resources["warehouse"].get_connection() as conn:
        verdict = latest_verdict(conn, "w1")
    group = next(g for g in RULE_GROUPS if g.name == "answers_well_formed")
    sample = rule_group_result(group, *verdict).metadata["sample"]
    assert isinstance(sample, dg.TableMetadataValue)
    assert [record.data["value"] for record in sample.records] == [hostile]
