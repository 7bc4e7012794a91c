"""Read a raw wave file once, into a private copy, and stage its records as the file's grammar allows.

The source is read exactly once: its bytes are hashed, checked as UTF-8 and written to a
private copy in the same pass, so the recorded sha256 and the staged rows come from the
same bytes even if the file is replaced during the run. Everything after reads the copy.

The CSV grammar (RFC 4180) is the project's, not a reader's guess: every record whose
fields do not match the header, every quote left open or misplaced, every cell or header
beyond the limits is a finding with its record number; nothing is shifted, merged or
dropped unreported. The header is record 0; a quoted cell with a newline does not start
a new record.

A wave exported as the survey platforms export it is read by its bytes, never its name
(`formats.py`): an XLSX workbook or an SPSS `.sav` is converted, typed cell by typed cell,
to a second private file in the project's CSV (`conversion.py`), with its data row n as
record n; a KoboToolbox or ODK header (group prefixes, metadata columns, split
select_multiple columns, `start` and `end`) is read against the questionnaire
(`layout.py`). Only then does any rule apply, and every rule applies as to a CSV; the
sha256 is that of the file as received.
"""

import codecs
import csv
import hashlib
import io
import json
import operator
import os
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pyarrow as pa

from schemas.predicates import quoted
from schemas.findings import ITEMS_PER_RULE, WARNING, Finding, Verdict, judge
from schemas.quality import quality_warnings
from schemas.rules import error_count
from schemas import questionnaire as questionnaires
from schemas.questionnaire import CONTRACT_COLUMNS, Questionnaire
from workflows.warehouse import staging
from workflows.intake import conversion, formats
from workflows.intake.corrections import (Applied, CorrectionsFile, apply_corrections, corrected_cells,
                                          corrections_left_behind)
from workflows.intake.files import open_regular
from workflows.intake.layout import Layout, cell, read_header

CHUNK = 1 << 20
# Far above any questionnaire, yet bounded: a breach is a finding, never gigabytes of memory.
MAX_COLUMNS = 10_000
MAX_CELL_CHARACTERS = 4 * 1024 * 1024
MAX_NAME_CHARACTERS = 256
# How much of a file's end is read to see whether its last record is empty (`_ends_with_empty_record`).
TAIL_BYTES = 1 << 20
# Records go to DuckDB in batches bounded in number and in text, so memory does not grow with the file.
BATCH_RECORDS = 50_000
BATCH_BYTES = 32 * 1024 * 1024
# Faults that leave no rows to read; any other fault still lets every cell be judged.
# (A bare carriage return between records, a file-level `carriage_return`, makes every later record
# number wrong; one inside a quoted cell is a finding of its record, never among the file's.)
UNREADABLE = frozenset({"encoding", "empty_file", "delimiter", "header", "too_many_columns", "carriage_return",
                        "unsupported_file_type", "damaged_file", "decimal_comma"})
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
    # Whether any carriage return in the file ends no line: only then is each record searched for one.
    carriage_returns: bool = False
    # NUL bytes are read record by record: no other reader is trusted with them.
    nul_bytes: bool = False
    # Whether a line of the file is empty (a reader would skip it, shifting every record number after it); None when
    # the text was not scanned for them (a converted workbook or SPSS file): its records are counted one by one.
    blank_lines: bool | None = None
    # The columns read from the file: every shipped form's questions, and those of the form judging it.
    known: tuple[str, ...] = field(default_factory=lambda: tuple(CONTRACT_COLUMNS))
    # What the file is by its bytes (`formats.py`): "csv", "xlsx" or "sav" (or a format named and not read).
    format: str = formats.CSV
    # The CSV text whose records are staged: the copy itself, or the copy of a workbook or SPSS file converted.
    text: Path | None = None
    # How the header reads against the questionnaire (`layout.py`); None until the header is readable.
    layout: Layout | None = None
    # The worksheet read, of an XLSX workbook.
    sheet: str | None = None
    # What the conversion of a workbook or SPSS file adds to the attempt's provenance.
    conversion: dict = field(default_factory=dict)
    _form_versions: dict | None = field(default=None, repr=False)

    def __post_init__(self):
        self.text = self.text or self.copy

    @property
    def readable(self) -> bool:
        return not any(f.rule in UNREADABLE for f in self.findings)

    @property
    def contract_columns(self) -> list[str]:
        """The questions the file answers, after conversion (a select_multiple given as split columns too)."""
        return self.layout.columns if self.layout else []

    @property
    def extra_columns(self) -> list[str]:
        """The file's columns that are neither a question nor a platform's metadata: ignored, with a warning."""
        return list(self.layout.unknown) if self.layout else []

    @property
    def columns(self) -> list[str]:
        """The file's columns as the questionnaire names them, in the file's order, without the platform's."""
        return self.layout.file_columns if self.layout else list(self.header)

    def judged_by(self, questionnaire: Questionnaire) -> None:
        """Read the columns of the form that judges the file too; a column it knows is no longer unknown."""
        self.known = tuple(dict.fromkeys((*self.known, *questionnaire.columns)))
        if self.layout is not None:
            before = self.layout.findings
            self.layout = read_header(self.header, _questions(questionnaire))
            self.findings = [f for f in self.findings if f not in before] + self.layout.findings

    @property
    def form_versions(self) -> dict[str, int]:
        """How many records name each form version in the file's version column (`__version__`,
        `formdef_version`, ...), most named first; {} when the file has no such column."""
        if self._form_versions is None:
            self._form_versions = _count_versions(self)
        return self._form_versions

    @property
    def form_version(self) -> str | None:
        """The form version the file's records name, when they all name the same one; else None."""
        versions = self.form_versions
        return next(iter(versions)) if len(versions) == 1 else None

    @property
    def provenance(self) -> dict:
        """How the file was read, for the attempt's record (`staging.wave_attempts.provenance`)."""
        return {"format": self.format, **self.conversion, **(self.layout.provenance if self.layout else {}),
                "form_version": self.form_version, "form_versions": self.form_versions}

    def place(self, row: int) -> str:
        """Where a data row is, as the file's own program shows it: the CSV record, the spreadsheet row, the case."""
        if self.format == formats.XLSX:
            return f"Spreadsheet row {row + 1} (sheet '{self.sheet}')"
        if self.format == formats.SAV:
            return f"Case {row}"
        return f"Record {row}"

    def discard(self) -> None:
        """Remove the private copy and its conversion."""
        for path in {self.copy, self.text}:
            path.unlink(missing_ok=True)


