"""Where a wave's numbers come from: the shipped synthetic files and the software that made them."""

import hashlib
import json
from functools import cache
from importlib import metadata

from workflows.paths import RAW_DIR

SYNTHETIC_REGISTER = RAW_DIR / "synthetic.json"
REPORTED_PACKAGES = ("cleantech-survey", "dagster", "duckdb", "pandas", "pandera", "statsmodels", "jinja2", "weasyprint")


@cache
def synthetic_files() -> dict[str, dict]:
    """sha256 -> register entry of every shipped synthetic wave (written by its generator)."""
    if not SYNTHETIC_REGISTER.exists():
        return {}
    entries = json.loads(SYNTHETIC_REGISTER.read_text(encoding="utf-8"))
    return {entry["sha256"]: entry for entry in entries}


def is_synthetic(raw_sha256: str) -> bool:
    """True for the bytes of a shipped synthetic wave, whatever the wave is called."""
    return raw_sha256 in synthetic_files()


def synthetic_kind(raw_sha256: str) -> str | None:
    """'reconstruction' (of the paper's 2007 wave), 'follow-up', or None for data that are not shipped."""
    entry = synthetic_files().get(raw_sha256)
    return entry["kind"] if entry else None


def is_reconstruction(raw_sha256: str) -> bool:
    """The shipped reconstruction of the paper's wave: the one to compare with the published figures."""
    return synthetic_kind(raw_sha256) == "reconstruction"


def write_synthetic(name: str, content: bytes, kind: str, generator: str, seed: int, note: str) -> dict:
    """Write a shipped synthetic wave into data/raw/ and record its sha256 in the register."""
    (RAW_DIR / name).write_bytes(content)
    entry = {"file": name, "sha256": hashlib.sha256(content).hexdigest(), "kind": kind,
             "generator": generator, "seed": seed, "note": note}
    register = json.loads(SYNTHETIC_REGISTER.read_text(encoding="utf-8")) if SYNTHETIC_REGISTER.exists() else []
    register = sorted([e for e in register if e["file"] != name] + [entry], key=lambda e: e["file"])
    SYNTHETIC_REGISTER.write_text(json.dumps(register, indent=2) + "\n", encoding="utf-8")
    synthetic_files.cache_clear()
    return entry


def package_versions() -> list[tuple[str, str]]:
    return [(name, metadata.version(name)) for name in REPORTED_PACKAGES]
