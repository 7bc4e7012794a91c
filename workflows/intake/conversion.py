"""XLSX workbooks and SPSS files converted to the project's CSV, cell by typed cell, before any rule applies.

A survey platform's XLSX or `.sav` export holds typed cells: numbers, dates and times,
and in SPSS value labels. Each is written as the text the contract asks for, so that the
rules judge the answers and not a spreadsheet's formatting:

- a number is written in full with a decimal point, never in a locale's format or
  Excel's display: 1250.5, 42 (a whole number without `.0`), 1e-05;
- a date is `YYYY-MM-DD`; a date and time `YYYY-MM-DDTHH:MM:SS`, with its offset only when
  the file gives one (so a time without offset is still the datetime rule's finding);
- an SPSS value with a value label, in a column of a choice question, is the choice the
  label names (by code, or by a choice's label in any language of the form); a label
  that names no choice is written as it is, for the question's rules to judge;
- an Excel error cell (`#N/A`, `#DIV/0!`) is its error text, never an empty cell.

The header is the sheet's first row (the first sheet, or the one named like the wave) or
the SPSS variable names. Row numbers are kept: data row n of the file is record n of the
CSV (a blank row a blank record), so that a finding's `row` is the file's own data row,
the spreadsheet's row `row + 1`. A value in a column with no name in the header is a
`ragged_row` finding of its row, and the rest of the row is still read.
"""

import csv
import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from xml.etree import ElementTree

from schemas.findings import Finding
from workflows.intake.formats import SAV, XLSX, Kind
from workflows.intake.layout import choice_code, read_header

CHUNK_ROWS = 50_000
LINE_END = "\r\n"  # the writer then quotes any cell holding a carriage return, which the CSV rules judge as ever
CHOICE_KINDS = ("select_one", "select_multiple")


class Damaged(Exception):
    """The file has the format's signature but cannot be read as that format: the message says why."""


@dataclass
class Converted:
    """What the conversion wrote: the header, the rows' count, their findings and what the reader must know."""

    header: list[str]
    rows: int = 0
    findings: list[Finding] = field(default_factory=list)
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    # Columns whose SPSS value labels were read as choices.
    labelled: list[str] = field(default_factory=list)
    carriage_returns: bool = False
    nul_bytes: bool = False
    # The sheet holds no cell at all.
    empty: bool = False


def convert(kind: Kind, source: Path, target: Path, wave: str, questions) -> Converted:
    """Write the file's header and rows to `target` as CSV text; Damaged when the file cannot be read."""
    if kind.name == XLSX:
        return _convert_workbook(source, target, wave, questions)
    if kind.name == SAV:
        return _convert_spss(source, target, questions)
    raise ValueError(f"not a typed format: {kind.name}")


class _Writer:
    """The CSV being written: blank rows as blank records, trailing blank rows dropped, the text's faults noted."""

    def __init__(self, handle, converted: Converted):
        self.handle = handle
        self.writer = csv.writer(handle, lineterminator=LINE_END)
        self.converted = converted
        self.blank_rows = 0

    def row(self, cells: list[str]) -> None:
        self.converted.rows += 1
        if not any(cells):
            self.blank_rows += 1  # written only if a row with answers follows: a sheet's formatted tail is no record
            return
        if self.blank_rows:
            self.handle.write(LINE_END * self.blank_rows)
            self.blank_rows = 0
        for text in cells:
            if "\r" in text and text.count("\r") != text.count("\r\n"):
                self.converted.carriage_returns = True
            if "\0" in text:
                self.converted.nul_bytes = True
        self.writer.writerow(cells)

    def header(self, cells: list[str]) -> None:
        self.writer.writerow(cells)

    def finish(self) -> None:
        self.converted.rows -= self.blank_rows


