"""High-frequency data-quality checks: findings that warn the survey manager but never block.

They follow the practice of survey teams' daily checks: outliers within a firm's cluster,
interview dates far from the wave's, the same answers under two firm ids, columns outside
the questionnaire (reported by the intake). Answers that contradict each other are row
rules of `rules.py` with a warning's severity. Each is
one SQL query over the staged rows; only the listed warnings come back for their sentences.

Per interviewer (when the wave names them) three shares are compared with the other
interviewers': of their records with a finding, of their answers that are 'other', of the
optional questions they left empty (`interviewer_warnings`, figures by `interviewer_figures`).
"""

import re

import duckdb
import pandas as pd

from schemas import questionnaire as questionnaires
from schemas.findings import ITEMS_PER_RULE, WARNING, Finding, Verdict, bounded, failure_queries
from schemas.predicates import ORDER_COLUMN, date_of, datetime_of, has_text, literal, names_code, number_of, quoted
from schemas.questionnaire import CONTRACT_COLUMNS, PERSONAL_COLUMNS, Questionnaire, project
from schemas.rules import FORM_RULE_NAMES

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

# Per interviewer, a share far above the other interviewers' (above Q3 + FENCE_IQR IQR of theirs, the rule of the
# interview durations) is a warning. Each interviewer is compared with the others only: among a dozen interviewers
# one far off stretches the quartiles it would be judged by (with four, it could never lie above them).
# Quartiles of fewer interviewers than this (each compared with at least three others) say too little.
MIN_INTERVIEWERS = 4
# A share of fewer interviews (or answers) than this moves by 20 points or more with one of them: such an
# interviewer is neither judged nor counted among the others, for that share.
MIN_INTERVIEWS = 5
# Where nearly every interviewer's share is 0, so is the fence, and one 'other' among 10 answers would be "far
# above"; a share is far above only when it also lies more than this (10 percentage points) above the others' median.
MIN_SHARE_ABOVE_MEDIAN = 0.10
# Shares and fences are sums of floating-point numbers: a share equal to the fence (or to the median and the
# margin) in exact arithmetic must not pass it by a rounding error.
_ROUNDING = 1e-9


def quality_warnings(conn: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
                     items_per_rule: int | None = ITEMS_PER_RULE, questionnaire: Questionnaire | None = None,
                     judged: Verdict | None = None) -> Verdict:
    """Every data-quality warning of `relation` (text columns and `source_row`), counted in full.

    `questionnaire` is the form the wave is judged by (the newest shipped one when None): the per-interviewer
    warnings count the records with a finding of its rules, its 'other' choices and its optional questions.
    `judged` is `findings.judge`'s verdict on the same relation by that form, whose rows spare judging the wave
    again for the records with a finding (see `interviewer_figures`).
    """
    verdict = Verdict()
    conn.execute("create or replace temp table warned_records (record bigint)")
    for rule, query, sentence in _warning_queries(relation, set(columns)):
        conn.execute(f"create or replace temp table wave_warnings as {query}")
        count = conn.execute("select count(*) from wave_warnings").fetchall()[0][0]
        limit = "" if items_per_rule is None else f"limit {int(items_per_rule)}"
        # A record may carry several warnings of a rule (outliers of two measures): every column breaks the tie, so
        # that a wave of millions, judged on several threads, lists them in one order on every run.
        listed = conn.execute(f"select * from wave_warnings order by record, columns(*) {limit}").df()
        conn.execute("insert into warned_records select distinct record from wave_warnings")
        conn.execute("drop table wave_warnings")
        if count:
            verdict = verdict + Verdict([sentence(row) for row in listed.itertuples()], {rule: count})
    try:
        return verdict + interviewer_warnings(conn, relation, columns, items_per_rule, questionnaire, "warned_records",
                                              judged)
    finally:
        conn.execute("drop table warned_records")


def _warning_queries(relation: str, present: set[str]) -> list[tuple[str, str, object]]:
    """Each warning rule of this module that the columns present allow: (rule, the query of its rows, its sentence)."""
    firm_id = quoted("firm_id") if "firm_id" in present else "null"
    return [(rule, query, sentence) for rule, query, sentence in (
        ("outlier", _outlier_query(relation, present), _outlier_finding),
        ("interview_date_far", _far_date_query(relation, present, firm_id), _far_date_finding),
        ("duplicate_answers", _duplicate_query(relation, present), _duplicate_finding),
        ("interview_duration", _duration_query(relation, present, firm_id), _duration_finding),
    ) if query is not None]


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


