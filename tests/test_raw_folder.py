"""The raw folder's entries: what is a wave file, what is skipped and why, and `cleantech-survey waves`.

Real FIFOs, folders, links to `/dev/zero` and odd names; every call that could block runs
under a deadline, so a regression fails the test instead of hanging it.
"""

import contextlib
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import write_wave
from workflows.warehouse import staging
from workflows.intake.files import NotARegularFile
from workflows.intake.files import file_sha256
from workflows.intake.raw_folder import scan_raw_folder
from workflows.command.terminal import printable
from generators.synthetic import generate_wave
from workflows.command.wave_list import print_waves

COMMAND = Path(sys.executable).parent / "cleantech-survey"


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise TimeoutError in the test if the block has not finished in time (a blocked open is interrupted)."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def hostile_folder(raw: Path) -> dict[str, str]:
    """Every kind of entry that is not a wave file, by name, with a word its reason must hold."""
    os.mkfifo(raw / "pipe.csv")
    (raw / "folder.csv").mkdir()
    os.symlink("/dev/zero", raw / "zero.csv")
    os.symlink(raw / "nowhere.csv", raw / "gone.csv")
    os.symlink("loop.csv", raw / "loop.csv")
    (raw / "2011 final.csv").write_text("x")
    (raw / "\x1b[2Jvalid.csv").write_text("x")
    return {"pipe.csv": "FIFO", "folder.csv": "folder", "zero.csv": "character device", "gone.csv": "does not exist",
            "loop.csv": "cannot be examined", "2011 final.csv": "not a wave id", "\x1b[2Jvalid.csv": "not a wave id"}


def test_only_regular_files_named_after_a_wave_are_wave_files(isolated_project):
    raw = isolated_project / "raw"
    expected = hostile_folder(raw)
    good = write_wave(raw / "2011.csv", generate_wave({"van_phuc": 3}, seed=1))
    write_wave(isolated_project / "elsewhere.csv", generate_wave({"dong_ky": 3}, seed=2))
    os.symlink(isolated_project / "elsewhere.csv", raw / "linked-2012.csv")
    (raw / "notes.txt").write_text("not a csv: neither a wave nor skipped")

    with deadline(5):
        folder = scan_raw_folder(raw)
    assert folder.waves == {"2011": good, "linked-2012": raw / "linked-2012.csv"}
    assert set(folder.skipped) == set(expected)
    for name, word in expected.items():
        assert word in folder.skipped[name], (name, folder.skipped[name])
        assert folder.skipped[name].endswith(".")
    assert "/dev/zero" in folder.skipped["zero.csv"]
    assert folder.problem is None


def test_a_missing_raw_folder_is_empty_and_a_file_in_its_place_is_a_problem(tmp_path):
    absent = scan_raw_folder(tmp_path / "absent")
    assert absent.waves == {} and absent.skipped == {} and absent.problem is None
    (tmp_path / "plain").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    with deadline(5):
        assert "not a folder" in scan_raw_folder(tmp_path / "plain").problem
        assert "not a folder" in scan_raw_folder(tmp_path / "fifo").problem


