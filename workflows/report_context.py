"""What the report's templates are given: the results, the sentences, and the formatting helpers."""

import numpy as np
import pandas as pd

from schemas import codebook
from workflows import figures, narrative, provenance
from workflows.published import stars
from workflows.versions import files_version

TABLE5_TERMS = ("const", "empl", "years", "expt_vnd", "expt_bn_vnd", "cluster_code", "dong_ky", "van_phuc",
                "loan", "cp", "emp")
OUTCOME_LABELS = {"envtech_logit": "ENVTECH", "envexp_ols": "ENVEXP"}


def model_columns(results: dict) -> list[dict]:
    """Table 5's columns: the paper's two models, each followed by the answers to a referee."""
    models, robust = results["models"], results.get("robustness", {})
    columns = []
    for key, label, robust_key in (("envtech_logit", "ENVTECH", "envtech_logit_robust"),
                                   ("envexp_ols", "ENVEXP", "envexp_ols_robust")):
        family = "logit" if "logit" in key else "ols"
        for fit, kind in ((models[key], "as in the paper"), (robust.get(robust_key), "dummies, HC3")):
            if fit is None:
                continue
            columns.append({"label": label, "kind": kind, "family": family, "fit": fit})
            firth = (fit.get("diagnostics") or {}).get("firth")
            if firth:
                columns.append({"label": label, "kind": f"{kind}, Firth", "family": "firth",
                                "fit": firth | {"n": fit["n"]}})
    return columns


# The report's bounds on the free-text "other" answers, applied by sql/rpt_other_answers.sql:
# the answers named most often per question, each cut after so many characters.
OTHER_ANSWERS_SHOWN = 12
OTHER_ANSWER_CHARACTERS = 200


def report_context(results: dict, source_name: str, created: str, other_answers: pd.DataFrame,
                   comparison: list[dict], changes: dict, facts: dict[str, float]) -> dict:
    synthetic = provenance.synthetic_kind(results["raw_sha256"])
    en, de = narrative.words("en"), narrative.words("de")
    title = en["title"].format(wave=results["wave"])
    columns = model_columns(results)
    return {
        "results": results,
        "source_name": source_name,
        "synthetic": synthetic,
        "en": en,
        "de": de,
        "title": title,
        "author": "cleantech-survey",
        "subject": f"Survey wave {results['wave']}: clean-technology adoption in Red River Delta craft clusters",
        "keywords": en["keywords"],
        "created": created,
        "abstract_en": narrative.abstract(results, "en"),
        "abstract_de": narrative.abstract(results, "de"),
        "groups": (*codebook.CLUSTERS, "total"),
        "constraints_ranked": sorted(
            results["constraints"].items(),
            key=lambda item: (-item[1]["mentions"], codebook.Q10_CONSTRAINTS.index(item[0]))),
        "model_columns": columns,
        "model_terms": [t for t in TABLE5_TERMS if any(t in c["fit"]["params"] for c in columns)],
        "chart": figures.seriousness_chart(results["seriousness"], en),
        "map": figures.network_map(
            results["knowledge_sources"],
            {location: facts.get(f"q21_{location}", 0) for location in figures.LOCATION_RINGS}, en),
        "other_answers": other_answers_shown(other_answers),
        "other_answer_limits": {"shown": OTHER_ANSWERS_SHOWN, "characters": OTHER_ANSWER_CHARACTERS},
        "versions": provenance.package_versions(),
        "code_version": files_version("workflows/**/*.py", "schemas/*.py", "sql/*.sql", "reports/templates/**/*"),
        # The published figures are compared only for the shipped reconstruction, known by its bytes.
        "comparison": comparison if synthetic == "reconstruction" else [],
        "changes": changes if changes.get("previous_wave") else None,
        "num": lambda value, digits=1: narrative.number(value, "en", digits),
        "pct": lambda share: narrative.percent(share, "en", 1),
        "coef": coefficient,
        "stars": stars,
        "pvalue": lambda p: "< 0.001" if p is not None and p < 0.001 else f"= {p:.3f}" if p is not None else "–",
    }


def other_answers_shown(other_answers: pd.DataFrame) -> dict[str, dict]:
    """Per question, the listed answers (each `{"answer", "firms"}`), how many other answers and
    their firms were left out, and whether any answer was shortened: from `rpt_other_answers`."""
    shown = {}
    for question, group in other_answers.groupby("question"):
        listed = group.sort_values("listed").head(OTHER_ANSWERS_SHOWN)
        shown[question] = {
            "answers": [{"answer": row.answer, "firms": int(row.firms)} for row in listed.itertuples()],
            "more": int(group["answers"].iloc[0]) - len(listed),
            "more_firms": int(group["answering_firms"].iloc[0]) - int(listed["firms"].sum()),
            "shortened": bool(listed["shortened"].any()),
            "column": f"{question}_other_text",
        }
    return shown


def coefficient(value: float) -> str:
    """A coefficient as the paper prints it: six significant digits, no exponent."""
    if abs(value) >= 1e5:
        return f"{value:.0f}"
    if value and abs(value) < 1e-4:
        return f"{value:.3g}"
    return np.format_float_positional(value, precision=6, unique=False, fractional=False, trim="-")
