"""Which raw questions each published column comes from, read from the SQL model itself.

sqlglot parses a model (DuckDB's dialect) and traces every output column back through its
CTEs to the columns of the tables it reads. A table that an asset publishes becomes that
asset in Dagster's `dagster/column_lineage`, so an auditor follows a number in the UI from
the report back to the questions of the raw file.
"""

import hashlib
import json
import logging
import re
from functools import cache

import dagster as dg
import duckdb

from workflows.paths import SQL_DIR
from workflows.warehouse.tables import DerivedTable

log = logging.getLogger(__name__)

# Tables the assets publish under another name: the staged answers are the raw wave's.
ASSET_OF_TABLE = {"raw_responses": "raw_wave"}


def warehouse_schema(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Every table's columns and types, for sqlglot to expand `select *`."""
    schema: dict[str, dict[str, str]] = {}
    for table, column, kind in conn.execute(
            "select table_name, column_name, data_type from duckdb_columns() where database_name = current_database() "
            "and schema_name in ('main', 'staging') order by table_name, column_index"
    ).fetchall():
        schema.setdefault(table, {})[column] = kind
    return schema


def column_lineage(sql: str, columns: list[str], schema: dict[str, dict[str, str]]) -> dg.TableColumnLineage | None:
    """Each output column's source columns, by the asset that publishes their table; None if the SQL defeats the parser."""
    # Imported here: a run whose lineage is kept in the warehouse never loads the parser.
    import sqlglot
    from sqlglot import exp
    from sqlglot.lineage import lineage

    try:
        # All columns in one pass over the model: the query is qualified once, not once per column.
        nodes = lineage(None, sqlglot.parse_one(sql, dialect="duckdb"), schema=schema, dialect="duckdb")
        deps_by_column = {}
        for column in columns:
            node = nodes[column]
            sources = set()
            for leaf in node.walk():
                if leaf.downstream or not isinstance(leaf.source, exp.Table):
                    continue
                table = leaf.source.name
                sources.add((ASSET_OF_TABLE.get(table, table), leaf.name.split(".")[-1]))
            deps_by_column[column] = [dg.TableColumnDep(asset_key=dg.AssetKey(asset), column_name=name)
                                      for asset, name in sorted(sources)]
        return dg.TableColumnLineage(deps_by_column)
    except (sqlglot.errors.SqlglotError, KeyError, ValueError) as error:
        log.warning("no column lineage for a model: %s", error)
        return None


def column_schema(table: DerivedTable) -> dg.TableSchema:
    """The table's declared columns, with their types and descriptions, as Dagster shows them."""
    return dg.TableSchema(columns=[dg.TableColumn(column.name, column.type, column.description)
                                   for column in table.columns])


# Tracing a model takes a few hundred milliseconds; the result is kept, keyed by the model's
# text and the shapes of the tables it may read, and traced again only when one of them changes.
LINEAGE_DDL = "create table if not exists staging.column_lineage (key varchar primary key, lineage json)"


def model_metadata(conn: duckdb.DuckDBPyConnection, table: DerivedTable) -> dict:
    """The table's column schema and lineage, and the model's file and text, for the asset's page in the UI."""
    from workflows.warehouse import sql

    text = sql.load_sql(table.model)
    metadata = {"dagster/column_schema": column_schema(table),
                "sql_model": dg.MetadataValue.path(str(sql.SQL_DIR / f"{table.model}.sql")),
                "sql": dg.MetadataValue.md(f"```sql\n{text}\n```")}
    if lineage_value := _kept_lineage(conn, text, [column.name for column in table.columns]):
        metadata["dagster/column_lineage"] = lineage_value
    return metadata


# The shipped models' lineage as a new warehouse's runs trace it, by the same keys: a run finds it here instead of
# tracing (written by `python -m workflows.warehouse.column_lineage WAREHOUSE`; a test keeps it true).
SHIPPED_LINEAGE = SQL_DIR / "column_lineage.json"
READS = ("sql/column_lineage.json",)


def lineage_key(schema: dict[str, dict[str, str]], text: str, columns: list[str]) -> str:
    """The model's text and columns and the shapes of the tables it names: a table made since (by this very run,
    on a new warehouse) does not make a model be traced again."""
    named = set(re.findall(r"\w+", text))
    return hashlib.sha256(json.dumps([text, columns, {table: shape for table, shape in schema.items() if table in named}],
                                     sort_keys=True).encode()).hexdigest()


@cache
def shipped_lineage() -> dict[str, dict]:
    try:
        return json.loads(SHIPPED_LINEAGE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _kept_lineage(conn: duckdb.DuckDBPyConnection, text: str, columns: list[str]) -> dg.TableColumnLineage | None:
    schema = warehouse_schema(conn)
    key = lineage_key(schema, text, columns)
    conn.execute(LINEAGE_DDL)
    kept = conn.execute("select lineage from staging.column_lineage where key = $key", {"key": key}).fetchall()
    plain = json.loads(kept[0][0]) if kept else shipped_lineage().get(key)
    if plain is None:
        traced = column_lineage(text, columns, schema)
        if traced is None:
            return None
        plain = _plain(traced)
    if not kept:
        conn.execute("insert or replace into staging.column_lineage values ($key, $lineage)",
                     {"key": key, "lineage": json.dumps(plain)})
    return dg.TableColumnLineage({column: [dg.TableColumnDep(asset_key=dg.AssetKey(asset), column_name=name)
                                           for asset, name in deps]
                                  for column, deps in plain.items()})


def _plain(traced: dg.TableColumnLineage) -> dict[str, list[list[str]]]:
    return {column: [[dep.asset_key.to_user_string(), dep.column_name] for dep in deps]
            for column, deps in traced.deps_by_column.items()}


def traced_lineage(conn: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Every published table's lineage traced afresh on this warehouse, by its key (what `SHIPPED_LINEAGE` holds)."""
    from workflows.warehouse import sql
    from workflows.warehouse.tables import DERIVED_TABLES, SURVEY_RESPONSES

    schema = warehouse_schema(conn)
    lineage = {}
    for table in (SURVEY_RESPONSES, *DERIVED_TABLES):
        text, columns = sql.load_sql(table.model), [column.name for column in table.columns]
        if (traced := column_lineage(text, columns, schema)) is not None:
            lineage[lineage_key(schema, text, columns)] = _plain(traced)
    return lineage


if __name__ == "__main__":
    import sys

    # After a run of a shipped wave on a new warehouse: the lineage its runs would trace, written for all runs.
    with duckdb.connect(sys.argv[1], read_only=True) as connection:
        SHIPPED_LINEAGE.write_text(json.dumps(traced_lineage(connection), indent=1, sort_keys=True) + "\n",
                                   encoding="utf-8")
