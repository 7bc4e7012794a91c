"""`cleantech-survey waves`: every wave the project knows, its status and its last report.

The raw folder is seen through `scan_raw_folder`: an entry named `*.csv` that is not a
usable wave file (a folder, a FIFO, a device, a file that cannot be read, a name that is
no wave id) is listed under the table with its reason, never read. Every name and path
printed goes through `shown`, so a control character in a file name is displayed as its
escape, never obeyed by the terminal.

A wave's status comes from the warehouse first: its published version and its latest attempt
(with that attempt's counts of errors and warnings), wherever the file was read from; the raw
folder only adds whether its file changed since.
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
        print(f"{'wave':<12} {'firms':>6}  {'status':<36} {'last attempt':<28} last report")
        for wave in waves:
            print(f"{printable(wave):<12} {_firms(wave, published):>6}  {_status(wave, files, published, attempts):<36} "
                  f"{_attempt(wave, attempts):<28} {_report(wave, published, outputs_dir)}")
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
    """The published waves as {wave: (raw_sha256, n_firms, report_pdf or None)} and the latest attempts as
    {wave: (raw_sha256, errors, warnings, source_name)}."""
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
        corrected = conn.execute("select count(*) from information_schema.columns where table_schema = 'staging' "
                                 "and table_name = 'validation_counts' and column_name = 'corrections_sha256'"
                                 ).fetchall()[0][0]
        # A warehouse made before corrections keys its attempts by the file alone.
        query = _ATTEMPTS.replace("using (wave, raw_sha256", "using (wave, raw_sha256, corrections_sha256") if corrected \
            else _ATTEMPTS
        attempts = ({w: tuple(rest) for w, *rest in conn.execute(query).fetchall()}
                    if {"staging.wave_attempts", "staging.validation_counts", "staging.validation_findings"} <= tables
                    else {})
        return published, attempts
    except duckdb.Error as error:
        print(f"({printable(warehouse_sentence(database, str(error)) or error)})")
        return {}, {}
    finally:
        conn.close()


# Each attempt's errors and warnings: a counted rule's severity is that of its listed findings (each counted rule
# lists at least one), so the listing needs no rule declarations (and starts without pandas).
_ATTEMPTS = """
    select attempt.wave, attempt.raw_sha256,
           coalesce(sum(counted.failures) filter (where severity.severity = 'error'), 0),
           coalesce(sum(counted.failures) filter (where severity.severity is distinct from 'error'), 0),
           attempt.source_name
    from staging.wave_attempts as attempt
    left join staging.validation_counts as counted using (wave, raw_sha256)
    left join (select distinct * exclude ("column", "row", firm_id, value, message)
               from staging.validation_findings) as severity
        using (wave, raw_sha256, rule)
    group by attempt.wave, attempt.raw_sha256, attempt.source_name
"""


def _firms(wave: str, published: dict) -> str:
    return str(published[wave][1]) if wave in published else "-"


def _status(wave: str, files: dict, published: dict, attempts: dict) -> str:
    current = None
    if wave in files:
        try:
            current = file_sha256(files[wave])
        except (NotARegularFile, OSError):  # changed since the folder was scanned
            return "its file cannot be read"
    published_sha = published[wave][0] if wave in published else None
    attempt = attempts.get(wave)
    if attempt is not None and attempt[0] != published_sha:  # the latest attempt did not publish
        if current is not None and current not in (attempt[0], published_sha):
            return "file changed since its last attempt"
        if published_sha is None:
            return "failed validation" if attempt[1] else "valid, but its run did not finish"
        return "new file failed; old one published" if attempt[1] else "new file unpublished; old one published"
    if published_sha is not None:
        return "published" if current in (None, published_sha) else "file changed since publication"
    return "not yet run"


def _attempt(wave: str, attempts: dict) -> str:
    """The latest attempt's counts: '3 errors, 1 warning'."""
    if wave not in attempts:
        return "-"
    _, errors, warnings, _ = attempts[wave]
    return f"{_counted(errors, 'error')}, {_counted(warnings, 'warning')}"


def _counted(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


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
