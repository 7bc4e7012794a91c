"""The field workbook `issues.xlsx`: the wave's listed findings as a field team works through them.

One summary sheet (every check, blocking first, with its count and the sheets that list its
findings), one sheet per check that found something (row, firm, interviewer, interview date,
column, the question's label, value, rule, message, a suggestion, and empty "correction" and
"comment" columns for the team to fill in), and, when the wave names its interviewers, their
figures: records, findings, findings per record, the shares of records with a finding, of
'other' answers and of optional questions left empty (`quality.interviewer_figures`, when
given), and findings per check. A check with more findings than a sheet holds continues on
the next sheet. The findings are exactly those of
`validation.json` (`outputs.finding_items`); no personal column is read, so none is shown.

Every cell from the file is written as text, never as a formula (a cell `=HYPERLINK(...)`
stays those characters), with control characters shown as escapes (`\\x1b`), which a
spreadsheet cannot hold. The same findings give the same bytes: the workbook's dates and its
zip entries' times are fixed.
"""

import datetime
import io
import zipfile
from collections import Counter
from collections.abc import Mapping

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from schemas.rules import ERROR

# Excel's and LibreOffice's last row is 1,048,576; the first holds the header.
ROWS_PER_SHEET = 1_048_575
SHEET_NAME_LENGTH = 31
CELL_CHARACTERS = 32_767
# The date of every part of the workbook (as reproducible builds date theirs): the same findings, the same bytes.
FIXED_TIME = datetime.datetime(1980, 1, 1)
# The findings sheets' columns: (header, width in characters, the finding's field).
FINDING_COLUMNS = (
    ("row", 8, "row"), ("firm", 14, "firm_id"), ("interviewer", 14, "interviewer_id"), ("date", 12, "interview_date"),
    ("column", 24, "column"), ("question", 40, "label"), ("value", 24, "value"), ("rule", 18, "rule"),
    ("message", 70, "message"), ("suggestion", 30, "suggestion"), ("correction", 20, None), ("comment", 30, None),
)
SUMMARY_COLUMNS = (("check", 34), ("severity", 10), ("findings", 10), ("listed here", 11), ("sheets", 34),
                   ("what it checks", 90))
BOLD = Font(bold=True)
BLOCKING = PatternFill("solid", fgColor="FDECEE")
WARNING = PatternFill("solid", fgColor="FFF4DB")
FILL_IN = PatternFill("solid", fgColor="EAF2FB")


def issues_workbook(wave: str, source_name: str, sha256: str, items: list[dict], counts: dict[str, int],
                    interviews: Mapping[str, Mapping[str, int]], truncated: bool,
                    rows_per_sheet: int = ROWS_PER_SHEET) -> bytes:
    """The workbook's bytes; `items` are `outputs.finding_items`, `interviews` each interviewer's figures
    (`quality.INTERVIEWER_FIGURES`, by name: at least `records`)."""
    from schemas.questionnaire import QUESTION
    from workflows.report.outputs import checks_with_findings

    found, passed = checks_with_findings(items, counts)
    titles = {"summary", "interviewers"}
    for check in found:
        chunks = [check["findings"][start:start + rows_per_sheet]
                  for start in range(0, len(check["findings"]), rows_per_sheet)] or [[]]
        check["sheets"] = [(_title(check["name"], part, titles), chunk) for part, chunk in enumerate(chunks, 1)]
    book = Workbook(write_only=True)
    _summary(book.create_sheet("summary"), wave, source_name, sha256, found, passed, truncated, bool(interviews))
    for check in found:
        for title, chunk in check["sheets"]:
            sheet = book.create_sheet(title)
            _header(sheet, [(name, width) for name, width, _ in FINDING_COLUMNS])
            for item in chunk:
                label = QUESTION[item["column"]].label if item["column"] in QUESTION else None
                record = {**item, "label": label, "interviewer_id": _interviewer_of(item)}
                sheet.append([_cell(sheet, record[field]) if field else None for _, _, field in FINDING_COLUMNS])
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(FINDING_COLUMNS))}{len(chunk) + 1}"
    if interviews:
        _interviewers(book.create_sheet("interviewers"), found, interviews, truncated)
    return _fixed_bytes(book)