# The per-interviewer warnings: (rule, the figure counted, the figure it is counted of, the sentence's words).
INTERVIEWER_MEASURES = (
    ("interviewer_findings", "records_with_findings", "records",
     lambda n, of: f"has at least one finding in {n:,} of {of:,} records",
     "go through these records with the interviewer and retrain where the same mistake repeats."),
    ("interviewer_other_answers", "other_answers", "select_answers",
     lambda n, of: f"recorded 'other' in {n:,} of {of:,} answers to questions that offer it",
     "check whether the choices were read out."),
    ("interviewer_skipped_optional", "skipped_optional", "optional_asked",
     lambda n, of: f"left {n:,} of {of:,} optional questions unanswered",
     "check whether the optional questions were asked."),
)
INTERVIEWER_FIGURES = ("records", "records_with_findings", "other_answers", "select_answers", "skipped_optional",
                       "optional_asked")


def other_choices(questionnaire: Questionnaire) -> dict[str, tuple[str, ...]]:
    """The 'other' choices of the select questions, by question: the choices whose text an `other_text` question
    asks for (its relevance names them, `selected(${q10_constraint_1}, 'other')`), and any choice coded `other`."""
    chosen: dict[str, set[str]] = {}
    for question in questionnaire.questions:
        if FORM_RULE_NAMES.get(question.name) == "other_text":
            for name, code in re.findall(r"selected\(\s*\$\{(\w+)\}\s*,\s*'([^']*)'\s*\)", question.relevant):
                chosen.setdefault(name, set()).add(code)
    for question in questionnaire.questions:
        if question.kind in ("select_one", "select_multiple") and "other" in question.codes:
            chosen.setdefault(question.name, set()).add("other")
    return {name: tuple(code for code in questionnaire.question[name].codes if code in codes)
            for name, codes in chosen.items()
            if name in questionnaire.question and questionnaire.question[name].kind in ("select_one", "select_multiple")}


def optional_questions(questionnaire: Questionnaire) -> tuple[str, ...]:
    """The answers a firm may leave empty whatever it answered before: not required, asked without a condition."""
    return tuple(question.name for question in questionnaire.questions
                 if not question.required and not question.relevant and not question.personal
                 and question.name not in NOT_ANSWERS)


def interviewer_figures(conn: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
                        questionnaire: Questionnaire | None = None, warned_records: str | None = None,
                        judged: Verdict | None = None, with_findings: bool = True) -> pd.DataFrame:
    """Per interviewer id of `relation` (text columns and `source_row`), ordered by id: `INTERVIEWER_FIGURES`.

    A record with a finding breaks a rule of the questionnaire or is warned about by a check of this module.
    The first are the rows of `judged` (`findings.judge`'s verdict) when it lists every finding it counts, else
    the wave is judged again here (a rule failing in more records than a verdict lists must not make an
    interviewer look cleaner); the second are the records of `warned_records` (a table of `record`s) when given,
    else those checks are run here. Without `with_findings` the records with a finding are not counted (nor
    judged: the field workbook counts them over the findings it lists). Empty (no rows) when the wave has no
    interviewer_id column or no ids.
    """
    figures = [figure for figure in INTERVIEWER_FIGURES if with_findings or figure != "records_with_findings"]
    if "interviewer_id" not in columns:
        return pd.DataFrame(columns=["interviewer_id", *figures])
    questionnaire = questionnaire or questionnaires.shipped()[-1]
    present = set(columns)
    candidates = sorted(present & ({*other_choices(questionnaire), *optional_questions(questionnaire)}))
    # A question nobody answered was not asked in this wave (another form's, or a column the file left out): it
    # would count as skipped by every interviewer alike.
    answered = dict(zip(candidates, conn.execute(
        f"select {', '.join(f'coalesce(bool_or({has_text(quoted(name))}), false)' for name in candidates)} "
        f"from {relation}").fetchall()[0])) if candidates else {}
    others = {name: codes for name, codes in other_choices(questionnaire).items() if answered.get(name)}
    optional = [name for name in optional_questions(questionnaire) if answered.get(name)]
    other = " + ".join(f"({' or '.join(names_code(quoted(name), code) for code in codes)})::integer"
                       for name, codes in others.items()) or "0"
    offered = " + ".join(f"({has_text(quoted(name))})::integer" for name in others) or "0"
    skipped = " + ".join(f"(not {has_text(quoted(name))})::integer" for name in optional) or "0"
    counted = ""
    if with_findings:
        flagged = " union ".join(_records_with_findings(conn, relation, columns, questionnaire, warned_records, judged))
        counted = (f"count(*) filter (where {ORDER_COLUMN} in ({flagged})) as records_with_findings," if flagged
                   else "0 as records_with_findings,")
    try:
        return conn.execute(f"""
            select interviewer_id, count(*) as records, {counted}
                   sum({other}) as other_answers, sum({offered}) as select_answers,
                   sum({skipped}) as skipped_optional, count(*) * {len(optional)} as optional_asked
            from {relation}
            where {has_text(quoted("interviewer_id"))}
            group by interviewer_id
            order by interviewer_id
        """).df().astype({figure: "int64" for figure in figures})
    finally:
        conn.execute(f"drop table if exists {_JUDGED_RECORDS}")


