"""The benchmark's own machinery (bench/run_benchmark.py), on small waves: nothing here is timed."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import duckdb

from generators.synthetic import generate_large_wave
from tests.conftest import received_file
from workflows.intake.wave_file import stage_attempt

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run_benchmark.py"


def benchmark():
    spec = importlib.util.spec_from_file_location("run_benchmark", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_wave_up_to_a_chunk_is_the_generators_own(tmp_path):
    benchmark().write_wave(300, tmp_path / "w.csv", chunk=1_000)
    assert (tmp_path / "w.csv").read_bytes() == generate_large_wave(300, seed=300)


def test_a_wave_written_in_chunks_is_one_valid_wave_with_firm_ids_following_on(tmp_path):
    path = tmp_path / "w.csv"
    benchmark().write_wave(2_500, path, chunk=1_000)
    lines = path.read_text().splitlines()
    assert lines[0] == generate_large_wave(1, seed=1).decode().splitlines()[0]
    assert [line.split(",", 1)[0] for line in lines[1:]] == [f"F{i:07d}" for i in range(1, 2_501)]
    with duckdb.connect() as conn:
        attempt = stage_attempt(conn, received_file(path), "w")
    assert attempt.n_rows == 2_500
    assert [f for f in attempt.verdict.findings if f.severity == "error"] == []


def test_the_profile_of_a_run_adds_up_to_its_total():
    def record(at, kind=None, step=None):
        return SimpleNamespace(timestamp=at, step_key=step,
                               dagster_event=kind and SimpleNamespace(event_type_value=kind))

    records = [record(103.0, "ASSET_MATERIALIZATION_PLANNED", "raw_wave"), record(103.5, "PIPELINE_START"),
               record(104.0, "STEP_START", "raw_wave"), record(105.0, "STEP_OUTPUT", "raw_wave"),
               record(105.5, "STEP_SUCCESS", "raw_wave"), record(105.75, "STEP_START", "wave_report"),
               record(106.0), record(108.0, "STEP_SUCCESS", "wave_report"), record(108.25, "PIPELINE_SUCCESS")]
    parts = benchmark().profile(records, started=100.0, total=9.0)
    seconds = {part.split(":")[0]: s for part, _, s, _, _ in parts}
    assert abs(sum(seconds.values()) - 9.0) < 1e-9
    assert seconds["step `raw_wave`"] == 1.5 and seconds["step `wave_report`"] == 2.25
    assert seconds["between steps"] == 0.25 and seconds["process start to the run's first event"] == 3.0
    assert [after for part, _, _, after, _ in parts if part.startswith("step ")] == [0.5, 0.0]
    # A missed target is followed by the run's largest parts, by this profile.
    largest = benchmark().largest_parts({"profile": parts, "total": 9.0}, count=2)
    assert largest == "process start to the run's first event 3.0 s (33%); step `wave_report` 2.2 s (25%)"


def test_a_verdict_carries_the_run_it_judges_so_that_a_miss_is_explained_by_that_run():
    bench = benchmark()
    slow = {"n": 51, "total": 9.0, "floor": 4.0, "peak_mb": 400.0}
    checks = {text.split(":")[0]: (met, row) for text, met, row in bench.verdicts({51: slow})}
    assert checks["51 firms"] == (False, slow)
    assert checks["1,000,000 firms"] == (None, None)
