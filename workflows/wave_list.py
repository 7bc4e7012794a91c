"""`cleantech-survey waves`: every wave the project knows, its status and its last report."""

from pathlib import Path

import duckdb

from workflows import settings
from workflows.intake import file_sha256


def print_waves() -> int:
    settings.apply_defaults()
    raw_dir = Path(settings.get("CLEANTECH_RAW_DIR"))
    outputs_dir = Path(settings.get("CLEANTECH_OUTPUTS_DIR"))
    published, attempts = _warehouse_state(Path(settings.get("CLEANTECH_WAREHOUSE")))
    files = {path.stem: path for path in sorted(raw_dir.glob("*.csv"))}
    waves = sorted(set(files) | set(published) | set(attempts))
    if not waves:
        print(f"No waves yet: put a CSV export into {raw_dir}/ or run `cleantech-survey run FILE`.")
        return 0
    print(f"{'wave':<12} {'firms':>6}  {'status':<34} last report")
    for wave in waves:
        print(f"{wave:<12} {_firms(wave, published):>6}  {_status(wave, files, published, attempts):<34} "
              f"{_report(outputs_dir / wave / 'report.pdf')}")
    return 0


def _warehouse_state(database: Path) -> tuple[dict, dict]:
    if not database.exists():
        return {}, {}
    try:
        conn = duckdb.connect(str(database), read_only=True)
    except duckdb.IOException:
        print("(the warehouse is in use by a run; statuses may be incomplete)")
        return {}, {}
    try:
        tables = {name for (name,) in conn.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()}
        published = ({w: (sha, n) for w, sha, n in conn.execute("select wave, raw_sha256, n_firms from main.waves").fetchall()}
                     if "main.waves" in tables else {})
        attempts = ({w: sha for w, sha in conn.execute("select wave, raw_sha256 from staging.wave_attempts").fetchall()}
                    if "staging.wave_attempts" in tables else {})
        return published, attempts
    finally:
        conn.close()


def _firms(wave: str, published: dict) -> str:
    return str(published[wave][1]) if wave in published else "-"


def _status(wave: str, files: dict, published: dict, attempts: dict) -> str:
    current = file_sha256(files[wave]) if wave in files else None
    if wave in published and (current is None or published[wave][0] == current):
        return "published"
    if wave in attempts and attempts[wave] == current:
        return "failed validation" if wave not in published else "new file failed; old one published"
    if wave in published:
        return "file changed since publication"
    return "not yet run"


def _report(path: Path) -> str:
    return str(path) if path.exists() else "-"
