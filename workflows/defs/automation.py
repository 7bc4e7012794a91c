"""New and changed wave files are picked up by a sensor; a daily schedule re-runs stale waves.

The sensor sees the raw folder through `scan_raw_folder`: only regular files named
`<wave id>.csv`, `.xlsx` or `.sav` (any export type the project reads) are read, and every
other entry so named (a folder, a FIFO, a device, a name that is no wave id, a type that is
not read, two files of one wave id) is skipped, with its reason logged once, never hashed,
never waited on. A wave with two files runs again once one is left, if that one's bytes
are new.

A wave's file is hashed when its size or modification time changes, and a run is requested
when its bytes differ from the ones last seen: a touched but unchanged file never runs
twice, while a file put back to an earlier version (A, B, A) runs again, since each request
takes the wave's next sequence number into its run key. On first sight of a wave, no run is
requested when the instance's latest `raw_wave` materialization of that wave already judged
these very bytes (a run from the command line, or from an earlier daemon).

A wave's corrections file (`<wave id>.csv` in the corrections folder) is watched the same
way: a new, changed or removed corrections file runs the wave again.

The schedule re-runs a wave whose published report no longer matches its file or its
corrections file or whose code has changed since, but never retries a file that already
failed validation.
"""

import hashlib
import json
import os

import dagster as dg

from workflows.defs.jobs import wave_job
from workflows.defs.partitions import wave_partitions
from workflows.defs.resources import WaveFiles
from workflows.intake.corrections import NO_FILE
from workflows.intake.files import NotARegularFile, file_sha256
from workflows.intake.raw_folder import RawFolder, scan_raw_folder
from workflows.command.terminal import printable

CURSOR_VERSION = 2
# Skipped entries remembered one by one (so each is logged once); beyond these, one digest of the rest.
REMEMBERED_SKIPS = 100
# The cursor's entry of a wave without a corrections file.
NO_CORRECTIONS = [NO_FILE]

@dg.sensor(job=wave_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Adds a wave for each new export in the raw folder (CSV, XLSX or SPSS .sav) and runs it when "
                       "the file is new or changed; two files of one wave are refused, with the reason logged.")
def raw_wave_files(context: dg.SensorEvaluationContext, wave_files: dg.ResourceParam[WaveFiles]) -> dg.SensorResult:
    state = _read_cursor(context.cursor)
    corrections_seen = state["corrections"]
    folder = scan_raw_folder(wave_files.raw_dir)
    skips = _log_new_skips(context, folder, state["skipped"])
    known = set(context.instance.get_dynamic_partitions(wave_partitions.name))
    seen, added, requests, corrected = {}, [], [], {}
    for wave, path in folder.waves.items():
        previous = state["waves"].get(wave)
        try:
            corrections, corrections_changed = _corrections_state(context, wave_files, wave, corrections_seen.get(wave))
        except (NotARegularFile, OSError) as error:
            # Said by the run's wave_corrections as a finding; here it only must not hold up the raw file.
            context.log.warning("wave %s: its corrections file could not be read this time (%s)", wave,
                                printable(getattr(error, "strerror", None) or error))
            corrections, corrections_changed = corrections_seen.get(wave, NO_CORRECTIONS), False
        try:
            corrected[wave] = corrections
            info = os.stat(path)
            stamp = [info.st_size, info.st_mtime_ns]
            if previous and previous[1:3] == stamp and not corrections_changed:
                seen[wave] = previous  # untouched since it was hashed: no need to read it again
                continue
            sha = file_sha256(path)
        except (NotARegularFile, OSError) as error:  # changed since the scan: the next tick will say what it is
            context.log.warning("wave %s: %s could not be read this time (%s)", wave, printable(path),
                                printable(getattr(error, "strerror", None) or error))
            if previous:
                seen[wave] = previous
            corrected.pop(wave, None)  # the corrections file too is looked at again on the next tick
            if wave in corrections_seen:
                corrected[wave] = corrections_seen[wave]
            continue
        if wave not in known:
            added.append(wave)
        if previous is None:
            judged, sequence = _judged(context.instance, wave)
            if judged == sha and not corrections_changed:
                context.log.info("wave %s: %s was already judged (the latest raw_wave of the wave read these "
                                 "same bytes, sha256 %s); no new run", wave, printable(path.name), sha)
                seen[wave] = [sha, *stamp, sequence]
                continue
        elif previous[0] == sha and not corrections_changed:
            seen[wave] = [sha, *stamp, previous[3]]  # touched, same bytes
            continue
        else:
            sequence = previous[3]
        sequence += 1
        corrections_sha = "" if corrections == NO_CORRECTIONS else corrections[0]
        requests.append(dg.RunRequest(partition_key=wave, run_key=f"{wave}:{sequence}:{sha}:{corrections_sha}",
                                      tags={"cleantech/raw_sha256": sha, "cleantech/source_file": path.name,
                                            **({"cleantech/corrections_sha256": corrections_sha}
                                               if corrections_sha else {})}))
        seen[wave] = [sha, *stamp, sequence]
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps({"v": CURSOR_VERSION, "waves": seen, "skipped": skips, "corrections": corrected},
                          sort_keys=True,
                          separators=(",", ":")),
        dynamic_partitions_requests=[wave_partitions.build_add_request(added)] if added else [],
    )


