"""Read a raw wave file once, into a private copy, and stage its records as the file's grammar allows.

The source is read exactly once: its bytes are hashed, checked as UTF-8 and written to a
private copy in the same pass, so the recorded sha256 and the staged rows come from the
same bytes even if the file is replaced during the run. Everything after reads the copy.

The CSV grammar (RFC 4180) is the project's, not a reader's guess: every record whose
fields do not match the header, every quote left open or misplaced, every cell or header
beyond the limits is a finding with its record number; nothing is shifted, merged or
dropped unreported. The header is record 0; a quoted cell with a newline does not start
a new record.
"""

import codecs
import csv
import hashlib
import io
import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from schemas.predicates import quoted
from schemas.findings import ITEMS_PER_RULE, WARNING, Finding, Verdict, judge
from schemas.quality import quality_warnings
from schemas.raw_wave import CONTRACT_COLUMNS
from workflows import staging
from workflows.files import open_regular

CHUNK = 1 << 20
# Far above any questionnaire, yet bounded: a breach is a finding, never gigabytes of memory.
MAX_COLUMNS = 10_000
MAX_CELL_CHARACTERS = 4 * 1024 * 1024
MAX_NAME_CHARACTERS = 256
# Records go to DuckDB in batches bounded in number and in text, so memory does not grow with the file.
BATCH_RECORDS = 50_000
BATCH_CHARACTERS = 32 * 1024 * 1024
# Faults that leave no rows to read; any other fault still lets every cell be judged.
UNREADABLE = frozenset({"encoding", "empty_file", "delimiter", "header", "too_many_columns"})
# A bare carriage return between records makes every later record number wrong: nothing is read.
BREAKS_RECORDS = "carriage_return"
OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
PRIVATE_PREFIX = ".intake-"

csv.field_size_limit(MAX_CELL_CHARACTERS)


@dataclass
class RawFile:
    """What the file is, before any cell is judged: its private copy, digest, header and file-level faults."""

    path: Path
    copy: Path
    sha256: str
    header: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return not any(f.rule in UNREADABLE or f.rule == BREAKS_RECORDS for f in self.findings)

    @property
    def contract_columns(self) -> list[str]:
        return [c for c in CONTRACT_COLUMNS if c in self.header]

    @property
    def extra_columns(self) -> list[str]:
        return [c for c in dict.fromkeys(self.header) if c not in CONTRACT_COLUMNS]


