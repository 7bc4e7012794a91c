"""The warehouse and the wave files, configured from the environment with embedded defaults."""

from pathlib import Path

import dagster as dg

from schemas.codebook import WAVE_ID
from workflows.intake.corrections import corrections_path
from workflows.intake.files import files_of_wave, two_files

from workflows import settings
from workflows.warehouse import restatement
from workflows.warehouse.resource import Warehouse

settings.apply_defaults()


class WaveFiles:
    """Where a wave's raw file is read from and where its outputs are written.

    Not configurable at launch: a run's paths come from the environment (or, for the
    command line, from its own arguments), never from run config that a web page could send.
    """

    def __init__(self, raw_dir: str | Path, outputs_dir: str | Path, source_file: str | Path | None = None,
                 out_dir: str | Path | None = None, all_errors: bool = False, form_file: str | Path | None = None,
                 corrections_dir: str | Path | None = None):
        self.raw_dir = Path(raw_dir)
        # Where the wave's corrections file `<wave>.csv` is looked for, by `run` and `validate` and the UI alike.
        self.corrections_dir = Path(corrections_dir or settings.get("CLEANTECH_CORRECTIONS_DIR"))
        self.outputs_dir = Path(outputs_dir)
        self.source_file = Path(source_file) if source_file else None
        self.out_dir = Path(out_dir) if out_dir else None
        self.all_errors = all_errors
        # The XLSForm named on the command line; otherwise the wave's file and id pick a shipped one.
        self.form_file = Path(form_file) if form_file else None

    @classmethod
    def from_environment(cls) -> "WaveFiles":
        return cls(settings.get("CLEANTECH_RAW_DIR"), settings.get("CLEANTECH_OUTPUTS_DIR"),
                   corrections_dir=settings.get("CLEANTECH_CORRECTIONS_DIR"))

    def source_of(self, wave: str) -> Path:
        """The command line's FILE, else the wave's one file in the raw folder: `<raw_dir>/<wave>.<type>` for a
        type the project reads (`.csv`, `.xlsx`, `.sav`); two such files are refused, never guessed between."""
        if self.source_file:
            return self.source_file
        files = files_of_wave(self.raw_dir, checked_wave(wave))
        if len(files) > 1:
            raise dg.Failure(description=f"The raw folder {self.raw_dir}: {two_files(wave, [f.name for f in files])} "
                                         "Nothing was read.", allow_retries=False)
        return files[0] if files else self.raw_dir / f"{wave}.csv"

    def corrections_of(self, wave: str) -> Path:
        """The wave's corrections file: `<corrections_dir>/<wave>.csv` (it need not exist)."""
        return corrections_path(self.corrections_dir, checked_wave(wave))

    def published_dir(self, wave: str) -> Path:
        """Where a successful run writes the contract's files: `--out`, else `<outputs_dir>/<wave>`."""
        return self.out_dir or self.outputs_dir / checked_wave(wave)

    def attempt_dir(self, wave: str) -> Path:
        """Where an attempt writes its `validation.json`: beside, never over, a published set (`--out` too)."""
        published = self.published_dir(wave)
        if not (published / "report.pdf").exists():
            return published
        return published / "last-attempt"


def checked_wave(wave: str) -> str:
    """The wave id, if it follows the contract's rule; a partition key never becomes a path otherwise."""
    if not isinstance(wave, str) or not WAVE_ID.fullmatch(wave):
        raise dg.Failure(description=f"{wave!r} is not a wave id (1-32 letters, digits, '_' or '-', "
                                     "starting with a letter or digit); nothing was read or written.",
                         allow_retries=False)
    return wave


def warehouse_resource(database: str | Path | None = None) -> dg.ResourceDefinition:
    """The warehouse for a run: the given file (the command line's scratch database), else the environment's.

    No config schema: a launch that tries to set the warehouse's path is refused by Dagster itself.
    """

    @dg.resource(config_schema={}, description="The DuckDB warehouse, held by one run at a time and published "
                                                "in one transaction with the wave's output files.")
    def warehouse(context: dg.InitResourceContext):
        path = Path(database or settings.get("CLEANTECH_WAREHOUSE"))
        # Only the holder of the project's own warehouse may clear leftovers in its outputs folder
        # (`validate` runs on a scratch database, beside runs that may be writing there).
        own = path.resolve() == Path(settings.get("CLEANTECH_WAREHOUSE")).resolve()
        resource = Warehouse(path, settings.lock_wait_seconds(), settings.get("CLEANTECH_OUTPUTS_DIR") if own else None)
        run = context.dagster_run
        run_id, instance = (run.run_id if run else None), context.instance
        wave = run.tags.get("dagster/partition") if run else None

        def run_failed() -> bool:
            return bool(instance and run_id and instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE))

        def restate(conn):
            if instance is not None and wave and WAVE_ID.fullmatch(wave):
                restatement.reconcile(instance, conn, wave, context.log)

        with resource.session(run_failed, on_rollback=restate, on_open=restate):
            yield resource

    return warehouse


@dg.definitions
def resources() -> dg.Definitions:
    # In-process execution: every step of a run shares the one process that holds the warehouse.
    return dg.Definitions(
        executor=dg.in_process_executor,
        resources={
            "warehouse": warehouse_resource(),
            # No config schema: a launch that tries to set a path is refused by Dagster itself.
            "wave_files": dg.ResourceDefinition(lambda _: WaveFiles.from_environment(), config_schema={},
                                                description="The raw folder and the outputs folder, from the environment."),
        }
    )