def _read_cursor(cursor: str | None) -> dict:
    """The cursor as `{"waves": {wave: [sha256, size, mtime_ns, sequence]}, "skipped": {...}}`.

    Waves that left the folder are dropped from it, skipped entries are remembered by short
    digests, so its size follows the folder's wave files, never the history of the folder.
    """
    try:
        data = json.loads(cursor) if cursor else {}
    except ValueError:  # not a cursor of this sensor: every wave is seen for the first time
        data = {}
    if not isinstance(data, dict):
        data = {}
    if data.get("v") != CURSOR_VERSION:  # the first cursor: {wave: {"sha256", "stamp"}}, no sequence yet
        return {"waves": {wave: [entry["sha256"], *entry["stamp"], 0] for wave, entry in data.items()
                          if isinstance(entry, dict) and "sha256" in entry and "stamp" in entry},
                "skipped": {}, "corrections": {}}
    return {"waves": data.get("waves", {}), "skipped": data.get("skipped", {}),
            "corrections": data.get("corrections", {})}


def _corrections_state(context, wave_files: WaveFiles, wave: str, previous: list | None) -> tuple[list, bool]:
    """The wave's corrections file as [sha256, size, mtime_ns] (NO_CORRECTIONS without one), and whether it changed since
    the cursor last saw it; on first sight, since the wave's latest `wave_corrections` read it."""
    path = wave_files.corrections_of(wave)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        current = NO_CORRECTIONS
    else:
        stamp = [info.st_size, info.st_mtime_ns]
        current = previous if previous and previous[1:] == stamp else [file_sha256(path), *stamp]
    if previous is None:
        record = _latest_record(context.instance, dg.AssetKey("wave_corrections"), wave)
        metadata = record.event_log_entry.asset_materialization.metadata if record else {}
        judged = metadata["corrections_sha256"].value if "corrections_sha256" in metadata else NO_FILE
        return current, judged != current[0]
    return current, current[0] != previous[0]


def _digest(*parts: str) -> str:
    joined = "\0".join(parts).encode("utf-8", "surrogateescape")
    return hashlib.sha256(joined).hexdigest()[:16]


def _log_new_skips(context, folder: RawFolder, remembered: dict) -> dict:
    """Log each skipped entry once per reason; return what to remember of them in the cursor."""
    listed = set(remembered.get("each", []))
    now = {}
    if folder.problem:
        now["folder"] = _digest(folder.problem)
        if remembered.get("folder") != now["folder"]:
            context.log.warning("the raw folder cannot be read: %s", printable(folder.problem))
    entries = list(folder.skipped.items())
    each = [_digest(name, reason) for name, reason in entries[:REMEMBERED_SKIPS]]
    for (name, reason), digest in zip(entries, each):
        if digest not in listed:
            context.log.warning("skipped %s in the raw folder: %s", printable(name), printable(reason))
    if each:
        now["each"] = each
    rest = entries[REMEMBERED_SKIPS:]
    if rest:
        now["rest"] = _digest(*(part for entry in rest for part in entry))
        if remembered.get("rest") != now["rest"]:
            context.log.warning("%d more entries in the raw folder are skipped; `cleantech-survey waves` lists "
                                "each with its reason", len(rest))
    return now