def _title(name: str, part: int, taken: set[str]) -> str:
    """A sheet's name: the check's, shortened to Excel's 31 characters, with ' (2)' on its continuations."""
    def titled(part: int) -> str:
        suffix = "" if part == 1 else f" ({part})"
        return name[:SHEET_NAME_LENGTH - len(suffix)].rstrip("_") + suffix

    title = titled(part)
    while title in taken:
        part += 1
        title = titled(part)
    taken.add(title)
    return title


def _summary(sheet, wave, source_name, sha256, found, passed, truncated, by_interviewer) -> None:
    errors = sum(check["count"] for check in found if check["severity"] == ERROR)
    warnings = sum(check["count"] for check in found if check["severity"] != ERROR)
    for column, (_, width) in enumerate(SUMMARY_COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.append([_cell(sheet, f"Validation of wave {wave} ({source_name})", font=Font(bold=True, size=14))])
    sheet.append([_cell(sheet, "File SHA-256"), _cell(sheet, sha256)])
    verdict = (f"{errors:,} error(s) block this wave: correct them, then run the wave again." if errors
               else "No errors: the wave can be published.")
    if warnings:
        verdict += f" {warnings:,} warning(s) are worth a look but do not block."
    sheet.append([_cell(sheet, verdict, font=BOLD)])
    sheet.append([_cell(sheet, "Each check that found something has a sheet of its own, one row per finding. Write "
                               "the right value in 'correction' and what the field team learnt in 'comment', then "
                               "send the workbook back." + (" The sheet 'interviewers' counts the findings of each "
                                                            "interviewer." if by_interviewer else ""))])
    if truncated:
        sheet.append([_cell(sheet, "Only the first 1,000 findings of each rule are listed; the counts below are "
                                   "complete. `cleantech-survey validate FILE --all-errors` lists every one.")])
    sheet.append([])
    _header(sheet, SUMMARY_COLUMNS, widths=False)
    for check in [*found, *passed]:
        fill = (BLOCKING if check["severity"] == ERROR else WARNING) if check["count"] else None
        sheet.append([_cell(sheet, check["name"], fill=fill),
                      _cell(sheet, "blocking" if check["severity"] == ERROR else "warning", fill=fill),
                      _cell(sheet, check["count"], fill=fill), _cell(sheet, check["listed"], fill=fill),
                      _cell(sheet, ", ".join(title for title, _ in check.get("sheets", ())), fill=fill),
                      _cell(sheet, check["description"], fill=fill)])


# The interviewers' shares (`quality.interviewer_figures`): (heading, the figure counted, the figure it is counted of).
INTERVIEWER_SHARES = (("records with a finding", "records_with_findings", "records"),
                      ("'other' answers", "other_answers", "select_answers"),
                      ("optional left empty", "skipped_optional", "optional_asked"))


def _interviewer_of(item: dict) -> str | None:
    """The finding's interviewer: its record's, or the one a per-interviewer warning names (its value)."""
    if item.get("interviewer_id") is None and item["column"] == "interviewer_id" and item["row"] is None:
        return item["value"]
    return item.get("interviewer_id")


def _interviewers(sheet, found, figures: Mapping[str, Mapping[str, int]], truncated: bool) -> None:
    """Per interviewer: records, findings (errors, warnings), findings per record, the shares of records with a
    finding, of 'other' answers and of optional questions left empty, and findings per check."""
    # The 'other' and optional shares need the wave's answers: shown when the figures were given.
    shares = [share for share in INTERVIEWER_SHARES
              if share[1] == "records_with_findings" or any(share[1] in value for value in figures.values())]
    _header(sheet, [("interviewer", 16), ("records", 9), ("findings", 9), ("errors", 9), ("warnings", 9),
                    ("findings per record", 11), *((heading, 12) for heading, _, _ in shares),
                    *((check["name"], 14) for check in found)])
    per_check: dict[str | None, Counter] = {}
    errors: Counter = Counter()
    # Records with a listed finding, when the figures do not count them over every finding.
    flagged: dict[str | None, set] = {}
    for check in found:
        for item in check["findings"]:
            interviewer = _interviewer_of(item)
            per_check.setdefault(interviewer, Counter())[check["name"]] += 1
            errors[interviewer] += item["severity"] == ERROR
            if item["row"] is not None:
                flagged.setdefault(interviewer, set()).add(item["row"])

    def share(interviewer: str | None, counted: str, of: str):
        given = figures.get(interviewer, {})
        if counted == "records_with_findings" and counted not in given:
            given = {**given, counted: len(flagged.get(interviewer, ()))}
        if given.get(of) and counted in given:
            return _percent_cell(sheet, given[counted] / given[of])
        return None

    def row(interviewer: str | None) -> list:
        counted = per_check.get(interviewer, Counter())
        total, records = sum(counted.values()), figures.get(interviewer, {}).get("records")
        return [interviewer if interviewer is not None else "(no interviewer)", records, total, errors[interviewer],
                total - errors[interviewer], round(total / records, 2) if records else None,
                *(share(interviewer, counted_figure, of) for _, counted_figure, of in shares),
                *(counted[check["name"]] for check in found)]

    named = sorted(set(figures) | {key for key in per_check if key is not None})
    # The interviewers with the most findings per record first: where a supervisor starts.
    for values in sorted((row(interviewer) for interviewer in named), key=lambda values: (-(values[5] or 0), values[0])):
        sheet.append([_cell(sheet, value) for value in values])
    if None in per_check:
        sheet.append([_cell(sheet, value) for value in row(None)])
    sheet.append([])
    sheet.append([_cell(sheet, "Findings of the file as a whole (a missing column, say) and of records without an "
                               "interviewer id are counted under '(no interviewer)'; a warning about an interviewer "
                               "(check interviewer_patterns) under that interviewer."
                        + (" Counted over the findings listed (at most 1,000 per rule); --all-errors lists every one."
                           if truncated else ""))])
    if len(shares) > 1:
        sheet.append([_cell(sheet, "'other' answers: of the answers to questions that offer 'other'; optional left "
                                   "empty: of the optional questions of the interviewer's records.")])


def _percent_cell(sheet, share: float):
    """A share written as a number shown as a percentage (the spreadsheet's own convention: 35%)."""
    cell = WriteOnlyCell(sheet, round(share, 4))
    cell.number_format = "0%"
    return cell


def _header(sheet, columns, widths: bool = True) -> None:
    if widths:
        for column, (_, width) in enumerate(columns, 1):
            sheet.column_dimensions[get_column_letter(column)].width = width
        sheet.freeze_panes = "A2"
    # The columns the field team fills in stand out by their heading.
    sheet.append([_cell(sheet, name, font=BOLD, fill=FILL_IN if name in ("correction", "comment") else None)
                  for name, _ in columns])


def _cell(sheet, value, font: Font | None = None, fill: PatternFill | None = None):
    """The value as it is: a number as a number, any text as text (never a formula), styled when asked.

    A plain value is written as openpyxl's own cell; a text that openpyxl would take for a formula
    (a leading '=') or that is styled gets a cell of its own, typed as text.
    """
    if isinstance(value, str):
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)
        value = value[:CELL_CHARACTERS]
    if font is None and fill is None and not (isinstance(value, str) and value.startswith("=")):
        return value
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell


def _fixed_bytes(book: Workbook) -> bytes:
    """The workbook written with fixed dates: its properties' and each zip entry's."""
    book.properties.created = book.properties.modified = FIXED_TIME
    book.properties.creator = "cleantech-survey"
    written = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    fixed = io.BytesIO()
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(entry.filename))
    return fixed.getvalue()
