"""Time `cleantech-survey run` on synthetic waves of growing size, stage by stage, beside DuckDB's own read.

    .venv/bin/python bench/run_benchmark.py                # N = 51, 10,000, 100,000, 1,000,000
    .venv/bin/python bench/run_benchmark.py 51 10000       # chosen sizes

Each size runs in a fresh warehouse and Dagster home under a temporary folder. Stage
times come from the run's own step events in Dagster; peak memory is the command's
maximum resident set size. Prints a table; nothing is timed inside the test suite.
"""

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from workflows.synthetic import generate_large_wave

COMMAND = str(Path(sys.executable).with_name("cleantech-survey"))
SIZES = (51, 10_000, 100_000, 1_000_000)
# Each Dagster step belongs to one of the stages the issue names.
STAGES = {
    "raw_wave": "load+validate", "survey_responses": "load+validate",
    "firm_indices": "indices",
    "enterprise_characteristics": "tables", "constraint_mentions": "tables", "knowledge_sources": "tables",
    "pollution_seriousness": "tables", "wave_facts": "tables", "wave_comparison": "tables",
    "regression_models": "models",
    "wave_results": "report", "published_comparison": "report", "wave_report": "report",
}


def duckdb_read_seconds(path: Path) -> float:
    """DuckDB alone reading every cell of the file as text: the floor for loading it."""
    start = time.perf_counter()
    with duckdb.connect() as conn:
        conn.execute("select count(*) from read_csv(?, all_varchar = true, header = true)", [str(path)]).fetchall()
    return time.perf_counter() - start


def stage_seconds(dagster_home: Path) -> dict[str, float]:
    """Seconds per stage, from the STEP_START and STEP_SUCCESS/FAILURE events of the one run there."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        starts, totals = {}, defaultdict(float)
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or record.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                starts[record.step_key] = record.timestamp
            elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and record.step_key in starts:
                asset = next((a for a in STAGES if record.step_key == a), None)
                stage = STAGES[asset] if asset else "load+validate"  # the checks on raw_wave
                totals[stage] += record.timestamp - starts[record.step_key]
    return dict(totals)


def measure(n: int, folder: Path) -> dict:
    source = folder / f"bench{n}.csv"
    source.write_bytes(generate_large_wave(n, seed=n))
    env = {**os.environ, "CLEANTECH_WAREHOUSE": str(folder / "warehouse" / "w.duckdb"),
           "DAGSTER_HOME": str(folder / "dagster"), "CLEANTECH_OUTPUTS_DIR": str(folder / "outputs")}
    (folder / "warehouse").mkdir()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([COMMAND, "run", str(source)], env=env, capture_output=True, text=True)
    total = time.perf_counter() - start
    peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    if done.returncode != 0:
        raise SystemExit(f"N={n}: exit {done.returncode}\n{done.stderr}")
    floor = duckdb_read_seconds(source)
    return {"n": n, "mb": source.stat().st_size / 1e6, "total": total, "peak_mb": peak_mb, "duckdb": floor,
            **stage_seconds(folder / "dagster")}


def main(sizes: list[int]) -> None:
    columns = ("load+validate", "indices", "tables", "models", "report")
    print(f"{'N':>9} {'CSV MB':>7} " + " ".join(f"{c:>13}" for c in columns)
          + f" {'total s':>8} {'peak MB':>8} {'DuckDB read s':>13} {'total/read':>10}")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="cleantech-bench-") as scratch:
            row = measure(n, Path(scratch))
        print(f"{row['n']:>9,} {row['mb']:>7.1f} " + " ".join(f"{row.get(c, 0):>13.2f}" for c in columns)
              + f" {row['total']:>8.2f} {row['peak_mb']:>8.0f} {row['duckdb']:>13.3f} {row['total'] / row['duckdb']:>10.0f}",
              flush=True)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or list(SIZES))