def receive(source: Path, folder: Path) -> RawFile:
    """Copy, hash and decode-check the file in one read; then check its header on the copy."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / f"{PRIVATE_PREFIX}{os.getpid()}-{secrets.token_hex(6)}.csv"
    breaks = LineBreakScan()
    try:
        sha256, bad_offset, size = _copy_once(source, copy, breaks)
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    raw = RawFile(path=source, copy=copy, sha256=sha256)
    if bad_offset is not None:
        line = _line_of_offset(copy, bad_offset)
        raw.findings.append(_file_finding(
            "encoding",
            f"The file is not UTF-8 text: byte {bad_offset} (line {line}) cannot be decoded. "
            "Save it again as 'CSV UTF-8' from the spreadsheet or survey tool.",
        ))
        return raw
    if bare := breaks.finish():
        record, line = bare
        raw.findings.append(Finding(
            "carriage_return", None, record, None, None,
            f"Record {record} (line {line}) holds a carriage return outside any quoted cell that ends no line "
            "(an old Mac line break amid normal ones); no record was read. Save the file again with normal "
            "line breaks."))
        return raw
    with _reader(copy) as reader:
        header = next(_records(reader), None)
    if size == 0 or header is None:
        raw.findings.append(_file_finding("empty_file", "The file is empty: it has no header and no rows."))
        return raw
    if header.fields is not None and not any(cell.strip() for cell in header.fields):
        raw.findings.append(_file_finding(
            "header", "The file's line 1 is blank (or holds only commas); the header must be its first line."))
        return raw
    if header.fields is None:
        raw.findings.append(_file_finding("header", f"The header row is not readable CSV: {header.problem}"))
        return raw
    _judge_header(raw, header.fields)
    return raw


def _judge_header(raw: RawFile, header: list[str]) -> None:
    if len(header) > MAX_COLUMNS:
        raw.findings.append(_file_finding(
            "too_many_columns",
            f"The header names {len(header):,} columns; a wave may have at most {MAX_COLUMNS:,}. "
            "Export the questionnaire's columns only."))
        return
    raw.header = header
    if len(header) == 1:
        for delimiter, name in OTHER_DELIMITERS.items():
            if delimiter in header[0]:
                raw.findings.append(_file_finding(
                    "delimiter",
                    f"The columns are separated by {name}, not by commas; export the file again as comma-separated CSV.",
                ))
                return
    if (longest := max((len(name) for name in header), default=0)) > MAX_NAME_CHARACTERS:
        raw.findings.append(_file_finding(
            "header", f"A column name in the header is {longest:,} characters long; a name may have at most "
                      f"{MAX_NAME_CHARACTERS}. Is the first line a header?"))
        raw.header = []
        return
    if not raw.contract_columns:
        raw.findings.append(_file_finding(
            "header", "The first record names none of the questionnaire's columns; the header row is missing."))
        return
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


class LineBreakScan:
    """Fed the file's bytes in order: finds the first carriage return outside a quoted cell that
    ends no line (not followed by a line feed) in a file whose lines end with line feeds.

    Such a CR would split its record in two for any CSV reader, shifting every record number
    after it; it is said once, for the record it is in, instead.
    """

    MARKS = re.compile(rb'["\r\n]')

    def __init__(self):
        self.in_quotes = False
        self.record = 0  # the header is record 0
        self.line = 1
        self.line_feeds = 0
        self.cr_at_end: tuple[int, int] | None = None
        self.bare: tuple[int, int] | None = None  # (record, line) of the first bare CR outside quotes

    def feed(self, chunk: bytes) -> None:
        if self.cr_at_end is not None:
            if not chunk.startswith(b"\n"):
                self._found(*self.cr_at_end)
            self.cr_at_end = None
        for mark in self.MARKS.finditer(chunk):
            byte = chunk[mark.start()]
            if byte == 0x22:
                self.in_quotes = not self.in_quotes  # a doubled quote turns it back at once
            elif byte == 0x0A:
                self.line += 1
                self.line_feeds += 1
                self.record += not self.in_quotes
            elif not self.in_quotes:
                following = chunk[mark.start() + 1:mark.start() + 2]
                if not following:
                    self.cr_at_end = (self.record, self.line)
                elif following != b"\n":
                    self._found(self.record, self.line)

    def finish(self) -> tuple[int, int] | None:
        """(record, line) of the first bare CR, if the file's lines otherwise end with line feeds."""
        return self.bare if self.line_feeds else None

    def _found(self, record: int, line: int) -> None:
        if self.bare is None:
            self.bare = (record, line)


@dataclass
class Record:
    """One CSV record: its number and fields, or the grammar fault that ends the reading."""

    number: int
    first_line: int
    fields: list[str] | None
    problem: str | None = None
    rule: str | None = None


@contextmanager
def _reader(copy: Path):
    with copy.open("rb") as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        yield csv.reader(text, strict=True)


def _records(reader) -> Iterator[Record]:
    """The file's records in order; a grammar fault is the last record yielded (the rest cannot be trusted)."""
    number = 0
    while True:
        first_line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Record(number, first_line, None, *_grammar_fault(str(error), first_line, reader.line_num))
            return
        yield Record(number, first_line, fields)
        number += 1


def _grammar_fault(message: str, first_line: int, last_line: int) -> tuple[str, str]:
    if "field larger than field limit" in message:
        return (f"a cell from line {first_line} is longer than {MAX_CELL_CHARACTERS:,} characters "
                "(or a quote opened there is never closed)", "cell_too_long")
    if "unexpected end of data" in message:
        return (f"a quoted cell opened on line {first_line} or after is never closed; "
                f"the file's last {last_line - first_line + 1:,} line(s) were read as part of it", "unclosed_quote")
    return (f"a closing quote on line {first_line} or after is followed by more text in the same cell "
            "(write a quote inside a quoted cell as two quotes)", "misplaced_quote")


@dataclass
class Staged:
    """How many rows were staged, and the verdict of the file's grammar on its records."""

    n_rows: int
    verdict: Verdict


