"""The raw survey wave as it arrives: one row per firm, every cell still text.

A wave's pandera model is derived from its questionnaire (`questionnaire.py`, compiled
from an XLSForm): one field per question (its description, nullability and cell checks)
and one dataframe check per row rule (the form's `relevant` and `constraint`, and the
project's own). Its rows are indexed by CSV record number. pandera validates a frame with
it; the warehouse judges a staged wave by the same model, compiled to SQL (`findings.py`).
"""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

import schemas.checks  # noqa: F401  (registers the cell rules' checks before the fields name them)
from schemas.predicates import holds
from schemas.rules import RowRule


def _row_check(rule: RowRule):
    def check(cls, df: pd.DataFrame) -> Series[bool]:
        return holds(df, rule.predicate)

    check.__name__ = f"_{rule.check}"
    return pa.dataframe_check(name=rule.check)(check)


class _Config:
    # Unknown extra columns are a warning, reported apart; they never fail the wave.
    strict = False


def model_of(questionnaire) -> type[pa.DataFrameModel]:
    """The pandera model of a wave judged by the questionnaire."""
    return type(pa.DataFrameModel)("RawWave", (pa.DataFrameModel,), {
        "__doc__": f"One interviewed enterprise per row, as the form {questionnaire.name} asks it.",
        "__module__": __name__,
        "__annotations__": {question.name: Series[str] for question in questionnaire.questions},
        **{question.name: question.field() for question in questionnaire.questions},
        **{f"_{rule.check}": _row_check(rule) for rule in questionnaire.row_rules},
        "Config": _Config,
    })
