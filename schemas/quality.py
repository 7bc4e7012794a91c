"""High-frequency data-quality checks: findings that warn the survey manager but never block.

They follow the practice of survey teams' daily checks: outliers within a firm's cluster,
interview dates far from the wave's, the same answers under two firm ids, columns outside
the questionnaire (reported by the intake). Answers that contradict each other are row
rules of `rules.py` with a warning's severity. Each is
one SQL query over the staged rows; only the listed warnings come back for their sentences.
"""

import duckdb
import pandas as pd

from schemas.findings import ITEMS_PER_RULE, WARNING, Finding, Verdict
from schemas.predicates import ORDER_COLUMN, date_of, datetime_of, literal, number_of, quoted
from schemas.questionnaire import CONTRACT_COLUMNS, PERSONAL_COLUMNS, project

# Outside Q1 - 3 IQR .. Q3 + 3 IQR of the firm's cluster ("far out" in Tukey's terms).
FENCE_IQR = 3.0
# Quartiles of fewer firms than this say too little to call anyone an outlier.
MIN_CLUSTER_FIRMS = 4
MAX_DAYS_FROM_MEDIAN = 90
OUTLIER_COLUMNS = {
    "employees": "number of employees",
    "turnover_kvnd": "turnover (thousand VND)",
    "q7_capital_cost_mvnd": "capital cost of pollution control (million VND)",
    "q8_om_cost_mvnd": "operation and maintenance cost (million VND)",
}
# Costs are zero for every firm without equipment; among those zeros any spender would look
# extreme, so cost outliers are judged among the firms that report a cost.
POSITIVE_ONLY = {"q7_capital_cost_mvnd", "q8_om_cost_mvnd"}
PER_EMPLOYEE = "turnover_per_employee"
# Columns that say who and when, not what was answered.
NOT_ANSWERS = {"firm_id", "interview_date", "notes", "interviewer_id", "interview_start", "interview_end",
               *PERSONAL_COLUMNS}


def quality_warnings(conn: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
                     items_per_rule: int | None = ITEMS_PER_RULE) -> Verdict:
    """Every data-quality warning of `relation` (text columns and `source_row`), counted in full."""
    present = set(columns)
    firm_id = quoted("firm_id") if "firm_id" in present else "null"
    verdict = Verdict()
    for rule, query, sentence in (
        ("outlier", _outlier_query(relation, present), _outlier_finding),
        ("interview_date_far", _far_date_query(relation, present, firm_id), _far_date_finding),
        ("duplicate_answers", _duplicate_query(relation, present), _duplicate_finding),
        ("interview_duration", _duration_query(relation, present, firm_id), _duration_finding),
    ):
        if query is None:
            continue
        conn.execute(f"create or replace temp table wave_warnings as {query}")
        count = conn.execute("select count(*) from wave_warnings").fetchall()[0][0]
        limit = "" if items_per_rule is None else f"limit {int(items_per_rule)}"
        listed = conn.execute(f"select * from wave_warnings order by record {limit}").df()
        conn.execute("drop table wave_warnings")
        if count:
            verdict = verdict + Verdict([sentence(row) for row in listed.itertuples()], {rule: count})
    return verdict


def _duration_query(relation: str, present: set[str], firm_id: str) -> str | None:
    """Interviews far shorter or longer than the wave's (the same IQR fence, over the whole wave): a rushed or
    invented interview is likelier than a real one of five minutes."""
    if not {"interview_start", "interview_end"} <= present:
        return None
    start, end = datetime_of(quoted("interview_start")), datetime_of(quoted("interview_end"))
    return f"""
        with timed as (
            select {ORDER_COLUMN} as record, {firm_id} as firm_id, interview_start, interview_end,
                   date_diff('second', {start}, {end}) / 60.0 as minutes
            from {relation}
            where {start} is not null and {end} is not null and {end} > {start}
        ),
        fences as (
            select count(*) as interviews, quantile_cont(minutes, 0.25) as q1, quantile_cont(minutes, 0.75) as q3
            from timed
        )
        select record, firm_id, interview_start, interview_end, minutes,
               greatest(q1 - {FENCE_IQR} * (q3 - q1), 0) as low, q3 + {FENCE_IQR} * (q3 - q1) as high
        from timed, fences
        where interviews >= {MIN_CLUSTER_FIRMS}
          and (minutes < q1 - {FENCE_IQR} * (q3 - q1) or minutes > q3 + {FENCE_IQR} * (q3 - q1))
    """


def _duration_finding(row) -> Finding:
    return Finding(
        "interview_duration", "interview_end", int(row.record), _text(row.firm_id), _text(row.interview_end),
        f"The interview lasted {_amount(row.minutes)} minutes ({row.interview_start} to {row.interview_end}), far "
        f"outside the wave's usual {_amount(row.low)} to {_amount(row.high)} minutes; check with the interviewer "
        "that it was held in full.", WARNING)


