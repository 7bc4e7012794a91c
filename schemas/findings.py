"""Judge a wave by the pandera model inside DuckDB, and say each failure in one plain sentence.

The model's columns, nullability and checks (with their statistics) are compiled to one SQL
query over the staged rows, each check by its predicate in `predicates.py`: every failure
is counted there, and only the listed ones (at most `ITEMS_PER_RULE` per rule unless all
are asked for) come back to Python for their sentences. A finding carries what
`validation.json` promises: rule, column, row (CSV record number), firm_id, value and
message. Personal columns never reach a finding's value. A cell's text is bounded
(`bounded`): a 1 MB cell makes a finding of a few hundred characters, not of 2 MB.
"""

import re
from dataclasses import asdict, dataclass, field

import duckdb
import pandas as pd

from schemas import codebook
from schemas.predicates import INTEGER_PATTERN, LARGEST_NUMBER, NUMBER_PATTERN, ORDER_COLUMN, ROW_PREDICATES, cell_predicate, literal
from schemas.raw_wave import CONTRACT_COLUMNS, CROSS_FIELD_COLUMNS, CROSS_FIELD_INPUTS, REQUIRED_COLUMNS, RawWave

ERROR = "error"
WARNING = "warning"
# How many findings of one rule `validation.json` lists unless every one is asked for.
ITEMS_PER_RULE = 1000
# How many characters of a cell a finding quotes; a longer cell is cut there and its length said.
VALUE_CHARACTERS = 200

# pandera's check name -> the rule name the survey manager reads.
RULE_OF_CHECK = {
    "not_nullable": "required",
    "is_integer": "integer",
    "is_number": "number",
    "within_bounds": "range",
    "is_iso_date": "date",
    "allowed_codes": "allowed_codes",
    "is_identifier": "firm_id_format",
    "unique_firm_id": "duplicate_firm_id",
    "multi_select": "multi_select",
    "q9_skip": "q9_skip",
    "q10_rank_2": "q10_ranking",
    "q10_rank_3": "q10_ranking",
    "q10_other_text": "other_text",
    "q18_other_text": "other_text",
    "q19_skip": "q19_skip",
    "q20_skip": "q20_skip",
}

_SCHEMA = RawWave.to_schema()


@dataclass(frozen=True)
class Finding:
    """One failure, as `validation.json` lists it.

    `value` (and `firm_id`) carry a cell's text bounded by `bounded`: at most
    `VALUE_CHARACTERS` characters, then an ellipsis and the cell's full length, e.g.
    `'xxxx… (1,048,576 characters)'`; the message quotes the same bounded text, and the
    `value` field of `validation.json` (and of `results.json`) carries it as is.
    """

    rule: str
    column: str | None
    row: int | None
    firm_id: str | None
    value: str | None
    message: str
    severity: str = ERROR

    def as_record(self) -> dict:
        record = asdict(self)
        record.pop("severity")
        return record


@dataclass
class Verdict:
    """A wave's failures: the findings listed, and every rule's full count."""

    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __add__(self, other: "Verdict") -> "Verdict":
        counts = dict(self.counts)
        for rule, n in other.counts.items():
            counts[rule] = counts.get(rule, 0) + n
        return Verdict(self.findings + other.findings, counts)

    @classmethod
    def of(cls, findings: list[Finding], items_per_rule: int | None = None) -> "Verdict":
        """Findings found in Python (file-level faults), each rule's listed up to the limit."""
        counts: dict[str, int] = {}
        listed = []
        for finding in findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
            if items_per_rule is None or counts[finding.rule] <= items_per_rule:
                listed.append(finding)
        return cls(listed, counts)


def judge(conn: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
          items_per_rule: int | None = ITEMS_PER_RULE) -> Verdict:
    """Judge every row of `relation` (text columns and `source_row`) by every rule of the model.

    Findings come in file order, at most `items_per_rule` per rule (all when None).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    verdict = Verdict.of([
        Finding("missing_column", column, None, None, None,
                f"The required column '{column}' is missing from the file's header.")
        for column in missing
    ])
    branches = failure_queries(relation, columns)
    conn.execute("create or replace temp table wave_failures as\n" + "\nunion all\n".join(branches))
    counts = dict(conn.execute("select rule, count(*) from wave_failures group by rule").fetchall())
    listed = conn.execute(
        f"""
        select * from wave_failures
        {"" if items_per_rule is None else
         f"qualify row_number() over (partition by rule order by record, position) <= {int(items_per_rule)}"}
        order by record, position, check_name
        """
    ).df()
    rows = context_rows(conn, relation, listed["record"])
    conn.execute("drop table wave_failures")
    return verdict + Verdict([_finding(case, rows) for case in listed.itertuples()], counts)


def failure_queries(relation: str, columns: list[str]) -> list[str]:
    """One query per check of the model on the columns present: the rows that break it."""
    present = set(columns)
    queries = []
    for position, (name, column) in enumerate(_SCHEMA.columns.items()):
        if name not in present:
            continue
        checks = [("not_nullable", {})] if not column.nullable else []
        checks += [(check.name, check.statistics) for check in column.checks]
        for check, statistics in checks:
            queries.append(_failing_rows(relation, check, name, position, cell_predicate(check, name, statistics)))
    for check in _SCHEMA.checks:
        if present >= set(CROSS_FIELD_INPUTS[check.name]):
            column = CROSS_FIELD_COLUMNS[check.name]
            queries.append(_failing_rows(relation, check.name, column, CONTRACT_COLUMNS.index(column),
                                         ROW_PREDICATES[check.name]))
    return queries


def _failing_rows(relation: str, check: str, column: str, position: int, predicate: str) -> str:
    # The predicate sits in the select list, where a window (the duplicate firm id) may stand.
    return (
        f"select record, {literal(RULE_OF_CHECK[check])} as rule, {literal(check)} as check_name, "
        f"{literal(column)} as \"column\", {position} as position "
        f"from (select {ORDER_COLUMN} as record, {predicate} as passed from {relation}) where not passed"
    )


def context_rows(conn: duckdb.DuckDBPyConnection, relation: str, rows: pd.Series) -> pd.DataFrame:
    """The listed rows in full, indexed by record number, for their findings' sentences."""
    conn.register("listed_rows", pd.DataFrame({"row": rows.drop_duplicates().astype("int64")}))
    try:
        frame = conn.execute(
            f"select * from {relation} where {ORDER_COLUMN} in (select row from listed_rows)").df()
    finally:
        conn.unregister("listed_rows")
    return frame.set_index(ORDER_COLUMN)


