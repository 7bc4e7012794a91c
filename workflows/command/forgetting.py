"""`cleantech-survey forget WAVE`: a trial wave removed from the warehouse and the UI, its outputs archived first.

Forgetting holds the warehouse as a run does (its lock, then the database, waiting up to
`CLEANTECH_LOCK_WAIT_SECONDS`), and then:

1. moves the wave's outputs into `<outputs>/_archive/<wave>-<UTC time>/`: its folder
   `<outputs>/<wave>/` as `outputs/`, and the contract's files of a `--out` folder that its
   published report was written to as `out/`. Nothing is deleted;
2. deletes the wave's rows from every table of the warehouse that has a `wave` column, staging
   included (staged answers, findings, counts, attempts, the published materializations, a
   pending swap), in one transaction;
3. removes the wave from the UI: its partition key and its partition's asset events
   (`restatement.forget`).

A wave that neither the warehouse, the UI nor the outputs folder knows is refused, and so is
one whose file is still in the raw folder: the sensor would add it again at once.
"""

import datetime
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from workflows import settings
from workflows.warehouse.locking import first_use, warehouse_lock
from workflows.warehouse.publication import ATTEMPT_FOLDER, OUTPUT_NAMES
from workflows.warehouse.resource import open_database

# A wave id starts with a letter or digit: no wave's own folder has this name.
ARCHIVE_FOLDER = "_archive"


class UnknownWave(Exception):
    """Nothing of the wave is known: no rows, no partition, no outputs."""


class StillInRawFolder(Exception):
    """The wave's file is in the raw folder, from which the sensor would add the wave again."""


@dataclass
class Forgotten:
    wave: str
    archive: Path | None
    rows: int
    tables: int
    events: int
    # The survey team's corrections file of the wave id, left where it is (it is theirs, not an output).
    corrections: Path | None = None

    def sentence(self) -> str:
        moved = (f"its outputs were moved to {self.archive}/" if self.archive is not None
                 else "it had no outputs to archive")
        kept = (f" Its corrections file {self.corrections} stays where it is: a new wave {self.wave} would be "
                "corrected by it; move it away if that is not meant." if self.corrections else "")
        return (f"Wave {self.wave} is forgotten: {moved}; {self.rows:,} row(s) were removed from {self.tables} "
                f"table(s) of the warehouse, and its partition and {self.events:,} event(s) from the UI.{kept}")


def forget_wave(wave: str) -> Forgotten:
    """Archive the wave's outputs, then remove it from the warehouse and the Dagster instance (see the module)."""
    import dagster as dg

    from workflows.intake.files import files_of_wave
    from workflows.warehouse import restatement

    settings.apply_defaults()
    database = Path(settings.get("CLEANTECH_WAREHOUSE"))
    outputs_dir = Path(settings.get("CLEANTECH_OUTPUTS_DIR"))
    raw_dir = Path(settings.get("CLEANTECH_RAW_DIR"))
    with warehouse_lock(database, settings.lock_wait_seconds()):
        conn = open_database(database, settings.lock_wait_seconds()) if database.exists() else None
        try:
            held = rows_of(conn, wave) if conn is not None else {}
            with first_use(Path(settings.get("DAGSTER_HOME"))):
                instance = dg.DagsterInstance.get()
            from workflows.defs.partitions import wave_partitions

            partitioned = wave in instance.get_dynamic_partitions(wave_partitions.name)
            folders = _output_folders(conn, wave, outputs_dir)
            if not (sum(held.values()) or partitioned or folders):
                raise UnknownWave(f"no wave {wave} is known to the warehouse, the UI or {outputs_dir}/; "
                                  "`cleantech-survey waves` lists the waves.")
            # Every file of the wave counts, two of them included (the sensor skips those, but would read either
            # again once the other is gone).
            if raw_files := files_of_wave(raw_dir, wave):
                raise StillInRawFolder(f"the file of wave {wave} is still in the raw folder "
                                       f"({', '.join(str(path) for path in raw_files)}), and the "
                                       "sensor would add the wave again: move the file out of the raw folder first; "
                                       "nothing was changed.")
            archive = archive_outputs(wave, folders, outputs_dir)
            rows = remove_rows(conn, wave, held) if conn is not None else 0
            events = restatement.forget(instance, wave)
        finally:
            if conn is not None:
                conn.close()
    from workflows.intake.corrections import corrections_path  # the intake's, loaded by `forget` alone

    corrections = corrections_path(settings.get("CLEANTECH_CORRECTIONS_DIR"), wave)
    return Forgotten(wave, archive, rows, sum(1 for n in held.values() if n), events,
                     corrections if corrections.exists() else None)


