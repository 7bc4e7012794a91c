"""The raw wave: the wave's file (CSV, XLSX or SPSS, as the platforms export it), its corrections applied,
staged and judged by every rule."""

import errno
from pathlib import Path

import dagster as dg

from schemas.findings import ITEMS_PER_RULE
from schemas.rules import error_count
from workflows.report import outputs
from workflows.warehouse import staging
from workflows.defs.partitions import WAREHOUSE_POOL, wave_partitions
from workflows.versions import code_version
from workflows.defs.resources import WaveFiles
from workflows.intake import corrections
from workflows.intake.files import NotARegularFile
from schemas import questionnaire as questionnaires
from workflows.intake.wave_file import receive, remove_orphan_copies, stage_attempt
from workflows.warehouse.resource import Warehouse


@dg.asset(
    partitions_def=wave_partitions,
    pool=WAREHOUSE_POOL,
    kinds={"csv", "duckdb"},
    group_name="intake",
    code_version=code_version(corrections.__name__),
)
def wave_corrections(
    context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse], wave_files: dg.ResourceParam[WaveFiles]
) -> dg.MaterializeResult:
    """The survey team's corrections to the wave's raw cells, read from its corrections file when there is one."""
    wave = context.partition_key
    path = wave_files.corrections_of(wave)
    # Every fault of the file, a folder or a pipe in its place too, is a finding of the raw wave (exit 1).
    received = corrections.read_corrections(path)
    with warehouse.get_connection() as conn:
        staging.ensure_tables(conn)
        corrections.store_received(conn, wave, received)
    if received.path:
        context.log.info("wave %s: %d corrections in %s, %d of its lines faulty", wave, len(received.corrections),
                         path, len(received.problems))
    return dg.MaterializeResult(
        metadata={
            "corrections_file": dg.MetadataValue.path(str(path)) if received.path else corrections.NO_FILE,
            "corrections_sha256": received.sha256 or corrections.NO_FILE,
            "corrections": len(received.corrections),
            "faults": len(received.problems),
        },
        # An unchanged file (or still none) is the same version: only a changed one makes the wave stale.
        data_version=dg.DataVersion(received.sha256 or corrections.NO_FILE),
    )


@dg.asset(
    partitions_def=wave_partitions,
    pool=WAREHOUSE_POOL,
    deps=[wave_corrections],
    kinds={"csv", "duckdb"},
    group_name="intake",
    code_version=code_version(__name__, "reports/templates/validation.html.j2"),
)
def raw_wave(
    context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse], wave_files: dg.ResourceParam[WaveFiles]
) -> dg.MaterializeResult:
    """The wave's answers as the survey tool exported them, corrected, staged unpublished until every rule passes."""
    wave = context.partition_key
    source = wave_files.source_of(wave)
    # The private copy lives beside the warehouse (same disk, never in the raw or outputs folder).
    scratch = Path(warehouse.database).parent / ".intake"
    remove_orphan_copies(scratch)
    try:
        raw = receive(source, scratch, wave)
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise dg.Failure(description=f"The disk holding {scratch} is full ({error.strerror}): the file could "
                                         "not be copied for reading, and nothing published changed.",
                             allow_retries=False) from None
        raise dg.Failure(description=f"The raw file of wave {wave} cannot be read: {error.strerror or error} "
                                     f"({source}).", allow_retries=False) from None
    except NotARegularFile as error:
        raise dg.Failure(description=f"The raw file of wave {wave} cannot be read: {error}",
                         allow_retries=False) from None
    try:
        with warehouse.get_connection() as conn:
            staging.ensure_tables(conn)
            received = corrections.latest_received(conn, wave, wave_files.corrections_dir)
            attempt = stage_attempt(conn, raw, wave, None if wave_files.all_errors else ITEMS_PER_RULE,
                                    questionnaires.load(wave_files.form_file) if wave_files.form_file else None,
                                    received)
            stored = staging.findings_of(conn, wave, attempt.version, outputs.CONTEXT_COLUMNS)
            counts = staging.counts_of(conn, wave, attempt.version)
            interviews = staging.interviews_per_interviewer(conn, wave, attempt.version)
    finally:
        raw.discard()
    folder = wave_files.attempt_dir(wave)
    files = outputs.validation_files(wave, raw.path.name, raw.sha256, stored, counts, wave_files.all_errors, interviews)
    for name, text in files.items():
        outputs.write_file(folder / name, text)
    target = folder / "validation.json"
    errors = error_count(counts)
    warnings = sum(counts.values()) - errors
    context.log.info("wave %s: %d rows staged, %d errors, %d warnings; findings in %s",
                     wave, attempt.n_rows, errors, warnings, target)
    return dg.MaterializeResult(
        metadata={
            "raw_sha256": raw.sha256,
            "source_file": raw.path.name,
            **({"corrections_sha256": received.sha256, "corrections_applied": attempt.corrections_applied}
               if received.path else {}),
            "dagster/row_count": attempt.n_rows,
            "columns": len(raw.header),
            "errors": errors,
            "warnings": warnings,
            "validation_json": dg.MetadataValue.path(str(target)),
            "validation_report": dg.MetadataValue.path(str(target.with_suffix(".html"))),
            "issues_workbook": dg.MetadataValue.path(str(folder / "issues.xlsx")),
            # How the file was read: its format (by its bytes), and the form version its records name.
            "source_format": raw.format,
            **({"sheet": raw.sheet} if raw.sheet else {}),
            **({"form_version": raw.form_version} if raw.form_version else {}),
            "seconds_staging": round(attempt.staging_seconds, 3),
            "seconds_judging": round(attempt.judging_seconds, 3),
        },
        data_version=dg.DataVersion(attempt.version.digest),
    )
