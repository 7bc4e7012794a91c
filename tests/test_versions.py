"""Code versions cover exactly the files each asset runs: its import closure, its SQL, its templates."""

import re

from workflows.definitions import defs
from workflows.paths import PROJECT_ROOT
from workflows.versions import COVERED

# Modules no asset runs: the command line and the UI it starts, the raw folder's scan (the sensor's), automation,
# the Dagster instance's storage.
NOT_RUN_BY_ASSETS = {
    *(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "workflows" / "command").glob("*.py")),
    "workflows/intake/raw_folder.py", "workflows/definitions.py", "workflows/defs/automation.py",
    "workflows/defs/jobs.py", "workflows/instance_storage.py",
}


def covered_by_asset() -> dict[str, set[str]]:
    graph = defs().resolve_asset_graph()
    return {key.to_user_string(): {str(p.relative_to(PROJECT_ROOT)) for p in COVERED[graph.get(key).code_version]}
            for key in graph.get_all_asset_keys()}


def test_every_source_file_an_asset_runs_is_covered_and_no_other():
    covered = covered_by_asset()
    every = set().union(*covered.values())
    sources = {str(p.relative_to(PROJECT_ROOT)) for folder in ("workflows", "schemas", "sql", "reports", "data/published")
               for p in (PROJECT_ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert sources - every == NOT_RUN_BY_ASSETS
    assert not every & NOT_RUN_BY_ASSETS


def test_a_change_reaches_exactly_the_assets_that_run_it():
    covered = covered_by_asset()
    assert "workflows/analysis/diagnostics.py" in covered["regression_models"]
    assert "reports/templates/validation.html.j2" in covered["raw_wave"]  # it writes validation.html
    # Code the models do not run leaves them fresh: the report's words and layout.
    assert not {"workflows/report/narrative.py", "workflows/report/rendering.py"} & covered["regression_models"]
    assert not {"workflows/report/rendering.py", "workflows/report/figures.py"} & covered["published_comparison"]
    templates = {name for name in set().union(*covered.values()) if name.startswith("reports/templates/")}
    assert templates and all(templates <= files for asset, files in covered.items() if asset == "wave_report")
    for asset in ("firm_indices", "enterprise_characteristics", "regression_models", "survey_responses"):
        assert not any(name.startswith("reports/") for name in covered[asset]), asset
    assert "sql/tbl_constraint_mentions.sql" in covered["constraint_mentions"]
    assert "sql/tbl_constraint_mentions.sql" not in covered["firm_indices"]


def test_the_data_generators_live_outside_the_runtime_packages():
    runtime = [p for folder in ("workflows", "schemas") for p in (PROJECT_ROOT / folder).rglob("*.py")]
    importing = [str(p) for p in runtime
                 if any(re.match(r"\s*(from|import)\s+generators\b", line) for line in p.read_text().splitlines())]
    assert importing == []


def test_a_files_imports_are_scanned_again_when_its_bytes_change_and_a_damaged_cache_is_ignored(tmp_path, monkeypatch):
    from workflows import versions

    monkeypatch.setattr(versions, "SCAN_CACHE", tmp_path / "cache" / "code_versions.json")
    versions._kept_scans.cache_clear()
    module = tmp_path / "module.py"
    module.write_text("import workflows.paths\nREADS = ('sql/*.sql',)\n", encoding="utf-8")
    try:
        assert versions._scanned(module) == {"imports": ["workflows.paths"], "reads": ["sql/*.sql"]}
        assert versions.SCAN_CACHE.is_file()
        module.write_text("from schemas import questionnaire\n", encoding="utf-8")
        assert versions._scanned(module)["imports"] == ["schemas", "schemas.questionnaire"]
        # A cache another process left damaged is read as empty, and written again whole.
        versions.SCAN_CACHE.write_text("{not json", encoding="utf-8")
        versions._kept_scans.cache_clear()
        assert versions._scanned(module)["reads"] == []
        assert "schemas.questionnaire" in versions.SCAN_CACHE.read_text(encoding="utf-8")
    finally:
        versions._kept_scans.cache_clear()