def _questions(questionnaire: Questionnaire | None = None) -> dict:
    """The questions a header is read against: every shipped form's, and those of the form judging the file."""
    questions = dict(questionnaires.QUESTION)
    if questionnaire is not None:
        questions.update(questionnaire.question)
    return questions


def receive(source: Path, folder: Path, wave: str | None = None) -> RawFile:
    """Copy, hash and decode-check the file in one read; then check its header on the copy.

    A workbook or SPSS file is converted first (its sheet: the one named like the wave, by
    default the file name's stem, else the first visible one).
    """
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / f"{PRIVATE_PREFIX}{os.getpid()}-{secrets.token_hex(6)}.csv"
    breaks = LineBreakScan()
    try:
        sha256, bad_offset, size, kind = _copy_once(source, copy, breaks)
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    raw = RawFile(path=source, copy=copy, sha256=sha256)
    if kind.name != formats.CSV:
        try:
            return _receive_export(raw, formats.resolve(kind, copy), wave or source.stem)
        except BaseException:
            raw.discard()
            raise
    if bad_offset is not None:
        line = _line_of_offset(copy, bad_offset)
        with copy.open("rb") as handle:
            utf16 = handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        saved_as = ("UTF-16 ('Unicode text')" if utf16
                    else "Windows 'ANSI' text (Windows-1252), as Excel's plain 'CSV' saves")
        raw.findings.append(_file_finding(
            "encoding",
            f"The file is not UTF-8 text: byte {bad_offset} (line {line}) cannot be decoded; it looks saved as "
            f"{saved_as}. Save it again as 'CSV UTF-8' from the spreadsheet or survey tool.",
        ))
        # Nothing of it is staged, but its other faults are said in the same round.
        raw.findings.extend(_sniffed_faults(copy, "utf-16" if utf16 else SNIFF_ENCODING, wave or source.stem))
        return raw
    breaks.finish()
    raw.carriage_returns, raw.nul_bytes, raw.blank_lines = breaks.any_bare, breaks.nul_bytes, breaks.blank_lines
    if bare := breaks.first_record_split(copy):
        record, line = bare
        raw.findings.append(Finding(
            "carriage_return", None, record, None, None,
            f"Record {record} (line {line}) holds a carriage return outside any quoted cell that ends no line "
            "(an old Mac line break amid normal ones); no record was read. Save the file again with normal "
            "line breaks."))
        return raw
    header, problem = _read_header(copy)
    if problem:
        raw.findings.append(_file_finding("header", f"The header row is not readable CSV: {problem}"))
        return raw
    if size == 0 or header is None:
        raw.findings.append(_file_finding("empty_file", "The file is empty: it has no header and no rows."))
        return raw
    if not any(name.strip() for name in header):
        raw.findings.append(_file_finding(
            "header", "The file's line 1 is blank (or holds only commas); the header must be its first line."))
        return raw
    _judge_header(raw, header)
    return raw


