"""Read a raw wave file into the warehouse's staging area, judging the file before its cells.

File-level faults (encoding, delimiter, header, ragged records, no rows) become findings
like any cell's; the rows that can be read are staged as text, keyed by wave and by the
file's sha256, so that staging a new attempt never touches the wave's published rows.
"""

import codecs
import csv
import hashlib
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from schemas.findings import ITEMS_PER_RULE, WARNING, Finding, Verdict, judge
from schemas.quality import quality_warnings
from schemas.raw_wave import CONTRACT_COLUMNS
from workflows import staging

CHUNK = 1 << 20
# Faults that leave no rows to read; any other fault still lets every cell be judged.
UNREADABLE = frozenset({"encoding", "empty_file", "delimiter", "header"})
OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


@dataclass
class RawFile:
    """What the file is, before any cell is judged."""

    path: Path
    sha256: str
    header: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return not any(f.rule in UNREADABLE for f in self.findings)

    @property
    def contract_columns(self) -> list[str]:
        return [c for c in CONTRACT_COLUMNS if c in self.header]

    @property
    def extra_columns(self) -> list[str]:
        return [c for c in dict.fromkeys(self.header) if c not in CONTRACT_COLUMNS]


def inspect_file(path: Path) -> RawFile:
    """Hash the file and check its encoding, header and delimiter."""
    sha256, bad_offset, size = _hash_and_decode(path)
    raw = RawFile(path=path, sha256=sha256)
    if bad_offset is not None:
        line = _line_of_offset(path, bad_offset)
        raw.findings.append(_file_finding(
            "encoding",
            f"The file is not UTF-8 text: byte {bad_offset} (line {line}) cannot be decoded. "
            "Save it again as 'CSV UTF-8' from the spreadsheet or survey tool.",
        ))
        return raw
    header = _first_record(path)
    if size == 0 or header is None or not any(cell.strip() for cell in header):
        raw.findings.append(_file_finding("empty_file", "The file is empty: it has no header and no rows."))
        return raw
    raw.header = header
    if len(header) == 1:
        for delimiter, name in OTHER_DELIMITERS.items():
            if delimiter in header[0]:
                raw.findings.append(_file_finding(
                    "delimiter",
                    f"The columns are separated by {name}, not by commas; export the file again as comma-separated CSV.",
                ))
                return raw
    if not raw.contract_columns:
        raw.findings.append(_file_finding(
            "header", "The first record names none of the questionnaire's columns; the header row is missing."))
        return raw
    seen = set()
    for column in header:
        if column in seen:
            raw.findings.append(Finding(
                "duplicate_column", column, 0, None, None,
                f"The header names the column '{column}' more than once; only the first is read."))
        seen.add(column)
    for column in raw.extra_columns:
        raw.findings.append(Finding(
            "unknown_column", column, 0, None, None,
            f"The column '{column}' is not part of the questionnaire and is ignored.", WARNING))
    return raw


@dataclass
class Ragged:
    """The records DuckDB rejected for their number of fields: all their numbers, and the verdict."""

    records: np.ndarray
    verdict: Verdict


def read_records(conn: duckdb.DuckDBPyConnection, raw: RawFile,
                 items_per_rule: int | None = ITEMS_PER_RULE) -> Ragged:
    """Read the file's records as text into the temporary table `wave_upload`; report ragged ones.

    Call it outside a transaction: rows added inside one have no stable row ids yet, and the
    row id is what ties each accepted record back to its record number.
    """
    width = len(raw.header)
    text_columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    conn.execute("drop table if exists temp.wave_upload")
    conn.execute(
        f"""
        create temp table wave_upload as
        select * from read_csv(
            $path, header = false, skip = 1, delim = ',', quote = '"', escape = '"',
            all_varchar = true, auto_detect = false, strict_mode = true, null_padding = false,
            ignore_errors = true, store_rejects = true,
            rejects_table = 'wave_upload_rejects', rejects_scan = 'wave_upload_scans',
            columns = {{{text_columns}}}
        )
        """,
        {"path": str(raw.path)},
    )
    # DuckDB counts the header as line 1, so a record's number is its line minus one.
    # A short record is rejected once per missing field; its first rejection counts its fields.
    conn.execute(
        """
        create or replace temp table wave_upload_ragged as
        select line - 1 as record, arg_min(error_type, column_idx) as error_type, min(column_idx) as fields
        from wave_upload_rejects group by line
        """
    )
    records = conn.execute("select record from wave_upload_ragged order by record").fetchnumpy()["record"]
    limit = "" if items_per_rule is None else f"limit {int(items_per_rule)}"
    listed = conn.execute(f"select * from wave_upload_ragged order by record {limit}").fetchall()
    findings = [
        Finding("ragged_row", None, int(record), None, None,
                f"Record {int(record)} has {_field_count(error_type, int(fields), width)} "
                f"but the header has {width} columns; check its commas and quotes.")
        for record, error_type, fields in listed
    ]
    counts = {"ragged_row": len(records)} if len(records) else {}
    return Ragged(np.asarray(records, dtype=np.int64), Verdict(findings, counts))


