"""The paper's published figures beside the wave's reproduced ones, for the shipped reconstruction."""


import dagster as dg
import pandas as pd

from workflows.analysis import published
from workflows.report import provenance
from workflows.warehouse import documents
from workflows.ui_tables import table_value
from workflows.defs.partitions import WAREHOUSE_POOL, wave_partitions
from workflows.versions import code_version
from workflows.warehouse.resource import Warehouse



@dg.asset(
    partitions_def=wave_partitions,
    pool=WAREHOUSE_POOL,
    deps=["wave_results", "wave_facts"],
    kinds={"duckdb", "json"},
    group_name="report",
    code_version=code_version(__name__, "data/published/*.json"),
)
def published_comparison(context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    """Each figure Konstadakopulos (2008) prints beside the wave's own, within the printed precision or not."""
    wave = context.partition_key
    with warehouse.publishing(context) as conn:
        results = documents.load(conn, documents.WAVE_RESULTS, wave)
        facts = dict(conn.execute("select fact, value from wave_facts where wave = $wave", {"wave": wave}).fetchall())
        rows = published.compare(results, facts)
        documents.replace(conn, documents.PUBLISHED_COMPARISON, wave, rows)
    frame = pd.DataFrame(rows)
    required = frame[frame["required"]]
    coefficients = frame[frame["kind"] == "coefficient"]
    if "relative_difference" not in coefficients:
        coefficients = coefficients.assign(relative_difference=float("nan"))
    return dg.MaterializeResult(metadata={
        "shipped_reconstruction": provenance.is_reconstruction(results["raw_sha256"]),
        "figures": len(frame),
        "required_reproduced": f"{int(required['within'].sum())} of {len(required)}",
        "coefficients_to_printed_precision": f"{int(coefficients['within'].sum())} of {len(coefficients)}",
        "coefficients_within_25_percent": f"{int((coefficients['relative_difference'].abs() <= 0.25).sum())} "
                                          f"of {len(coefficients)}",
        "misses": table_value(frame[~frame["within"]][["exhibit", "label", "printed", "shown", "judged_by", "required"]],
                              rows=len(frame)),
    })


# The comparison informs the reader (Appendix B lists what was not reproduced); it never stops the report.
@dg.asset_check(asset=published_comparison, partitions_def=wave_partitions, blocking=False,
                description="The shipped 2007 reconstruction reproduces every self-consistent published figure.")
def published_figures_reproduced(context: dg.AssetCheckExecutionContext, warehouse: dg.ResourceParam[Warehouse]) -> dg.AssetCheckResult:
    with warehouse.get_connection() as conn:
        rows = documents.load(conn, documents.PUBLISHED_COMPARISON, context.partition_key)
        sha = conn.execute("select raw_sha256 from waves where wave = $wave", {"wave": context.partition_key}).fetchall()
    if not provenance.is_reconstruction(sha[0][0]):
        return dg.AssetCheckResult(passed=True, metadata={"applies": "no: not the shipped reconstruction"})
    if rows is None:
        raise dg.Failure(description=f"Wave {context.partition_key} has no published comparison to check.")
    missed = [r for r in rows if r["required"] and not r["within"]]
    return dg.AssetCheckResult(
        passed=not missed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"applies": "yes", "missed": len(missed),
                  "missed_figures": dg.MetadataValue.json([f"{r['label']}: {r['printed']} vs {r['shown']}" for r in missed])},
    )