def _receive_export(raw: RawFile, kind: formats.Kind, wave: str) -> RawFile:
    """A file that is not CSV text: named and refused, or converted to the project's CSV and its header judged."""
    raw.format = kind.name
    if not kind.readable:
        raw.findings.append(_file_finding(
            "unsupported_file_type", f"The file is {kind.description}, which is not read. {kind.advice}"))
        return raw
    # The readers go by the name's suffix; the copy takes the one of what its bytes are.
    raw.copy = raw.copy.rename(raw.copy.with_suffix(f".{kind.name}"))
    raw.text = raw.copy.with_suffix(".converted.csv")
    try:
        converted = conversion.convert(kind, raw.copy, raw.text, wave, _questions())
    except conversion.Damaged as problem:
        raw.findings.append(_file_finding(
            "damaged_file", f"The file is {kind.description}, but {problem}. Export it again from the survey "
                            "platform (or save it again from the program it was last saved with)."))
        return raw
    raw.sheet = converted.sheet
    raw.conversion = ({"sheet": converted.sheet, "sheets": converted.sheets} if kind.name == formats.XLSX
                      else {"value_labels_read": converted.labelled})
    raw.carriage_returns, raw.nul_bytes = converted.carriage_returns, converted.nul_bytes
    where = f"the sheet '{converted.sheet}'" if kind.name == formats.XLSX else "the file"
    if converted.empty:
        raw.findings.append(_file_finding("empty_file", f"T{where[1:]} is empty: it has no header and no rows."))
        return raw
    if not any(name.strip() for name in converted.header):
        raw.findings.append(_file_finding(
            "header", f"The first row of {where} is blank; the header must be its first row."))
        return raw
    _judge_header(raw, converted.header)
    raw.findings.extend(converted.findings)
    return raw


def _count_versions(raw: RawFile) -> dict[str, int]:
    """The form versions the file's records name, counted by reading the version column alone."""
    if raw.layout is None or raw.layout.version_column is None or not raw.readable:
        return {}
    column, width, counts = raw.layout.version_column, len(raw.header), {}
    with raw.text.open("rb") as handle:
        reader = _csv_reader(handle)
        next(reader, None)
        try:
            for fields in reader:
                if len(fields) == width and fields[column].strip():
                    counts[fields[column].strip()] = counts.get(fields[column].strip(), 0) + 1
        except csv.Error:
            pass  # the grammar's finding says where the reading stopped
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _csv_reader(handle):
    """The project's CSV grammar over a binary handle: UTF-8 (a BOM dropped), RFC 4180 quoting, strict."""
    return csv.reader(io.TextIOWrapper(handle, encoding="utf-8-sig", newline=""), strict=True)


def _read_header(copy: Path) -> tuple[list[str] | None, str | None]:
    """The first record, or the grammar fault that keeps it from being read."""
    with copy.open("rb") as handle:
        reader = _csv_reader(handle)
        try:
            return next(reader, None), None
        except csv.Error as error:
            return None, _grammar_fault(str(error), 1, reader.line_num)[0]


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
                if raw.format == formats.CSV:  # its header and numbers too, read by its own separator
                    raw.findings.extend(_sniffed_faults(raw.copy, "utf-8-sig", raw.path.stem))
                else:
                    raw.findings.append(_file_finding("delimiter", _delimiter_sentence(raw.format, name)))
                return
    if (longest := max((len(name) for name in header), default=0)) > MAX_NAME_CHARACTERS:
        raw.findings.append(_file_finding(
            "header", f"A column name in the header is {longest:,} characters long; a name may have at most "
                      f"{MAX_NAME_CHARACTERS}. Is the first line a header?"))
        raw.header = []
        return
    raw.layout = read_header(header, _questions())
    if not raw.contract_columns:
        raw.layout = None  # no header: nothing of it to read
        raw.findings.append(_file_finding(
            "header", "The first row names none of the questionnaire's columns: the header row is missing, or it "
                      "holds the questions' labels instead of their names (from KoboToolbox, export with "
                      "'XML values and headers')."))
        return
    # Duplicate and unknown columns, as the questionnaire reads the header (group prefixes, split choices).
    raw.findings.extend(raw.layout.findings)


def _delimiter_sentence(format: str, name: str) -> str:
    if format == formats.CSV:
        return (f"The columns are separated by {name}, not by commas. Export the wave again as comma-separated "
                "CSV UTF-8, or as XLSX, which is read as it is: from Excel, Save As > 'CSV UTF-8 (Comma "
                "delimited)'; from LibreOffice, Save As > Text CSV with ',' as the field delimiter.")
    return (f"The header row is one cell holding the column names separated by {name}: each row of the data is "
            "one cell. Split them into columns (Excel: Data > Text to Columns) or export the wave again as XLSX "
            "from the survey platform.")


