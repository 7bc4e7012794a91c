"""Where a wave's numbers come from: the shipped synthetic files and the software that made them."""

import json
from functools import cache
from importlib import metadata

from workflows.paths import RAW_DIR

SYNTHETIC_REGISTER = RAW_DIR / "synthetic.json"
REPORTED_PACKAGES = ("cleantech-survey", "dagster", "duckdb", "pandas", "pandera", "statsmodels", "jinja2", "weasyprint")


@cache
def synthetic_files() -> dict[str, str]:
    """sha256 -> file name of every shipped synthetic wave (written by its generator)."""
    if not SYNTHETIC_REGISTER.exists():
        return {}
    entries = json.loads(SYNTHETIC_REGISTER.read_text(encoding="utf-8"))
    return {entry["sha256"]: entry["file"] for entry in entries}


def is_synthetic(raw_sha256: str) -> bool:
    """True for the bytes of a shipped synthetic wave, whatever the wave is called."""
    return raw_sha256 in synthetic_files()


def package_versions() -> list[tuple[str, str]]:
    return [(name, metadata.version(name)) for name in REPORTED_PACKAGES]
