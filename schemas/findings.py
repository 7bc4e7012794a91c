"""Turn the raw wave's rule failures into findings: one plain sentence per wrong cell.

A finding carries what `validation.json` promises: rule, column, row (CSV record number),
firm_id, value and message. Personal columns never reach a finding's value.
"""

from dataclasses import asdict, dataclass

import pandas as pd
import pandera.pandas as pa

from schemas import codebook
from schemas.raw_wave import CONTRACT_COLUMNS, CROSS_FIELD_COLUMNS, CROSS_FIELD_INPUTS, REQUIRED_COLUMNS, RawWave

ERROR = "error"
WARNING = "warning"

# pandera's check name (before any parenthesis) -> the rule name the survey manager reads.
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


def validate_rows(rows: pd.DataFrame) -> list[Finding]:
    """Every rule failure of the rows (indexed by record number), all at once, in file order."""
    missing = [c for c in REQUIRED_COLUMNS if c not in rows.columns]
    findings = [
        Finding("missing_column", column, None, None, None,
                f"The required column '{column}' is missing from the file's header.")
        for column in missing
    ]
    complete = rows.reindex(columns=list(dict.fromkeys([*rows.columns, *CONTRACT_COLUMNS])))
    try:
        _SCHEMA.validate(complete, lazy=True)
        return findings
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    cell_findings = [
        finding
        for finding in (_finding_of_case(case, complete, set(missing)) for case in cases.itertuples())
        if finding is not None
    ]
    cell_findings.sort(key=lambda f: (f.row if f.row is not None else -1, CONTRACT_COLUMNS.index(f.column)))
    return findings + list(dict.fromkeys(cell_findings))


def _finding_of_case(case, rows: pd.DataFrame, missing: set[str]) -> Finding | None:
    check = str(case.check).split("(")[0]
    rule = RULE_OF_CHECK.get(check)
    if rule is None or case.index is None or pd.isna(case.index):
        return None
    if check in CROSS_FIELD_COLUMNS:
        column = CROSS_FIELD_COLUMNS[check]
        if missing & set(CROSS_FIELD_INPUTS[check]):
            return None
    else:
        column = str(case.column)
    if column in missing:
        return None
    row = int(case.index)
    value = None if column in codebook.PERSONAL_COLUMNS else _text(rows.at[row, column])
    firm_id = _text(rows.at[row, "firm_id"]) if "firm_id" in rows.columns else None
    return Finding(rule, column, row, firm_id, value, _sentence(rule, check, column, value, rows.loc[row]))


def _text(value) -> str | None:
    return None if pd.isna(value) else str(value)


def _statistics(column: str, check: str) -> dict:
    for candidate in _SCHEMA.columns[column].checks:
        if candidate.name == check:
            return candidate.statistics
    return {}


def _sentence(rule: str, check: str, column: str, value: str | None, row: pd.Series) -> str:
    shown = f"'{value}'"
    stats = _statistics(column, check)
    if rule == "required":
        return f"{column} is required but the cell is empty."
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
    if pd.isna(earlier[-1]):
        return f"{column} is filled, but the constraint ranked {rank - 1} is empty; ranks must be filled in order."
    return f"{column} repeats a constraint already ranked higher; the three ranked constraints must differ."
