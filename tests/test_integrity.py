"""Nothing lost: a run killed at any step boundary, failing in a step, or filling the disk changes nothing published.

Kills, a full disk and a second program holding the warehouse need processes of their own;
the damaged-warehouse calls are answered in this process (`tests.conftest.command`)."""

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import command, write_wave
from tests.test_command_line import COMMAND
from workflows.faults import FAULT_VARIABLE
from generators.synthetic import generate_wave

KILL_POINTS = ("after:raw_wave", "after:survey_responses", "after:regression_models", "after:wave_results",
               "publication:before_commit")
PUBLISHED_TABLES = ("waves", "survey_responses", "firm_indices", "enterprise_characteristics", "model_fits",
                    "wave_results", "published_comparison")


def tree(folder: Path) -> dict:
    """Every file under the folder (hidden ones too) with its sha256, but an attempt's findings.

    An attempt writes its `validation.json` into `last-attempt/`, beside the published set,
    as the contract asks; everything else must stay byte for byte.
    """
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "last-attempt" not in p.parts}


def warehouse_state(database: Path) -> dict:
    with duckdb.connect(str(database), read_only=True) as conn:
        return {table: conn.execute(f"select * from {table} order by all").fetchall() for table in PUBLISHED_TABLES}


def project_variables(root: Path) -> dict:
    return {"CLEANTECH_WAREHOUSE": str(root / "warehouse" / "survey.duckdb"),
            "CLEANTECH_OUTPUTS_DIR": str(root / "outputs"), "CLEANTECH_RAW_DIR": str(root / "raw"),
            "DAGSTER_HOME": str(root / "dagster_home")}


def project_env(root: Path, **extra) -> dict:
    """The environment of a command started on the project at `root`."""
    return {**os.environ, **project_variables(root), **extra}


def use_project(monkeypatch: pytest.MonkeyPatch, root: Path, **extra) -> None:
    """This process's environment on the project at `root`, for a call of `command`."""
    for name, value in {**project_variables(root), **extra}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def published(tmp_path, isolated_project):
    """Wave `a` published once (in this process); a second, valid version of it waiting beside."""
    (tmp_path / "second").mkdir()
    first = write_wave(tmp_path / "a.csv", generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=2))
    assert command("run", str(first)).returncode == 0
    second = write_wave(tmp_path / "second" / "a.csv",
                        generate_wave({"bat_trang": 6, "dong_ky": 6, "van_phuc": 6}, seed=3))
    return isolated_project, second


def latest_materialization(instance: dg.DagsterInstance, asset: str, wave: str):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[wave]), limit=1).records
    return records[0].event_log_entry if records else None


