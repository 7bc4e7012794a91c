"""Vectorised checks on the raw wave's text cells, registered with pandera, and the field factory.

Each check judges only the cells it is about and lets empty cells pass (emptiness is the
``required`` rule's business), so that a wrong cell is reported once, by the rule it breaks.
The check names double as rule names in ``validation.json``.
"""

import pandas as pd
import pandera.pandas as pa
from pandera import extensions

from schemas import codebook

IDENTIFIER_PATTERN = rf"^{codebook.IDENTIFIER}$"
INTEGER_PATTERN = r"^[+-]?[0-9]+$"
NUMBER_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _matches(series: pd.Series, pattern: str) -> pd.Series:
    return series.str.match(pattern).fillna(False).astype(bool)


@extensions.register_check_method(check_type="vectorized")
def is_integer(series: pd.Series) -> pd.Series:
    return series.isna() | _matches(series, INTEGER_PATTERN)


@extensions.register_check_method(check_type="vectorized")
def is_number(series: pd.Series) -> pd.Series:
    return series.isna() | _matches(series, NUMBER_PATTERN)


@extensions.register_check_method(statistics=["low", "high"], check_type="vectorized")
def within_bounds(series: pd.Series, *, low: float, high: float | None) -> pd.Series:
    values = pd.to_numeric(series.where(_matches(series, NUMBER_PATTERN)), errors="coerce")
    inside = values >= low
    if high is not None:
        inside &= values <= high
    # Unparsable cells belong to the `integer` and `number` rules.
    return values.isna() | inside


@extensions.register_check_method(check_type="vectorized")
def is_iso_date(series: pd.Series) -> pd.Series:
    shaped = _matches(series, DATE_PATTERN)
    parsed = pd.to_datetime(series.where(shaped), format="%Y-%m-%d", errors="coerce")
    return series.isna() | (shaped & parsed.notna())


@extensions.register_check_method(statistics=["codes"], check_type="vectorized")
def allowed_codes(series: pd.Series, *, codes: tuple[str, ...]) -> pd.Series:
    return series.isna() | series.isin(codes)


@extensions.register_check_method(check_type="vectorized")
def is_identifier(series: pd.Series) -> pd.Series:
    return series.isna() | _matches(series, IDENTIFIER_PATTERN)


@extensions.register_check_method(check_type="vectorized")
def unique_firm_id(series: pd.Series) -> pd.Series:
    # The first occurrence is the one kept; every later one is the mistake to report.
    return series.isna() | ~series.duplicated(keep="first")


@extensions.register_check_method(statistics=["codes", "most"], check_type="vectorized")
def multi_select(series: pd.Series, *, codes: tuple[str, ...], most: int) -> pd.Series:
    known = set(codes)
    lists = series.str.split()

    def acceptable(items) -> bool:
        if not isinstance(items, list):
            return True
        return len(items) <= most and len(set(items)) == len(items) and set(items) <= known

    return lists.map(acceptable).astype(bool)


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


def split_codes(series: pd.Series) -> pd.Series:
    """The space-separated codes of a multi-select column as lists (empty cell: empty list)."""
    return series.fillna("").str.split()

