"""A wave's corrections file: the survey team's fixes to cells of its raw file, applied before any rule.

The file `<wave id>.csv` in the corrections folder (`CLEANTECH_CORRECTIONS_DIR`, by default
`data/corrections/`) has one line per corrected cell: `firm_id`, `column`, `old_value`,
`new_value`, `reason`, `who`, `when`, and optionally `row` (the record number that
`validation.json` gives, needed only to tell two records of one firm id apart). The raw
file is never changed: its cells are staged as read, and a correction replaces one staged
cell only when that cell holds the correction's old value. A correction that does not fit
is refused with a sentence that blocks the wave, since publishing without it would be
silently wrong. An empty old or new value is a missing answer; values are compared
without the spaces around them.

The cells of personal columns are corrected like any other, but their values are never
written into a sentence, a report or the workbook.
"""

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from schemas.findings import WARNING, Finding, Verdict
from schemas.predicates import quoted
from schemas.questionnaire import PERSONAL_COLUMNS
from workflows.intake.files import NotARegularFile, open_regular
from workflows.warehouse.staging import OF_VERSION, Version

COLUMNS = ("firm_id", "column", "old_value", "new_value", "reason", "who", "when")
OPTIONAL_COLUMNS = ("row",)
# An audit trail needs to know which cell, why, who decided and when.
REQUIRED_CELLS = ("firm_id", "column", "reason", "who", "when")
# A corrections file lists a team's fixes, not a second copy of the wave.
MAX_LINES = 100_000
MAX_BYTES = 64 << 20
SEPARATOR_NAMES = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
# The rules of a corrections file's own faults and of a correction that does not fit the raw file.
FILE_RULE = "corrections_file"
REFUSED_RULE = "correction_refused"
LEFT_BEHIND_RULE = "corrections_file_removed"
RULES = (FILE_RULE, REFUSED_RULE, LEFT_BEHIND_RULE)
# The corrections file's sha256 where a wave has none: in the assets' metadata and the sensor's cursor.
NO_FILE = "none"


@dataclass(frozen=True)
class Correction:
    """One line of a corrections file: replace `old_value` by `new_value` in the firm's cell of `column`."""

    line: int
    firm_id: str
    column: str
    old_value: str | None
    new_value: str | None
    reason: str
    who: str
    when: str
    row: int | None = None

    @property
    def personal(self) -> bool:
        return self.column in PERSONAL_COLUMNS

    def shown(self, value: str | None) -> str:
        """A value as a sentence may show it: never one of a personal column."""
        if self.personal:
            return "(a personal column: not shown)"
        return "an empty cell" if value is None else f"'{value}'"


@dataclass
class CorrectionsFile:
    """A corrections file as received: its digest, its corrections and its own faults ('' and none without one)."""

    path: Path | None = None
    sha256: str = ""
    corrections: list[Correction] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        return self.path.name if self.path else None


def corrections_path(folder: Path | str, wave: str) -> Path:
    """A wave's corrections file: `<wave id>.csv` in the corrections folder (it need not exist)."""
    return Path(folder) / f"{wave}.csv"


