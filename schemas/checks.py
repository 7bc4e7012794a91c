"""The cell rules of `rules.py` registered as pandera checks, one factory for all of them.

Each check judges only the cells it is about and lets empty cells pass (emptiness is the
``required`` rule's business, pandera's own nullable flag), so that a wrong cell is
reported once, by the rule it breaks. On a frame, DuckDB evaluates the rule's predicate.
"""

import inspect

import pandas as pd
from pandera import extensions

from schemas.predicates import holds
from schemas.rules import CELL_RULES, CellRule

# pandera's own check behind `nullable=False`; it is not registered again.
PANDERA_BUILTIN = "not_nullable"


def _register(rule: CellRule) -> None:
    def check(series: pd.Series, **statistics) -> pd.Series:
        return holds(series, rule.predicate('"value"', **statistics))

    check.__name__ = rule.check
    # pandera reads a check's statistics from its signature: they are the rule's keyword-only arguments.
    check.__signature__ = inspect.Signature(
        [inspect.Parameter("series", inspect.Parameter.POSITIONAL_ONLY)]
        + [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in rule.statistics])
    extensions.register_check_method(check, statistics=list(rule.statistics), check_type="vectorized")


for _rule in CELL_RULES:
    if _rule.check != PANDERA_BUILTIN:
        _register(_rule)