def _judged(instance: dg.DagsterInstance, wave: str) -> tuple[str | None, int]:
    """The sha256 of the file the wave's latest `raw_wave` materialization judged, and that event's storage id.

    A wave's run keys count up from that storage id, so a cursor that is reset (or a wave
    whose file left the folder and came back) does not reuse a key of an earlier run.
    """
    record = _latest_record(instance, dg.AssetKey("raw_wave"), wave)
    if record is None:
        return None, 0
    metadata = record.event_log_entry.asset_materialization.metadata
    judged = metadata["raw_sha256"].value if "raw_sha256" in metadata else None
    return judged, record.storage_id


def stale_reason(instance: dg.DagsterInstance, definitions_graph, wave: str, sha: str,
                 corrections_sha: str = NO_FILE) -> str | None:
    """Why the wave's published report is stale, or None when it is current or cannot be fixed by a rerun.

    `corrections_sha` is the sha256 of the wave's corrections file, NO_FILE without one."""
    latest_attempt = _latest(instance, dg.AssetKey("raw_wave"), wave)
    report = _latest(instance, dg.AssetKey("wave_report"), wave)
    reported_version, attempted_version = _version_of(report), _version_of(latest_attempt)
    if attempted_version == (sha, corrections_sha) != reported_version:
        return None  # this very file, so corrected, was judged and not published: only a change can help
    if report is None:
        return "never reported"
    if reported_version[0] != sha:
        return "the raw file changed"
    if reported_version[1] != corrections_sha:
        return ("its corrections file was removed" if corrections_sha == NO_FILE else
                "its corrections file is new" if reported_version[1] == NO_FILE else "its corrections file changed")
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


def _version_of(event) -> tuple[str | None, str]:
    """The (raw file, corrections file) sha256 a materialization recorded: (None, NO_FILE) for none."""
    metadata = event.asset_materialization.metadata if event else {}
    return (metadata["raw_sha256"].value if "raw_sha256" in metadata else None,
            metadata["corrections_sha256"].value if "corrections_sha256" in metadata else NO_FILE)


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
    record = _latest_record(instance, key, wave)
    return record.event_log_entry if record else None


def _latest_record(instance: dg.DagsterInstance, key: dg.AssetKey, wave: str):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[wave]), limit=1).records
    return records[0] if records else None


@dg.schedule(job=wave_job, cron_schedule="0 3 * * *", default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Every night, re-runs each wave whose report is stale: new file, or changed code.")
def stale_waves(context: dg.ScheduleEvaluationContext, wave_files: dg.ResourceParam[WaveFiles]):
    graph = context.repository_def.asset_graph
    folder = scan_raw_folder(wave_files.raw_dir)
    if folder.problem:
        context.log.warning("the raw folder cannot be read: %s", printable(folder.problem))
    for name, why in folder.skipped.items():
        context.log.warning("skipped %s in the raw folder: %s", printable(name), printable(why))
    for wave in context.instance.get_dynamic_partitions(wave_partitions.name):
        if wave not in folder.waves:
            continue
        try:
            sha = file_sha256(folder.waves[wave])
        except (NotARegularFile, OSError) as error:
            context.log.warning("wave %s: its file could not be read (%s)", wave,
                                printable(getattr(error, "strerror", None) or error))
            continue
        corrections = wave_files.corrections_of(wave)
        try:
            corrections_sha = file_sha256(corrections) if corrections.exists() else NO_FILE
        except (NotARegularFile, OSError) as error:
            context.log.warning("wave %s: its corrections file could not be read (%s)", wave,
                                printable(getattr(error, "strerror", None) or error))
            continue
        reason = stale_reason(context.instance, graph, wave, sha, corrections_sha)
        if reason:
            context.log.info("wave %s is stale: %s", wave, reason)
            yield dg.RunRequest(partition_key=wave, tags={"cleantech/stale_because": reason})
