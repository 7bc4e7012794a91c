"""The wave beside the one interviewed before it: what changed, by cluster, firm and question (their forms' differences)."""

import json

import dagster as dg

from schemas import codebook
from schemas import questionnaire as questionnaires
from workflows.warehouse import documents, sql, staging
from workflows.defs.partitions import WAREHOUSE_POOL, wave_partitions
from workflows.warehouse.json_values import clean
from workflows.versions import code_version
from workflows.warehouse.resource import Warehouse



@dg.asset(
    partitions_def=wave_partitions,
    pool=WAREHOUSE_POOL,
    deps=["firm_indices"],
    kinds={"duckdb", "sql"},
    group_name="analysis",
    code_version=code_version(__name__, "sql/cmp_*.sql"),
)
def wave_comparison(context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    """The wave set beside its predecessor: indices by cluster, the panel of firms, questionnaire changes."""
    wave = context.partition_key
    with warehouse.publishing(context) as conn:
        previous = staging.predecessor(conn, wave)
        document = {"wave": wave, "previous_wave": previous}
        if previous:
            params = {"wave": wave, "previous": previous}
            by_cluster = sql.query(conn, "cmp_indices_by_cluster", params | {"clusters": list(codebook.CLUSTERS)},
                                   context.log)
            panel = sql.query(conn, "cmp_panel", params, context.log)
            registered = {wave_id: (json.loads(form) if form else None, json.loads(columns or "[]"))
                          for wave_id, form, columns in conn.execute(
                              "select wave, form, columns from waves where wave in ($wave, $previous)", params).fetchall()}
            document |= {
                "by_cluster": by_cluster.drop(columns=["wave", "previous_wave"]).to_dict("records"),
                "panel": dict(zip(panel["category"], panel["firms"].astype(int))),
                "questionnaire": questionnaires.differences(
                    questionnaires.of_wave(registered[previous][0], previous, registered[previous][1]),
                    questionnaires.of_wave(registered[wave][0], wave, registered[wave][1])),
            }
        document = clean(document)
        documents.replace(conn, documents.WAVE_COMPARISONS, wave, document)
    metadata = {"previous_wave": previous or "none"}
    if previous:
        metadata |= {"panel": dg.MetadataValue.json(document["panel"]),
                     "questionnaire_changes": dg.MetadataValue.json(document["questionnaire"])}
    return dg.MaterializeResult(metadata=metadata)
