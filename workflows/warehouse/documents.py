"""The JSON documents a wave's assets store in the warehouse: one table each, one way to write and read them.

A document table holds, per wave, one document under each name (the model fits hold one per
model; the others one per wave, under the name "wave"). Documents go in as JSON with NaN and
infinities as null, and come back as Python values.
"""

import json
from dataclasses import dataclass

import duckdb

from workflows.warehouse.json_values import clean


@dataclass(frozen=True)
class DocumentTable:
    table: str
    description: str
    # The column naming each document of a wave; None when a wave has one document.
    name_column: str | None = None
    document_column: str = "document"

    @property
    def ddl(self) -> str:
        if self.name_column is None:
            return f"create table if not exists {self.table} (wave varchar primary key, {self.document_column} json)"
        return (f"create table if not exists {self.table} "
                f"(wave varchar, {self.name_column} varchar, {self.document_column} json)")


WAVE_RESULTS = DocumentTable("wave_results", "Every figure of the wave, as results.json publishes it.")
MODEL_FITS = DocumentTable("model_fits", "Each fitted model of the wave.", name_column="model")
WAVE_COMPARISONS = DocumentTable("wave_comparisons", "The wave beside the wave interviewed before it.")
PUBLISHED_COMPARISON = DocumentTable("published_comparison", "The paper's printed figures beside the wave's.",
                                     document_column="rows")


def replace(conn: duckdb.DuckDBPyConnection, store: DocumentTable, wave: str, documents) -> None:
    """Replace the wave's documents: one document, or {name: document} for a table of named ones."""
    conn.execute(store.ddl)
    conn.execute(f"delete from {store.table} where wave = $wave", {"wave": wave})
    named = documents.items() if store.name_column else [(None, documents)]
    for name, document in named:
        values = {"wave": wave, "document": json.dumps(clean(document), allow_nan=False)}
        if store.name_column:
            conn.execute(f"insert into {store.table} (wave, {store.name_column}, {store.document_column}) "
                         "values ($wave, $name, $document)", values | {"name": name})
        else:
            conn.execute(f"insert into {store.table} (wave, {store.document_column}) values ($wave, $document)", values)


def load(conn: duckdb.DuckDBPyConnection, store: DocumentTable, wave: str, default=None):
    """The wave's document, or {name: document} for a table of named ones; `default` when there is none."""
    exists = conn.execute("select count(*) from duckdb_tables() where table_name = $t and schema_name = 'main'",
                          {"t": store.table}).fetchall()[0][0]
    if not exists:
        return default
    if store.name_column:
        rows = conn.execute(f"select {store.name_column}, {store.document_column} from {store.table} "
                            f"where wave = $wave order by {store.name_column}", {"wave": wave}).fetchall()
        return {name: json.loads(document) for name, document in rows} if rows else default
    rows = conn.execute(f"select {store.document_column} from {store.table} where wave = $wave",
                        {"wave": wave}).fetchall()
    return json.loads(rows[0][0]) if rows else default