def read_corrections(path: Path) -> CorrectionsFile:
    """The corrections file at `path` (none when it does not exist), every fault of it a finding."""
    try:
        with open(open_regular(path), "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return CorrectionsFile()
    except (NotARegularFile, OSError) as error:
        # A folder, a pipe or an unreadable file where the corrections should be: a finding, like any fault of it.
        why = str(error).removesuffix(".") if isinstance(error, NotARegularFile) else (error.strerror or str(error))
        return CorrectionsFile(path=path, sha256=hashlib.sha256(f"unreadable: {why}".encode()).hexdigest(),
                               problems=[_problem(path, None, None, None, f"cannot be read: {why}.")])
    received = CorrectionsFile(path=path, sha256=hashlib.sha256(data).hexdigest())
    if len(data) > MAX_BYTES:
        received.problems.append(_problem(path, None, None, None, (
            f"is larger than {MAX_BYTES // (1 << 20)} MiB; it lists fixes to cells, not a new copy of the wave: "
            "export the wave again instead.")))
        return received
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        received.problems.append(_problem(path, None, None, None, (
            f"is not UTF-8 text (byte {error.start} cannot be decoded); save it again as 'CSV UTF-8'.")))
        return received
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            received.problems.append(_problem(path, None, None, None, "is empty; it needs a header row: "
                                                                       + ", ".join(COLUMNS) + "."))
            return received
        names = [_column_name(name) for name in header]
        missing = [name for name in COLUMNS if name not in names]
        if missing and len(header) == 1 and (separator := next((s for s in ";\t|" if s in header[0]), None)):
            received.problems.append(_problem(path, 1, None, None, (
                f"is separated by {SEPARATOR_NAMES[separator]}, not by commas; save it again as 'CSV UTF-8 "
                "(Comma delimited)'.")))
            return received
        if missing:
            received.problems.append(_problem(path, 1, None, None, (
                f"has no column{'s' * (len(missing) > 1)} {', '.join(missing)} in its header (it names "
                f"{', '.join(repr(n) for n in header)}); the header must be: {', '.join(COLUMNS)} (and optionally row).")))
            return received
        position = {name: names.index(name) for name in (*COLUMNS, *OPTIONAL_COLUMNS) if name in names}
        seen: dict[tuple, int] = {}
        for fields in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in fields):
                continue
            if line > MAX_LINES + 1:
                received.problems.append(_problem(path, line, None, None, (
                    f"has more than {MAX_LINES:,} corrections; it lists fixes to cells, not a new copy of the "
                    "wave: export the wave again instead.")))
                break
            correction, problems = _correction(path, line, fields, position)
            received.problems += problems
            if correction is None:
                continue
            target = (correction.firm_id, correction.row, correction.column)
            if target in seen:
                received.problems.append(_problem(path, line, correction.column, correction.firm_id, (
                    f"corrects the cell of firm {correction.firm_id} in {correction.column} a second time (line "
                    f"{seen[target]} does already); keep one line per cell.")))
                continue
            seen[target] = line
            received.corrections.append(correction)
    except csv.Error as error:
        received.problems.append(_problem(path, reader.line_num, None, None, (
            f"cannot be read as CSV from line {reader.line_num} on ({error}); check its quotes.")))
    return received