# A file that is not UTF-8 is read as Windows-1252 to find its other faults, never to stage it; the five bytes
# Windows-1252 leaves undefined are read as Latin-1.
SNIFF_ENCODING = "cp1252"
codecs.register_error("intake-latin-1", lambda error: (
    error.object[error.start:error.end].decode("latin-1"), error.end))
# A number written with a decimal comma (and perhaps points between thousands): 1250,5 or 1.250,5.
DECIMAL_COMMA = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+")
THOUSANDS_COMMAS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+")
NUMERIC_KINDS = ("integer", "decimal")


def _sniffed_faults(copy: Path, encoding: str, wave: str) -> list[Finding]:
    """The file-level faults of a file that cannot be staged (not UTF-8, or not comma-separated), all of them:
    its separator, its header and numbers written with a decimal comma, read by the separator its header uses.

    Only what is said is taken from this reading; nothing of it is staged."""
    with copy.open("rb") as handle:
        text = io.TextIOWrapper(handle, encoding=encoding, errors="intake-latin-1", newline="")
        first = text.readline()
        text.seek(0)
        separator, name = ",", None
        if "," not in first or encoding == "utf-8-sig":  # a UTF-8 file's header is one cell already
            separator, name = next(((d, n) for d, n in OTHER_DELIMITERS.items() if d in first), (",", None))
        findings = [] if name is None else [_file_finding("delimiter", _delimiter_sentence(formats.CSV, name))]
        reader = csv.reader(text, delimiter=separator, strict=False)
        commas: dict[str, list] = {}  # column: [cells, first record, first value]
        try:
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                return findings + [_file_finding(
                    "header", "The file's line 1 is blank (or holds only separators); the header must be its first "
                              "line.")]
            header[0] = header[0].removeprefix("\ufeff").removeprefix("\u00ef\u00bb\u00bf")  # a BOM
            if len(header) > MAX_COLUMNS or max(len(cell) for cell in header) > MAX_NAME_CHARACTERS:
                return findings + [_file_finding(
                    "header", f"The header row is not a row of column names (it has {len(header):,} columns, or a "
                              f"name longer than {MAX_NAME_CHARACTERS} characters). Is the first line a header?")]
            questions = _questions()
            layout = read_header(header, questions)
            if not layout.columns:
                return findings + [_file_finding(
                    "header", "The first row names none of the questionnaire's columns: the header row is missing, "
                              "or it holds the questions' labels instead of their names.")]
            findings += layout.findings
            form = questionnaires.form_for(wave, layout.file_columns)
            findings += [Finding("missing_column", column, None, None, None,
                                 f"The required column '{column}' is missing from the file's header.")
                         for column in form.required_columns if column not in layout.columns]
            numeric = {index: question for question, index in layout.direct.items()
                       if questions[question].kind in NUMERIC_KINDS}
            for number, fields in enumerate(reader, start=1):
                for index, question in numeric.items():
                    value = fields[index].strip() if index < len(fields) else ""
                    if DECIMAL_COMMA.fullmatch(value) and (separator != "," or not THOUSANDS_COMMAS.fullmatch(value)):
                        seen = commas.setdefault(question, [0, number, value])
                        seen[0] += 1
        except csv.Error:
            pass  # what was read before the fault is judged; the file is refused whatever follows
    if commas:
        findings.append(_decimal_comma_finding(commas))
    return findings


def _decimal_comma_finding(commas: dict[str, list]) -> Finding:
    where = "; ".join(f"{column} ({n:,} cell{'s' * (n != 1)}, e.g. '{value}' in record {record})"
                      for column, (n, record, value) in commas.items())
    column, (_, record, value) = next(iter(commas.items()))
    return Finding(
        "decimal_comma", None, None, None, value,
        f"Numbers are written with a decimal comma (like '{value}' for {value.replace('.', '').replace(',', '.')}) "
        f"in {where}. Export the numbers with a decimal point and no thousands separator (in Excel: File > Options "
        "> Advanced > untick 'Use system separators' and set the decimal separator to '.', then save as 'CSV UTF-8 "
        "(Comma delimited)').")


