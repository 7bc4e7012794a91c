"""`cleantech-survey waves`: every wave the project knows, its status and its last report.

The raw folder is seen through `scan_raw_folder`: an entry named `*.csv` that is not a
usable wave file (a folder, a FIFO, a device, a file that cannot be read, a name that is
no wave id) is listed under the table with its reason, never read. Every name and path
printed goes through `shown`, so a control character in a file name is displayed as its
escape, never obeyed by the terminal.
"""

from pathlib import Path

import duckdb

from workflows import settings
from workflows.intake.files import NotARegularFile, file_sha256
from workflows.warehouse.resource import warehouse_sentence
from workflows.intake.raw_folder import RawFolder, scan_raw_folder
from workflows.command.terminal import printable


def print_waves() -> int:
    settings.apply_defaults()
    raw_dir = Path(settings.get("CLEANTECH_RAW_DIR"))
    outputs_dir = Path(settings.get("CLEANTECH_OUTPUTS_DIR"))
    published, attempts = _warehouse_state(Path(settings.get("CLEANTECH_WAREHOUSE")))
    folder = scan_raw_folder(raw_dir)
    files = folder.waves
    waves = sorted(set(files) | set(published) | set(attempts))
    if not waves:
        print(f"No waves yet: put a CSV export into {printable(raw_dir)}/ or run `cleantech-survey run FILE`.")
    else:
        print(f"{'wave':<12} {'firms':>6}  {'status':<34} last report")
        for wave in waves:
            print(f"{printable(wave):<12} {_firms(wave, published):>6}  {_status(wave, files, published, attempts):<34} "
                  f"{_report(wave, published, outputs_dir)}")
    _print_skipped(folder)
    return 0


def _print_skipped(folder: RawFolder) -> None:
    if folder.problem:
        print(f"\nThe raw folder cannot be read: {printable(folder.problem)}")
    if folder.skipped:
        print(f"\nSkipped in {printable(folder.folder)}/ (not read as waves):")
        for name, reason in folder.skipped.items():
            print(f"  {printable(name)}: {printable(reason)}")


def _warehouse_state(database: Path) -> tuple[dict, dict]:
    """The published waves as {wave: (raw_sha256, n_firms, report_pdf or None)} and the attempts as {wave: sha}."""
    if not database.exists():
        return {}, {}
    try:
        conn = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as error:
        if "lock" in str(error).lower():
            print("(the warehouse is in use by a run; statuses may be incomplete)")
        else:
            print(f"({printable(warehouse_sentence(database, str(error)) or error)})")
        return {}, {}
    try:
        tables = {name for (name,) in conn.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()}
        published = {}
        if "main.waves" in tables:
            columns = {name for (name,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'main' and table_name = 'waves'"
            ).fetchall()}
            report = "report_pdf" if "report_pdf" in columns else "null"
            published = {w: (sha, n, pdf) for w, sha, n, pdf in
                         conn.execute(f"select wave, raw_sha256, n_firms, {report} from main.waves").fetchall()}
        attempts = ({w: sha for w, sha in conn.execute("select wave, raw_sha256 from staging.wave_attempts").fetchall()}
                    if "staging.wave_attempts" in tables else {})
        return published, attempts
    except duckdb.Error as error:
        print(f"({printable(warehouse_sentence(database, str(error)) or error)})")
        return {}, {}
    finally:
        conn.close()


def _firms(wave: str, published: dict) -> str:
    return str(published[wave][1]) if wave in published else "-"


def _status(wave: str, files: dict, published: dict, attempts: dict) -> str:
    current = None
    if wave in files:
        try:
            current = file_sha256(files[wave])
        except (NotARegularFile, OSError):  # changed since the folder was scanned
            return "its file cannot be read"
    if wave in published and (current is None or published[wave][0] == current):
        return "published"
    if wave in attempts and attempts[wave] == current:
        return "failed validation" if wave not in published else "new file failed; old one published"
    if wave in published:
        return "file changed since publication"
    return "not yet run"


def _report(wave: str, published: dict, outputs_dir: Path) -> str:
    """The wave's latest published report, wherever it was written; else the default folder's, if any."""
    recorded = published[wave][2] if wave in published else None
    if recorded:
        return printable(recorded) if _exists(Path(recorded)) else f"{printable(recorded)} (file missing)"
    default = outputs_dir / wave / "report.pdf"
    return printable(default) if _exists(default) else "-"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # not even examinable (a null byte, a permission)
        return False
