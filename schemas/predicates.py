"""Each rule of the raw wave as one SQL predicate: the single definition of what a rule means.

DuckDB evaluates these predicates twice over: on the wave staged in the warehouse, a
million rows in a few seconds, and on a pandas frame when pandera validates one (the
registered checks in `checks.py` call `holds`). Each predicate is true when the row
passes; every predicate is written to be true or false, never NULL.
"""

import duckdb
import pandas as pd

from schemas import codebook

IDENTIFIER_PATTERN = codebook.IDENTIFIER
INTEGER_PATTERN = r"[+-]?[0-9]+"
NUMBER_PATTERN = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
WHITESPACE = r"'\s+'"
# The record number of a row: the staged table's own column, added to a frame by `holds`.
ORDER_COLUMN = "source_row"


def quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _codes(codes) -> str:
    return "[" + ", ".join(literal(code) for code in codes) + "]"


# No answer of the survey comes near this; beyond it a sum or product of answers could overflow.
LARGEST_NUMBER = 1e15


def number_of(cell: str) -> str:
    """The cell as a number when it is written as one of a usable size, else NULL."""
    value = f"try_cast({cell} as double)"
    return (f"case when regexp_full_match({cell}, '{NUMBER_PATTERN}') and abs({value}) < {LARGEST_NUMBER:.0e} "
            f"then {value} end")


def date_of(cell: str) -> str:
    """The cell as a date when it is a real one written YYYY-MM-DD, else NULL."""
    return (f"case when regexp_full_match({cell}, '{DATE_PATTERN}') "
            f"then cast(try_strptime({cell}, '%Y-%m-%d') as date) end")


def _codes_pattern(codes, most: int) -> str:
    """Whitespace, then 0 to `most` known codes separated by whitespace."""
    code = "(" + "|".join(codes) + ")"
    return rf"\s*({code}(\s+{code}){{0,{most - 1}}})?\s*"


def no_code_twice(cell: str) -> str:
    """No code of a multi-select cell repeats; cells written with single spaces take the fast path."""
    def distinct(codes: str) -> str:
        return f"len(list_distinct({codes})) = len({codes})"

    return (f"case when regexp_full_match({cell}, '[a-z_]+( [a-z_]+)*') "
            f"then {distinct(f'string_split({cell}, chr(32))')} "
            f"else {distinct(f'string_split_regex(trim({cell}, chr(32) || chr(9) || chr(10) || chr(13)), {WHITESPACE})')} end")


def names_code(cell: str, code: str) -> str:
    """The multi-select cell names the code."""
    return f"coalesce(regexp_matches({cell}, '(^|\\s){code}(\\s|$)'), false)"


def has_text(cell: str) -> str:
    return f"coalesce(regexp_matches({cell}, '\\S'), false)"


def is_value(cell: str, code: str) -> str:
    return f"({cell} is not distinct from {literal(code)})"


# One builder per registered check name: (cell expression, statistics) -> "the cell passes".
# Empty cells pass every check but `required`, which is pandera's own nullable flag.
CELL_PREDICATES = {
    "not_nullable": lambda cell: f"({cell} is not null)",
    # A whole number of a usable size: 99999999999999999999 would overflow every integer cast.
    "is_integer": lambda cell: (f"({cell} is null or (regexp_full_match({cell}, '{INTEGER_PATTERN}') "
                                f"and {number_of(cell)} is not null))"),
    # Written as a number and finite and of a usable size: '1e400' is a number only to a parser.
    "is_number": lambda cell: f"({cell} is null or {number_of(cell)} is not null)",
    # An unparsable cell is the `integer` or `number` rule's business, not the range's.
    "within_bounds": lambda cell, low, high: (
        f"coalesce({number_of(cell)} between {low} and {high}, true)" if high is not None
        else f"coalesce({number_of(cell)} >= {low}, true)"
    ),
    "is_iso_date": lambda cell: f"({cell} is null or {date_of(cell)} is not null)",
    "allowed_codes": lambda cell, codes: f"({cell} is null or list_contains({_codes(codes)}, {cell}))",
    "is_identifier": lambda cell: f"({cell} is null or regexp_full_match({cell}, '{IDENTIFIER_PATTERN}'))",
    # The first occurrence is the one kept; every later one is the mistake to report.
    "unique_firm_id": lambda cell: (
        f"({cell} is null or row_number() over (partition by {cell} order by {ORDER_COLUMN}) = 1)"
    ),
    # Known codes, at most `most` of them, by one regular expression; then no code twice.
    "multi_select": lambda cell, codes, most: (
        f"({cell} is null or (regexp_full_match({cell}, '{_codes_pattern(codes, most)}') "
        f"and {no_code_twice(cell)}))"
    ),
}

_q = quoted
_RANKS = [_q(f"q10_constraint_{rank}") for rank in (1, 2, 3)]
_SOURCES_NAMED = has_text(_q("q18_sources"))

# The rules that tie cells together, by check name.
ROW_PREDICATES = {
    "q9_skip": (
        f"not (({is_value(_q('q6_equipment_installed'), 'yes')} and {_q('q9_introduced_by')} is null) "
        f"or ({is_value(_q('q6_equipment_installed'), 'no')} and {_q('q9_introduced_by')} is not null))"
    ),
    "q10_rank_2": f"({_RANKS[1]} is null or ({_RANKS[0]} is not null and {_RANKS[1]} <> {_RANKS[0]}))",
    "q10_rank_3": (
        f"({_RANKS[2]} is null or ({_RANKS[1]} is not null and {_RANKS[2]} is distinct from {_RANKS[0]} "
        f"and {_RANKS[2]} <> {_RANKS[1]}))"
    ),
    "q10_other_text": (
        f"(not ({' or '.join(is_value(rank, 'other') for rank in _RANKS)}) or {has_text(_q('q10_other_text'))})"
    ),
    "q18_other_text": (
        f"(not {names_code(_q('q18_sources'), 'other')} or {has_text(_q('q18_other_text'))})"
    ),
    "q19_skip": f"({_SOURCES_NAMED} = ({_q('q19_partner_importance')} is not null))",
    "q20_skip": f"({_SOURCES_NAMED} = ({_q('q20_initiator')} is not null))",
}


def cell_predicate(check: str, column: str, statistics: dict) -> str:
    return CELL_PREDICATES[check](quoted(column), **statistics)


def holds(data: pd.Series | pd.DataFrame, predicate: str) -> pd.Series:
    """Evaluate a predicate on every row of a frame (a series is the column `value`), in DuckDB."""
    frame = data.to_frame("value") if isinstance(data, pd.Series) else data
    frame = frame.reset_index(drop=True).astype(object)
    frame[ORDER_COLUMN] = range(len(frame))
    with duckdb.connect() as conn:
        conn.register("frame", frame)
        passed = conn.execute(f"select {predicate} as passed from frame order by {ORDER_COLUMN}").fetchnumpy()
    return pd.Series(passed["passed"], index=data.index, dtype=bool)