class LineBreakScan:
    """Fed the file's bytes in order: finds carriage returns that end no line (not followed by a
    line feed), and the first of them outside a quoted cell.

    Outside a quoted cell, such a CR splits its record in two for any CSV reader and shifts
    every record number after it (in a file whose lines end with line feeds); it is said once,
    for the record it is in. Chunks without one cost two byte counts.
    """

    MARKS = re.compile(rb'["\r\n]')

    def __init__(self):
        self.offset = 0
        self.in_quotes = False
        self.line_feeds = 0
        self.any_bare = False
        self.nul_bytes = False
        self.blank_lines = False
        self._last_bytes = b""  # the end of the previous chunk: a blank line may span two chunks
        self.bare_outside: int | None = None  # byte offset of the first bare CR outside quotes
        self._cr_at_end: bool | None = None  # a CR ended the last chunk: was it outside quotes?

    def feed(self, chunk: bytes) -> None:
        if self._cr_at_end is not None:
            if not chunk.startswith(b"\n"):
                self._bare(self.offset - 1, self._cr_at_end)
            self._cr_at_end = None
        returns = chunk.count(b"\r")
        if returns and (returns != chunk.count(b"\r\n") or chunk.endswith(b"\r")):
            self._walk(chunk)
        elif chunk.count(b'"') & 1:
            self.in_quotes = not self.in_quotes
        self.line_feeds += chunk.count(b"\n")
        self.nul_bytes = self.nul_bytes or b"\0" in chunk
        if not self.blank_lines:
            joined = self._last_bytes + chunk[:2]
            self.blank_lines = (b"\n\n" in chunk or b"\n\r\n" in chunk or b"\n\n" in joined or b"\n\r\n" in joined)
            self._last_bytes = chunk[-2:]
        self.offset += len(chunk)

    def _walk(self, chunk: bytes) -> None:
        for mark in self.MARKS.finditer(chunk):
            at = mark.start()
            if chunk[at] == 0x22:
                self.in_quotes = not self.in_quotes  # a doubled quote turns it back at once
            elif chunk[at] == 0x0D:
                following = chunk[at + 1:at + 2]
                if not following:
                    self._cr_at_end = not self.in_quotes
                elif following != b"\n":
                    self._bare(self.offset + at, not self.in_quotes)

    def _bare(self, offset: int, outside: bool) -> None:
        self.any_bare = True
        if outside and self.bare_outside is None:
            self.bare_outside = offset

    def finish(self) -> None:
        if self._cr_at_end is not None:
            self._bare(self.offset - 1, self._cr_at_end)
            self._cr_at_end = None

    def first_record_split(self, copy: Path) -> tuple[int, int] | None:
        """(record, line) of the first bare CR outside quotes, in a file whose lines end with line feeds."""
        if self.bare_outside is None or not self.line_feeds:
            return None
        with copy.open("rb") as handle:
            head = handle.read(self.bare_outside)
        record, in_quotes = 0, False
        for mark in re.finditer(rb'["\n]', head):
            if head[mark.start()] == 0x22:
                in_quotes = not in_quotes
            elif not in_quotes:
                record += 1
        return record, head.count(b"\n") + 1


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


def load_clean_file(conn: duckdb.DuckDBPyConnection, raw: RawFile) -> int | None:
    """For a file whose every record keeps the grammar, let DuckDB's reader load the copy into
    `temp.wave_upload` (one row per record, in order) and return how many; None when the file
    needs the record-by-record path.

    The project's grammar pass decides; DuckDB only reads what it found clean, in strict mode,
    and its row count must equal the records counted: any doubt falls back to the slow path.
    Call it outside a transaction: the row ids of the upload are the record numbers.
    """
    conn.execute("drop table if exists temp.wave_upload")
    if raw.carriage_returns or raw.nul_bytes or not raw.header:
        return None
    records = _count_clean_records(raw) if raw.blank_lines is None else None
    if raw.blank_lines or (raw.blank_lines is None and records is None) or _ends_with_empty_record(raw):
        return None
    text_columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(raw.header)))
    try:
        conn.execute(
            f"""
            create temp table wave_upload as
            select * from read_csv(
                $path, header = false, skip = 1, delim = ',', quote = '"', escape = '"', all_varchar = true,
                auto_detect = false, strict_mode = true, null_padding = false, ignore_errors = false,
                max_line_size = {MAX_CELL_CHARACTERS * 4 + 1024}, columns = {{{text_columns}}})
            """, {"path": str(raw.text)})
    except duckdb.Error:
        conn.execute("drop table if exists temp.wave_upload")
        return None
    loaded = conn.execute("select count(*) from wave_upload").fetchall()[0][0]
    if records is not None and loaded != records:
        conn.execute("drop table wave_upload")
        return None
    return loaded


def _ends_with_empty_record(raw: RawFile) -> bool:
    """Whether the file's last line holds only separators and spaces (records a spreadsheet leaves empty at the end,
    which the record-by-record path drops with a warning): read from the file's last TAIL_BYTES, not its whole.
    A last line longer than that is judged by its end, which can only send a file to the careful path."""
    with raw.text.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - TAIL_BYTES))
        last = handle.read().rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    return not last.replace(b",", b"").strip()


