"""The Dagster instance's storage: Dagster's own SQLite storage, whose event log keeps its connections open.

Dagster's SQLite event log builds a new SQLAlchemy engine, opens the database file and closes it
again for every event it writes and every query it answers (`NullPool`): some 1,200 times in a
51-firm run, 0.9 s of its 6.5 s. Here each database file keeps one engine with a pool of open
connections (the eight files used last; a UI reading many runs drops the older ones). Nothing
else changes: the same files in the same folders of `DAGSTER_HOME`, the same tables written by
Dagster's own code, one transaction per event, committed and synced to disk as before. A home
made by Dagster's default storage is read and written as it is. The home's dagster.yaml names
`ProjectInstance`, which makes this storage the default of its folder.
"""

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
import yaml
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef
from dagster._serdes import ConfigurableClassData
from sqlalchemy import Connection, Engine, create_engine

OPEN_DATABASE_FILES = 8
# Engines a forked process inherited from its parent: referenced for the process's life, never closed by it.
_INHERITED: list[Engine] = []


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, with an engine kept per database file."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            with self._engine(shard).connect() as conn:
                with conn.begin():
                    yield conn

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():
            # A forked child opens connections of its own. It never closes its parent's (SQLite warns that a close in
            # a child can checkpoint or remove the write-ahead log the parent still uses): they are kept, unused.
            _INHERITED.extend(self._engines.values())
            self._engines = OrderedDict()
            self._engines_pid = os.getpid()
        if (engine := self._engines.get(shard)) is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(self.conn_string_for_shard(shard),
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_DATABASE_FILES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def dispose(self) -> None:
        super().dispose()
        self._close_engines()

    def wipe(self) -> None:
        super().wipe()
        self._close_engines()  # the run files are gone: a run id used again gets a new file and engine

    def upgrade(self) -> None:
        super().upgrade()
        self._close_engines()

    def _close_engines(self) -> None:
        with self._db_lock:
            if self._engines_pid != os.getpid():
                _INHERITED.extend(self._engines.values())
                self._engines = OrderedDict()
            while self._engines:
                self._engines.popitem()[1].dispose()


class ProjectSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage in `base_dir` (runs, event logs, schedules), with the pooled event log."""

    def __init__(self, base_dir: str, inst_data=None):
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "ProjectSqliteStorage":
        return cls.from_local(inst_data=inst_data, **config_value)


class ProjectInstance(DagsterInstance):
    """Dagster's instance, whose default storage in its home folder is `ProjectSqliteStorage`.

    Named as `instance_class` in the home's dagster.yaml, so that the storage's folder is the folder
    that dagster.yaml is in, as with Dagster's default: a home copied elsewhere and opened there
    reads and writes the copy.
    """

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> dict:
        return {**InstanceRef.config_defaults(base_dir),
                "storage": ConfigurableClassData(__name__, ProjectSqliteStorage.__name__,
                                                 yaml.dump({"base_dir": base_dir}, default_flow_style=False))}

