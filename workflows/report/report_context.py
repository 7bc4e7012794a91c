"""What the report's templates are given: the results, the sentences, and the formatting helpers."""

import pandas as pd

from schemas import codebook
from workflows.analysis import number_format
from workflows.analysis.exhibits import model_exhibits
from workflows.report import figures, narrative, provenance
from workflows.analysis.published import stars
from workflows.warehouse.tables import TABLE
from workflows.versions import files_version


def model_context(results: dict) -> dict:
    """What Table 5, Table 6, the marginal effects, the Firth table and the diagnostics print, formatted
    (`workflows.analysis.exhibits`), and the models beside their fits."""
    exhibits = model_exhibits(results, narrative.words("en"))
    return exhibits | {"model_columns": exhibits["table5"]["columns"],
                       "model_terms": [row["term"] for row in exhibits["table5"]["rows"]]}


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


# How the templates print numbers.
FORMATTING = {
    "num": lambda value, digits=1: narrative.number(value, "en", digits),
    "pct": lambda share: narrative.percent(share, "en", 1),
    # The statistical exhibits' one formatter (`workflows.analysis.number_format`).
    "fixed": number_format.fixed,
    "stars": stars,
    "pvalue": number_format.p_value,
    "signed_percent": lambda share: number_format.signed(100 * share, 0) + "\u00a0%",
}
