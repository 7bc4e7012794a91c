"""The DuckDB warehouse as a run sees it: held by one run at a time, published in one transaction.

A run takes the warehouse's lock file, opens the database once, and finishes what a killed
run left committed but undone (`publication.finish_swaps`). The intake stages its attempt in
transactions of its own; from the first published table on, every step writes through one
transaction, which the report commits together with the swap of the output files. A run
whose step failed rolls that transaction back; a killed run never commits it.
"""

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from workflows import faults, settings
from workflows.warehouse import publication
from workflows.warehouse.locking import WarehouseBusy, warehouse_lock

# Extensions that would download at run time are unavailable offline; fail fast instead.
OFFLINE_DUCKDB = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class WarehouseDamaged(Exception):
    """The warehouse file cannot be opened as a DuckDB database."""


class PublicationIncomplete(Exception):
    """The warehouse committed, but the output files could not all be moved into place yet."""


class PublicationAborted(Exception):
    """An earlier step of the run failed: the run publishes nothing."""


def open_database(database: Path, wait_seconds: float, poll_seconds: float = 0.2) -> duckdb.DuckDBPyConnection:
    """Open the warehouse and read its catalog, so that a damaged file is named at once.

    Only a lock held by another process (a `waves` listing, a DuckDB shell) is waited for.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            conn = duckdb.connect(str(database), config={**OFFLINE_DUCKDB,
                                                         "memory_limit": settings.get("CLEANTECH_DUCKDB_MEMORY")})
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise _damaged(database, error) from None
            if time.monotonic() >= deadline:
                raise WarehouseBusy(f"The warehouse {database} is still in use by another program (a DuckDB "
                                    "shell, a listing) after "
                                    f"{wait_seconds:g} s.") from None
            time.sleep(poll_seconds)
            continue
        except duckdb.Error as error:
            raise _damaged(database, error) from None
        try:
            conn.execute("select count(*) from duckdb_tables()").fetchall()
            conn.execute("set enable_progress_bar = false")  # a long statement draws none into the command's output
            return conn
        except duckdb.Error as error:
            conn.close()
            raise _damaged(database, error) from None


# What DuckDB says when the file's bytes are not a database it wrote, at open or on a later read.
DAMAGE_SIGNS = ("corrupt", "checksum", "could not read enough bytes", "not a valid duckdb database",
                "failed to read database header", "is a directory", "serialization", "invalid magic")
UNWRITABLE_SIGNS = ("read-only file system", "permission denied", "read only")


def warehouse_sentence(database: Path, message: str) -> str | None:
    """The one sentence for a DuckDB error that says the warehouse file is damaged or cannot be written."""
    lowered = message.lower()
    detail = message.strip().splitlines()[0] if message.strip() else "no detail"
    if any(sign in lowered for sign in UNWRITABLE_SIGNS):
        return (f"The warehouse {database} cannot be written here ({detail}); nothing was changed. "
                "Give this account write access to it and to its folder.")
    if any(sign in lowered for sign in DAMAGE_SIGNS):
        return (f"The warehouse {database} is damaged or is not a DuckDB database, so nothing was read or changed "
                f"(DuckDB says: {detail}). Restore it from a backup, or move it aside to start a new one.")
    return None


def _damaged(database: Path, error: Exception) -> WarehouseDamaged:
    sentence = warehouse_sentence(database, str(error) or type(error).__name__)
    return WarehouseDamaged(sentence or (
        f"The warehouse {database} cannot be opened, so nothing was read or changed "
        f"(DuckDB says: {str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__})."))


def check_warehouse(database: Path) -> None:
    """Open an existing warehouse read-only and read its catalog, before any run starts: a damaged
    one is named in a second, not after the graph has loaded. A lock held by a run is no damage."""
    if not database.exists() and not database.is_symlink():
        return
    try:
        conn = duckdb.connect(str(database), read_only=True, config=OFFLINE_DUCKDB)
    except duckdb.Error as error:
        if "lock" in str(error).lower():
            return
        raise _damaged(database, error) from None
    try:
        conn.execute("select count(*) from duckdb_tables()").fetchall()
        for schema, table in conn.execute("select schema_name, table_name from duckdb_tables()").fetchall():
            # Reading one row of each table visits its first data blocks and their checksums.
            conn.execute(f'select * from "{schema}"."{table}" limit 1').fetchall()
    except duckdb.Error as error:
        raise _damaged(database, error) from None
    finally:
        conn.close()


class Warehouse:
    """The warehouse of a run: one connection, one publishing transaction, the output set's swap."""

    def __init__(self, database: str | Path, lock_wait_seconds: float = 120.0, outputs_dir: str | Path | None = None):
        self.database = Path(database)
        # Where killed runs may have left a pending set beside a wave's folder (outputs on another disk).
        self.outputs_dir = Path(outputs_dir) if outputs_dir else self.database.parent
        self.lock_wait_seconds = lock_wait_seconds
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._publishing = False
        self._aborted = False
        self._pending: list[Path] = []

    @property
    def folder(self) -> Path:
        return self.database.parent

    @contextmanager
    def session(self, run_failed: Callable[[], bool] = lambda: False, on_rollback: Callable | None = None,
                on_open: Callable | None = None) -> Iterator["Warehouse"]:
        """Hold the warehouse for a run: lock, open, finish earlier swaps; at the end commit or roll back."""
        with warehouse_lock(self.database, self.lock_wait_seconds):
            conn = open_database(self.database, self.lock_wait_seconds)
            self._conn = conn
            try:
                publication.finish_swaps(conn)
                publication.remove_orphans(self.folder, self.outputs_dir)
                if on_open is not None:
                    on_open(conn)
                yield self
                if self._publishing and not run_failed():
                    self._commit()  # a run of some assets only, without the report: its tables publish
            finally:
                rolled_back = self._abort() or self._aborted
                try:
                    if rolled_back and on_rollback is not None:
                        on_rollback(conn)
                finally:
                    self._conn = None
                    conn.close()

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The publishing transaction when one is open; else a connection of its own to the run's database."""
        if self._conn is None:
            conn = open_database(self.database, self.lock_wait_seconds)
            try:
                yield conn
            finally:
                conn.close()
            return
        if self._publishing:
            yield self._conn
            return
        cursor = self._conn.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    @contextmanager
    def publishing(self, context) -> Iterator[duckdb.DuckDBPyConnection]:
        """The run's publishing transaction (begun by the first published asset), recording this asset's run.

        `context` is the asset's execution context: its wave, asset key and run are recorded as
        the published materialization once the transaction commits.
        """
        if self._aborted:
            raise PublicationAborted("An earlier step of this run failed, so the run publishes nothing.")
        if self._conn is None:
            raise RuntimeError("the warehouse is used outside a run's session")
        if not self._publishing:
            self._conn.begin()
            self._publishing = True
        from workflows.warehouse import restatement  # Dagster's, imported by runs only (`waves` stays quick)

        try:
            restatement.record_published(self._conn, context.partition_key, context.asset_key.to_user_string(),
                                         context.run.run_id)
            yield self._conn
        except BaseException:
            self._abort()
            raise

    def pending_folder(self, target: Path, wave: str, run_id: str) -> Path:
        folder = publication.pending_folder(self.folder, target, wave, run_id)
        self._pending.append(folder)
        return folder

    def publish(self, wave: str, pending: Path, target: Path) -> None:
        """Commit the run's transaction with the swap of its output set, then move the set into place."""
        if not self._publishing:
            raise PublicationAborted("The run has nothing to publish: its transaction is not open.")
        publication.record_swap(self._conn, wave, pending, target)
        faults.reach("publication:before_commit")
        self._commit()
        self._pending.remove(pending)  # committed: from here on the set is the journal's, not this run's
        faults.reach("publication:after_commit")
        try:
            publication.swap_into_place(pending, target)
        except OSError as error:
            raise PublicationIncomplete(
                f"Wave {wave} is published in the warehouse, but its files could not be moved into {target} "
                f"({error.strerror or error}); they wait in {pending}, and the next run moves them.") from None
        self._conn.execute("delete from staging.output_swaps where wave = $wave", {"wave": wave})

    def _commit(self) -> None:
        try:
            self._conn.commit()
        except BaseException:
            self._abort()
            raise
        self._publishing = False

    def _abort(self) -> bool:
        """Roll back the publishing transaction and remove this run's pending folders; True if it rolled back."""
        rolled_back = False
        if self._publishing and self._conn is not None:
            self._publishing = False
            self._aborted = rolled_back = True
            try:
                self._conn.rollback()
            except duckdb.Error:
                pass  # the transaction is already gone (a failed commit, a full disk): nothing of it stays
        for folder in self._pending:
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(OSError):
                folder.parent.rmdir()  # a pending folder beside the target, now empty
        self._pending.clear()
        return rolled_back
