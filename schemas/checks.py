"""The checks on the raw wave's text cells, registered with pandera, and the field factory.

Each check judges only the cells it is about and lets empty cells pass (emptiness is the
``required`` rule's business), so that a wrong cell is reported once, by the rule it breaks.
A check's meaning is its SQL predicate in ``predicates.py``; on a frame, DuckDB evaluates it.
"""

import pandas as pd
import pandera.pandas as pa
from pandera import extensions

from schemas.predicates import CELL_PREDICATES, holds

def _cell_check(name: str, series: pd.Series, **statistics) -> pd.Series:
    return holds(series, CELL_PREDICATES[name]('"value"', **statistics))


@extensions.register_check_method(check_type="vectorized")
def is_integer(series: pd.Series) -> pd.Series:
    return _cell_check("is_integer", series)


@extensions.register_check_method(check_type="vectorized")
def is_number(series: pd.Series) -> pd.Series:
    return _cell_check("is_number", series)


@extensions.register_check_method(statistics=["low", "high"], check_type="vectorized")
def within_bounds(series: pd.Series, *, low: float, high: float | None) -> pd.Series:
    return _cell_check("within_bounds", series, low=low, high=high)


@extensions.register_check_method(check_type="vectorized")
def is_iso_date(series: pd.Series) -> pd.Series:
    return _cell_check("is_iso_date", series)


@extensions.register_check_method(statistics=["codes"], check_type="vectorized")
def allowed_codes(series: pd.Series, *, codes: tuple[str, ...]) -> pd.Series:
    return _cell_check("allowed_codes", series, codes=codes)


@extensions.register_check_method(check_type="vectorized")
def is_identifier(series: pd.Series) -> pd.Series:
    return _cell_check("is_identifier", series)


@extensions.register_check_method(check_type="vectorized")
def unique_firm_id(series: pd.Series) -> pd.Series:
    return _cell_check("unique_firm_id", series)


@extensions.register_check_method(statistics=["codes", "most"], check_type="vectorized")
def multi_select(series: pd.Series, *, codes: tuple[str, ...], most: int) -> pd.Series:
    return _cell_check("multi_select", series, codes=codes, most=most)


def field(description: str, *, required: bool = True, **checks) -> object:
    """A text column of the raw wave: its description, whether it may be empty, and its checks."""
    return pa.Field(nullable=not required, description=description, **checks)


def required_codes(codes: tuple[str, ...], description: str) -> object:
    return field(description, allowed_codes={"codes": codes})


def optional_codes(codes: tuple[str, ...], description: str) -> object:
    return field(description, required=False, allowed_codes={"codes": codes})


def whole_number(low: int, high: int, description: str, *, required: bool = True) -> object:
    return field(description, required=required, is_integer=(), within_bounds={"low": low, "high": high})


def non_negative(description: str, *, high: float | None = None) -> object:
    return field(description, is_number=(), within_bounds={"low": 0, "high": high})


def rating(description: str, *, required: bool = True) -> object:
    """A 1-10 scale answer."""
    return whole_number(1, 10, description, required=required)


def free_text(description: str) -> object:
    return field(description, required=False)
