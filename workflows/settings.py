"""The few settings a deployment may change, read from the environment with embedded defaults.

Dagster resources read the same variables through ``dg.EnvVar`` (see ``defs/resources.py``);
the command line calls ``apply_defaults()`` first so both see one value.
"""

import os
from pathlib import Path

from workflows import paths
from workflows.atomic import write_atomically

DEFAULTS = {
    "CLEANTECH_WAREHOUSE": str(paths.WAREHOUSE_FILE),
    "CLEANTECH_RAW_DIR": str(paths.RAW_DIR),
    # The survey team's corrections, one `<wave id>.csv` per wave (`workflows/intake/corrections.py`).
    "CLEANTECH_CORRECTIONS_DIR": str(paths.CORRECTIONS_DIR),
    "CLEANTECH_OUTPUTS_DIR": str(paths.OUTPUTS_DIR),
    "DAGSTER_HOME": str(paths.DAGSTER_HOME),
    # How much memory DuckDB may hold in a run before it spills to the folder beside the warehouse: a wave of ten
    # million firms stays within a few gigabytes (DuckDB's own default is 80 % of the machine's memory).
    "CLEANTECH_DUCKDB_MEMORY": "1GB",
    # How long a run waits for another run to release the warehouse before it gives up (exit 3).
    "CLEANTECH_LOCK_WAIT_SECONDS": "120",
}


# The embedded Dagster instance: local storage in DAGSTER_HOME, no telemetry (runs are offline).
# Runs that use the warehouse pool are queued one at a time by the daemon's run queue.
_INSTANCE_SETTINGS = """\
telemetry:
  enabled: false
concurrency:
  pools:
    granularity: run
    default_limit: 1
# A run whose worker process died (killed, machine off) is marked failed, freeing the warehouse pool.
run_monitoring:
  enabled: true
"""
# Dagster's SQLite storage, in the same files, with an event log that keeps its connections open
# (`workflows/instance_storage.py`).
INSTANCE_CONFIG = _INSTANCE_SETTINGS + """\
instance_class:
  module: workflows.instance_storage
  class: ProjectInstance
"""
# What earlier releases wrote: a home holding exactly this is given the current configuration.
EARLIER_INSTANCE_CONFIGS = (_INSTANCE_SETTINGS,)


def apply_defaults() -> None:
    """Fill in every unset variable with its embedded default and create the folders they name."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    home = os.environ["DAGSTER_HOME"]
    os.makedirs(home, exist_ok=True)
    instance_config = os.path.join(home, "dagster.yaml")
    if not os.path.exists(instance_config) or _read(instance_config) in EARLIER_INSTANCE_CONFIGS:
        # Written whole: another process (the UI, its daemon) never reads half of it.
        write_atomically(Path(instance_config), INSTANCE_CONFIG)
    os.makedirs(os.path.dirname(os.environ["CLEANTECH_WAREHOUSE"]) or ".", exist_ok=True)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def get(name: str) -> str:
    """The variable's value, or its embedded default."""
    return os.environ.get(name, DEFAULTS[name])


def lock_wait_seconds() -> float:
    return float(get("CLEANTECH_LOCK_WAIT_SECONDS"))
