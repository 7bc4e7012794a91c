"""The warehouse and the wave files, configured from the environment with embedded defaults."""

from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from workflows import settings
from workflows.locking import warehouse_lock

settings.apply_defaults()

# Extensions that would download at run time are unavailable offline; fail fast instead.
OFFLINE_DUCKDB = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class WaveFiles(dg.ConfigurableResource):
    """Where a wave's raw file is read from and where its outputs are written."""

    raw_dir: str
    outputs_dir: str
    source_file: str = ""
    out_dir: str = ""
    all_errors: bool = False

    def source_of(self, wave: str) -> Path:
        """The command line's FILE, else `<raw_dir>/<wave>.csv`."""
        return Path(self.source_file) if self.source_file else Path(self.raw_dir) / f"{wave}.csv"

    def published_dir(self, wave: str) -> Path:
        """Where a successful run writes the contract's files: `--out`, else `<outputs_dir>/<wave>`."""
        return Path(self.out_dir) if self.out_dir else Path(self.outputs_dir) / wave

    def attempt_dir(self, wave: str) -> Path:
        """Where an attempt writes its `validation.json`: beside, never over, the last good outputs."""
        published = self.published_dir(wave)
        if self.out_dir or not (published / "report.pdf").exists():
            return published
        return published / "last-attempt"


class Warehouse(DuckDBResource):
    """The DuckDB warehouse, held by one run at a time for the whole run.

    DuckDB lets one process write a file; runs wait for each other here, up to a limit,
    so that two runs never interleave their steps on the same wave.
    """

    lock_wait_seconds: float = 120.0
    _run_connection: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext):
        # One database handle for the whole run: opening and checkpointing the file at every
        # step would cost more than most steps on a small wave.
        with warehouse_lock(Path(self.database), self.lock_wait_seconds), super().get_connection() as conn:
            self._run_connection = conn
            try:
                yield self
            finally:
                self._run_connection = None

    @contextmanager
    def get_connection(self):
        """A connection of its own (temporary tables and transactions are not shared) to the run's database."""
        if self._run_connection is None:
            with super().get_connection() as conn:
                yield conn
            return
        cursor = self._run_connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


def warehouse_resource(database: str | dg.EnvVar) -> Warehouse:
    return Warehouse(database=database, connection_config=OFFLINE_DUCKDB,
                     lock_wait_seconds=settings.lock_wait_seconds())


@dg.definitions
def resources() -> dg.Definitions:
    # In-process execution: every step of a run shares the one process that holds the warehouse.
    return dg.Definitions(
        executor=dg.in_process_executor,
        resources={
            "warehouse": warehouse_resource(dg.EnvVar("CLEANTECH_WAREHOUSE")),
            "wave_files": WaveFiles(
                raw_dir=dg.EnvVar("CLEANTECH_RAW_DIR"), outputs_dir=dg.EnvVar("CLEANTECH_OUTPUTS_DIR")
            ),
        }
    )
