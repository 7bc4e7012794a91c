"""The wave's results document and its published report: the contract's files and the bilingual PDF."""

import json
import time

import dagster as dg

from schemas import questionnaire as questionnaires
from schemas.findings import ITEMS_PER_RULE
from workflows.analysis import results
from workflows.report import outputs, provenance
from workflows.report.codebook import codebook
from workflows.warehouse import documents, publication, sql, staging
from workflows.defs.partitions import WAREHOUSE_POOL, wave_partitions
from workflows.versions import code_version
from workflows.defs.resources import WaveFiles
from workflows.report.report_context import report_context
from workflows.intake.corrections import NO_FILE
from workflows.intake.files import file_sha256
from workflows.report.rendering import render_html, render_pdf
from workflows.warehouse.resource import Warehouse

# Above this many firms the report names firm_indices.csv by its sha256 instead of carrying it,
# so that the PDF's size stays the same however large the wave.
ATTACH_FIRM_INDICES_UP_TO = 10_000
ATTACHMENT_DESCRIPTIONS = {
    "firm_indices.csv": "One row per firm: the paper's variables and indices (shared/spec/outputs.md).",
    "results.json": "Every figure of the report, unrounded.",
    "validation.json": "The findings of the wave's validation: errors (none) and warnings.",
}


@dg.asset(
    partitions_def=wave_partitions,
    pool=WAREHOUSE_POOL,
    deps=["enterprise_characteristics", "constraint_mentions", "knowledge_sources",
          "pollution_seriousness", "regression_models"],
    kinds={"duckdb", "json"},
    group_name="report",
    code_version=code_version(__name__),
)
def wave_results(context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse],
                 wave_files: dg.ResourceParam[WaveFiles]) -> dg.MaterializeResult:
    """Every figure of the wave in one document, the one `results.json` publishes."""
    wave = context.partition_key
    with warehouse.publishing(context) as conn:
        document = results.wave_results(conn, wave, None if wave_files.all_errors else ITEMS_PER_RULE)
        documents.replace(conn, documents.WAVE_RESULTS, wave, document)
    total = document["characteristics"]["total"]
    return dg.MaterializeResult(
        metadata={
            "n_firms": document["n_firms"],
            "adopters": total["adopters"],
            "raw_sha256": document["raw_sha256"],
            "synthetic": provenance.synthetic_kind(document["raw_sha256"]) or "no",
        }
    )


def judged_by(register, wave: str) -> questionnaires.Questionnaire:
    """The form the published wave was judged by, as its register records it."""
    form = register.get("form")
    return questionnaires.of_wave(json.loads(form) if isinstance(form, str) else None, wave,
                                  json.loads(register.get("columns") or "[]"))


@dg.asset(
    partitions_def=wave_partitions,
    pool=WAREHOUSE_POOL,
    deps=[wave_results, "firm_indices", "wave_facts", "published_comparison", "wave_comparison"],
    kinds={"pdf", "weasyprint", "jinja"},
    group_name="report",
    code_version=code_version(__name__, "reports/templates/**/*", "reports/fonts/*", "sql/rpt_other_answers.sql",
                              "sql/out_firm_indices.sql"),
)
def wave_report(
    context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse], wave_files: dg.ResourceParam[WaveFiles]
) -> dg.MaterializeResult:
    """The bilingual PDF report with `results.json`, `firm_indices.csv` and `validation.json` beside it."""
    wave = context.partition_key
    target = wave_files.published_dir(wave)
    # The set is written apart and swapped in with the warehouse's commit: all of it or none.
    pending = warehouse.pending_folder(target, wave, context.run.run_id)
    indices_file = pending / "firm_indices.csv"
    with warehouse.publishing(context) as conn:
        document = documents.load(conn, documents.WAVE_RESULTS, wave)
        register = conn.execute("select * from waves where wave = $wave", {"wave": wave}).df().iloc[0]
        version = staging.Version.of(register)
        findings = staging.findings_of(conn, wave, version, outputs.CONTEXT_COLUMNS)
        counts = staging.counts_of(conn, wave, version)
        interviews = staging.interviews_per_interviewer(conn, wave, version)
        other_answers = sql.query(conn, "rpt_other_answers", {"wave": wave}, context.log)
        comparison = documents.load(conn, documents.PUBLISHED_COMPARISON, wave, default=[])
        changes = documents.load(conn, documents.WAVE_COMPARISONS, wave, default={})
        facts = dict(conn.execute("select fact, value from wave_facts where wave = $wave", {"wave": wave}).fetchall())
        sql.copy_to_csv(conn, "out_firm_indices", {"wave": wave}, indices_file, context.log)
        conn.execute("update waves set report_pdf = $report where wave = $wave",
                     {"wave": wave, "report": str(target / "report.pdf")})
    # The report's date is the wave's median interview day: the same inputs give the same bytes.
    interviewed = register["median_interview_date"]
    texts = {
        "results.json": outputs.json_text(document),
        **outputs.validation_files(wave, register["source_name"], register["raw_sha256"], findings, counts,
                                   wave_files.all_errors, interviews),
    }
    contents = {name: texts[name].encode("utf-8") for name in ("results.json", "validation.json")}
    if int(register["n_firms"]) <= ATTACH_FIRM_INDICES_UP_TO:
        contents["firm_indices.csv"] = indices_file.read_bytes()
    attached = {name: (content, ATTACHMENT_DESCRIPTIONS[name]) for name, content in contents.items()}
    file_hashes = {name: outputs.sha256_of(content) for name, content in contents.items()}
    file_hashes["firm_indices.csv"] = file_sha256(indices_file)
    rendering = time.perf_counter()
    html = render_html("report.html.j2", **report_context(
        document, register["source_name"], f"{interviewed:%Y-%m-%d}", other_answers,
        comparison, changes, facts)
        | {"attached": sorted(attached), "file_hashes": file_hashes, "codebook": codebook(judged_by(register, wave))})
    pdf, pages = render_pdf(html, int(interviewed.timestamp()), attached)
    rendering = time.perf_counter() - rendering
    try:
        publication.write_into(pending, texts | {"report.pdf": pdf})
    except publication.DiskFull as full:
        raise dg.Failure(description=str(full), allow_retries=False) from None
    warehouse.publish(wave, pending, target)
    context.log.info("wave %s: report written to %s", wave, target / "report.pdf")
    return dg.MaterializeResult(
        metadata={
            "report_pdf": dg.MetadataValue.path(str(target / "report.pdf")),
            "report_sha256": outputs.sha256_of(pdf),
            "pages": pages,
            "seconds_rendering": round(rendering, 3),
            "raw_sha256": document["raw_sha256"],
            "corrections_sha256": version.corrections_sha256 or NO_FILE,
        }
    )
