"""The warehouse and the wave files, configured from the environment with embedded defaults."""

import re
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from schemas.codebook import IDENTIFIER

from workflows import settings
from workflows.locking import warehouse_lock

settings.apply_defaults()

WAVE_ID = re.compile(IDENTIFIER)

# Extensions that would download at run time are unavailable offline; fail fast instead.
OFFLINE_DUCKDB = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class WaveFiles:
    """Where a wave's raw file is read from and where its outputs are written.

    Not configurable at launch: a run's paths come from the environment (or, for the
    command line, from its own arguments), never from run config that a web page could send.
    """

    def __init__(self, raw_dir: str | Path, outputs_dir: str | Path, source_file: str | Path | None = None,
                 out_dir: str | Path | None = None, all_errors: bool = False):
        self.raw_dir = Path(raw_dir)
        self.outputs_dir = Path(outputs_dir)
        self.source_file = Path(source_file) if source_file else None
        self.out_dir = Path(out_dir) if out_dir else None
        self.all_errors = all_errors

    @classmethod
    def from_environment(cls) -> "WaveFiles":
        return cls(settings.get("CLEANTECH_RAW_DIR"), settings.get("CLEANTECH_OUTPUTS_DIR"))

    def source_of(self, wave: str) -> Path:
        """The command line's FILE, else `<raw_dir>/<wave>.csv`."""
        return self.source_file or self.raw_dir / f"{checked_wave(wave)}.csv"

    def published_dir(self, wave: str) -> Path:
        """Where a successful run writes the contract's files: `--out`, else `<outputs_dir>/<wave>`."""
        return self.out_dir or self.outputs_dir / checked_wave(wave)

    def attempt_dir(self, wave: str) -> Path:
        """Where an attempt writes its `validation.json`: beside, never over, the last good outputs."""
        published = self.published_dir(wave)
        if self.out_dir or not (published / "report.pdf").exists():
            return published
        return published / "last-attempt"


def checked_wave(wave: str) -> str:
    """The wave id, if it follows the contract's rule; a partition key never becomes a path otherwise."""
    if not isinstance(wave, str) or not WAVE_ID.fullmatch(wave):
        raise dg.Failure(description=f"{wave!r} is not a wave id (1-32 letters, digits, '_' or '-', "
                                     "starting with a letter or digit); nothing was read or written.",
                         allow_retries=False)
    return wave


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
            # No config schema: a launch that tries to set a path is refused by Dagster itself.
            "wave_files": dg.ResourceDefinition(lambda _: WaveFiles.from_environment(), config_schema={},
                                                description="The raw folder and the outputs folder, from the environment."),
        }
    )
