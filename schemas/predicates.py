"""The SQL pieces the rules' predicates (`rules.py`) are written with, and `holds`, which evaluates one.

DuckDB evaluates a rule's predicate twice over: on the wave staged in the warehouse, a
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


def codes_list(codes) -> str:
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


DATETIME_PATTERN = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                    r"(Z|[+-][0-9]{2}:[0-9]{2})")


def datetime_of(cell: str) -> str:
    """The cell as an instant when it is a real date and time written ISO 8601 with its offset, else NULL."""
    return (f"case when regexp_full_match({cell}, '{DATETIME_PATTERN}') "
            f"then try_cast({cell} as timestamptz) end")


def codes_pattern(codes, most: int) -> str:
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


def holds(data: pd.Series | pd.DataFrame, predicate: str) -> pd.Series:
    """Evaluate a predicate on every row of a frame (a series is the column `value`), in DuckDB."""
    frame = data.to_frame("value") if isinstance(data, pd.Series) else data
    frame = frame.reset_index(drop=True).astype(object)
    frame[ORDER_COLUMN] = range(len(frame))
    with duckdb.connect() as conn:
        conn.register("frame", frame)
        passed = conn.execute(f"select {predicate} as passed from frame order by {ORDER_COLUMN}").fetchnumpy()
    return pd.Series(passed["passed"], index=data.index, dtype=bool)