def stage_rows(conn: duckdb.DuckDBPyConnection, raw: RawFile, wave: str, ragged: np.ndarray) -> int:
    """Copy the accepted records of `wave_upload` into `staging.raw_responses`; return how many.

    Each row keeps its CSV record number (the header is record 0) and the contract's columns
    that the file has.
    """
    positions = {column: raw.header.index(column) for column in raw.contract_columns}
    accepted = conn.execute("select count(*) from wave_upload").fetchall()[0][0]
    selected = ", ".join(f'upload.c{positions[c]} as "{c}"' for c in raw.contract_columns)
    params = {"wave": wave, "sha": raw.sha256}
    if not len(ragged):
        # Every record was accepted: the n-th row read is record n.
        conn.execute(
            f"""
            insert into staging.raw_responses by name
            select $wave as wave, $sha as raw_sha256, upload.rowid + 1 as source_row, {selected}
            from wave_upload as upload
            """,
            params,
        )
        return int(accepted)
    records = np.setdiff1d(np.arange(1, accepted + len(ragged) + 1), ragged)
    conn.register("wave_upload_records", pd.DataFrame({"upload_row": np.arange(accepted), "record": records}))
    conn.execute(
        f"""
        insert into staging.raw_responses by name
        select $wave as wave, $sha as raw_sha256, records.record as source_row, {selected}
        from (select rowid as upload_row, * from wave_upload) as upload
        join wave_upload_records as records using (upload_row)
        """,
        params,
    )
    conn.unregister("wave_upload_records")
    return int(accepted)


def no_rows_finding() -> Finding:
    return _file_finding("no_rows", "The file has a header but no rows of answers.")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _hash_and_decode(path: Path) -> tuple[str, int | None, int]:
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, bad = 0, None
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if bad is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    bad = offset + error.start
            offset += len(chunk)
    if bad is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            bad = offset - len(error.object) + error.start
    return digest.hexdigest(), bad, offset


def _line_of_offset(path: Path, offset: int) -> int:
    with path.open("rb") as handle:
        return handle.read(offset).count(b"\n") + 1


def _first_record(path: Path) -> list[str] | None:
    with path.open("rb") as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        return next(csv.reader(text), None)


def _field_count(error_type: str, fields: int, width: int) -> str:
    if error_type == "TOO MANY COLUMNS":
        return f"more than {width} fields"
    return f"{fields} field" + ("" if fields == 1 else "s")


def _file_finding(rule: str, message: str) -> Finding:
    return Finding(rule, None, None, None, None, message)


@dataclass
class StagedAttempt:
    """What staging a file gave: its rows, the verdict on them, and the seconds each half took."""

    n_rows: int
    verdict: Verdict
    staging_seconds: float
    judging_seconds: float


def stage_attempt(conn: duckdb.DuckDBPyConnection, raw: RawFile, wave: str,
                  items_per_rule: int | None = ITEMS_PER_RULE) -> StagedAttempt:
    """Stage the file as the wave's latest attempt and judge it by every rule, in one transaction.

    The verdict holds every rule's count, and its findings (errors and warnings, in file
    order) up to `items_per_rule` each, all when it is None.
    """
    started = time.perf_counter()
    staging.ensure_tables(conn)
    ragged = read_records(conn, raw, items_per_rule) if raw.readable else None
    verdict = Verdict.of(raw.findings)
    n_rows, judging_seconds = 0, 0.0
    conn.begin()
    try:
        staging.clear_unpublished_attempts(conn, wave, raw.sha256)
        if raw.readable:
            n_rows = stage_rows(conn, raw, wave, ragged.records)
            verdict = verdict + ragged.verdict
            if n_rows:
                judging = time.perf_counter()
                conn.execute(f"create or replace temp view wave_rows as {staging.attempt_rows(wave, raw.sha256)}")
                columns = raw.contract_columns
                verdict = (verdict + judge(conn, "wave_rows", columns, items_per_rule)
                           + quality_warnings(conn, "wave_rows", columns, items_per_rule))
                judging_seconds = time.perf_counter() - judging
            elif not len(ragged.records):
                verdict = verdict + Verdict.of([no_rows_finding()])
        staging.record_attempt(conn, wave, raw.sha256, raw.path.name, n_rows, raw.header, raw.extra_columns, verdict)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    total = time.perf_counter() - started
    return StagedAttempt(n_rows, verdict, total - judging_seconds, judging_seconds)