def stage_records(conn: duckdb.DuckDBPyConnection, raw: RawFile, wave: str,
                  items_per_rule: int | None = ITEMS_PER_RULE) -> Staged:
    """Insert the well-formed records of the copy into `staging.raw_responses`, each with its record number.

    A record with another number of fields than the header is a finding and is not staged;
    a blank record is a warning; a grammar fault stops the reading with a finding that says
    from which line the rest was not read.
    """
    width = len(raw.header)
    positions = [raw.header.index(column) for column in raw.contract_columns]
    names = ["source_row", *raw.contract_columns]
    schema = pa.schema([("source_row", pa.int64()), *[(c, pa.string()) for c in raw.contract_columns]])
    findings: list[Finding] = []
    n_rows, batch, batch_characters = 0, [], 0

    def flush():
        nonlocal batch, batch_characters
        batch_characters = 0
        if batch:
            columns = list(zip(*batch))
            upload = pa.Table.from_arrays([pa.array(values, type=schema.field(i).type)
                                           for i, values in enumerate(columns)], schema=schema)
            conn.register("wave_upload_batch", upload)
            listed = ", ".join(quoted(name) for name in names)
            conn.execute(f"insert into staging.raw_responses (wave, raw_sha256, {listed}) "
                         f"select $wave, $sha, {listed} from wave_upload_batch", {"wave": wave, "sha": raw.sha256})
            conn.unregister("wave_upload_batch")
            batch = []

    with _reader(raw.copy) as reader:
        records = _records(reader)
        next(records, None)  # the header, judged already
        for record in records:
            if record.fields is None:
                findings.append(Finding(record.rule, None, record.number, None, None,
                                        f"Record {record.number} cannot be read: {record.problem}. "
                                        "No record from there on was read; fix the quotes and export again."))
                break
            if not record.fields:
                findings.append(Finding("blank_record", None, record.number, None, None,
                                        f"Record {record.number} (line {record.first_line}) is blank; it was skipped.",
                                        WARNING))
                continue
            if len(record.fields) != width:
                findings.append(Finding(
                    "ragged_row", None, record.number, None, None,
                    f"Record {record.number} has {len(record.fields):,} field{'s' * (len(record.fields) != 1)} "
                    f"but the header has {width:,} columns; check its commas and quotes."))
                continue
            if stray := _stray_carriage_return(record.fields, raw.header):
                findings.append(Finding(
                    "carriage_return", stray, record.number, None, None,
                    f"Record {record.number} holds, in {stray}, a carriage return that does not end a line "
                    "(an old Mac line break); replace it with a space or a normal line break."))
                continue
            cells = [record.fields[p] or None for p in positions]
            batch.append((record.number, *cells))
            batch_characters += sum(len(cell) for cell in cells if cell)
            n_rows += 1
            if len(batch) >= BATCH_RECORDS or batch_characters >= BATCH_CHARACTERS:
                flush()
        flush()
    return Staged(n_rows, Verdict.of(findings, items_per_rule))


def _stray_carriage_return(fields: list[str], header: list[str]) -> str | None:
    for position, cell in enumerate(fields):
        if "\r" in cell and cell.count("\r") != cell.count("\r\n"):
            return header[position]
    return None


def no_rows_finding() -> Finding:
    return _file_finding("no_rows", "The file has a header but no rows of answers.")


def _copy_once(source: Path, copy: Path, breaks: LineBreakScan) -> tuple[str, int | None, int]:
    """Copy the source to `copy` in one read, hashing, decode-checking and scanning the same bytes."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, bad = 0, None
    with os.fdopen(open_regular(source), "rb") as handle, copy.open("xb") as target:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
            breaks.feed(chunk)
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
    lines, seen = 1, 0
    with path.open("rb") as handle:
        while seen < offset and (chunk := handle.read(min(CHUNK, offset - seen))):
            lines += chunk.count(b"\n")
            seen += len(chunk)
    return lines


def _file_finding(rule: str, message: str) -> Finding:
    return Finding(rule, None, None, None, None, message)


def remove_orphan_copies(folder: Path) -> None:
    """Private copies left by a killed run (the caller holds the warehouse, so none is in use)."""
    for orphan in folder.glob(f"{PRIVATE_PREFIX}*.csv"):
        orphan.unlink(missing_ok=True)


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
    verdict = Verdict.of(raw.findings, items_per_rule)
    n_rows, judging_seconds = 0, 0.0
    conn.begin()
    try:
        staging.clear_unpublished_attempts(conn, wave, raw.sha256)
        if raw.readable:
            staged = stage_records(conn, raw, wave, items_per_rule)
            n_rows = staged.n_rows
            verdict = verdict + staged.verdict
            if n_rows:
                judging = time.perf_counter()
                conn.execute(f"create or replace temp view wave_rows as {staging.attempt_rows(wave, raw.sha256)}")
                columns = raw.contract_columns
                verdict = (verdict + judge(conn, "wave_rows", columns, items_per_rule)
                           + quality_warnings(conn, "wave_rows", columns, items_per_rule))
                judging_seconds = time.perf_counter() - judging
            elif not staged.verdict.counts:
                verdict = verdict + Verdict.of([no_rows_finding()])
        staging.record_attempt(conn, wave, raw.sha256, raw.path.name, n_rows, raw.header, raw.extra_columns, verdict)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    total = time.perf_counter() - started
    return StagedAttempt(n_rows, verdict, total - judging_seconds, judging_seconds)
