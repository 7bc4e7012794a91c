"""The Dagster instance's storage: Dagster's SQLite files and tables, with connections kept open."""

import os
import shutil

import dagster as dg

from workflows import settings
from workflows.instance_storage import OPEN_DATABASE_FILES, PooledSqliteEventLogStorage


@dg.asset
def tally() -> dg.MaterializeResult:
    """A number, to leave events in the instance."""
    return dg.MaterializeResult(metadata={"n": 1})


def _home_instance() -> dg.DagsterInstance:
    settings.apply_defaults()
    return dg.DagsterInstance.get()


def test_a_new_home_uses_the_pooled_event_log_and_another_instance_reads_what_it_wrote():
    with _home_instance() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        for _ in range(3):
            assert dg.materialize([tally], instance=instance).success
            # Read while the writer keeps its connections open, as the UI reads a run in progress.
            with _home_instance() as watcher:
                assert watcher.get_latest_materialization_event(dg.AssetKey("tally")) is not None
    # A second process (the UI, the daemon) opens the same files with an instance of its own.
    with _home_instance() as reader:
        assert len(reader.get_runs()) == 3
        assert reader.get_latest_materialization_event(dg.AssetKey("tally")) is not None
        events = reader.fetch_materializations(dg.AssetKey("tally"), limit=10).records
        assert len(events) == 3
    home = os.environ["DAGSTER_HOME"]
    assert os.path.isfile(os.path.join(home, "history", "runs.db"))  # Dagster's own layout
    assert os.path.isfile(os.path.join(home, "history", "runs", "index.db"))


def test_a_copied_home_opened_by_its_folder_reads_and_writes_the_copy(tmp_path):
    with _home_instance() as instance:
        assert dg.materialize([tally], instance=instance).success
    copy = tmp_path / "copy"
    shutil.copytree(os.environ["DAGSTER_HOME"], copy)
    with dg.DagsterInstance.from_config(str(copy)) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert dg.materialize([tally], instance=instance).success
        assert len(instance.get_runs()) == 2
    with _home_instance() as original:
        assert len(original.get_runs()) == 1


def test_a_home_made_with_the_earlier_configuration_keeps_its_history_and_gets_the_pooled_event_log():
    home = os.environ["DAGSTER_HOME"]
    os.makedirs(home)
    with open(os.path.join(home, "dagster.yaml"), "w", encoding="utf-8") as handle:
        handle.write(settings.EARLIER_INSTANCE_CONFIGS[0])
    with dg.DagsterInstance.get() as earlier:
        assert not isinstance(earlier.event_log_storage, PooledSqliteEventLogStorage)
        assert dg.materialize([tally], instance=earlier).success
    with _home_instance() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert len(instance.get_runs()) == 1
        assert dg.materialize([tally], instance=instance).success
        assert len(instance.fetch_materializations(dg.AssetKey("tally"), limit=10).records) == 2


def test_a_home_configured_by_hand_is_left_as_it_is():
    home = os.environ["DAGSTER_HOME"]
    os.makedirs(home)
    own = "telemetry:\n  enabled: false\n"
    with open(os.path.join(home, "dagster.yaml"), "w", encoding="utf-8") as handle:
        handle.write(own)
    settings.apply_defaults()
    with open(os.path.join(home, "dagster.yaml"), encoding="utf-8") as handle:
        assert handle.read() == own


def test_the_event_log_keeps_at_most_a_few_files_open(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    try:
        for run in range(OPEN_DATABASE_FILES + 4):
            with storage.run_connection(f"run-{run}") as conn:
                conn.exec_driver_sql("select 1")
        assert len(storage._engines) == OPEN_DATABASE_FILES
        assert "run-0" not in storage._engines and f"run-{OPEN_DATABASE_FILES + 3}" in storage._engines
    finally:
        storage.dispose()
    assert not storage._engines


def test_after_a_wipe_a_run_id_used_again_gets_a_new_file(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    try:
        with storage.run_connection("run-a") as conn:
            conn.exec_driver_sql("select count(*) from event_logs")
        storage.wipe()
        assert not storage._engines
        with storage.run_connection("run-a") as conn:  # created again, with its tables
            assert conn.exec_driver_sql("select count(*) from event_logs").scalar() == 0
    finally:
        storage.dispose()