def _column_name(name: str) -> str:
    """'Old value', 'old-value' and 'old_value' name the same column."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _correction(path: Path, line: int, fields: list[str], position: dict[str, int]
                ) -> tuple[Correction | None, list[Finding]]:
    cells = {name: (fields[at].strip() if at < len(fields) else "") for name, at in position.items()}
    firm_id, column = cells["firm_id"] or None, cells["column"] or None
    problems = []
    empty = [name for name in REQUIRED_CELLS if not cells[name]]
    if empty:
        problems.append(_problem(path, line, column, firm_id, (
            f"leaves {', '.join(empty)} empty: every correction names its firm and column, and says why, "
            "who decided and when.")))
    if cells["when"] and not _is_date(cells["when"]):
        problems.append(_problem(path, line, column, firm_id, (
            f"gives '{cells['when']}' as when, which is not a date (write it as 2009-06-30, or with a time as "
            "2009-06-30T14:05).")))
    row = None
    if cells.get("row"):
        if not re.fullmatch(r"[1-9][0-9]{0,11}", cells["row"]):
            problems.append(_problem(path, line, column, firm_id, (
                f"gives '{cells['row']}' as row, which is not a record number (a whole number from 1, as "
                "validation.json gives it).")))
        else:
            row = int(cells["row"])
    if problems:
        return None, problems
    return Correction(line=line, firm_id=firm_id, column=column, old_value=cells["old_value"] or None,
                      new_value=cells["new_value"] or None, reason=cells["reason"], who=cells["who"],
                      when=cells["when"], row=row), []


def _is_date(text: str) -> bool:
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(text)
            return True
        except ValueError:
            pass
    return False


def _problem(path: Path, line: int | None, column: str | None, firm_id: str | None, what: str) -> Finding:
    where = f"Line {line} of the corrections file {path.name}" if line else f"The corrections file {path.name}"
    consequence = "It was not applied." if line and line > 1 else "None of its corrections was applied."
    return Finding(FILE_RULE, column, None, firm_id, None, f"{where} {what} {consequence}")


@dataclass
class Applied:
    """What applying a corrections file to a staged attempt gave: the corrections applied and those refused."""

    applied: list[tuple[Correction, int]] = field(default_factory=list)  # (correction, record it changed)
    refused: list[Finding] = field(default_factory=list)


def apply_corrections(conn: duckdb.DuckDBPyConnection, wave: str, version: Version, received: CorrectionsFile,
                      staged_columns: list[str]) -> Applied:
    """Replace the attempt's staged cells by the corrections that fit them, in the caller's transaction.

    Each correction finds its record by the firm id the raw file gives (and its `row`, when
    given), before any correction is applied: correcting a firm id never moves another
    correction. It is refused when the file has no such column or record, when the firm id
    names several records and no row says which, when the cell does not hold its old value,
    or when another line corrects the same cell.
    """
    outcome = Applied()
    name = received.name
    if not received.corrections:
        return outcome
    if "firm_id" not in staged_columns:
        outcome.refused = [_refused(name, c, None, "the raw file has no firm_id column to find the firm by, so no "
                                                   "correction can be applied")
                           for c in received.corrections]
        return outcome
    located = _locate(conn, wave, version, [c for c in received.corrections if c.column in staged_columns])
    changed: dict[tuple[int, str], int] = {}
    for correction in received.corrections:
        if correction.column not in staged_columns:
            outcome.refused.append(_refused(name, correction, None, _unknown_column(correction.column, staged_columns)))
            continue
        records = located.get(correction.line, [])
        where = f" in record {correction.row}" if correction.row else ""
        if not records:
            outcome.refused.append(_refused(name, correction, correction.row, (
                f"the raw file has no record of firm {correction.firm_id}{where}; write the firm id as the raw file "
                "(and validation.json) gives it")))
            continue
        if len(records) > 1:
            numbers = ", ".join(str(record) for record, _ in records)
            outcome.refused.append(_refused(name, correction, None, (
                f"firm {correction.firm_id} has records {numbers}; give the one to correct in the row column")))
            continue
        record, cell = records[0]
        if (cell or "").strip() != (correction.old_value or ""):
            why = (f"record {record} does not hold the old value it gives (the values of a personal column are shown "
                   "nowhere: compare them in the raw file)" if correction.personal else
                   f"it expects {correction.shown(correction.old_value)}, but record {record} holds "
                   f"{correction.shown((cell or '').strip() or None)}; its old value must be the raw file's cell as "
                   "validation.json shows it")
            outcome.refused.append(_refused(name, correction, record, why, cell))
            continue
        if (record, correction.column) in changed:
            outcome.refused.append(_refused(name, correction, record, (
                f"line {changed[record, correction.column]} corrects the same cell (record {record})")))
            continue
        changed[record, correction.column] = correction.line
        outcome.applied.append((correction, record))
    _write(conn, wave, version, outcome.applied)
    return outcome


def _locate(conn: duckdb.DuckDBPyConnection, wave: str, version: Version, corrections: list[Correction]
            ) -> dict[int, list[tuple[int, str | None]]]:
    """Each correction's candidate records and their cells, by the raw file's firm ids: {line: [(record, cell)]}."""
    located: dict[int, list[tuple[int, str | None]]] = {}
    for column in dict.fromkeys(c.column for c in corrections):
        wanted = pd.DataFrame([(c.line, c.firm_id, c.row) for c in corrections if c.column == column],
                              columns=["line", "firm_id", "row"]).astype({"line": "int64", "row": "Int64"})
        conn.register("wanted_corrections", wanted)
        try:
            rows = conn.execute(
                f"""
                select wanted.line, staged.source_row, staged.{quoted(column)}
                from wanted_corrections as wanted
                join staging.raw_responses as staged
                  on staged.wave = $wave and {OF_VERSION}
                 and trim(staged.firm_id) = wanted.firm_id
                 and (wanted."row" is null or staged.source_row = wanted."row")
                order by wanted.line, staged.source_row
                """, {"wave": wave, **version.params}).fetchall()
        finally:
            conn.unregister("wanted_corrections")
        for line, record, cell in rows:
            located.setdefault(line, []).append((record, cell))
    return located


def _write(conn: duckdb.DuckDBPyConnection, wave: str, version: Version,
           applied: list[tuple[Correction, int]]) -> None:
    """Put the new values into the staged cells and log each applied correction beside the attempt."""
    if not applied:
        return
    frame = pd.DataFrame(
        [(c.line, record, c.firm_id, c.column, c.old_value, c.new_value, c.reason, c.who, c.when)
         for c, record in applied],
        columns=["line", "source_row", "firm_id", "column", "old_value", "new_value", "reason", "who", "when"])
    conn.register("applied_now", frame)
    try:
        for column in dict.fromkeys(frame["column"]):
            conn.execute(
                f"""
                update staging.raw_responses as staged set {quoted(column)} = applied.new_value
                from applied_now as applied
                where staged.wave = $wave and {OF_VERSION}
                  and staged.source_row = applied.source_row and applied."column" = $column
                """, {"wave": wave, **version.params, "column": column})
        conn.execute(
            """
            insert into staging.applied_corrections by name
            select $wave as wave, $raw_sha256 as raw_sha256, $corrections_sha256 as corrections_sha256, *
            from applied_now
            """, {"wave": wave, **version.params})
    finally:
        conn.unregister("applied_now")


def _refused(name: str | None, correction: Correction, record: int | None, why: str,
             cell: str | None = None) -> Finding:
    """The finding of a correction not applied; its value is the raw file's cell it names, if one (never a
    personal column's)."""
    return Finding(
        REFUSED_RULE, correction.column, record, correction.firm_id,
        None if correction.personal else cell,
        f"Line {correction.line} of the corrections file {name} (firm {correction.firm_id}, {correction.column}) "
        f"was not applied: {why}. Fix that line or remove it.")