def text_of(value, kind: str | None = None) -> str:
    """A typed cell as the contract writes it (see the module's docstring)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return str(int(value)) if value.is_integer() else float.__repr__(value)  # shortest round trip, numpy too
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if value != value:  # pandas' NaT
            return ""
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        if kind == "date" and value.tzinfo is None and value.time() == time():
            return value.date().isoformat()
        return value.isoformat(timespec="seconds" if not value.microsecond else "microseconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if value != value:  # NaN or NaT of another type
        return ""
    return str(value)


# XLSX

def _convert_workbook(source: Path, target: Path, wave: str, questions) -> Converted:
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_path(str(source))
        sheets = [s.name for s in workbook.sheets_metadata if s.typ == SheetTypeEnum.WorkSheet]
        visible = [s.name for s in workbook.sheets_metadata
                   if s.typ == SheetTypeEnum.WorkSheet and s.visible == SheetVisibleEnum.Visible]
        named = [name for name in sheets if name.casefold() == wave.casefold()]
        if not (named or visible):
            raise Damaged("it holds no visible worksheet")
        sheet_name = (named or visible)[0]
        sheet = workbook.get_sheet_by_name(sheet_name)
    except PasswordError:
        raise Damaged("it is protected by a password; remove the password and save it again") from None
    except (CalamineError, OSError, ValueError) as error:
        raise Damaged(f"it cannot be opened as a workbook ({error})") from None
    converted = Converted([], sheet=sheet_name, sheets=sheets)
    rows = sheet.iter_rows()  # every row from the sheet's first, each from its first column that holds anything
    first = next(rows, None)
    if first is None:
        converted.empty = True
        return converted
    leading = sheet.start[1] if sheet.start else 0  # columns left of every cell: not part of the table
    errors = {row: {column - leading: text for column, text in cells.items() if column >= leading}
              for row, cells in _error_cells(source, sheet_name).items()}
    header = [text_of(value) for value in first]
    for column, text in errors.get(0, {}).items():
        if column < len(header):
            header[column] = text
    width = len(header)
    while width and not header[width - 1].strip():
        width -= 1
    if not width:
        converted.header = []
        return converted  # a blank first row: the header finding says so, no row is read
    keep = _kept_columns(sheet, header[:width], errors)
    converted.header = header = [header[i] for i in keep]
    # Each kept column's question kind: a date-and-time at midnight in a date question is its date.
    kind_at = dict(zip(keep, _kinds(header, questions)))
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = _Writer(handle, converted)
        writer.header(header)
        for number, values in enumerate(rows, start=1):
            cells = [text_of(value, kind_at.get(i)) for i, value in enumerate(values)]
            for column, text in errors.get(number, {}).items():
                cells += [""] * (column + 1 - len(cells))
                cells[column] = text
            stray = next((i for i in range(width, len(cells)) if cells[i].strip()), None)
            if stray is not None:
                converted.findings.append(Finding(
                    "ragged_row", None, number, None, None,
                    f"Spreadsheet row {number + 1} (sheet '{sheet_name}') holds a value in column "
                    f"{_column_letters(leading + stray)}, which has no name in the header row; name the column or "
                    "clear the cell."))
            cells += [""] * (width - len(cells))
            writer.row([cells[i] for i in keep])
        writer.finish()
    return converted


def _kept_columns(sheet, header: list[str], errors: dict) -> list[int]:
    """The header's columns that are part of the table: every named one, and a nameless one only if it holds
    a value (then it is an unknown column); a nameless column with nothing in it is a gap, not a column."""
    nameless = {i for i, name in enumerate(header) if not name.strip()}
    if not nameless:
        return list(range(len(header)))
    used = {i for cells in errors.values() for i in cells if i in nameless}
    rows = sheet.iter_rows()
    next(rows, None)
    for values in rows:
        used |= {i for i in nameless - used if i < len(values) and text_of(values[i]).strip()}
        if used == nameless:
            break
    return [i for i in range(len(header)) if i not in nameless or i in used]


def _kinds(header: list[str], questions) -> list[str | None]:
    """Each column's question kind, when the column is a question's (under any of the platforms' names)."""
    layout = read_header(header, questions)
    kinds: list[str | None] = [None] * len(header)
    for name, index in layout.direct.items():
        kinds[index] = questions[name].kind
    return kinds


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


_CELL_REFERENCE = re.compile(r"([A-Z]+)([0-9]+)")


def _error_cells(source: Path, sheet_name: str) -> dict[int, dict[int, str]]:
    """The sheet's error cells (`#N/A`, `#DIV/0!`, ...) by data row and column, read from its XML.

    The workbook reader gives an error cell as an empty one; a survey manager must see it as the
    error it is. The sheet's XML is scanned for error cells first and parsed only if it holds any.
    """
    try:
        with zipfile.ZipFile(source) as archive:
            part = _sheet_part(archive, sheet_name)
            if part is None or not _holds(archive, part, b't="e"'):
                return {}
            errors: dict[int, dict[int, str]] = {}
            with archive.open(part) as handle:
                for _, element in ElementTree.iterparse(handle):
                    if element.tag.rsplit("}", 1)[-1] != "c":
                        continue
                    if element.get("t") == "e":
                        match = _CELL_REFERENCE.fullmatch(element.get("r") or "")
                        text = next((child.text for child in element if child.tag.rsplit("}", 1)[-1] == "v"), None)
                        if match and text:
                            column = sum((ord(c) - 64) * 26 ** i for i, c in enumerate(reversed(match[1]))) - 1
                            errors.setdefault(int(match[2]) - 1, {})[column] = text
                    element.clear()
            return errors
    except (zipfile.BadZipFile, KeyError, OSError, ElementTree.ParseError, StopIteration):
        return {}


def _sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relation = None
    for element in workbook.iter():
        if element.tag.rsplit("}", 1)[-1] == "sheet" and element.get("name") == sheet_name:
            relation = next((value for key, value in element.attrib.items() if key.rsplit("}", 1)[-1] == "id"), None)
    if relation is None:
        return None
    for element in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels")):
        if element.get("Id") == relation:
            target = element.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _holds(archive: zipfile.ZipFile, part: str, needle: bytes) -> bool:
    tail = b""
    with archive.open(part) as handle:
        while chunk := handle.read(1 << 20):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle):]
    return False