def rows_of(conn: duckdb.DuckDBPyConnection, wave: str) -> dict[str, int]:
    """The wave's rows in each table of the warehouse that has a `wave` column, by qualified table name."""
    tables = conn.execute(
        """
        select distinct columns.table_schema, columns.table_name
        from information_schema.columns as columns
        join information_schema.tables as tables using (table_catalog, table_schema, table_name)
        where columns.column_name = 'wave' and tables.table_type = 'BASE TABLE'
          and columns.table_catalog = current_database()
        order by 1, 2
        """
    ).fetchall()
    return {f'"{schema}"."{table}"': conn.execute(f'select count(*) from "{schema}"."{table}" where wave = $wave',
                                                  {"wave": wave}).fetchall()[0][0]
            for schema, table in tables}


def remove_rows(conn: duckdb.DuckDBPyConnection, wave: str, held: dict[str, int]) -> int:
    """Delete the wave's rows from every table that holds some, in one transaction; return how many."""
    conn.begin()
    try:
        for table, n in held.items():
            if n:
                conn.execute(f"delete from {table} where wave = $wave", {"wave": wave})
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return sum(held.values())


def _output_folders(conn: duckdb.DuckDBPyConnection | None, wave: str, outputs_dir: Path) -> list[Path]:
    """The wave's outputs folder, and the folder its published report was written to when elsewhere (`--out`)."""
    folders = [outputs_dir / wave] if (outputs_dir / wave).is_dir() else []
    if conn is not None and conn.execute("select count(*) from information_schema.tables where table_schema = 'main' "
                                         "and table_name = 'waves'").fetchall()[0][0]:
        columns = {name for (name,) in conn.execute("select column_name from information_schema.columns where "
                                                    "table_schema = 'main' and table_name = 'waves'").fetchall()}
        recorded = (conn.execute("select report_pdf from waves where wave = $wave", {"wave": wave}).fetchall()
                    if "report_pdf" in columns else [])
        if recorded and recorded[0][0]:
            folder = Path(recorded[0][0]).parent
            if folder.is_dir() and folder.resolve() != (outputs_dir / wave).resolve() and _holds_wave(folder, wave):
                folders.append(folder)
    return folders


def _holds_wave(folder: Path, wave: str) -> bool:
    for name in ("results.json", "validation.json"):
        try:
            if json.loads((folder / name).read_text(encoding="utf-8")).get("wave") == wave:
                return True
        except (OSError, ValueError, AttributeError):
            continue
    return False


def archive_outputs(wave: str, folders: list[Path], outputs_dir: Path) -> Path | None:
    """Move the wave's outputs folder whole, and a `--out` folder's contract files, into a new archive folder."""
    if not folders:
        return None
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    archive = outputs_dir / ARCHIVE_FOLDER / f"{wave}-{stamp}"
    number = 1
    while archive.exists():
        number += 1
        archive = outputs_dir / ARCHIVE_FOLDER / f"{wave}-{stamp}-{number}"
    archive.mkdir(parents=True)
    for folder in folders:
        if folder == outputs_dir / wave:
            shutil.move(str(folder), str(archive / "outputs"))
            continue
        (archive / "out").mkdir()
        for name in (*OUTPUT_NAMES, ATTEMPT_FOLDER):
            if (folder / name).exists():
                shutil.move(str(folder / name), str(archive / "out" / name))
    return archive