def _unknown_column(column: str, staged_columns: list[str]) -> str:
    """Why a correction's column is none of the file's questions, and the name to write when one is meant."""
    meant = next((name for name in staged_columns
                  if name.lower() == column.lower() or name == re.split(r"[/:]", column)[-1]
                  or name == column.split("/")[0]), None)
    if meant:
        return f"a correction names the question as the questionnaire does: write {meant} instead of {column}"
    return f"the raw file has no question {column}"


def corrected_cells(verdict: Verdict, outcome: Applied, name: str | None) -> Verdict:
    """The findings about a corrected cell say that its value comes from the corrections file, not the raw file."""
    if not outcome.applied:
        return verdict
    by_cell = {(record, correction.column): correction for correction, record in outcome.applied}
    findings = []
    for finding in verdict.findings:
        correction = by_cell.get((finding.row, finding.column))
        if correction is not None:
            finding = replace(finding, message=(
                f"{finding.message} (The value comes from line {correction.line} of the corrections file {name}; the "
                f"raw file holds {correction.shown(correction.old_value)}.)"))
        findings.append(finding)
    return Verdict(findings, verdict.counts)


def corrections_left_behind(conn: duckdb.DuckDBPyConnection, wave: str) -> list[Finding]:
    """A warning when the wave's published version was corrected and no corrections file is there any more."""
    published = conn.execute(
        """
        select waves.corrections_sha256, count(lines.line)
        from waves left join staging.corrections as lines
          on lines.wave = waves.wave and lines.corrections_sha256 = waves.corrections_sha256
        where waves.wave = $wave and waves.corrections_sha256 <> ''
        group by waves.corrections_sha256
        """, {"wave": wave}).fetchall()
    if not published:
        return []
    lines = published[0][1]
    return [Finding(LEFT_BEHIND_RULE, None, None, None, None, (
        f"The published version of wave {wave} was corrected by the corrections file {corrections_path('', wave)} "
        f"({lines:,} line{'s' * (lines != 1)}), but the corrections folder has none for the wave now: this run "
        "judged the raw file's cells as they are, and publishing it drops those corrections. Put the file back if "
        "that is not meant."), WARNING)]


