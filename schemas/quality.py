"""High-frequency data-quality checks: findings that warn the survey manager but never block.

They follow the practice of survey teams' daily checks: outliers within a firm's cluster,
interview dates far from the wave's, the same answers under two firm ids, answers that
contradict each other, columns outside the questionnaire (reported by the intake).
"""

import pandas as pd

from schemas import codebook
from schemas.findings import WARNING, Finding
from schemas.raw_wave import CONTRACT_COLUMNS

# Outside Q1 - 3 IQR .. Q3 + 3 IQR of the firm's cluster ("far out" in Tukey's terms).
FENCE_IQR = 3.0
# Quartiles of fewer firms than this say too little to call anyone an outlier.
MIN_CLUSTER_FIRMS = 4
MAX_DAYS_FROM_MEDIAN = 90
OUTLIER_COLUMNS = {
    "employees": "employees",
    "turnover_kvnd": "turnover (thousand VND)",
    "q7_capital_cost_mvnd": "capital cost of pollution control (million VND)",
    "q8_om_cost_mvnd": "operation and maintenance cost (million VND)",
}
# Costs are zero for every firm without equipment; among those zeros any spender would look
# extreme, so cost outliers are judged among the firms that report a cost.
POSITIVE_ONLY = {"q7_capital_cost_mvnd", "q8_om_cost_mvnd"}
# Columns that say who and when, not what was answered.
NOT_ANSWERS = {"firm_id", "interview_date", "notes", *codebook.PERSONAL_COLUMNS}


def quality_warnings(rows: pd.DataFrame) -> list[Finding]:
    """Every data-quality warning of the rows (indexed by record number)."""
    return [
        *_outliers(rows),
        *_far_interview_dates(rows),
        *_duplicate_answers(rows),
        *_own_complaint_without_village_complaints(rows),
    ]


def _number(rows: pd.DataFrame, column: str) -> pd.Series:
    if column not in rows.columns:
        return pd.Series(float("nan"), index=rows.index)
    return pd.to_numeric(rows[column], errors="coerce")


def _outliers(rows: pd.DataFrame) -> list[Finding]:
    if "cluster" not in rows.columns:
        return []
    measures = {column: _number(rows, column) for column in OUTLIER_COLUMNS}
    employees = measures["employees"]
    measures["turnover_per_employee"] = measures["turnover_kvnd"] / employees.where(employees > 0)
    findings = []
    for column, values in measures.items():
        if column in POSITIVE_ONLY:
            values = values.where(values > 0)
        grouped = values.groupby(rows["cluster"])
        q1 = rows["cluster"].map(grouped.quantile(0.25))
        q3 = rows["cluster"].map(grouped.quantile(0.75))
        counted = rows["cluster"].map(grouped.count())
        low, high = q1 - FENCE_IQR * (q3 - q1), q3 + FENCE_IQR * (q3 - q1)
        outside = (counted >= MIN_CLUSTER_FIRMS) & ((values < low) | (values > high))
        for row in rows.index[outside.fillna(False)]:
            findings.append(_outlier_finding(rows, row, column, values[row], low[row], high[row]))
    return findings


def _outlier_finding(rows, row, column, value, low, high) -> Finding:
    reported = "turnover_kvnd" if column == "turnover_per_employee" else column
    what = "turnover per employee (thousand VND)" if column == "turnover_per_employee" else OUTLIER_COLUMNS[column]
    cluster = rows.at[row, "cluster"]
    return Finding(
        "outlier", reported, int(row), _text(rows, row, "firm_id"), _text(rows, row, reported),
        f"The {what} of {_amount(value)} lies far outside what other firms in "
        f"{codebook.CLUSTER_NAMES.get(cluster, cluster)} report ({_amount(max(low, 0))} to {_amount(high)}); "
        "please confirm it with the interviewer.",
        WARNING,
    )


def _amount(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _far_interview_dates(rows: pd.DataFrame) -> list[Finding]:
    if "interview_date" not in rows.columns:
        return []
    dates = pd.to_datetime(rows["interview_date"], format="%Y-%m-%d", errors="coerce")
    if dates.notna().sum() == 0:
        return []
    median = dates.dropna().sort_values().iloc[(dates.notna().sum() - 1) // 2]
    distance = (dates - median).dt.days.abs()
    return [
        Finding("interview_date_far", "interview_date", int(row), _text(rows, row, "firm_id"),
                _text(rows, row, "interview_date"),
                f"The interview date is {int(distance[row])} days from the wave's median interview date "
                f"({median:%Y-%m-%d}); check that it belongs to this wave.", WARNING)
        for row in rows.index[(distance > MAX_DAYS_FROM_MEDIAN).fillna(False)]
    ]


def _duplicate_answers(rows: pd.DataFrame) -> list[Finding]:
    answers = [c for c in CONTRACT_COLUMNS if c in rows.columns and c not in NOT_ANSWERS]
    if not answers or "firm_id" not in rows.columns:
        return []
    # One 64-bit hash per row of answers; the few rows whose hash repeats are then compared in full.
    keys = pd.util.hash_pandas_object(rows[answers].fillna(""), index=False)
    first_row = pd.Series(rows.index, index=rows.index).groupby(keys.to_numpy()).transform("first")
    repeated = [row for row in rows.index[keys.duplicated(keep="first").to_numpy()]
                if rows.loc[row, answers].fillna("").equals(rows.loc[first_row[row], answers].fillna(""))]
    return [
        Finding("duplicate_answers", "firm_id", int(row), _text(rows, row, "firm_id"), _text(rows, row, "firm_id"),
                f"Every answer is identical to those of firm {rows.at[first_row[row], 'firm_id']} "
                f"(row {int(first_row[row])}); was one firm entered twice under two ids?", WARNING)
        for row in repeated
    ]


def _own_complaint_without_village_complaints(rows: pd.DataFrame) -> list[Finding]:
    if not {"q3_complaints_village", "q4_complaint_own"} <= set(rows.columns):
        return []
    odd = (rows["q4_complaint_own"] == "yes") & (rows["q3_complaints_village"] == "no")
    return [
        Finding("q4_without_q3", "q4_complaint_own", int(row), _text(rows, row, "firm_id"), "yes",
                "A complaint was made about the firm's own plant (q4 yes), yet the respondent knows of no "
                "complaints in the village (q3 no); one of the two answers may be wrong.", WARNING)
        for row in rows.index[odd.fillna(False)]
    ]


def _text(rows: pd.DataFrame, row, column: str) -> str | None:
    if column not in rows.columns or pd.isna(rows.at[row, column]):
        return None
    return str(rows.at[row, column])
