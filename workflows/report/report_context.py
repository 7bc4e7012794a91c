"""What the report's templates are given: the results, the sentences, and the formatting helpers."""

import numpy as np
import pandas as pd

from schemas import codebook
from workflows.analysis import model_specs
from workflows.report import figures, narrative, provenance
from workflows.analysis.published import stars
from workflows.warehouse.tables import TABLE
from workflows.versions import files_version


def fitted_models(results: dict) -> list[dict]:
    """Each declared model beside its fit (`{"spec", "fit"}`), in Table 5's order: every paper model
    followed by its robustness twins. A twin the results do not hold (an older document) is left out."""
    models = []
    for spec in model_specs.paper_models():
        models.append({"spec": spec, "fit": results["models"][spec.key]})
        for twin in model_specs.twins_of(spec):
            fit = results.get("robustness", {}).get(twin.key)
            if fit is not None:
                models.append({"spec": twin, "fit": fit})
    return models


def model_columns(models: list[dict]) -> list[dict]:
    """Table 5's columns: each model and, beside a logit that needed it, Firth's penalised fit."""
    columns = []
    for model in models:
        spec, fit = model["spec"], model["fit"]
        columns.append({"label": spec.label, "kind": spec.kind, "family": spec.family, "fit": fit})
        firth = (fit.get("diagnostics") or {}).get("firth")
        if firth:
            columns.append({"label": spec.label, "kind": f"{spec.kind}, Firth", "family": "firth",
                            "fit": firth | {"n": fit["n"]}})
    return columns


def model_terms(models: list[dict]) -> list[str]:
    """Table 5's rows: the constant and the paper's variables in the order its models name them, each
    followed by the recodings of it that the robustness models use, then any other term."""
    present = [term for model in models for term in model["spec"].terms if term in model["fit"]["params"]]
    paper = [term for model in models if model["spec"].twin_of is None for term in model["spec"].terms]
    rows = []
    for term in dict.fromkeys(paper):
        rows += [term, *(t for t in dict.fromkeys(present) if model_specs.RECODES.get(t) == term)]
    return [term for term in dict.fromkeys(rows + present) if term in present]


def model_context(results: dict) -> dict:
    """What Table 5 and the diagnostics are given besides the results: the models, columns and rows."""
    models = fitted_models(results)
    return {"fitted_models": models, "model_columns": model_columns(models), "model_terms": model_terms(models)}


# The report's bounds on the free-text "other" answers, applied by sql/rpt_other_answers.sql:
# the answers named most often per question, each cut after so many characters.
OTHER_ANSWERS_SHOWN = 12
OTHER_ANSWER_CHARACTERS = 200


def report_context(results: dict, source_name: str, created: str, other_answers: pd.DataFrame,
                   comparison: list[dict], changes: dict, facts: dict[str, float]) -> dict:
    synthetic = provenance.synthetic_kind(results["raw_sha256"])
    en, de = narrative.words("en"), narrative.words("de")
    title = en["title"].format(wave=results["wave"])
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
        # Table 2's rows: the declared columns of enterprise_characteristics that carry a label.
        "characteristic_rows": [c for c in TABLE["enterprise_characteristics"].columns if c.label],
        "constraints_ranked": sorted(
            results["constraints"].items(),
            key=lambda item: (-item[1]["mentions"], codebook.Q10_CONSTRAINTS.index(item[0]))),
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
    } | model_context(results) | FORMATTING


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


# How the templates print numbers.
FORMATTING = {
    "num": lambda value, digits=1: narrative.number(value, "en", digits),
    "pct": lambda share: narrative.percent(share, "en", 1),
    "coef": coefficient,
    "stars": stars,
    "pvalue": lambda p: "< 0.001" if p is not None and p < 0.001 else f"= {p:.3f}" if p is not None else "–",
}
