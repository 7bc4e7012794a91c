"""The paper's published figures beside a wave's reproduced ones.

The figures are data (`data/published/konstadakopulos_2008.json`): each names where its
counterpart lives in `results.json` or among the wave's facts, the figure exactly as the paper
prints it, and, where the paper contradicts itself, the decision taken.

Each figure is judged by the precision the paper prints it to: reproduced when it lies within
half a unit of the last printed digit (15.1 admits 15.05 to 15.15), the log-likelihood and
Table 5's coefficients included. Table 5's tests are judged on three counts, all of which must
hold: the coefficient's sign, the significance stars (p < 0.05 *, p < 0.01 **) and the test
statistic within a stated band of the printed one (`band`, ±0.5: half the standard deviation of
a z or t statistic under repeated sampling, whose spread is 1).
"""

import json
from functools import cache

from workflows.analysis import number_format
from workflows.paths import DATA_DIR

PUBLISHED_FIGURES = DATA_DIR / "published" / "konstadakopulos_2008.json"
LEVELS = {"": "none", "*": "5%", "**": "1%"}
STARS = {level: mark for mark, level in LEVELS.items()}
# A reproduced figure is printed with this many more decimals than the paper's, so that a reader
# sees how it rounds to the printed one.
EXTRA_DECIMALS = 2


@cache
def published_figures() -> dict:
    return json.loads(PUBLISHED_FIGURES.read_text(encoding="utf-8"))


def compare(results: dict, facts: dict[str, float]) -> list[dict]:
    """Every published figure with its reproduced value and whether it is reproduced."""
    return [compare_figure(figure, results, facts) for figure in published_figures()["figures"]]


def tolerance(figure: dict) -> float:
    """How far a reproduced figure may lie from the published one: half a unit of the last printed
    digit, unless the figure states its own (with its reason, `tolerance_basis`)."""
    if "tolerance_basis" in figure:
        return float(figure["tolerance"])
    return number_format.half_unit(figure["printed"])


def compare_figure(figure: dict, results: dict, facts: dict) -> dict:
    row = {k: figure[k] for k in ("id", "exhibit", "label", "printed", "published", "required", "self_consistent")}
    row |= {"decision": figure.get("decision", ""), "kind": figure.get("kind", "value")}
    if row["kind"] == "significance":
        return row | _significance(figure, results)
    reproduced = _lookup(figure["path"], results, facts)
    allowed = tolerance(figure)
    # A last-bit allowance only: 15.15 must count as within 0.05 of 15.1 however it is stored.
    slack = 1e-9 * max(1.0, abs(figure["published"]))
    within = reproduced is not None and abs(reproduced - figure["published"]) <= allowed + slack
    judged = figure.get("tolerance_basis") or ("exact" if allowed < 0.5 * 10 ** -12 else f"±{_tolerance_text(figure)}")
    row |= {"reproduced": reproduced, "shown": shown(reproduced, figure), "within": within, "tolerance": allowed,
            "judged_by": judged}
    if row["kind"] == "coefficient" and reproduced is not None and figure["published"]:
        row["relative_difference"] = (reproduced - figure["published"]) / abs(figure["published"])
    return row


def _tolerance_text(figure: dict) -> str:
    decimals = number_format.printed_decimals(figure["printed"])
    return number_format.fixed(number_format.half_unit(figure["printed"]), decimals + 1)


def _significance(figure: dict, results: dict) -> dict:
    _, model, term = figure["path"].split(".")
    fit = (results.get("models") or {}).get(model) or {}
    coef = (fit.get("params") or {}).get(term)
    statistic = (fit.get("tvalues") or {}).get(term)
    p = (fit.get("pvalues") or {}).get(term)
    name = "z" if fit.get("statistic", "z" if "logit" in model else "t") == "z" else "t"
    band = float(figure["band"]) if "band" in figure else 0.5
    judged = f"sign, stars, {name} ± {number_format.fixed(band, 1)}"
    if coef is None or statistic is None or p is None:
        return {"reproduced": None, "shown": "not estimated", "within": False, "judged_by": judged,
                "checks": {"sign": False, "stars": False, "statistic": False}}
    sign = "+" if coef > 0 else "-"
    level = LEVELS[stars(p)]
    checks = {"sign": sign == figure["sign"], "stars": level == figure["level"],
              "statistic": abs(statistic - figure["published"]) <= band + 1e-12}
    coefficient_decimals = number_format.printed_decimals(figure["printed"])
    text = (f"{number_format.fixed(coef, coefficient_decimals, grouped=False)} "
            f"({number_format.fixed(statistic, 2)}){stars(p)}")
    return {"reproduced": statistic, "shown": text, "within": all(checks.values()), "checks": checks,
            "judged_by": judged, "band": band}


def shown(value, figure: dict) -> str:
    """The reproduced figure, printed as the paper prints the published one with two more decimals
    (a count as a whole number; a coefficient with the paper's own decimals)."""
    if value is None:
        return number_format.DASH
    decimals = number_format.printed_decimals(figure["printed"]) if figure["printed"][:1].isdigit() \
        or figure["printed"][:1] in "-\u2212" else 0
    if float(value).is_integer() and decimals == 0:
        return number_format.count(value)
    grouped = "," in figure["printed"] or abs(value) >= 10_000 and figure.get("kind") != "coefficient"
    extra = 0 if figure.get("kind") == "coefficient" else EXTRA_DECIMALS
    return number_format.fixed(value, decimals + extra, grouped=grouped)


def _lookup(path: str, results: dict, facts: dict):
    head, *rest = path.split(".")
    if head == "facts":
        return facts.get(rest[0])
    if head == "knowledge_sources":
        return next((s["count"] for s in results["knowledge_sources"] if s["source"] == rest[0]), None)
    node = results.get(head)
    for key in rest:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def stars(p: float | None) -> str:
    """The paper's marks of significance: ** at 1 %, * at 5 %."""
    if p is None:
        return ""
    return "**" if p < 0.01 else "*" if p < 0.05 else ""
