"""Judge a wave by the pandera model inside DuckDB, and say each failure in one plain sentence.

The model's columns, nullability and checks (with their statistics) are compiled to one SQL
query over the staged rows, each check by its rule's predicate in `rules.py`: every failure
is counted there, and only the listed ones (at most `ITEMS_PER_RULE` per rule unless all
are asked for) come back to Python for their sentences. A finding carries what
`validation.json` promises: rule, column, row (CSV record number), firm_id, value and
message. Personal columns never reach a finding's value. A cell's text is bounded
(`bounded`): a 1 MB cell makes a finding of a few hundred characters, not of 2 MB.
"""

from dataclasses import asdict, dataclass, field

import duckdb
import pandas as pd

from schemas.predicates import ORDER_COLUMN, literal, quoted
from schemas import questionnaire as questionnaires
from schemas.questionnaire import Questionnaire
from schemas.rules import (
    CELL_RULE_OF_CHECK,
    ERROR,
    SEVERITY,
    VALUE_CHARACTERS,
    WARNING,
    Case,
    bounded,
)

__all__ = ["ERROR", "WARNING", "VALUE_CHARACTERS", "ITEMS_PER_RULE", "Finding", "Verdict", "bounded", "judge",
           "validate_rows"]

# How many findings of one rule `validation.json` lists unless every one is asked for.
ITEMS_PER_RULE = 1000



def _default() -> Questionnaire:
    """The newest shipped form: what a frame is judged by when no form is named."""
    return questionnaires.shipped()[-1]


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
          items_per_rule: int | None = ITEMS_PER_RULE, questionnaire: Questionnaire | None = None) -> Verdict:
    """Judge every row of `relation` (text columns and `source_row`) by every rule of the questionnaire's model.

    Findings come in file order, at most `items_per_rule` per rule (all when None).
    """
    questionnaire = questionnaire or _default()
    missing = [c for c in questionnaire.required_columns if c not in columns]
    verdict = Verdict.of([
        Finding("missing_column", column, None, None, None,
                f"The required column '{column}' is missing from the file's header.")
        for column in missing
    ])
    branches = failure_queries(relation, columns, questionnaire)
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
    return verdict + Verdict([_finding(case, rows, questionnaire) for case in listed.itertuples()], counts)


def failure_queries(relation: str, columns: list[str], questionnaire: Questionnaire) -> list[str]:
    """One query per check of the model on the columns present: the rows that break it."""
    present = set(columns)
    queries = []
    for position, (name, column) in enumerate(_schema(questionnaire).columns.items()):
        if name not in present:
            continue
        checks = [("not_nullable", {})] if not column.nullable else []
        checks += [(check.name, check.statistics) for check in column.checks]
        for check, statistics in checks:
            rule = CELL_RULE_OF_CHECK[check]
            queries.append(_failing_rows(relation, rule.name, check, name, position,
                                         rule.predicate(quoted(name), **statistics)))
    # A row rule whose input column is missing is skipped: the missing-column rule reports it instead.
    for rule in questionnaire.row_rules:
        if present >= set(rule.reads):
            queries.append(_failing_rows(relation, rule.name, rule.check, rule.column,
                                         questionnaire.columns.index(rule.column), rule.predicate))
    return queries


def _failing_rows(relation: str, rule: str, check: str, column: str, position: int, predicate: str) -> str:
    # The predicate sits in the select list, where a window (the duplicate firm id) may stand.
    return (
        f"select record, {literal(rule)} as rule, {literal(check)} as check_name, "
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


def validate_rows(rows: pd.DataFrame, items_per_rule: int | None = None,
                  questionnaire: Questionnaire | None = None) -> list[Finding]:
    """Every rule failure of a frame (indexed by record number), in file order: the model on a frame."""
    questionnaire = questionnaire or _default()
    frame = rows.rename_axis(ORDER_COLUMN).reset_index().astype(object)
    frame = frame.where(frame.notna(), None)
    with duckdb.connect() as conn:
        conn.register("rows_frame", frame)
        conn.execute("create temp table frame_rows as select * from rows_frame")
        return judge(conn, "frame_rows", [c for c in rows.columns if c in questionnaire.columns],
                     items_per_rule, questionnaire).findings


def _finding(case, rows: pd.DataFrame, questionnaire: Questionnaire) -> Finding:
    row, column, rule = int(case.record), case.column, case.rule
    record = rows.loc[row]
    value = None if column in questionnaire.personal_columns else _text(record.get(column))
    return Finding(rule, column, row, bounded(_text(record.get("firm_id"))), bounded(value),
                   _sentence(questionnaire, case.check_name, column, value, record), SEVERITY[rule])


def _text(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _schema(questionnaire: Questionnaire):
    return questionnaire.model.to_schema()


def _statistics(questionnaire: Questionnaire, column: str, check: str) -> dict:
    for candidate in _schema(questionnaire).columns[column].checks:
        if candidate.name == check:
            return candidate.statistics
    return {}


def _sentence(questionnaire: Questionnaire, check: str, column: str, cell: str | None, row: pd.Series) -> str:
    """The finding's message, said by its rule's record; it judges by the cell's full text and quotes it bounded."""
    rule = CELL_RULE_OF_CHECK.get(check) or questionnaire.row_rule_of_check[check]
    question = questionnaire.question[column]
    return rule.sentence(Case(column, cell, _statistics(questionnaire, column, check), row, question.label,
                              question.constraint_message))
