"""Every folder of the project, defined once and anchored to this file, never to the current directory."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SQL_DIR = PROJECT_ROOT / "sql"
TEMPLATES_DIR = PROJECT_ROOT / "reports" / "templates"
FONTS_DIR = PROJECT_ROOT / "reports" / "fonts"
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
CORRECTIONS_DIR = DATA_DIR / "corrections"
OUTPUTS_DIR = DATA_DIR / "outputs"
WAREHOUSE_DIR = DATA_DIR / "warehouse"
WAREHOUSE_FILE = WAREHOUSE_DIR / "survey.duckdb"
DAGSTER_HOME = PROJECT_ROOT / ".dagster"
# What a run would otherwise compute again from unchanged files (forms, code scans); safe to delete.
CACHE_DIR = PROJECT_ROOT / ".cache"
