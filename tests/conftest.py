"""Shared fixtures: every test gets its own warehouse, Dagster home and output folder.

The suite is a pyramid by time: most tests call a function, an asset or the command line in
this process, on a few firms, in milliseconds; each slow behaviour (a whole run, a process
started, a PDF rendered, a wait by design) is tested once end to end and carries the
`integration` marker. `pytest -m "not integration"` runs the fast part alone. The whole suite
runs on two workers (pytest-xdist, `-n auto` in pyproject.toml), slow tests first so that
neither worker is left with a long test at the end; a test that takes longer than
`SLOW_SECONDS` without the marker is named at the end of the run.
"""

import contextlib
import csv
import io
import subprocess
from pathlib import Path

import pytest

from schemas.questionnaire import CONTRACT_COLUMNS
from generators.synthetic import generate_wave


SLOW_SECONDS = 3.0
_seconds: dict[str, float] = {}
_unmarked: set[str] = set()


def pytest_collection_modifyitems(items):
    """The slow tests first (a stable sort): the workers share them out before the quick ones fill the gaps."""
    items.sort(key=lambda item: item.get_closest_marker("integration") is None)


def pytest_runtest_logreport(report):
    _seconds[report.nodeid] = _seconds.get(report.nodeid, 0.0) + report.duration
    if "integration" not in report.keywords:
        _unmarked.add(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    slow = sorted(((seconds, nodeid) for nodeid, seconds in _seconds.items()
                   if nodeid in _unmarked and seconds > SLOW_SECONDS), reverse=True)
    if slow:
        terminalreporter.section("slow tests without the integration marker")
        for seconds, nodeid in slow:
            terminalreporter.write_line(f"{seconds:5.1f} s  {nodeid}")
        terminalreporter.write_line("Make each fast (in process, on a few firms) or mark it @pytest.mark.integration.")


@pytest.fixture(autouse=True)
def isolated_project(tmp_path, monkeypatch):
    """Point the warehouse, Dagster home and outputs at a fresh temporary folder."""
    monkeypatch.setenv("CLEANTECH_WAREHOUSE", str(tmp_path / "warehouse" / "survey.duckdb"))
    monkeypatch.setenv("CLEANTECH_OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("CLEANTECH_RAW_DIR", str(tmp_path / "raw"))
    monkeypatch.setenv("CLEANTECH_CORRECTIONS_DIR", str(tmp_path / "corrections"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("CLEANTECH_LOCK_WAIT_SECONDS", "5")
    (tmp_path / "raw").mkdir()
    (tmp_path / "warehouse").mkdir()
    return tmp_path


@pytest.fixture
def small_wave() -> list[dict]:
    """Twelve valid firms, four per cluster."""
    return generate_wave({"bat_trang": 4, "dong_ky": 4, "van_phuc": 4}, seed=11)


def write_wave(path: Path, rows: list[dict], columns=None, bom: bool = False, extra: dict | None = None) -> Path:
    """Write rows as a CSV export, with the columns in the given order and optional extras."""
    columns = list(columns or CONTRACT_COLUMNS)
    if extra:
        columns += list(extra)
        rows = [{**row, **extra} for row in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))
    return path



def received_file(path: Path):
    """The file read into a private copy beside it, as the raw wave asset reads it."""
    from workflows.intake.wave_file import receive

    return receive(path, path.parent / "intake-scratch")


def project_resources(root: Path) -> dict:
    """The real resources, on the test's own warehouse and folders."""
    from workflows.defs.resources import WaveFiles, warehouse_resource

    return {"warehouse": warehouse_resource(str(root / "warehouse" / "survey.duckdb")),
            "wave_files": WaveFiles(raw_dir=str(root / "raw"), outputs_dir=str(root / "outputs"))}


def materialize_wave(instance, root: Path, wave: str):
    """Every asset and check of one wave, in process, as the command line runs them."""
    import dagster as dg

    from workflows.definitions import defs

    if wave not in instance.get_dynamic_partitions("wave"):
        instance.add_dynamic_partitions("wave", [wave])
    definitions = defs()
    return dg.materialize([*definitions.assets, *definitions.asset_checks], instance=instance, partition_key=wave,
                          resources=project_resources(root), raise_on_error=False)


def command(*args: str) -> subprocess.CompletedProcess:
    """The command line called in this process: its exit status and what it printed, as the installed
    command would give them, in milliseconds rather than the seconds a new process takes to import Dagster.

    For every test whose subject is the command's answer (a wrong call, help, validation, a busy or
    damaged warehouse, a failed run); the tests whose subject is the process itself (the installed
    command, a kill, runs in parallel, a full disk) start `cleantech-survey` as a user would.
    The environment is the test's own (`isolated_project`); change it with `monkeypatch.setenv`.
    """
    from workflows.command import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(list(args))
        except SystemExit as stop:  # argparse's own exits: --help, a wrong option
            status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    return subprocess.CompletedProcess(["cleantech-survey", *args], status, out.getvalue(), err.getvalue())