def _outlier_query(relation: str, present: set[str]) -> str | None:
    if "cluster" not in present:
        return None
    # Only cells the number rule accepts: an overflowing one would make every firm an outlier.
    amounts = {column: number_of(quoted(column)) for column in OUTLIER_COLUMNS if column in present}
    if {"turnover_kvnd", "employees"} <= present:
        amounts[PER_EMPLOYEE] = (f"{amounts['turnover_kvnd']} / "
                                 f"case when {amounts['employees']} > 0 then {amounts['employees']} end")
    if not amounts:
        return None
    measures = []
    for measure, amount in amounts.items():
        if measure in POSITIVE_ONLY:
            amount = f"case when {amount} > 0 then {amount} end"
        measures.append(f"select {ORDER_COLUMN} as record, cluster, {literal(measure)} as measure, {amount} as amount "
                        f"from {relation} where cluster is not null")
    reported = {measure: "turnover_kvnd" if measure == PER_EMPLOYEE else measure for measure in amounts}
    value = "case measure " + " ".join(f"when {literal(m)} then rows.{quoted(c)}" for m, c in reported.items()) + " end"
    column = "case measure " + " ".join(f"when {literal(m)} then {literal(c)}" for m, c in reported.items()) + " end"
    return f"""
        with measured as ({" union all ".join(measures)}),
        fences as (
            select cluster, measure, count(amount) as firms,
                   quantile_cont(amount, 0.25) as q1, quantile_cont(amount, 0.75) as q3
            from measured group by cluster, measure
        ),
        outliers as (
            select record, cluster, measure, amount,
                   q1 - {FENCE_IQR} * (q3 - q1) as low, q3 + {FENCE_IQR} * (q3 - q1) as high
            from measured join fences using (cluster, measure)
            where firms >= {MIN_CLUSTER_FIRMS}
              and (amount < q1 - {FENCE_IQR} * (q3 - q1) or amount > q3 + {FENCE_IQR} * (q3 - q1))
        )
        select outliers.*, {"rows.firm_id" if "firm_id" in present else "null"} as firm_id,
               {column} as reported, {value} as value
        from outliers join {relation} as rows on rows.{ORDER_COLUMN} = outliers.record
    """


def _outlier_finding(row) -> Finding:
    what = "turnover per employee (thousand VND)" if row.measure == PER_EMPLOYEE else OUTLIER_COLUMNS[row.measure]
    return Finding(
        "outlier", row.reported, int(row.record), _text(row.firm_id), _text(row.value),
        f"The {what}, {_amount(row.amount)}, lies far outside what other firms in "
        f"{project().question['cluster'].choice_label(row.cluster)} report "
        f"({_amount(max(row.low, 0))} to {_amount(row.high)}); please confirm it with the interviewer.",
        WARNING,
    )


def _far_date_query(relation: str, present: set[str], firm_id: str) -> str | None:
    if "interview_date" not in present:
        return None
    return f"""
        with dated as (
            select {ORDER_COLUMN} as record, {firm_id} as firm_id, interview_date as value,
                   {date_of("interview_date")} as day
            from {relation}
        ),
        wave as (select quantile_disc(day, 0.5) as median_day from dated)
        select record, firm_id, value, median_day, abs(date_diff('day', median_day, day)) as distance
        from dated, wave
        where abs(date_diff('day', median_day, day)) > {MAX_DAYS_FROM_MEDIAN}
    """


def _far_date_finding(row) -> Finding:
    return Finding(
        "interview_date_far", "interview_date", int(row.record), _text(row.firm_id), _text(row.value),
        f"The interview date is {int(row.distance)} days from the wave's median interview date "
        f"({row.median_day:%Y-%m-%d}); check that it belongs to this wave.", WARNING)


def _duplicate_query(relation: str, present: set[str]) -> str | None:
    answers = [quoted(c) for c in CONTRACT_COLUMNS if c in present and c not in NOT_ANSWERS]
    if not answers or "firm_id" not in present:
        return None
    # One 64-bit hash per row of answers finds the candidates; the answers are then compared
    # in full with the first row of the same hash, so a collision reports nothing false.
    same = " and ".join(f"this.{column} is not distinct from first.{column}" for column in answers)
    return f"""
        with keyed as (
            select {ORDER_COLUMN} as record, hash({", ".join(answers)}) as answers_hash from {relation}
        ),
        repeated as (
            select answers_hash, min(record) as first_record from keyed
            group by answers_hash having count(*) > 1
        ),
        candidates as (
            select keyed.record, repeated.first_record
            from keyed join repeated using (answers_hash)
            where keyed.record > repeated.first_record
        )
        select candidates.record, this.firm_id, candidates.first_record, first.firm_id as first_firm_id
        from candidates
        join {relation} as this on this.{ORDER_COLUMN} = candidates.record
        join {relation} as first on first.{ORDER_COLUMN} = candidates.first_record
        where {same}
    """


def _duplicate_finding(row) -> Finding:
    return Finding(
        "duplicate_answers", "firm_id", int(row.record), _text(row.firm_id), _text(row.firm_id),
        f"Every answer is identical to those of firm {row.first_firm_id} (row {int(row.first_record)}); "
        "was one firm entered twice under two ids?", WARNING)


def _amount(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _text(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)