def _count_clean_records(raw: RawFile) -> int | None:
    """The number of records when every one has the header's number of fields, else None."""
    width = len(raw.header)
    with raw.text.open("rb") as handle:
        reader = _csv_reader(handle)
        next(reader)
        records, ends_empty = 0, False
        try:
            for fields in reader:
                if len(fields) != width:
                    return None
                records += 1
                ends_empty = not any(text.strip() for text in fields)
        except csv.Error:
            return None
    # Empty records at the end are dropped with a warning: the record-by-record path says so.
    return None if ends_empty else records


def stage_uploaded(conn: duckdb.DuckDBPyConnection, raw: RawFile, wave: str,
                   items_per_rule: int | None = ITEMS_PER_RULE, record: str = "rowid + 1",
                   corrections_sha256: str = "") -> Verdict:
    """Convert `temp.wave_upload` (the file's cells as text, column i as `c<i>`; loaded by `load_clean_file`
    or `stage_records`) into the questions' cells of `staging.raw_responses`; return the findings of the
    conversion (split choice columns). `record` is the SQL of a row's record number in the upload."""
    selected = ", ".join(f"{sql} as {quoted(column)}" for column, sql in raw.layout.staged_cells())
    conn.execute(
        f"""
        insert into staging.raw_responses by name
        select $wave as wave, $sha as raw_sha256, $corrections as corrections_sha256, {record} as source_row,
               {selected}
        from wave_upload
        """, {"wave": wave, "sha": raw.sha256, "corrections": corrections_sha256})
    verdict = _located(raw, raw.layout.split_verdict(conn, "wave_upload", record, items_per_rule))
    conn.execute("drop table wave_upload")
    return verdict


def stage_records(conn: duckdb.DuckDBPyConnection, raw: RawFile, wave: str,
                  items_per_rule: int | None = ITEMS_PER_RULE, corrections_sha256: str = "") -> Staged:
    """Insert the well-formed records of the copy into `staging.raw_responses`, each with its record number.

    A record with another number of fields than the header is a finding and is not staged;
    a blank record is a warning; a grammar fault stops the reading with a finding that says
    from which line the rest was not read. Empty cells are staged as missing answers.
    """
    width = len(raw.header)
    needed = raw.layout.needed
    pick = operator.itemgetter(*needed)
    single = len(needed) == 1
    schema = pa.schema([("source_row", pa.int64()), *[(cell(i), pa.string()) for i in needed]])
    conn.execute("drop table if exists temp.wave_upload")
    conn.execute("create temp table wave_upload (source_row bigint, "
                 + ", ".join(f"{cell(i)} varchar" for i in needed) + ")")
    findings: list[Finding] = []
    n_rows, batch = 0, []

    def flush():
        nonlocal batch
        if batch:
            upload = pa.Table.from_arrays([pa.array(values, type=schema.field(i).type)
                                           for i, values in enumerate(zip(*batch))], schema=schema)
            conn.register("wave_upload_batch", upload)
            conn.execute("insert into wave_upload select * from wave_upload_batch")
            conn.unregister("wave_upload_batch")
            batch = []

    with raw.text.open("rb") as handle:
        reader = _csv_reader(handle)
        next(reader)  # the header, judged already
        number, last_line, batch_start = 0, reader.line_num, 0
        # Empty records (no field, or only empty ones) held back until a record with an answer follows them:
        # those that end the file are dropped with one warning, as a spreadsheet leaves them (record, width, line).
        empty: list[tuple[int, int, int]] = []

        def take(number: int, fields: list[str], line: int) -> None:
            nonlocal n_rows, batch_start
            if len(fields) != width:
                findings.append(_misshapen(raw, number, fields, width, line))
            elif raw.carriage_returns and (stray := _stray_carriage_return(fields, raw.header)):
                findings.append(Finding(
                    "carriage_return", stray, number, None, None,
                    f"{raw.place(number)} holds, in {stray}, a carriage return that does not end a line "
                    "(an old Mac line break); replace it with a space or a normal line break."))
            else:
                batch.append((number, pick(fields)) if single else (number, *pick(fields)))
                n_rows += 1
                # Bounded in records and, checked every 1,024 records, in bytes read.
                if len(batch) >= BATCH_RECORDS or (
                        not len(batch) & 1023 and handle.tell() - batch_start >= BATCH_BYTES):
                    flush()
                    batch_start = handle.tell()

        try:
            for fields in reader:
                number += 1
                if not any(text.strip() for text in fields):
                    empty.append((number, len(fields), last_line + 1))
                else:
                    for held, fields_held, line in empty:  # empty records amid the file: read as before
                        take(held, [""] * fields_held, line)
                    empty = []
                    take(number, fields, last_line + 1)
                last_line = reader.line_num
        except csv.Error as error:
            for held, fields_held, line in empty:
                take(held, [""] * fields_held, line)
            empty = []
            problem, rule = _grammar_fault(str(error), last_line + 1, reader.line_num)
            findings.append(Finding(rule, None, number + 1, None, None,
                                    f"Record {number + 1} cannot be read: {problem}. "
                                    "No record from there on was read; fix the quotes and export again."))
        if empty:
            findings.append(_trailing_empty(raw, empty, last_line))
        flush()
    converted = stage_uploaded(conn, raw, wave, items_per_rule, record="source_row",
                               corrections_sha256=corrections_sha256)
    return Staged(n_rows, Verdict.of(findings, items_per_rule) + converted)