def without_root_privileges() -> list[str]:
    """A command prefix under which a file's mode binds even root: its capabilities to bypass it dropped."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("root reads a file whatever its mode, and setpriv is missing to drop that power")
    dropped = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={dropped}", f"--bounding-set={dropped}"]


def test_a_file_that_cannot_be_read_is_skipped(isolated_project):
    raw = isolated_project / "raw"
    write_wave(raw / "2011.csv", generate_wave({"van_phuc": 3}, seed=1)).chmod(0)
    write_wave(raw / "2012.csv", generate_wave({"van_phuc": 3}, seed=2))
    prefix = without_root_privileges()
    if not prefix:  # an ordinary user: in process, then through the command
        folder = scan_raw_folder(raw)
        assert list(folder.waves) == ["2012"] and "cannot be read (Permission denied)" in folder.skipped["2011.csv"]
    done = subprocess.run([*prefix, str(COMMAND), "waves"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "  2011.csv: it cannot be read (Permission denied)." in done.stdout
    assert "2012" in done.stdout.split("Skipped in ")[0]


def test_hashing_refuses_a_fifo_a_device_and_a_folder_without_waiting(isolated_project):
    raw = isolated_project / "raw"
    hostile_folder(raw)
    path = write_wave(raw / "2011.csv", generate_wave({"van_phuc": 3}, seed=1))
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    with deadline(5):
        for name in ("pipe.csv", "zero.csv", "folder.csv"):
            with pytest.raises(NotARegularFile):
                file_sha256(raw / name)
        for name in ("gone.csv", "loop.csv"):
            with pytest.raises(OSError):
                file_sha256(raw / name)


def test_printable_escapes_control_characters_and_bytes_that_are_not_utf8():
    assert printable("\x1b[2Jvalid.csv") == "\\x1b[2Jvalid.csv"
    assert printable(os.fsdecode(b"\xff\x07.csv")) == "\\xff\\x07.csv"
    assert printable(Path("/tmp/a\nb")) == "/tmp/a\\nb"


def waves_output() -> str:
    out = io.StringIO()
    with deadline(20), contextlib.redirect_stdout(out):
        assert print_waves() == 0
    return out.getvalue()


def test_waves_lists_what_it_skipped_and_never_hangs(isolated_project):
    raw = isolated_project / "raw"
    expected = hostile_folder(raw)
    write_wave(raw / "2011.csv", generate_wave({"van_phuc": 3}, seed=1))

    text = waves_output()
    assert "\x1b" not in text
    table, skipped = text.split("Skipped in ")
    assert "2011" in table and "not yet run" in table
    assert "pipe" not in table and "zero" not in table
    for name, word in expected.items():
        line = next(line for line in skipped.splitlines() if line.startswith(f"  {printable(name)}: "))
        assert word in line
    assert "  \\x1b[2Jvalid.csv: its name is not a wave id" in skipped

    started = time.perf_counter()
    done = subprocess.run([str(COMMAND), "waves"], capture_output=True, text=True, timeout=60)
    print(f"`cleantech-survey waves` with a FIFO and /dev/zero present: {time.perf_counter() - started:.2f} s")
    assert done.returncode == 0, done.stderr
    assert done.stdout == text
    assert "\x1b" not in done.stdout + done.stderr


def test_waves_with_only_skipped_entries_says_so(isolated_project):
    raw = isolated_project / "raw"
    os.mkfifo(raw / "2011.csv")
    text = waves_output()
    assert text.startswith("No waves yet")
    assert "  2011.csv: it is a named pipe (FIFO), not a regular file." in text


def published_warehouse(rows: list[tuple], report_column: bool) -> None:
    with duckdb.connect(os.environ["CLEANTECH_WAREHOUSE"]) as conn:
        staging.ensure_tables(conn)
        if report_column:
            conn.execute("alter table waves add column if not exists report_pdf varchar")
        for wave, sha, n, pdf in rows:
            conn.execute("insert into waves (wave, raw_sha256, source_name, n_firms) values (?, ?, ?, ?)",
                         [wave, sha, f"{wave}.csv", n])
            if report_column:
                conn.execute("update waves set report_pdf = ? where wave = ?", [pdf, wave])


def test_waves_shows_the_published_report_wherever_it_was_written(isolated_project):
    raw, outputs = isolated_project / "raw", isolated_project / "outputs"
    a = write_wave(raw / "a.csv", generate_wave({"van_phuc": 3}, seed=1))
    elsewhere = isolated_project / "chosen out" / "report.pdf"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"%PDF-1.7\n")
    (outputs / "b").mkdir(parents=True)
    (outputs / "b" / "report.pdf").write_bytes(b"%PDF-1.7\n")
    published_warehouse([("a", file_sha256(a), 3, str(elsewhere)), ("b", "0" * 64, 4, None),
                         ("c", "1" * 64, 5, str(isolated_project / "deleted" / "report.pdf"))], report_column=True)

    lines = {line.split()[0]: line for line in waves_output().splitlines()[1:]}
    assert lines["a"].endswith(str(elsewhere)) and "published" in lines["a"]
    assert lines["b"].endswith(str(outputs / "b" / "report.pdf"))  # no recorded report: the default folder's
    assert lines["c"].endswith("report.pdf (file missing)")


def test_waves_without_the_report_column_uses_the_default_folder(isolated_project):
    outputs = isolated_project / "outputs"
    (outputs / "a").mkdir(parents=True)
    (outputs / "a" / "report.pdf").write_bytes(b"%PDF-1.7\n")
    published_warehouse([("a", "0" * 64, 3, None), ("b", "1" * 64, 4, None)], report_column=False)
    lines = {line.split()[0]: line for line in waves_output().splitlines()[1:]}
    assert lines["a"].endswith(str(outputs / "a" / "report.pdf"))
    assert lines["b"].endswith(" -")


def test_every_export_type_is_a_wave_file_and_two_files_of_one_wave_are_refused(isolated_project):
    from workflows.defs.resources import WaveFiles
    import dagster as dg

    raw = isolated_project / "raw"
    for name in ("2011.xlsx", "2012.sav", "2013.CSV", "2014.csv", "2014.xlsx", "2015.xls", "2016.dta", "~$2011.xlsx",
                 "notes.txt", "2017.zsav"):
        (raw / name).write_bytes(b"x")
    folder = scan_raw_folder(raw)
    assert folder.waves == {"2011": raw / "2011.xlsx", "2012": raw / "2012.sav", "2013": raw / "2013.CSV",
                            "2017": raw / "2017.zsav"}
    for name in ("2014.csv", "2014.xlsx"):
        assert folder.skipped[name] == ("wave 2014 has 2 files (2014.csv, 2014.xlsx) and none is read until only one "
                                        "is left: remove or rename the others.")
    assert "Excel 97-2003" in folder.skipped["2015.xls"] and "save it as .xlsx" in folder.skipped["2015.xls"]
    assert "Stata" in folder.skipped["2016.dta"]
    assert "lock file" in folder.skipped["~$2011.xlsx"]
    assert "notes.txt" not in folder.skipped

    wave_files = WaveFiles(raw_dir=raw, outputs_dir=isolated_project / "outputs")
    assert wave_files.source_of("2011") == raw / "2011.xlsx"
    assert wave_files.source_of("2099") == raw / "2099.csv"  # none: the run says the file cannot be read
    with pytest.raises(dg.Failure, match="wave 2014 has 2 files"):
        wave_files.source_of("2014")
