"""The contract's rules as blocking asset checks on the raw wave, and the validated wave they guard.

The findings are computed once, when the raw wave is staged; each check reports its group's
share of them, so a failing wave shows in the UI which rules failed, how often, and where.
"""

import dagster as dg
import pandas as pd

from schemas.findings import ERROR
from schemas.rules import RULE_GROUPS, RuleGroup
from workflows.warehouse import sql, staging
from workflows.defs.ingest import raw_wave
from workflows.warehouse.column_lineage import model_metadata
from workflows.warehouse.tables import SURVEY_RESPONSES
from workflows.ui_tables import table_value
from workflows.defs.partitions import WAREHOUSE_POOL, wave_partitions
from workflows.versions import code_version
from workflows.warehouse.resource import Warehouse

SAMPLE_ROWS = 10


@dg.multi_asset_check(
    name="contract_rules",
    specs=[
        dg.AssetCheckSpec(group.name, asset=raw_wave, description=group.description,
                          blocking=group.severity == ERROR, partitions_def=wave_partitions)
        for group in RULE_GROUPS
    ],
    description="Every rule group of the input contract, judged on the wave's latest attempt.",
)
def contract_rules(context: dg.AssetCheckExecutionContext, warehouse: dg.ResourceParam[Warehouse]):
    """One check per rule group, in one step: each passes when the attempt breaks none of its rules."""
    with warehouse.get_connection() as conn:
        verdict = latest_verdict(conn, context.partition_key)
    for group in RULE_GROUPS:
        yield rule_group_result(group, *verdict)


def latest_verdict(conn, wave: str) -> tuple[str, pd.DataFrame, dict[str, int]]:
    """The wave's latest attempt: its file's sha256, its listed findings and every rule's count."""
    attempt = staging.latest_attempt(conn, wave)
    if attempt is None:
        return "", pd.DataFrame(columns=["rule"]), {}
    version = staging.Version.of(attempt)
    return version.raw_sha256, staging.findings_of(conn, wave, version), staging.counts_of(conn, wave, version)


def rule_group_result(group: RuleGroup, sha256: str, findings: pd.DataFrame, counts: dict[str, int]) -> dg.AssetCheckResult:
    """The group's verdict on the attempt, with counts and a sample of failing rows."""
    mine = findings[findings["rule"].isin(group.rules)]
    failures = sum(counts.get(rule, 0) for rule in group.rules)
    return dg.AssetCheckResult(
        asset_key=raw_wave.key,
        check_name=group.name,
        passed=failures == 0,
        severity=dg.AssetCheckSeverity.ERROR if group.severity == ERROR else dg.AssetCheckSeverity.WARN,
        metadata={
            "failures": failures,
            "failures_per_rule": {rule: int(counts.get(rule, 0)) for rule in group.rules},
            "sample": table_value(mine.reindex(columns=["row", "firm_id", "column", "value", "message"]),
                                  rows=SAMPLE_ROWS),
            "raw_sha256": sha256,
        },
    )


@dg.asset(
    partitions_def=wave_partitions,
    pool=WAREHOUSE_POOL,
    deps=[raw_wave],
    kinds={"duckdb"},
    group_name="intake",
    code_version=code_version(__name__, f"sql/{SURVEY_RESPONSES.model}.sql"),
)
def survey_responses(context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    """The validated wave, typed and published: one row per firm, without personal columns."""
    wave = context.partition_key
    with warehouse.publishing(context) as conn:
        attempt = staging.latest_attempt(conn, wave)
        version = staging.Version.of(attempt)
        params = {"wave": wave, **version.params}
        try:
            n_firms = sql.replace_wave_rows(conn, SURVEY_RESPONSES.name, SURVEY_RESPONSES.model, params, context.log,
                                            params_of=lambda other: staging.published_params(conn, other),
                                            declared=SURVEY_RESPONSES)
        except sql.UndeclaredShape as problem:
            raise dg.Failure(description=str(problem), allow_retries=False) from None
        staging.publish_wave(conn, wave, version, attempt["source_name"], context.run.run_id)
        described = model_metadata(conn, SURVEY_RESPONSES)
        median = conn.execute("select median_interview_date from waves where wave = $wave", {"wave": wave}).fetchall()
    return dg.MaterializeResult(
        metadata={"dagster/row_count": n_firms, "raw_sha256": attempt["raw_sha256"], **described,
                  "median_interview_date": f"{median[0][0]:%Y-%m-%d}"},
        data_version=dg.DataVersion(version.digest),
    )