@pytest.mark.integration
def test_killed_failed_and_half_published_runs_leave_everything_as_it_was(tmp_path_factory, published, monkeypatch):
    """Each fault on its own copy of the project: a kill at every step boundary that matters and a
    kill between the commit and the swap, each in a process of its own, side by side; meanwhile, in
    this process, a step that fails with an exception."""
    root, second = published
    before_outputs = tree(root / "outputs")
    before_rows = warehouse_state(root / "warehouse" / "survey.duckdb")
    kills = (*KILL_POINTS, "publication:after_commit")
    faults = (*kills, "publication:before_commit:raise")
    projects = {}
    for point in faults:
        copy = tmp_path_factory.mktemp(point.replace(":", "_"))
        for part in ("warehouse", "outputs", "dagster_home", "raw"):
            shutil.copytree(root / part, copy / part, symlinks=True)
        projects[point] = copy
    processes = {point: subprocess.Popen([COMMAND, "run", str(second)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         text=True, env=project_env(projects[point], **{FAULT_VARIABLE: point}))
                 for point in kills}
    # Beside them, a new wave's first run fails in its report on a project of its own.
    unpublished = tmp_path_factory.mktemp("unpublished")
    newcomer = write_wave(unpublished / "n.csv", generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=4))
    statuses = {}
    for name, project, source in (("publication:before_commit:raise", projects["publication:before_commit:raise"], second),
                                  ("unpublished", unpublished, newcomer)):
        with monkeypatch.context() as env:
            use_project(env, project, **{FAULT_VARIABLE: "publication:before_commit:raise"})
            done = command("run", str(source))
        statuses[name] = (done.returncode, done.stderr)
    statuses.update({point: (process.wait(timeout=300), process.stderr.read()) for point, process in processes.items()})

    for point in faults:
        copy = projects[point]
        assert tree(copy / "outputs") == before_outputs, point  # even after the commit: not yet in place
        if point != "publication:after_commit":
            assert warehouse_state(copy / "warehouse" / "survey.duckdb") == before_rows, point
    assert all(statuses[point][0] == -9 for point in kills), statuses
    status, stderr = statuses["publication:before_commit:raise"]
    assert status == 4 and "a fault was injected" in stderr and "Traceback" not in stderr

    # After a failed step the UI shows, for each published asset, the version the warehouse holds.
    failed = projects["publication:before_commit:raise"]
    with dg.DagsterInstance.from_config(str(failed / "dagster_home")) as instance:
        runs = {run.run_id: run for run in instance.get_runs()}
        assert {run.job_name for run in runs.values()} == {"wave_job"}
        for asset in ("survey_responses", "firm_indices", "regression_models", "wave_results"):
            entry = latest_materialization(instance, asset, "a")
            restated = runs[entry.asset_materialization.tags["cleantech/restates_run"]]
            assert restated.status == dg.DagsterRunStatus.SUCCESS, asset
        assert (latest_materialization(instance, "survey_responses", "a").asset_materialization
                .metadata["raw_sha256"].value == before_rows["waves"][0][1])

    # A wave that never published shows, for each published asset, that nothing is published.
    assert statuses["unpublished"][0] == 4
    assert not (unpublished / "outputs" / "n" / "report.pdf").exists()
    with dg.DagsterInstance.from_config(str(unpublished / "dagster_home")) as instance:
        for asset in ("survey_responses", "wave_results", "regression_models"):
            materialization = latest_materialization(instance, asset, "n").asset_materialization
            assert materialization.metadata["published"].value is False, asset
            assert materialization.tags["cleantech/restates_run"] == "none"
        assert latest_materialization(instance, "wave_report", "n") is None
        assert latest_materialization(instance, "raw_wave", "n") is not None  # the attempt itself happened

    # The next runs finish what the killed ones left: a committed swap is completed (here by a run
    # of another wave), an uncommitted one forgotten, and no temporary file is left anywhere.
    other = write_wave(second.parent / "b.csv", generate_wave({"dong_ky": 4, "van_phuc": 4}, seed=5))
    new_sha = hashlib.sha256(second.read_bytes()).hexdigest()
    for point, path in (("publication:after_commit", other), ("publication:before_commit", second)):
        copy = projects[point]
        with monkeypatch.context() as env:
            use_project(env, copy)
            done = command("run", str(path))
        assert done.returncode == 0, done.stderr
        assert new_sha in (copy / "outputs" / "a" / "results.json").read_text(), point
        assert not (copy / "outputs" / "a" / "last-attempt").exists()
        leftovers = [p for p in (copy / "warehouse").rglob("*") if p.is_file()]
        assert sorted(p.name for p in leftovers) == ["survey.duckdb", "survey.duckdb.lock"], point


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare for a private small file system")
def test_a_full_disk_changes_nothing_published(tmp_path, isolated_project):
    (tmp_path / "second").mkdir()
    first = write_wave(tmp_path / "a.csv", generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=2))
    second = write_wave(tmp_path / "second" / "a.csv",
                        generate_wave({"bat_trang": 6, "dong_ky": 6, "van_phuc": 6}, seed=3))
    small = tmp_path / "small"
    small.mkdir()
    # A 280 KiB file system, private to this script and named by --out itself (a mount point):
    # room for one output set (some 200 KiB with issues.xlsx and validation.html), not for two.
    script = textwrap.dedent(f"""\
        set -u
        mount -t tmpfs -o size=280k tmpfs {small} || exit 97
        {COMMAND} run {first} --out {small} > /dev/null 2>&1 || exit 98
        (cd {small} && find . -type f -not -path '*/last-attempt/*' -exec sha256sum {{}} + | sort) > {tmp_path}/before.txt
        {COMMAND} run {second} --out {small} > {tmp_path}/stdout.txt 2> {tmp_path}/stderr.txt
        echo $? > {tmp_path}/status.txt
        (cd {small} && find . -type f -not -path '*/last-attempt/*' -exec sha256sum {{}} + | sort) > {tmp_path}/after.txt
        """)
    database = isolated_project / "warehouse" / "survey.duckdb"
    done = subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", script], capture_output=True, text=True,
                          env=project_env(isolated_project))
    if done.returncode == 97:
        pytest.skip(f"no private tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    stderr = (tmp_path / "stderr.txt").read_text()
    assert (tmp_path / "status.txt").read_text().strip() == "4", stderr
    assert "is full" in stderr and "nothing published changed" in stderr and "Traceback" not in stderr
    before, after = (tmp_path / "before.txt").read_text(), (tmp_path / "after.txt").read_text()
    assert after == before and "report.pdf" in before and ".outputs-pending" not in after
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute("select raw_sha256 from waves").fetchall() == [(hashlib.sha256(first.read_bytes()).hexdigest(),)]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "folder"])
def test_a_damaged_warehouse_is_named_at_once_and_left_as_it_is(tmp_path, isolated_project, damage):
    database = isolated_project / "warehouse" / "survey.duckdb"
    if damage == "truncated":
        with duckdb.connect(str(database)) as conn:  # a real warehouse, cut short as a failed copy leaves it
            conn.execute("create table waves as select range as wave, repeat('x', 200) as note from range(200000)")
        database.write_bytes(database.read_bytes()[: database.stat().st_size // 2])
    elif damage == "garbage":
        database.write_bytes(b"DUCK" + bytes(range(256)) * 64)
    elif damage == "empty":
        database.write_bytes(b"")
    else:
        database.mkdir()
    before = database.read_bytes() if database.is_file() else None
    source = write_wave(tmp_path / "d.csv", generate_wave({"bat_trang": 3}, seed=1))
    done = command("run", str(source))
    assert done.returncode == 4 and "Traceback" not in done.stderr
    assert f"The warehouse {database} " in done.stderr and "nothing was" in done.stderr, done.stderr
    assert (database.read_bytes() if database.is_file() else None) == before
    listed = command("waves")
    assert listed.returncode == 0 and f"The warehouse {database} " in listed.stdout, listed.stdout + listed.stderr


@pytest.mark.integration  # a second program, holding the warehouse
def test_a_warehouse_held_by_another_program_is_busy_not_a_fault(tmp_path, isolated_project, monkeypatch):
    database = isolated_project / "warehouse" / "survey.duckdb"
    duckdb.connect(str(database)).close()
    source = write_wave(tmp_path / "h.csv", generate_wave({"bat_trang": 3}, seed=1))
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(database)!r}); "
                               "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("CLEANTECH_LOCK_WAIT_SECONDS", "1")
        done = command("run", str(source))  # DuckDB's lock is the other process's: this one may be the test's
    finally:
        holder.kill()
    assert done.returncode == 3 and "still in use by another program" in done.stderr, done.stderr
