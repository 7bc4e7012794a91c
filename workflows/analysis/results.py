"""Gather a wave's figures from the warehouse into the document `results.json` promises."""

from collections import Counter

import duckdb
import pandas as pd

from schemas.findings import ITEMS_PER_RULE
from workflows.warehouse import documents, staging
from workflows.analysis.model_specs import paper_models
from workflows.warehouse.json_values import clean
from workflows.warehouse.tables import value_columns



def _keyed(frame: pd.DataFrame, table: str, key: str) -> dict:
    """One entry per row, by its key column, holding every other declared column of the table."""
    columns = [column.name for column in value_columns(table, key)]
    return {row[key]: {name: row[name] for name in columns} for row in frame.to_dict("records")}



def wave_results(conn: duckdb.DuckDBPyConnection, wave: str, items_per_rule: int | None = ITEMS_PER_RULE) -> dict:
    """Every figure of the wave: tables, models and the validation findings of its published file.

    Its `validation` is bounded like `validation.json`: at most `items_per_rule` findings of
    each rule (all when None), with every rule's full count and whether any was left out.
    """
    params = {"wave": wave}
    paper_keys = {spec.key for spec in paper_models()}
    register = conn.execute("select * from waves where wave = $wave", params).df().iloc[0]
    characteristics = conn.execute("select * from enterprise_characteristics where wave = $wave", params).df()
    constraints = conn.execute("select * from constraint_mentions where wave = $wave", params).df()
    sources = conn.execute("select * from knowledge_sources where wave = $wave order by rank", params).df()
    seriousness = conn.execute("select * from pollution_seriousness where wave = $wave", params).df()
    fits = documents.load(conn, documents.MODEL_FITS, wave, default={})
    version = staging.Version.of(register)
    findings = staging.findings_of(conn, wave, version)
    counts = staging.counts_of(conn, wave, version)
    return clean({
        "wave": wave,
        "n_firms": int(register["n_firms"]),
        "raw_sha256": register["raw_sha256"],
        "characteristics": _keyed(characteristics, "enterprise_characteristics", "cluster"),
        "constraints": _keyed(constraints, "constraint_mentions", "constraint_code"),
        "knowledge_sources": [{"source": r["source"], "count": r["count"]} for r in sources.to_dict("records")],
        "seriousness": _keyed(seriousness, "pollution_seriousness", "cluster"),
        "models": {model: document for model, document in sorted(fits.items()) if model in paper_keys},
        "robustness": {model: document for model, document in sorted(fits.items())
                       if model not in paper_keys},
        "validation": listed_findings(findings, counts, items_per_rule),
        # Only a wave corrected by a corrections file says so: an uncorrected wave's document keeps its bytes.
        **({"corrections": applied_corrections(conn, wave, version)} if version.corrections_sha256 else {}),
    })


def applied_corrections(conn: duckdb.DuckDBPyConnection, wave: str, version: staging.Version) -> dict:
    """The corrections file applied to the published cells: its name, sha256 and every correction, in its order
    (the values of a personal column are never shown)."""
    from workflows.intake.corrections import applied_of, corrections_path  # imported by a corrected wave only
    from schemas.questionnaire import PERSONAL_COLUMNS

    applied = []
    for row in applied_of(conn, wave, version):
        personal = row["column"] in PERSONAL_COLUMNS
        applied.append({
            "line": row["line"], "row": row["source_row"], "firm_id": row["firm_id"], "column": row["column"],
            "old_value": None if personal else row["old_value"], "new_value": None if personal else row["new_value"],
            "values_shown": not personal, "reason": row["reason"], "who": row["who"], "when": row["when"],
        })
    return {"file": corrections_path("", wave).name, "sha256": version.corrections_sha256, "applied": applied}


def listed_findings(findings: pd.DataFrame, counts: dict[str, int], items_per_rule: int | None) -> dict:
    """`{"errors", "warnings", "counts", "truncated"}`: the first `items_per_rule` findings of each
    rule in the findings' order (all when None), every rule's full count, and whether any was left out."""
    listed: dict[str, list[dict]] = {"errors": [], "warnings": []}
    shown: Counter = Counter()
    for item in findings.to_dict("records"):
        if items_per_rule is not None and shown[item["rule"]] >= items_per_rule:
            continue
        shown[item["rule"]] += 1
        listed[item.pop("severity") + "s"].append(item)
    return {**listed, "counts": dict(sorted(counts.items())),
            "truncated": any(shown[rule] < n for rule, n in counts.items())}
