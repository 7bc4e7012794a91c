"""Per-firm indices and the wave's tables: one asset per declared table of `tables.py`, materialised per wave."""

from collections.abc import Callable

import dagster as dg

from schemas import codebook
from workflows.warehouse import sql
from workflows.warehouse.column_lineage import model_metadata
from workflows.warehouse.tables import DERIVED_TABLES, DerivedTable
from workflows.ui_tables import SHOWN_ROWS, table_value
from workflows.defs.partitions import WAREHOUSE_POOL, wave_partitions
from workflows.versions import code_version
from workflows.warehouse.resource import Warehouse


def sql_table_asset(table: DerivedTable) -> dg.AssetsDefinition:
    """A partitioned asset whose rows for the wave are replaced by its SQL model's rows."""

    @dg.asset(
        name=table.name,
        description=table.description,
        partitions_def=wave_partitions,
        pool=WAREHOUSE_POOL,
        deps=list(table.deps),
        kinds={"duckdb", "sql"},
        group_name="analysis",
        code_version=code_version(__name__, f"sql/{table.model}.sql"),
    )
    def _table(context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
        params = {"wave": context.partition_key, "clusters": list(codebook.CLUSTERS)}
        if table.codes:
            params["codes"] = list(table.codes)
        model_params = {k: v for k, v in params.items() if f"${k}" in sql.load_sql(table.model)}
        with warehouse.publishing(context) as conn:
            try:
                rows = sql.replace_wave_rows(conn, table.name, table.model, model_params, context.log,
                                             declared=table)
            except sql.UndeclaredShape as problem:
                raise dg.Failure(description=str(problem), allow_retries=False) from None
            # The preview's rows only: a ten-million-firm table never comes into Python whole.
            preview = conn.execute(f"select * exclude (wave) from {table.name} where wave = $wave limit {SHOWN_ROWS}",
                                   {"wave": context.partition_key}).df()
            described = model_metadata(conn, table)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": rows, "preview": table_value(preview), **described}
        )

    return _table


sql_table_assets: list[Callable] = [sql_table_asset(table) for table in DERIVED_TABLES]
