"""Publishing a wave as one unit: its warehouse rows in one transaction, its output files as one set.

A run writes the wave's output files into a pending folder of its own, never into the
published one. The warehouse transaction that publishes the wave's rows also records the
swap of that folder into place (`staging.output_swaps`); once it commits, the files are
moved in and the record is removed. A run that fails or is killed before the commit leaves
nothing: its transaction is never committed and its pending folder is removed by the next
run. A run killed between the commit and the last move is finished by the next run, which
replays the recorded swap. Either way the warehouse and the outputs agree.
"""

import errno
import os
import shutil
from pathlib import Path

import duckdb

# Every name a published output set may hold; a new set replaces all of them.
OUTPUT_NAMES = ("report.pdf", "results.json", "firm_indices.csv", "validation.json", "validation.html", "issues.xlsx")
ATTEMPT_FOLDER = "last-attempt"
PENDING_FOLDER = ".outputs-pending"
MANIFEST = ".manifest"

JOURNAL_DDL = """
create schema if not exists staging;
create table if not exists staging.output_swaps (
    wave varchar primary key,
    pending varchar not null,
    target varchar not null
);
create table if not exists staging.published_materializations (
    wave varchar not null,
    asset varchar not null,
    run_id varchar not null,
    primary key (wave, asset)
);
"""


class DiskFull(Exception):
    """The disk ran out of space while the output set was written: nothing published changed."""


def pending_folder(warehouse_dir: Path, target: Path, wave: str, run_id: str) -> Path:
    """A fresh folder for the run's output set, on the same disk as its target (so moves are atomic).

    Beside the warehouse when that is on the target's disk, so that a killed run leaves nothing
    in the outputs folder; else a hidden sibling of the target.
    """
    target.mkdir(parents=True, exist_ok=True)
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    # The target itself may be a mount point or a link to another disk: its own device counts.
    if os.stat(warehouse_dir).st_dev == os.stat(target).st_dev:
        base = warehouse_dir / PENDING_FOLDER
    else:
        base = sibling_base(target)
        shutil.rmtree(base, ignore_errors=True)  # a killed run's (swaps it committed were finished at start)
    for orphan in target.glob(f"{PENDING_FOLDER}-*"):
        shutil.rmtree(orphan, ignore_errors=True)
    if os.stat(base.parent).st_dev != os.stat(target).st_dev:
        base = target / f"{PENDING_FOLDER}-{run_id}"  # --out is a mount point: stage inside it
    folder = base / f"{wave}-{run_id}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def sibling_base(target: Path) -> Path:
    return target.parent / f".{target.name}{PENDING_FOLDER}"


def write_into(folder: Path, contents: dict[str, str | bytes]) -> None:
    """Write the files of a pending set and its manifest (these and the files already there); a full disk is said as such."""
    members = sorted(set(contents) | {path.name for path in folder.iterdir()})
    try:
        for name, content in {**contents, MANIFEST: "\n".join(members) + "\n"}.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            with open(folder / name, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise DiskFull(f"The disk holding {folder.parent} is full ({error.strerror}): the output files could "
                           "not be written, and nothing published changed.") from None
        raise


def record_swap(conn: duckdb.DuckDBPyConnection, wave: str, pending: Path, target: Path) -> None:
    """In the publishing transaction: this set goes into place once the transaction commits."""
    conn.execute(JOURNAL_DDL)
    conn.execute("insert or replace into staging.output_swaps values ($wave, $pending, $target)",
                 {"wave": wave, "pending": str(pending), "target": str(target)})


def swap_into_place(pending: Path, target: Path) -> None:
    """Move each file of the set into the target folder, drop outputs the set does not have, remove the pending folder.

    Each move is an atomic rename on one disk; replayed after a crash, the moves already done
    are skipped (the manifest says which files the set has).
    """
    the_set = set((pending / MANIFEST).read_text(encoding="utf-8").split())
    target.mkdir(parents=True, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    for name in OUTPUT_NAMES:
        if name in the_set and (pending / name).exists():
            os.chmod(pending / name, 0o666 & ~umask)
            os.replace(pending / name, target / name)
        elif name not in the_set:
            (target / name).unlink(missing_ok=True)
    shutil.rmtree(target / ATTEMPT_FOLDER, ignore_errors=True)
    shutil.rmtree(pending, ignore_errors=True)
    try:
        pending.parent.rmdir()  # when no other set is pending there
    except OSError:
        pass


def finish_swaps(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Replay the swaps a killed run committed but did not finish; return their waves."""
    conn.execute(JOURNAL_DDL)
    rows = conn.execute("select wave, pending, target from staging.output_swaps order by wave").fetchall()
    for wave, pending, target in rows:
        if (Path(pending) / MANIFEST).exists():
            swap_into_place(Path(pending), Path(target))
        conn.execute("delete from staging.output_swaps where wave = $wave", {"wave": wave})
    return [wave for wave, _, _ in rows]


def remove_orphans(warehouse_dir: Path, outputs_dir: Path) -> None:
    """Pending folders of runs that never committed (the caller holds the warehouse: none is in use)."""
    shutil.rmtree(warehouse_dir / PENDING_FOLDER, ignore_errors=True)
    if outputs_dir.is_dir():
        for orphan in [*outputs_dir.glob(f".*{PENDING_FOLDER}"), *outputs_dir.glob(f"*/{PENDING_FOLDER}-*")]:
            shutil.rmtree(orphan, ignore_errors=True)
