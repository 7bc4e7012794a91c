"""Shared fixtures: every test gets its own warehouse, Dagster home and output folder."""

import csv
import io
from pathlib import Path

import pytest

from schemas.raw_wave import CONTRACT_COLUMNS
from workflows.synthetic import generate_wave


@pytest.fixture(autouse=True)
def isolated_project(tmp_path, monkeypatch):
    """Point the warehouse, Dagster home and outputs at a fresh temporary folder."""
    monkeypatch.setenv("CLEANTECH_WAREHOUSE", str(tmp_path / "warehouse" / "survey.duckdb"))
    monkeypatch.setenv("CLEANTECH_OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("CLEANTECH_RAW_DIR", str(tmp_path / "raw"))
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
    from workflows.intake import receive

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