# SPSS

def _convert_spss(source: Path, target: Path, questions) -> Converted:
    import pyreadstat

    unreadable = (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, UnicodeDecodeError, ValueError)
    try:
        _, meta = pyreadstat.read_sav(str(source), metadataonly=True)
    except unreadable as error:
        raise Damaged(f"it cannot be read as an SPSS data file ({error})") from None
    header = list(meta.column_names)
    converted = Converted(header)
    layout = read_header(header, questions)
    kinds: list[str | None] = [None] * len(header)
    # A choice question's value labels, each read once as the choice it names: {column: {value: cell}}.
    choices: dict[int, dict] = {}
    for name, index in layout.direct.items():
        question = questions[name]
        kinds[index] = question.kind
        value_labels = meta.variable_value_labels.get(header[index])
        if value_labels and question.kind in CHOICE_KINDS:
            choices[index] = {_key(value): choice_code(label, question) for value, label in value_labels.items()}
            converted.labelled.append(header[index])
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = _Writer(handle, converted)
        writer.header(header)
        if meta.number_rows == 0:
            return converted
        chunks = pyreadstat.read_file_in_chunks(pyreadstat.read_sav, str(source), chunksize=CHUNK_ROWS,
                                                apply_value_formats=False)

        def cell(i: int, value) -> str:
            named = choices[i].get(_key(value)) if i in choices and _present(value) else None
            return named if named is not None else text_of(value, kinds[i])  # a value without a label as it is

        try:
            for frame, _ in chunks:
                for values in frame.itertuples(index=False, name=None):
                    writer.row([cell(i, value) for i, value in enumerate(values)])
        except unreadable as error:
            raise Damaged(f"its cases cannot be read ({error})") from None
        writer.finish()
    return converted


def _present(value) -> bool:
    return value is not None and value == value and value != ""


def _key(value):
    """A value as a label's key: SPSS numbers are doubles, written keys may be ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
