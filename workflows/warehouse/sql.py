"""Load the project's `.sql` models by name and run them with bound parameters, logging what runs.

Models are `select` statements ending in `select * from final`; values always travel as
parameters (`$wave`), never as text pasted into SQL. A model may hold a fragment derived
from a declaration, written `{{ name }}` (the staging model's typed answers come from the
questionnaire): `load_sql` splices it in, so the model read, run and traced is the same text.
"""

import logging
import re
from functools import cache

import duckdb

from schemas.questionnaire import staged_answers
from workflows.paths import SQL_DIR

log = logging.getLogger(__name__)

FRAGMENTS = {"staged_answers": staged_answers}


@cache
def load_sql(name: str) -> str:
    """The text of `sql/<name>.sql`, its fragments spliced in."""
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return re.sub(r"\{\{ *(\w+) *\}\}", lambda match: FRAGMENTS[match.group(1)](), text)


def query(conn: duckdb.DuckDBPyConnection, name: str, params: dict, logger=log):
    """Run a model and return its rows as a pandas frame."""
    logger.info("running sql/%s.sql with %s", name, _shown(params))
    return conn.execute(load_sql(name), params).df()


class UndeclaredShape(ValueError):
    """A model gives columns other than its table's declaration: nothing is written."""


def replace_wave_rows(
    conn: duckdb.DuckDBPyConnection, table: str, model: str, params: dict, logger=log, params_of=None, declared=None
) -> int:
    """Replace the wave's rows of `table` by the model's rows, in the caller's transaction.

    Rows are inserted by column name, never by position. The table is created from the
    model's columns the first time; when the model's columns (names or types) no longer match
    the table's, the table is rebuilt in the new shape and every other wave's rows are derived
    again by the same model from the published tables it reads (`params_of(wave)` gives a
    wave's parameters; by default this wave's with the wave replaced), so no value ever lands
    under another column's name. A rebuild that would change how many rows another wave has
    raises, and the caller's transaction keeps the table as it was. With `declared` (the
    table's declaration in `tables.py`), a model whose columns differ from it raises
    `UndeclaredShape` before anything is written. Returns the rows written for the wave.
    """
    sql = load_sql(model)
    wave = params["wave"]
    logger.info("replacing %s for wave %s from sql/%s.sql", table, wave, model)
    wanted = model_columns(conn, sql, params)
    if declared is not None and (problem := declared.mismatch(wanted)):
        raise UndeclaredShape(problem)
    existing = table_columns(conn, table)
    if existing is None:
        conn.execute(f"create table {table} as select * from ({sql}) limit 0", params)
    elif existing != wanted:
        before = dict(conn.execute(f"select wave, count(*) from {table} where wave <> $wave group by wave "
                                   "order by wave", {"wave": wave}).fetchall())
        logger.warning("the columns of sql/%s.sql changed (%s); rebuilding %s for waves %s",
                       model, _difference(existing, wanted), table, ", ".join(before) or "none but this one")
        conn.execute(f"drop table {table}")
        conn.execute(f"create table {table} as select * from ({sql}) limit 0", params)
        for other, rows in before.items():
            conn.execute(f"insert into {table} by name select * from ({sql})",
                         params_of(other) if params_of else params | {"wave": other})
            rebuilt = conn.execute(f"select count(*) from {table} where wave = $wave", {"wave": other}).fetchall()[0][0]
            if rebuilt != rows:
                raise RuntimeError(f"Rebuilding {table} in its new shape would give wave {other} {rebuilt} rows "
                                   f"instead of {rows}; nothing was changed. Run that wave again first.")
    conn.execute(f"delete from {table} where wave = $wave", {"wave": wave})
    conn.execute(f"insert into {table} by name select * from ({sql})", params)
    return conn.execute(f"select count(*) from {table} where wave = $wave", {"wave": wave}).fetchall()[0][0]


def model_columns(conn: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[tuple[str, str]]:
    """The model's columns as (name, DuckDB type), in order."""
    return [(row[0], str(row[1])) for row in conn.execute(f"describe select * from ({sql})", params).fetchall()]


def table_columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]] | None:
    """The table's columns as (name, DuckDB type), in order; None when there is no such table."""
    rows = conn.execute(
        "select column_name, data_type from duckdb_columns() where table_name = $table and schema_name = 'main' "
        "and database_name = current_database() order by column_index", {"table": table}).fetchall()
    return [(name, str(kind)) for name, kind in rows] or None


def _difference(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> str:
    gone = [f"{n} {t}" for n, t in before if (n, t) not in after]
    new = [f"{n} {t}" for n, t in after if (n, t) not in before]
    return f"dropped {', '.join(gone) or 'none'}; added {', '.join(new) or 'none'}"


def copy_to_csv(conn: duckdb.DuckDBPyConnection, name: str, params: dict, path, logger=log) -> None:
    """Write a model's rows to a CSV file with a header, by DuckDB itself (a census-size wave in a second)."""
    logger.info("writing sql/%s.sql with %s to %s", name, _shown(params), path)
    target = str(path).replace("'", "''")
    conn.execute(f"copy ({load_sql(name)}) to '{target}' (format csv, header, delimiter ',', quote '\"')", params)


def _shown(params: dict) -> dict:
    return {k: (v if not isinstance(v, (list, tuple)) or len(v) < 12 else f"[{len(v)} values]") for k, v in params.items()}