_JUDGED_RECORDS = "interviewer_judged_records"


def _records_with_findings(conn: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
                           questionnaire: Questionnaire, warned_records: str | None,
                           judged: Verdict | None) -> list[str]:
    """The queries of the records with a finding (see `interviewer_figures`); the judged rows go to a temp table."""
    present = set(columns)
    if judged is not None and all(sum(finding.rule == rule for finding in judged.findings) == count
                                  for rule, count in judged.counts.items()):
        rows = sorted({finding.row for finding in judged.findings if finding.row is not None})
        conn.execute(f"create or replace temp table {_JUDGED_RECORDS} as select unnest($rows::bigint[]) as record",
                     {"rows": rows})
        flagged = [f"select record from {_JUDGED_RECORDS}"]
    else:
        flagged = [f"select record from ({query})" for query in failure_queries(relation, columns, questionnaire)]
    if warned_records is not None:
        return [*flagged, f"select record from {warned_records}"]
    return flagged + [f"select record from ({query})" for _, query, _ in _warning_queries(relation, present)]


def interviewer_warnings(conn: duckdb.DuckDBPyConnection, relation: str, columns: list[str],
                         items_per_rule: int | None = ITEMS_PER_RULE, questionnaire: Questionnaire | None = None,
                         warned_records: str | None = None, judged: Verdict | None = None) -> Verdict:
    """The interviewers whose share of records with a finding, of 'other' answers or of skipped optional questions
    lies far above the other interviewers' (`MIN_INTERVIEWERS`, `MIN_INTERVIEWS`, `MIN_SHARE_ABOVE_MEDIAN`)."""
    if "interviewer_id" not in columns:
        return Verdict()
    interviewers = conn.execute(f"""
        select count(*) from (select interviewer_id from {relation} where {has_text(quoted("interviewer_id"))}
                              group by interviewer_id having count(*) >= {MIN_INTERVIEWS})
    """).fetchall()[0][0]
    if interviewers < MIN_INTERVIEWERS:
        return Verdict()
    figures = interviewer_figures(conn, relation, columns, questionnaire, warned_records, judged)
    conn.register("interviewer_figures_frame", figures)
    verdict = Verdict()
    try:
        for rule, counted, of, said, action in INTERVIEWER_MEASURES:
            warned = conn.execute(f"""
                with shares as (
                    select interviewer_id, {counted} as counted, {of} as total, {counted} / {of} as share
                    from interviewer_figures_frame where records >= {MIN_INTERVIEWS} and {of} >= {MIN_INTERVIEWS}
                ),
                fences as (
                    select this.interviewer_id, count(*) as others, quantile_cont(other.share, 0.25) as q1,
                           quantile_cont(other.share, 0.5) as median, quantile_cont(other.share, 0.75) as q3
                    from shares as this join shares as other on other.interviewer_id <> this.interviewer_id
                    group by this.interviewer_id
                )
                select interviewer_id, counted, total, share, median, q3 + {FENCE_IQR} * (q3 - q1) as fence
                from shares join fences using (interviewer_id)
                where others >= {MIN_INTERVIEWERS - 1}
                  and share > q3 + {FENCE_IQR} * (q3 - q1) + {_ROUNDING}
                  and share > median + {MIN_SHARE_ABOVE_MEDIAN} + {_ROUNDING}
                order by interviewer_id
            """).df()
            if len(warned):
                listed = warned if items_per_rule is None else warned.head(int(items_per_rule))
                verdict = verdict + Verdict([_interviewer_finding(rule, row, said, action)
                                             for row in listed.itertuples()], {rule: len(warned)})
    finally:
        conn.unregister("interviewer_figures_frame")
    return verdict


def _interviewer_finding(rule: str, row, said, action: str) -> Finding:
    share, median, fence = _percents(row.share, row.median, row.fence)
    interviewer = bounded(str(row.interviewer_id))
    return Finding(
        rule, "interviewer_id", None, None, interviewer,
        f"Interviewer {interviewer} {said(int(row.counted), int(row.total))} ({share}), far above the other "
        f"interviewers (median {median}, fence {fence}): {action}", WARNING)


def _percents(share: float, *others: float) -> tuple[str, ...]:
    """Shares as English percentages (35%, no space, as the report writes them), with a decimal when a whole
    number would make the share look equal to the fence it lies above."""
    digits = 1 if any(f"{share:.0%}" == f"{other:.0%}" for other in others) else 0
    return tuple(f"{value:.{digits}%}" for value in (share, *others))


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