def applied_of(conn: duckdb.DuckDBPyConnection, wave: str, version: Version) -> list[dict]:
    """The corrections applied to a staged version, in the corrections file's order (personal values kept: the
    caller shows them or not)."""
    cursor = conn.execute(
        f"""
        select line, source_row, firm_id, "column", old_value, new_value, reason, who, "when"
        from staging.applied_corrections where wave = $wave and {OF_VERSION} order by line
        """, {"wave": wave, **version.params})
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def store_received(conn: duckdb.DuckDBPyConnection, wave: str, received: CorrectionsFile) -> None:
    """Record the corrections file as the wave's latest (none when `received` has no path), in one transaction;
    the lines of files neither latest nor published are dropped."""
    problems = [{"column": p.column, "firm_id": p.firm_id, "message": p.message} for p in received.problems]
    frame = pd.DataFrame(
        [(c.line, c.firm_id, c.row, c.column, c.old_value, c.new_value, c.reason, c.who, c.when)
         for c in received.corrections],
        columns=["line", "firm_id", "row", "column", "old_value", "new_value", "reason", "who", "when"],
    ).astype({"line": "int64", "row": "Int64", **{name: object for name in COLUMNS}})
    conn.begin()
    try:
        conn.execute("insert or replace into staging.correction_files values ($wave, $sha, $name, $problems)",
                     {"wave": wave, "sha": received.sha256, "name": received.name, "problems": json.dumps(problems)})
        conn.execute(
            """
            delete from staging.corrections
            where wave = $wave and (corrections_sha256 = $sha or corrections_sha256 not in (
                select corrections_sha256 from waves where wave = $wave))
            """, {"wave": wave, "sha": received.sha256})
        conn.register("received_lines", frame)
        conn.execute("insert into staging.corrections by name select $wave as wave, $sha as corrections_sha256, * "
                     "from received_lines", {"wave": wave, "sha": received.sha256})
        conn.unregister("received_lines")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def latest_received(conn: duckdb.DuckDBPyConnection, wave: str, folder: Path) -> CorrectionsFile:
    """The wave's corrections file as `wave_corrections` last recorded it (none when it never did)."""
    rows = conn.execute("select corrections_sha256, source_name, problems from staging.correction_files "
                        "where wave = $wave", {"wave": wave}).fetchall()
    if not rows or not rows[0][1]:
        return CorrectionsFile()
    sha256, name, problems = rows[0]
    lines = conn.execute(
        """
        select line, firm_id, "column", old_value, new_value, reason, who, "when", "row"
        from staging.corrections where wave = $wave and corrections_sha256 = $sha order by line
        """, {"wave": wave, "sha": sha256}).fetchall()
    return CorrectionsFile(
        path=Path(folder) / name, sha256=sha256,
        corrections=[Correction(line, firm_id, column, old, new, reason, who, when, None if row is None else int(row))
                     for line, firm_id, column, old, new, reason, who, when, row in lines],
        problems=[Finding(FILE_RULE, p["column"], None, p["firm_id"], None, p["message"])
                  for p in json.loads(problems)])
