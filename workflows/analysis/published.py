"""The paper's published figures beside a wave's reproduced ones.

The figures are data (`data/published/konstadakopulos_2008.json`): each names where its
counterpart lives in `results.json` or among the wave's facts, the precision the paper
prints it to, and, where the paper contradicts itself, the decision taken.
"""

import json
from functools import cache

from workflows.paths import DATA_DIR

PUBLISHED_FIGURES = DATA_DIR / "published" / "konstadakopulos_2008.json"
LEVELS = {"": "none", "*": "5%", "**": "1%"}


@cache
def published_figures() -> dict:
    return json.loads(PUBLISHED_FIGURES.read_text(encoding="utf-8"))


def compare(results: dict, facts: dict[str, float]) -> list[dict]:
    """Every published figure with its reproduced value and whether it lies within the printed precision."""
    return [compare_figure(figure, results, facts) for figure in published_figures()["figures"]]


def compare_figure(figure: dict, results: dict, facts: dict) -> dict:
    row = {k: figure[k] for k in ("id", "exhibit", "label", "printed", "published", "required", "self_consistent")}
    row["decision"] = figure.get("decision", "")
    if figure["kind"] == "significance":
        _, model, term = figure["path"].split(".")
        fit = results["models"][model]
        coef, t, p = fit["params"].get(term), fit["tvalues"].get(term), fit["pvalues"].get(term)
        if coef is None or t is None or p is None:
            return row | {"reproduced": None, "shown": "not estimated", "within": False}
        sign = "+" if coef > 0 else "-"
        level = LEVELS[stars(p)]
        shown = f"{sign}, {'not significant' if level == 'none' else 'significant at ' + level} (t = {t:.2f})"
        return row | {"reproduced": t, "shown": shown,
                      "within": sign == figure["sign"] and level == figure["level"]}
    reproduced = _lookup(figure["path"], results, facts)
    within = reproduced is not None and abs(reproduced - figure["published"]) <= figure["tolerance"] + 1e-9
    return row | {"reproduced": reproduced, "shown": _shown(reproduced), "within": within}


def _lookup(path: str, results: dict, facts: dict):
    head, *rest = path.split(".")
    if head == "facts":
        return facts.get(rest[0])
    if head == "knowledge_sources":
        return next((s["count"] for s in results["knowledge_sources"] if s["source"] == rest[0]), None)
    node = results[head]
    for key in rest:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def _shown(value) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}" if abs(value) < 1 else f"{value:,.3f}".rstrip("0").rstrip(".")


def stars(p: float | None) -> str:
    """The paper's marks of significance: ** at 1 %, * at 5 %."""
    if p is None:
        return ""
    return "**" if p < 0.01 else "*" if p < 0.05 else ""
