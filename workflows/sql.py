"""Load the project's `.sql` models by name and run them with bound parameters, logging what runs.

Models are `select` statements ending in `select * from final`; values always travel as
parameters (`$wave`), never as text pasted into SQL.
"""

import logging
from functools import cache

import duckdb

from workflows.paths import SQL_DIR

log = logging.getLogger(__name__)


@cache
def load_sql(name: str) -> str:
    """The text of `sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def query(conn: duckdb.DuckDBPyConnection, name: str, params: dict, logger=log):
    """Run a model and return its rows as a pandas frame."""
    logger.info("running sql/%s.sql with %s", name, _shown(params))
    return conn.execute(load_sql(name), params).df()


def replace_wave_rows(
    conn: duckdb.DuckDBPyConnection, table: str, model: str, params: dict, logger=log
) -> int:
    """Replace the wave's rows of `table` by the model's rows, in the caller's transaction.

    The table is created from the model's columns the first time. Returns the rows written.
    """
    sql = load_sql(model)
    logger.info("replacing %s for wave %s from sql/%s.sql", table, params["wave"], model)
    conn.execute(f"create table if not exists {table} as select * from ({sql}) limit 0", params)
    conn.execute(f"delete from {table} where wave = $wave", {"wave": params["wave"]})
    conn.execute(f"insert into {table} select * from ({sql})", params)
    return conn.execute(f"select count(*) from {table} where wave = $wave", {"wave": params["wave"]}).fetchall()[0][0]


def copy_to_csv(conn: duckdb.DuckDBPyConnection, name: str, params: dict, path, logger=log) -> None:
    """Write a model's rows to a CSV file with a header, by DuckDB itself (a census-size wave in a second)."""
    logger.info("writing sql/%s.sql with %s to %s", name, _shown(params), path)
    target = str(path).replace("'", "''")
    conn.execute(f"copy ({load_sql(name)}) to '{target}' (format csv, header, delimiter ',', quote '\"')", params)


def _shown(params: dict) -> dict:
    return {k: (v if not isinstance(v, (list, tuple)) or len(v) < 12 else f"[{len(v)} values]") for k, v in params.items()}
