"""The whole asset graph materialised in process, as the command line and the UI run it."""

import hashlib

import dagster as dg
import duckdb
import pytest

from tests.conftest import materialize_wave, write_wave

pytestmark = pytest.mark.integration  # each test runs the whole graph, twice


@pytest.fixture
def project(isolated_project):
    database = str(isolated_project / "warehouse" / "survey.duckdb")
    with dg.DagsterInstance.ephemeral() as instance:
        yield isolated_project, database, lambda: materialize_wave(instance, isolated_project, "w1")


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*")) if p.is_file()}


def test_a_valid_wave_materialises_every_asset_publishes_the_contract_files_and_the_same_files_again(project,
                                                                                                      small_wave):
    root, database, materialize = project
    write_wave(root / "raw" / "w1.csv", small_wave)
    result = materialize()
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {
        "wave_corrections", "raw_wave", "survey_responses", "firm_indices", "enterprise_characteristics", "constraint_mentions",
        "knowledge_sources", "pollution_seriousness", "regression_models", "wave_results", "wave_report",
        "wave_facts", "published_comparison", "wave_comparison",
    }
    assert all(e.passed for e in result.get_asset_check_evaluations())
    first = digests(root / "outputs" / "w1")
    assert set(first) == {"report.pdf", "results.json", "firm_indices.csv", "validation.json", "validation.html",
                          "issues.xlsx"}
    with duckdb.connect(database, read_only=True) as conn:
        assert conn.execute("select count(*) from survey_responses").fetchall()[0][0] == len(small_wave)

    # The same wave again replaces it, with the same files.
    assert materialize().success
    assert digests(root / "outputs" / "w1") == first
    with duckdb.connect(database, read_only=True) as conn:
        assert conn.execute("select count(*) from survey_responses").fetchall()[0][0] == len(small_wave)
        assert conn.execute("select count(*) from staging.raw_responses").fetchall()[0][0] == len(small_wave)


def test_a_failing_wave_is_stopped_by_its_blocking_checks_and_leaves_the_last_good_version(project, small_wave):
    root, database, materialize = project
    write_wave(root / "raw" / "w1.csv", small_wave)
    assert materialize().success
    published = digests(root / "outputs" / "w1")
    with duckdb.connect(database, read_only=True) as conn:
        before = conn.execute("select * from survey_responses order by firm_id").df()

    broken = [dict(r) for r in small_wave] + [dict(small_wave[0], q1_noise="11")]
    write_wave(root / "raw" / "w1.csv", broken)
    result = materialize()
    assert not result.success
    failed = {e.check_name for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR}
    assert failed == {"answers_in_range", "firm_ids_unique"}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"wave_corrections", "raw_wave"}
    assert digests(root / "outputs" / "w1") == published
    assert (root / "outputs" / "w1" / "last-attempt" / "validation.json").exists()
    with duckdb.connect(database, read_only=True) as conn:
        after = conn.execute("select * from survey_responses order by firm_id").df()
        staged = conn.execute("select count(distinct raw_sha256) from staging.raw_responses").fetchall()[0][0]
    assert after.equals(before)
    assert staged == 2  # the published version and the failed attempt, side by side
