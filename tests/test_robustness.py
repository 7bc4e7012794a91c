"""Nothing already stored is lost: failed and concurrent runs through the command.

Runs at once need processes of their own; the others are calls in this process (`tests.conftest.command`)."""

import hashlib
import os
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import command, write_wave
from tests.test_command_line import COMMAND
from workflows.warehouse.locking import warehouse_lock
from generators.synthetic import generate_wave


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def published_rows(database: Path, wave: str):
    with duckdb.connect(str(database), read_only=True) as conn:
        return conn.execute("select * from survey_responses where wave = $w order by firm_id", {"w": wave}).df()


@pytest.fixture
def published_wave(tmp_path, isolated_project):
    """Wave `a`, run once and published."""
    source = write_wave(tmp_path / "a.csv", generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=2))
    assert command("run", str(source)).returncode == 0
    return source, isolated_project / "outputs" / "a", isolated_project / "warehouse" / "survey.duckdb"


@pytest.mark.integration
def test_failed_runs_leave_the_last_good_version_byte_for_byte(tmp_path, published_wave):
    source, outputs, database = published_wave
    before_files, before_rows = snapshot(outputs), published_rows(database, "a")

    broken = [dict(r) for r in generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=2)]
    broken[2]["q1_water"] = "0"
    write_wave(source, broken)
    done = command("run", str(source))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert str(outputs / "last-attempt" / "validation.json") in done.stderr
    source.write_bytes("firm_id;cluster\nBT-1;bat_trang\n".encode("utf-16"))
    assert command("run", str(source)).returncode == 1
    overflowing = [dict(r) for r in generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=2)]
    overflowing[3]["turnover_kvnd"] = "1e400"  # DuckDB's cast would make it infinity
    write_wave(source, overflowing)
    done = command("run", str(source))
    assert done.returncode == 1 and "too large for any answer" in done.stderr

    after = snapshot(outputs)
    assert {k: v for k, v in after.items() if not k.startswith("last-attempt/")} == before_files
    assert published_rows(database, "a").equals(before_rows)


@pytest.mark.integration
def test_two_runs_at_once_take_turns(tmp_path, isolated_project):
    sources = [write_wave(tmp_path / f"{name}.csv", generate_wave({"dong_ky": 8, "van_phuc": 8}, seed=seed))
               for name, seed in (("x", 1), ("y", 2))]
    env = {**os.environ, "CLEANTECH_LOCK_WAIT_SECONDS": "120"}
    processes = [subprocess.Popen([COMMAND, "run", str(s)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for s in sources]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in processes]
    assert [code for code, _ in results] == [0, 0], results
    database = isolated_project / "warehouse" / "survey.duckdb"
    assert len(published_rows(database, "x")) == 16 and len(published_rows(database, "y")) == 16


@pytest.mark.integration  # it waits 2 s, by design
def test_a_run_that_finds_the_warehouse_busy_waits_then_exits_3(tmp_path, isolated_project, monkeypatch):
    source = write_wave(tmp_path / "z.csv", generate_wave({"bat_trang": 4}, seed=4))
    database = isolated_project / "warehouse" / "survey.duckdb"
    monkeypatch.setenv("CLEANTECH_LOCK_WAIT_SECONDS", "2")
    started = time.monotonic()
    with warehouse_lock(database, wait_seconds=1):  # an flock on its own open file: it holds off this process's run too
        done = command("run", str(source))
    assert done.returncode == 3
    assert "still in use by another run after 2 s" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started >= 2
    assert not (isolated_project / "outputs" / "z").exists()