def _misshapen(raw: RawFile, number: int, fields: list[str], width: int, line: int) -> Finding:
    if not fields:
        where = f"Record {number} (line {line})" if raw.format == formats.CSV else raw.place(number)
        return Finding("blank_record", None, number, None, None, f"{where} is blank; it was skipped.", WARNING)
    return Finding("ragged_row", None, number, None, None,
                   f"Record {number} has {len(fields):,} field{'s' * (len(fields) != 1)} "
                   f"but the header has {width:,} columns; check its commas and quotes.")


def _trailing_empty(raw: RawFile, empty: list[tuple[int, int, int]], last_line: int) -> Finding:
    """One warning for the empty records that end the file (blank lines, or lines of commas only)."""
    first, last, n = empty[0][0], empty[-1][0], len(empty)
    if raw.format == formats.CSV:
        where = (f"record {first} (line {empty[0][2]})" if n == 1
                 else f"records {first}-{last} (lines {empty[0][2]}-{last_line})")
    else:
        where = raw.place(first)[0].lower() + raw.place(first)[1:] + (f" and the {n - 1:,} after it" if n > 1 else "")
    records = "empty record" if n == 1 else f"{n:,} empty records"
    return Finding("blank_record", None, first, None, None,
                   f"The file ends with {records} ({where}), blank or holding only separators, as a spreadsheet "
                   f"leaves them; {'it was' if n == 1 else 'they were'} dropped.", WARNING)


def _stray_carriage_return(fields: list[str], header: list[str]) -> str | None:
    for position, text in enumerate(fields):
        if "\r" in text and text.count("\r") != text.count("\r\n"):
            return header[position]
    return None


def no_rows_finding() -> Finding:
    return _file_finding("no_rows", "The file has a header but no rows of answers.")


def _copy_once(source: Path, copy: Path, breaks: LineBreakScan) -> tuple[str, int | None, int, formats.Kind]:
    """Copy the source to `copy` in one read, hashing, decode-checking and scanning the same bytes.

    The first bytes tell the format (`formats.sniff`); a file that is not CSV text is copied and
    hashed only, its text checks are those of its conversion.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, bad, kind = 0, None, None
    with os.fdopen(open_regular(source), "rb") as handle, copy.open("xb") as target:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
            if kind is None:
                kind = formats.sniff(chunk[:formats.HEAD_BYTES])
            if kind.name != formats.CSV:
                offset += len(chunk)
                continue
            breaks.feed(chunk)
            if bad is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    bad = offset + error.start
            offset += len(chunk)
    if bad is None and (kind is None or kind.name == formats.CSV):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            bad = offset - len(error.object) + error.start
    return digest.hexdigest(), bad, offset, kind or formats.CSV_KIND


def _line_of_offset(path: Path, offset: int) -> int:
    lines, seen = 1, 0
    with path.open("rb") as handle:
        while seen < offset and (chunk := handle.read(min(CHUNK, offset - seen))):
            lines += chunk.count(b"\n")
            seen += len(chunk)
    return lines


def form_version_findings(raw: RawFile) -> list[Finding]:
    """The form version the records name must be one form's, and one for the whole file (`--form` overrides it)."""
    versions = raw.form_versions
    declared = ", ".join(form.version for form in questionnaires.shipped())
    if len(versions) > 1:
        named = ", ".join(f"{version} ({count:,} records)" for version, count in versions.items())
        return [_file_finding("form_version", f"The file's records name several form versions: {named}. Export each "
                                              "version as its own file, or name the form to judge all by with --form.")]
    if versions and questionnaires.by_version(next(iter(versions))) is None:
        return [_file_finding("form_version", f"The file's records name the form version {next(iter(versions))}, "
                                              f"which no form in schemas/forms/ declares (they declare {declared}). "
                                              "Add that form, or name one with --form.")]
    return []


def _file_finding(rule: str, message: str) -> Finding:
    return Finding(rule, None, None, None, None, message)


