"""Per-firm indices and the wave's tables, each one SQL model in `sql/` materialised per wave."""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from schemas import codebook
from workflows import sql
from workflows.column_lineage import model_metadata
from workflows.ui_tables import table_value
from workflows.defs.partitions import WAREHOUSE_POOL, wave_partitions
from workflows.versions import code_version
from workflows.warehouse import Warehouse


@dataclass(frozen=True)
class SqlTable:
    name: str
    model: str
    description: str
    deps: tuple[str, ...]
    codes: tuple[str, ...] = ()


SQL_TABLES = (
    SqlTable("firm_indices", "idx_firm_indices",
             "The paper's variables for each firm: adoption, expenditure, CP, EMP, GMS, loan, exports.",
             ("survey_responses",)),
    SqlTable("enterprise_characteristics", "tbl_enterprise_characteristics",
             "Enterprise characteristics and adoption per cluster and in total (the paper's Table 2).",
             ("firm_indices", "survey_responses")),
    SqlTable("constraint_mentions", "tbl_constraint_mentions",
             "Firms naming each constraint on pollution control, with the weighted score (Table 3).",
             ("survey_responses",), codebook.Q10_CONSTRAINTS),
    SqlTable("knowledge_sources", "tbl_knowledge_sources",
             "Times each source of knowledge on clean technology is named, most named first (Table 4).",
             ("survey_responses",), codebook.Q18_SOURCES),
    SqlTable("pollution_seriousness", "tbl_pollution_seriousness",
             "Mean seriousness of pollution and sustainability of resources per cluster (Figure 1).",
             ("survey_responses",)),
    SqlTable("wave_facts", "rpt_wave_facts",
             "The counts and means the paper's text reports, one named fact per row.",
             ("survey_responses", "firm_indices")),
)


def sql_table_asset(table: SqlTable) -> dg.AssetsDefinition:
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
            rows = sql.replace_wave_rows(conn, table.name, table.model, model_params, context.log)
            preview = conn.execute(f"select * exclude (wave) from {table.name} where wave = $wave",
                                   {"wave": context.partition_key}).df()
            described = model_metadata(conn, table.name, table.model)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": rows, "preview": table_value(preview), **described}
        )

    return _table


sql_table_assets: list[Callable] = [sql_table_asset(table) for table in SQL_TABLES]
