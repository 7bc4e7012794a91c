"""Run a wave through the Dagster asset graph in this process: the command line's engine.

The command is a front door, not a second pipeline: it materialises the same assets and
checks the UI shows, in the project's Dagster instance, with the file and output folder
given on the command line.
"""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from workflows import settings
from workflows.warehouse import staging
from workflows.warehouse.locking import first_use
from workflows.warehouse.resource import OFFLINE_DUCKDB, check_warehouse, warehouse_sentence

@dataclass
class Outcome:
    wave: str
    succeeded: bool
    errors: int
    warnings: int
    validation_json: Path | None
    report_pdf: Path | None
    out_dir: Path
    failure: str | None = None
    run_id: str | None = None
    # The wave's corrections file and how many of its corrections were applied to the cells before any rule.
    corrections_file: str | None = None
    corrections_applied: int = 0

    @property
    def busy(self) -> bool:
        """The run gave up waiting for the warehouse, or DuckDB found it held by another process."""
        text = (self.failure or "").lower()
        return "still in use by another" in text or "could not set lock" in text


def run_wave(source: Path, wave: str, out_dir: Path | None, all_errors: bool = False, quiet: bool = True,
             form: Path | None = None) -> Outcome:
    """Validate, load, derive, fit and render one wave; the caller holds the warehouse lock."""
    settings.apply_defaults()
    check_warehouse(Path(settings.get("CLEANTECH_WAREHOUSE")))
    # Two runs starting at once on a new Dagster home would both create its SQLite schema.
    with first_use(Path(settings.get("DAGSTER_HOME"))):
        instance = dg.DagsterInstance.get()
        instance.get_runs_count()
    return _materialize(instance, source, wave, out_dir, all_errors, quiet,
                        settings.get("CLEANTECH_WAREHOUSE"), intake_only=False, form=form)


def validate_wave(source: Path, wave: str, out_dir: Path | None, all_errors: bool = False, quiet: bool = True,
                  form: Path | None = None) -> Outcome:
    """Judge the wave without touching the warehouse: the intake assets on a throw-away database, which knows
    the warehouse's files (so that a copy of another wave's file is warned about)."""
    settings.apply_defaults()
    with tempfile.TemporaryDirectory(prefix="cleantech-validate-") as scratch:
        database = os.path.join(scratch, "scratch.duckdb")
        _learn_files(Path(settings.get("CLEANTECH_WAREHOUSE")), database)
        with dg.DagsterInstance.ephemeral() as instance:
            return _materialize(instance, source, wave, out_dir, all_errors, quiet, database, intake_only=True,
                                form=form)


def _learn_files(warehouse: Path, scratch: str) -> None:
    """Give the scratch database the warehouse's register of files, read-only; a warehouse held by a run, damaged
    or not yet made gives none (its `run` then warns of a copied file)."""
    if not warehouse.is_file():
        return
    try:
        with duckdb.connect(str(warehouse), read_only=True, config=OFFLINE_DUCKDB) as conn:
            register = staging.file_register(conn)
    except duckdb.Error:
        return
    with duckdb.connect(scratch, config=OFFLINE_DUCKDB) as conn:
        staging.learn_file_register(conn, register)


def _materialize(instance, source, wave, out_dir, all_errors, quiet, database, intake_only, form=None) -> Outcome:
    from workflows.defs.jobs import validation_job, wave_job
    from workflows.defs.partitions import wave_partitions
    from workflows.defs.resources import WaveFiles, warehouse_resource
    from workflows.definitions import defs as load_definitions

    definitions = load_definitions()
    instance.add_dynamic_partitions(wave_partitions.name, [wave])
    wave_files = WaveFiles(
        raw_dir=settings.get("CLEANTECH_RAW_DIR"),
        outputs_dir=settings.get("CLEANTECH_OUTPUTS_DIR"),
        source_file=source.resolve(),
        out_dir=out_dir.resolve() if out_dir else None,
        all_errors=all_errors,
        form_file=form.resolve() if form else None,
    )
    # The project's own jobs, bound to this call's file and folder: the UI lists the run under its job's name.
    bound = dg.Definitions(
        assets=definitions.assets, asset_checks=definitions.asset_checks, jobs=[wave_job, validation_job],
        resources={"warehouse": warehouse_resource(database), "wave_files": wave_files},
        executor=dg.in_process_executor,
    )
    job = bound.resolve_job_def((validation_job if intake_only else wave_job).name)
    result = job.execute_in_process(
        instance=instance,
        partition_key=wave,
        raise_on_error=False,
        tags={"cleantech/source": "command line", "cleantech/source_file": source.name},
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL" if quiet else "DEBUG"}}}},
    )
    intake = _metadata_of(result, "raw_wave")
    published = wave_files.published_dir(wave)
    report = published / "report.pdf"
    if not result.success and _interrupted(result):
        raise KeyboardInterrupt  # Ctrl-C during a step: the command says so, as it would between steps
    failure = None if result.success else _first_failure(result, database)
    return Outcome(
        wave=wave,
        succeeded=result.success,
        errors=int(intake.get("errors", 0)),
        warnings=int(intake.get("warnings", 0)),
        # A published run's findings are those published with its report, not the attempt's copy.
        validation_json=(published / "validation.json" if result.success and not intake_only
                         else Path(intake["validation_json"]) if "validation_json" in intake else None),
        report_pdf=report if (result.success and not intake_only) else None,
        out_dir=published,
        failure=failure,
        run_id=result.run_id,
        corrections_file=str(wave_files.corrections_of(wave)) if "corrections_sha256" in intake else None,
        corrections_applied=int(intake.get("corrections_applied", 0)),
    )


def _metadata_of(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key == dg.AssetKey(asset):
            return {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}
    return {}


def _interrupted(result: dg.ExecuteInProcessResult) -> bool:
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            if error.cls_name in ("DagsterExecutionInterruptedError", "KeyboardInterrupt"):
                return True
            error = error.cause
    return False


def _first_failure(result: dg.ExecuteInProcessResult, database: str) -> str | None:
    """The sentence of the first fault: a resource that could not start, a step, or the run."""
    for kinds in (("RESOURCE_INIT_FAILURE", "STEP_FAILURE"), ("PIPELINE_FAILURE", "RUN_FAILURE")):
        for event in result.all_events:
            if event.event_type_value in kinds:
                error = getattr(event.event_specific_data, "error", None)
                while error is not None and error.cause is not None:
                    error = error.cause
                if error is not None:
                    return _sentence(error.message, database)
    return None


def _sentence(message: str, database: str) -> str:
    """An exception's message without its class name ('pkg.Error: text' -> 'text'); the warehouse's
    and the disk's faults in the project's own words."""
    if "no space left on device" in message.lower():
        return (f"A disk is full ({message.strip().splitlines()[0]}); nothing published changed. "
                "Free some space and run again.")
    if sentence := warehouse_sentence(Path(database), message):
        return sentence
    head, _, text = message.strip().partition(": ")
    return text if text and " " not in head else message.strip()