def remove_orphan_copies(folder: Path) -> None:
    """Private copies left by a killed run (the caller holds the warehouse, so none is in use)."""
    for orphan in folder.glob(f"{PRIVATE_PREFIX}*"):
        orphan.unlink(missing_ok=True)


@dataclass
class StagedAttempt:
    """What staging a file gave: its rows, the verdict on them, and the seconds each half took."""

    n_rows: int
    verdict: Verdict
    staging_seconds: float
    judging_seconds: float
    version: staging.Version
    corrections_applied: int = 0


def stage_attempt(conn: duckdb.DuckDBPyConnection, raw: RawFile, wave: str,
                  items_per_rule: int | None = ITEMS_PER_RULE,
                  questionnaire: Questionnaire | None = None,
                  received: CorrectionsFile | None = None) -> StagedAttempt:
    """Stage the file as the wave's latest attempt and judge it by every rule of its form, in one transaction.

    The corrections file `received` (`corrections.py`), if any, is applied to the staged cells
    before any rule: its own faults and the corrections it cannot apply are findings.

    The form is the one given, else the one `questionnaire.form_for` picks for the wave, the
    file's columns (as the questionnaire names them) and the form version its records name.
    The verdict holds every rule's count, and its findings (errors and warnings, in file
    order) up to `items_per_rule` each, all when it is None. The attempt's record in
    `staging.wave_attempts` carries how the file was read in its `provenance` column.
    """
    started = time.perf_counter()
    if questionnaire is None:
        raw.findings += form_version_findings(raw)
        questionnaire = questionnaires.form_for(wave, raw.columns, raw.form_version)
    raw.judged_by(questionnaire)
    staging.ensure_tables(conn)
    conn.execute(PROVENANCE_DDL)
    staging.ensure_answer_columns(conn, raw.known)
    received = received or CorrectionsFile()
    version = staging.Version(raw.sha256, received.sha256)
    verdict = Verdict.of(raw.findings + received.problems, items_per_rule)
    n_rows, judging_seconds, applied = 0, 0.0, Applied()
    uploaded = load_clean_file(conn, raw) if raw.readable else None
    conn.begin()
    try:
        staging.clear_unpublished_attempts(conn, wave, version)
        if raw.readable:
            if uploaded is not None:
                staged = Staged(uploaded, stage_uploaded(conn, raw, wave, items_per_rule,
                                                         corrections_sha256=version.corrections_sha256))
            else:
                staged = stage_records(conn, raw, wave, items_per_rule, version.corrections_sha256)
            n_rows = staged.n_rows
            verdict = verdict + staged.verdict
            if n_rows:
                # The corrections file's lines without a fault are checked too: every problem of it in one round.
                applied = apply_corrections(conn, wave, version, received, raw.contract_columns)
                verdict = verdict + _located(raw, Verdict.of(applied.refused, items_per_rule))
                judging = time.perf_counter()
                conn.execute(f"create or replace temp view wave_rows as {staging.attempt_rows(wave, version)}")
                columns = [c for c in questionnaire.columns if c in raw.contract_columns]
                judged = judge(conn, "wave_rows", columns, items_per_rule, questionnaire)
                verdict = verdict + _located(raw, corrected_cells(
                    judged + quality_warnings(conn, "wave_rows", columns, items_per_rule, questionnaire, judged),
                    applied, received.name))
                judging_seconds = time.perf_counter() - judging
            elif not error_count(staged.verdict.counts):  # blank or empty records only are no rows either
                verdict = verdict + Verdict.of([no_rows_finding()])
        if not received.path:
            verdict = verdict + Verdict.of(corrections_left_behind(conn, wave))
        staging.record_attempt(conn, wave, version, raw.path.name, n_rows, raw.columns, raw.extra_columns, verdict,
                               questionnaire)
        provenance = raw.provenance | ({"corrections_file": received.name, "corrections_applied": len(applied.applied)}
                                       if received.path else {})
        conn.execute("update staging.wave_attempts set provenance = $provenance where wave = $wave",
                     {"wave": wave, "provenance": json.dumps(provenance)})
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    total = time.perf_counter() - started
    return StagedAttempt(n_rows, verdict, total - judging_seconds, judging_seconds, version, len(applied.applied))


# How the attempt's file was read: its format, sheet, renamed, split and metadata columns, and its form version(s).
PROVENANCE_DDL = "alter table staging.wave_attempts add column if not exists provenance json"


def _located(raw: RawFile, verdict: Verdict) -> Verdict:
    """The findings of a workbook's or SPSS file's rows say where the row is in that program (the spreadsheet's
    row is the data row + 1); a CSV's record number is its `row` already."""
    if raw.format == formats.CSV:
        return verdict
    return Verdict([replace(f, message=f"{raw.place(f.row)}: {f.message}") if f.row else f for f in verdict.findings],
                   verdict.counts)
