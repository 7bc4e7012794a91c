"""New and changed wave files are picked up by a sensor; a daily schedule re-runs stale waves.

The sensor keys each request by the file's sha256, so an unchanged file never runs twice;
the schedule re-runs a wave whose published report no longer matches its file or whose
code has changed since, but never retries a file that already failed validation.
"""

import json
import re
from pathlib import Path

import dagster as dg

from schemas.codebook import IDENTIFIER
from workflows.defs.partitions import wave_partitions
from workflows.defs.resources import WaveFiles
from workflows.intake import file_sha256

WAVE_FILE = re.compile(rf"({IDENTIFIER})\.csv")

wave_job = dg.define_asset_job(
    "wave_job",
    selection=dg.AssetSelection.all(),
    partitions_def=wave_partitions,
    description="Every asset and check of one wave, from its raw file to its report.",
)


def wave_files_in(folder: Path) -> dict[str, Path]:
    """The folder's CSV files whose names are valid wave ids, by wave."""
    return {m.group(1): path for path in sorted(folder.glob("*.csv")) if (m := WAVE_FILE.fullmatch(path.name))}


@dg.sensor(job=wave_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Adds a wave for each new CSV file in the raw folder and runs it when the file is new or changed.")
def raw_wave_files(context: dg.SensorEvaluationContext, wave_files: dg.ResourceParam[WaveFiles]) -> dg.SensorResult:
    seen = json.loads(context.cursor) if context.cursor else {}
    known = set(context.instance.get_dynamic_partitions(wave_partitions.name))
    added, requests = [], []
    for wave, path in wave_files_in(wave_files.raw_dir).items():
        stat = path.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
        previous = seen.get(wave)
        if previous and previous["stamp"] == stamp:
            continue  # untouched since it was hashed: no need to read it again
        sha = file_sha256(path)
        if wave not in known:
            added.append(wave)
        if not previous or previous["sha256"] != sha:
            requests.append(dg.RunRequest(partition_key=wave, run_key=f"{wave}:{sha}",
                                          tags={"cleantech/raw_sha256": sha, "cleantech/source_file": path.name}))
        seen[wave] = {"sha256": sha, "stamp": stamp}
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(seen, sort_keys=True),
        dynamic_partitions_requests=[wave_partitions.build_add_request(added)] if added else [],
    )


def stale_reason(instance: dg.DagsterInstance, definitions_graph, wave: str, sha: str) -> str | None:
    """Why the wave's published report is stale, or None when it is current or cannot be fixed by a rerun."""
    latest_attempt = _latest(instance, dg.AssetKey("raw_wave"), wave)
    report = _latest(instance, dg.AssetKey("wave_report"), wave)
    reported_sha = report.asset_materialization.metadata["raw_sha256"].value if report else None
    if latest_attempt and latest_attempt.asset_materialization.metadata["raw_sha256"].value == sha != reported_sha:
        return None  # this very file was judged and not published: only a new file can help
    if report is None:
        return "never reported"
    if reported_sha != sha:
        return "the raw file changed"
    for key in definitions_graph.get_all_asset_keys():
        current = definitions_graph.get(key).code_version
        event = _latest(instance, key, wave)
        if event is None or event.asset_materialization.tags.get("dagster/code_version") != current:
            return f"the code of {key.to_user_string()} changed"
    compared = _latest(instance, dg.AssetKey("wave_comparison"), wave)
    predecessor = current_predecessor(instance, wave)
    if compared and compared.asset_materialization.metadata["previous_wave"].value != (predecessor or "none"):
        return f"its predecessor is now wave {predecessor}"
    return None


def current_predecessor(instance: dg.DagsterInstance, wave: str) -> str | None:
    """The published wave interviewed last before this one, from the published waves' median dates."""
    medians = {}
    for other in instance.get_dynamic_partitions(wave_partitions.name):
        event = _latest(instance, dg.AssetKey("survey_responses"), other)
        if event and "median_interview_date" in event.asset_materialization.metadata:
            medians[other] = event.asset_materialization.metadata["median_interview_date"].value
    if wave not in medians:
        return None
    earlier = [(date, other) for other, date in medians.items() if date < medians[wave]]
    return max(earlier)[1] if earlier else None


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, wave: str):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[wave]), limit=1).records
    return records[0].event_log_entry if records else None


@dg.schedule(job=wave_job, cron_schedule="0 3 * * *", default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Every night, re-runs each wave whose report is stale: new file, or changed code.")
def stale_waves(context: dg.ScheduleEvaluationContext, wave_files: dg.ResourceParam[WaveFiles]):
    graph = context.repository_def.asset_graph
    files = wave_files_in(wave_files.raw_dir)
    for wave in context.instance.get_dynamic_partitions(wave_partitions.name):
        if wave not in files:
            continue
        reason = stale_reason(context.instance, graph, wave, file_sha256(files[wave]))
        if reason:
            context.log.info("wave %s is stale: %s", wave, reason)
            yield dg.RunRequest(partition_key=wave, tags={"cleantech/stale_because": reason})
