"""Keep the UI's account of a wave true to the warehouse after a run that did not publish.

Dagster records an asset's materialization when its step ends; the warehouse publishes a
wave's rows only when the whole run succeeds. After a run that failed or was killed, the
UI would show that run's materializations as the latest although the warehouse rolled
them back. So the warehouse records which run published each asset of each wave
(`staging.published_materializations`), and after such a run each asset whose latest
materialization is not the published one is restated: the published materialization is
reported again (tagged with the run it restates), or, for a wave never published, a
materialization that says nothing is published (Dagster's SQLite storage cannot wipe one
partition, and the failed run's events stay for the audit).
"""

import dagster as dg
import duckdb

from workflows.warehouse.publication import JOURNAL_DDL

RESTATES_TAG = "cleantech/restates_run"
NOTHING_PUBLISHED = "none"
# The attempt itself is not published: its materialization stays whatever the outcome.
UNPUBLISHED_ASSETS = frozenset({"raw_wave"})


def record_published(conn: duckdb.DuckDBPyConnection, wave: str, asset: str, run_id: str) -> None:
    """In the publishing transaction: this run's materialization of the asset is the published one."""
    conn.execute(JOURNAL_DDL)
    conn.execute("insert or replace into staging.published_materializations values ($wave, $asset, $run)",
                 {"wave": wave, "asset": asset, "run": run_id})


def reconcile(instance: dg.DagsterInstance, conn: duckdb.DuckDBPyConnection, wave: str, log=None) -> list[str]:
    """Restate every asset of the wave whose latest materialization the warehouse does not hold; return them."""
    conn.execute(JOURNAL_DDL)
    published = dict(conn.execute(
        "select asset, run_id from staging.published_materializations where wave = $wave", {"wave": wave}).fetchall())
    registered = conn.execute("select count(*) from information_schema.tables where table_name = 'waves' "
                              "and table_schema = 'main'").fetchall()[0][0]
    ever_published = registered and conn.execute("select count(*) from waves where wave = $wave",
                                                 {"wave": wave}).fetchall()[0][0]
    if ever_published and not published:
        return []  # published before the warehouse kept this record: nothing to compare with
    restated = []
    for key in instance.get_asset_keys():
        name = key.to_user_string()
        if name in UNPUBLISHED_ASSETS:
            continue
        latest = _materializations(instance, key, wave, limit=1)
        if not latest:
            continue
        entry = latest[0].event_log_entry
        expected = published.get(name)
        if (expected or NOTHING_PUBLISHED) in (entry.run_id, entry.asset_materialization.tags.get(RESTATES_TAG)):
            continue
        if expected is None:
            instance.report_runless_asset_event(dg.AssetMaterialization(
                asset_key=key, partition=wave,
                description="Nothing of this wave is published: the run that computed it did not finish.",
                metadata={"published": False, "dagster/row_count": 0,
                          "restated_because": f"run {entry.run_id or '?'} did not publish; the warehouse holds "
                                              "nothing of this wave"},
                tags={RESTATES_TAG: NOTHING_PUBLISHED}))
        else:
            original = next((r.event_log_entry for r in _materializations(instance, key, wave, limit=200)
                             if r.event_log_entry.run_id == expected), None)
            if original is None:
                continue
            materialization = original.asset_materialization
            instance.report_runless_asset_event(dg.AssetMaterialization(
                asset_key=key, partition=wave, description=materialization.description,
                metadata={**materialization.metadata,
                          "restated_because": f"run {entry.run_id or '?'} did not publish; the warehouse holds "
                                              f"run {expected}'s version"},
                tags={**(materialization.tags or {}), RESTATES_TAG: expected}))
        restated.append(name)
    if restated and log is not None:
        log.info("wave %s: the UI now shows the published version of %s", wave, ", ".join(restated))
    return restated


def _materializations(instance: dg.DagsterInstance, key: dg.AssetKey, wave: str, limit: int):
    return instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key, asset_partitions=[wave]),
                                           limit=limit).records


def forget(instance: dg.DagsterInstance, wave: str) -> int:
    """Remove the wave from the instance's account: its partition key and every asset event of that partition
    (materializations, the restated ones included, their planned and failed events, check evaluations); return
    how many events were removed.

    Dagster's SQLite storage cannot wipe one partition (`wipe_asset_partitions` is not implemented there), so
    the events are deleted from its asset index, as `wipe_asset` deletes a whole asset's, and each asset's
    latest materialization is set again from what remains. The runs keep their own logs, for the audit.
    """
    from dagster._core.storage.event_log.schema import (
        AssetCheckExecutionsTable,
        AssetEventTagsTable,
        AssetKeyTable,
        SqlEventLogStorageTable,
    )
    from dagster._core.storage.sqlalchemy_compat import db_select

    from workflows.defs.partitions import wave_partitions

    if wave in instance.get_dynamic_partitions(wave_partitions.name):
        instance.delete_dynamic_partition(wave_partitions.name, wave)
    storage = instance.event_log_storage
    keys = [key.to_string() for key in instance.get_asset_keys()]
    events, checks = SqlEventLogStorageTable, AssetCheckExecutionsTable
    with storage.index_connection() as conn:
        ids = {row[0] for row in conn.execute(
            db_select([events.c.id]).where(events.c.partition == wave, events.c.asset_key.in_(keys))).fetchall()}
        # Check events carry no partition in the index: they are the ones of the wave's own runs.
        runs = [record.dagster_run.run_id for record in instance.get_run_records(
            dg.RunsFilter(tags={"dagster/partition": wave}))]
        for chunk in _chunks(runs):
            ids |= {row[0] for row in conn.execute(
                db_select([events.c.id]).where(events.c.run_id.in_(chunk), events.c.dagster_event_type.in_(
                    [dg.DagsterEventType.ASSET_CHECK_EVALUATION.value,
                     dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED.value]))).fetchall()}
        conn.execute(checks.delete().where(checks.c.partition == wave))
        for chunk in _chunks(sorted(ids)):
            conn.execute(AssetEventTagsTable.delete().where(AssetEventTagsTable.c.event_id.in_(chunk)))
            conn.execute(events.delete().where(events.c.id.in_(chunk)))
        for key in keys:
            latest = conn.execute(
                db_select([events.c.id, events.c.event])
                .where(events.c.asset_key == key,
                       events.c.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION.value)
                .order_by(events.c.id.desc()).limit(1)).fetchall()
            values = ({"last_materialization": None, "last_run_id": None} if not latest else
                      storage._get_asset_entry_values(dg.deserialize_value(latest[0][1], dg.EventLogEntry),
                                                      latest[0][0], True))
            conn.execute(AssetKeyTable.update().values(**values, cached_status_data=None)
                         .where(AssetKeyTable.c.asset_key == key))
    return len(ids)


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
