"""The raw survey wave as it arrives: one row per firm, every cell still text.

`RawWave` is the pandera model of the input contract, derived from the declarations: one
field per question of `questionnaire.py` (its description, nullability and cell checks)
and one dataframe check per row rule of `rules.py`. Its rows are indexed by CSV record
number. pandera validates a frame with it; the warehouse judges a staged wave by the same
model, compiled to SQL (`findings.py`).
"""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

import schemas.checks  # noqa: F401  (registers the cell rules' checks before the fields name them)
from schemas.predicates import holds
from schemas.questionnaire import CONTRACT_COLUMNS, QUESTIONS, REQUIRED_COLUMNS
from schemas.rules import ROW_RULES, RowRule

__all__ = ["CONTRACT_COLUMNS", "REQUIRED_COLUMNS", "RawWave"]


def _row_check(rule: RowRule):
    def check(cls, df: pd.DataFrame) -> Series[bool]:
        return holds(df, rule.predicate)

    check.__name__ = f"_{rule.check}"
    return pa.dataframe_check(name=rule.check)(check)


class _Config:
    # Unknown extra columns are a warning, reported apart; they never fail the wave.
    strict = False


RawWave = type(pa.DataFrameModel)("RawWave", (pa.DataFrameModel,), {
    "__doc__": "One interviewed enterprise per row, as exported by the survey tool.",
    "__module__": __name__,
    "__annotations__": {question.name: Series[str] for question in QUESTIONS},
    **{question.name: question.field() for question in QUESTIONS},
    **{f"_{rule.check}": _row_check(rule) for rule in ROW_RULES},
    "Config": _Config,
})
