"""The raw wave: the CSV file read into the warehouse's staging area and judged by every rule."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from schemas.findings import ERROR, WARNING, validate_rows
from workflows import outputs, staging
from workflows.defs.partitions import wave_partitions
from workflows.defs.resources import WaveFiles
from workflows.intake import inspect_file, no_rows_finding, read_records, stage_rows


@dg.asset(
    partitions_def=wave_partitions,
    kinds={"csv", "duckdb"},
    group_name="intake",
    code_version="1",
)
def raw_wave(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, wave_files: WaveFiles
) -> dg.MaterializeResult:
    """The wave's answers as the survey tool exported them, staged unpublished until every rule passes."""
    wave = context.partition_key
    raw = inspect_file(wave_files.source_of(wave))
    findings = list(raw.findings)
    n_rows = 0
    with warehouse.get_connection() as conn:
        staging.ensure_tables(conn)
        ragged = read_records(conn, raw) if raw.readable else []
        conn.begin()
        staging.clear_unpublished_attempts(conn, wave, raw.sha256)
        if raw.readable:
            rows = stage_rows(conn, raw, wave, ragged)
            n_rows = len(rows)
            findings += ragged
            if n_rows:
                findings += validate_rows(rows)
            elif not ragged:
                findings.append(no_rows_finding())
        staging.record_attempt(conn, wave, raw.sha256, raw.path.name, n_rows, raw.extra_columns, findings)
        conn.commit()
        stored = staging.findings_of(conn, wave, raw.sha256)
    target = wave_files.attempt_dir(wave) / "validation.json"
    outputs.write_json(target, outputs.validation_document(wave, stored, wave_files.all_errors))
    errors = sum(f.severity == ERROR for f in findings)
    context.log.info("wave %s: %d rows staged, %d errors, %d warnings; findings in %s",
                     wave, n_rows, errors, len(findings) - errors, target)
    return dg.MaterializeResult(
        metadata={
            "raw_sha256": raw.sha256,
            "source_file": raw.path.name,
            "dagster/row_count": n_rows,
            "columns": len(raw.header),
            "errors": errors,
            "warnings": sum(f.severity == WARNING for f in findings),
            "validation_json": dg.MetadataValue.path(str(target)),
        },
        data_version=dg.DataVersion(raw.sha256),
    )