def validate_rows(rows: pd.DataFrame, items_per_rule: int | None = None) -> list[Finding]:
    """Every rule failure of a frame (indexed by record number), in file order: the model on a frame."""
    frame = rows.rename_axis(ORDER_COLUMN).reset_index().astype(object)
    frame = frame.where(frame.notna(), None)
    with duckdb.connect() as conn:
        conn.register("rows_frame", frame)
        conn.execute("create temp table frame_rows as select * from rows_frame")
        return judge(conn, "frame_rows", [c for c in rows.columns if c in CONTRACT_COLUMNS],
                     items_per_rule).findings


def _finding(case, rows: pd.DataFrame) -> Finding:
    row, column, rule = int(case.record), case.column, case.rule
    record = rows.loc[row]
    value = None if column in codebook.PERSONAL_COLUMNS else _text(record.get(column))
    return Finding(rule, column, row, bounded(_text(record.get("firm_id"))), bounded(value),
                   _sentence(rule, case.check_name, column, value, record))


def bounded(text: str | None, limit: int = VALUE_CHARACTERS) -> str | None:
    """The text if it has at most `limit` characters; else its first `limit` characters, an
    ellipsis and its full length: `'abc… (1,048,576 characters)'`."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def _text(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _statistics(column: str, check: str) -> dict:
    for candidate in _SCHEMA.columns[column].checks:
        if candidate.name == check:
            return candidate.statistics
    return {}


def _sentence(rule: str, check: str, column: str, cell: str | None, row: pd.Series) -> str:
    """The finding's message; it judges by the cell's full text and quotes it bounded."""
    value = bounded(cell)
    shown = f"'{value}'"
    stats = _statistics(column, check)
    if rule == "required":
        return f"{column} is required but the cell is empty."
    if re.fullmatch(INTEGER_PATTERN if rule == "integer" else NUMBER_PATTERN, cell or "") and rule in ("integer", "number"):
        return (f"{column} holds {shown}, a number too large for any answer of this survey "
                f"(at most {LARGEST_NUMBER:.0e}); check for a slipped digit or exponent.")
    if rule == "integer":
        return f"{column} must be a whole number, but the cell holds {shown}."
    if rule == "number":
        return f"{column} must be a number written with a decimal point (e.g. 1250.5), but the cell holds {shown}."
    if rule == "range":
        high = stats.get("high")
        bounds = f"between {stats['low']:g} and {high:g}" if high is not None else f"at least {stats['low']:g}"
        return f"{column} must be {bounds}, but the cell holds {value}."
    if rule == "date":
        return f"{column} must be a real date written YYYY-MM-DD, but the cell holds {shown}."
    if rule == "allowed_codes":
        return f"{column} must be one of {', '.join(stats['codes'])}, but the cell holds {shown}."
    if rule == "firm_id_format":
        return (f"firm_id must be 1 to 32 letters, digits, '_' or '-', starting with a letter or "
                f"digit, but the cell holds {shown}.")
    if rule == "duplicate_firm_id":
        return f"firm_id {shown} was already used by an earlier row; each firm must appear once."
    if rule == "multi_select":
        return (f"{column} must hold at most {stats['most']} different codes separated by spaces, "
                f"each one of {', '.join(stats['codes'])}, but the cell holds {shown}.")
    if rule == "q9_skip":
        if row.get("q6_equipment_installed") == "yes":
            return "q9_introduced_by is required because q6_equipment_installed is 'yes', but the cell is empty."
        return f"q9_introduced_by must be empty because q6_equipment_installed is 'no', but the cell holds {shown}."
    if rule == "q10_ranking":
        return _ranking_sentence(column, row)
    if rule == "other_text":
        asked = "q10_constraint_1 to _3" if column.startswith("q10") else "q18_sources"
        return f"{column} is required because {asked} names 'other', but the cell is empty."
    if rule in ("q19_skip", "q20_skip"):
        if value is None:
            return f"{column} is required because q18_sources names at least one source, but the cell is empty."
        return f"{column} must be empty because q18_sources names no source, but the cell holds {shown}."
    return f"{column} breaks the rule {rule}: {shown}."


def _ranking_sentence(column: str, row: pd.Series) -> str:
    rank = int(column[-1])
    earlier = [row.get(f"q10_constraint_{r}") for r in range(1, rank)]
    if _text(earlier[-1]) is None:
        return f"{column} is filled, but the constraint ranked {rank - 1} is empty; ranks must be filled in order."
    return f"{column} repeats a constraint already ranked higher; the three ranked constraints must differ."
