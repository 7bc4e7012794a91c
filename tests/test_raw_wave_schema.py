"""The pandera model of the raw wave, on small frames: each rule names its rule, column and row.

The warehouse judges waves by the model compiled to SQL; the last test holds it to pandera.
"""

import pandas as pd
import pandera.pandas as pa
import pytest

from schemas.findings import validate_rows
from schemas.questionnaire import CONTRACT_COLUMNS, shipped

RawWave = shipped()[-1].model
from schemas.rules import CELL_RULE_OF_CHECK


def frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as the intake stages them: text cells, empty as missing, indexed by record number."""
    data = pd.DataFrame(rows, columns=list(CONTRACT_COLUMNS)).replace({"": None})
    data.index = range(1, len(rows) + 1)
    return data.astype("str")


def findings_for(rows):
    return [(f.rule, f.column, f.row) for f in validate_rows(frame(rows))]


def test_a_valid_wave_has_no_findings(small_wave):
    assert validate_rows(frame(small_wave)) == []


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("q1_noise", "11", "range"),
        ("q1_air", "0", "range"),
        ("export_share_pct", "100.5", "range"),
        ("employees", "-1", "range"),
        ("employees", "4.5", "integer"),
        ("turnover_kvnd", "1,5", "number"),
        ("turnover_kvnd", "", "required"),
        ("interview_date", "2007-02-30", "date"),
        ("interview_date", "30/09/2007", "date"),
        ("cluster", "hanoi", "allowed_codes"),
        ("q3_complaints_village", "Yes", "allowed_codes"),
        ("firm_id", "-BT1", "firm_id_format"),
        ("firm_id", "x" * 33, "firm_id_format"),
        ("q18_sources", "buyers tv", "multi_select"),
        ("q18_sources", "buyers suppliers government consultants", "multi_select"),
        ("q21_partner_locations", "abroad abroad", "multi_select"),
    ],
)
def test_a_wrong_cell_is_reported_once_by_its_rule(small_wave, column, value, rule):
    rows = [dict(r) for r in small_wave]
    rows[2][column] = value
    if column == "q18_sources":
        rows[2]["q19_partner_importance"], rows[2]["q20_initiator"] = "7", "both"
    assert findings_for(rows) == [(rule, column, 3)]


def test_a_duplicate_firm_id_is_reported_on_every_later_occurrence(small_wave):
    rows = [dict(r) for r in small_wave]
    rows[4]["firm_id"] = rows[7]["firm_id"] = rows[0]["firm_id"]
    assert findings_for(rows) == [("duplicate_firm_id", "firm_id", 5), ("duplicate_firm_id", "firm_id", 8)]


def test_q9_must_follow_q6(small_wave):
    rows = [dict(r) for r in small_wave]
    adopter = next(i for i, r in enumerate(rows) if r["q6_equipment_installed"] == "yes")
    non_adopter = next(i for i, r in enumerate(rows) if r["q6_equipment_installed"] == "no")
    rows[adopter]["q9_introduced_by"] = ""
    rows[non_adopter]["q9_introduced_by"] = "university"
    assert sorted(findings_for(rows)) == sorted(
        [("q9_skip", "q9_introduced_by", adopter + 1), ("q9_skip", "q9_introduced_by", non_adopter + 1)])


def test_q10_ranks_are_filled_in_order_and_distinct(small_wave):
    rows = [dict(r) for r in small_wave]
    rows[0].update(q10_constraint_1="", q10_constraint_2="capital", q10_constraint_3="", q10_other_text="")
    rows[1].update(q10_constraint_1="capital", q10_constraint_2="market", q10_constraint_3="capital", q10_other_text="")
    assert findings_for(rows) == [("q10_ranking", "q10_constraint_2", 1), ("q10_ranking", "q10_constraint_3", 2)]


def test_other_needs_its_text(small_wave):
    rows = [dict(r) for r in small_wave]
    rows[0].update(q10_constraint_1="other", q10_constraint_2="", q10_constraint_3="", q10_other_text=" ")
    rows[1].update(q18_sources="other", q18_other_text="", q19_partner_importance="5", q20_initiator="both")
    assert findings_for(rows) == [("other_text", "q10_other_text", 1), ("other_text", "q18_other_text", 2)]


def test_q19_and_q20_follow_q18(small_wave):
    rows = [dict(r) for r in small_wave]
    rows[0].update(q18_sources="buyers", q18_other_text="", q19_partner_importance="", q20_initiator="partner")
    rows[1].update(q18_sources="", q18_other_text="", q19_partner_importance="4", q20_initiator="")
    assert findings_for(rows) == [("q19_skip", "q19_partner_importance", 1), ("q19_skip", "q19_partner_importance", 2)]


def test_a_missing_column_is_reported_under_its_name_and_silences_rules_that_need_it(small_wave):
    data = frame(small_wave).drop(columns=["q6_equipment_installed", "notes", "respondent_name"])
    findings = validate_rows(data)
    assert [(f.rule, f.column, f.row) for f in findings] == [("missing_column", "q6_equipment_installed", None)]


def test_every_failure_is_reported_at_once(small_wave):
    rows = [dict(r) for r in small_wave]
    for row in rows:
        row["q1_noise"] = "12"
    rows[3]["cluster"] = "elsewhere"
    findings = findings_for(rows)
    assert len(findings) == len(rows) + 1


def test_personal_columns_never_appear_in_a_finding(small_wave):
    rows = [dict(r) for r in small_wave]
    rows[0].update(respondent_name="MARKER-NAME", respondent_phone="MARKER-PHONE", q1_noise="99")
    messages = " ".join(str(f) for f in validate_rows(frame(rows)))
    assert "MARKER" not in messages


def test_pandera_on_a_frame_finds_what_the_warehouse_finds(small_wave):
    rows = [dict(r) for r in small_wave]
    rows[0].update(q1_noise="11", employees="4.5", interview_date="2007-02-30")
    rows[1].update(cluster="hanoi", turnover_kvnd="", q21_partner_locations="abroad abroad")
    rows[2].update(firm_id=rows[0]["firm_id"], q10_constraint_1="", q10_constraint_2="capital", q10_constraint_3="")
    rows[3].update(q18_sources="", q18_other_text="", q19_partner_importance="4", q20_initiator="")
    data = frame(rows)
    with pytest.raises(pa.errors.SchemaErrors) as raised:
        RawWave.validate(data, lazy=True)
    by_pandera = set()
    for case in raised.value.failure_cases.itertuples():
        check = str(case.check).split("(")[0]
        if check in shipped()[-1].row_rule_of_check:
            rule = shipped()[-1].row_rule_of_check[check]
            by_pandera.add((rule.name, rule.column, int(case.index)))
        elif check in CELL_RULE_OF_CHECK:
            by_pandera.add((CELL_RULE_OF_CHECK[check].name, case.column, int(case.index)))
    by_warehouse = set(findings_for(rows))
    assert by_pandera == by_warehouse
    # Nine broken cells, and the third row's other-text answer left standing when no rank names 'other'.
    assert len(by_warehouse) == 10


@pytest.mark.parametrize(
    ("cell", "valid"),
    [("buyers government", True), ("buyers  government", True), (" buyers\tgovernment ", True),
     ("government buyers suppliers", True), ("buyers buyers", False), ("buyers\tbuyers", False),
     ("buyers,government", False), ("Buyers", False)],
)
def test_multi_select_cells_take_any_whitespace_between_codes_but_never_a_code_twice(small_wave, cell, valid):
    rows = [dict(r) for r in small_wave]
    rows[0].update(q18_sources=cell, q18_other_text="", q19_partner_importance="6", q20_initiator="both")
    assert findings_for(rows) == ([] if valid else [("multi_select", "q18_sources", 1)])


@pytest.mark.parametrize("form", shipped(), ids=lambda form: form.name)
def test_the_model_its_checks_and_the_groups_derive_from_the_form_and_the_rule_records(form):
    from schemas.rules import CELL_RULES, RULE_GROUPS, RULES

    schema = form.model.to_schema()
    assert list(schema.columns) == list(form.columns)
    for question in form.questions:
        column = schema.columns[question.name]
        assert column.nullable is not question.required
        assert {check.name for check in column.checks} == set(question.checks)
        assert column.description.startswith(question.label)
    assert {rule.check for rule in CELL_RULES} >= {name for q in form.questions for name in q.checks}
    assert [check.name for check in schema.checks] == [rule.check for rule in form.row_rules]
    for rule in form.row_rules:
        assert rule.column in rule.reads and set(rule.reads) <= set(form.columns)
    grouped = [name for group in RULE_GROUPS for name in group.rules]
    assert sorted(grouped) == sorted(dict.fromkeys(rule.name for rule in RULES)) and all(g.rules for g in RULE_GROUPS)
    assert {rule.name for rule in form.row_rules} <= set(grouped)


def test_a_warning_row_rule_is_reported_with_its_own_severity(small_wave):
    rows = [dict(r) for r in small_wave]
    rows[1].update(q3_complaints_village="no", q4_complaint_own="yes")
    [finding] = validate_rows(frame(rows))
    assert (finding.rule, finding.column, finding.row, finding.severity) == ("q4_without_q3", "q4_complaint_own", 2,
                                                                               "warning")


@pytest.mark.parametrize(
    ("start", "end", "rule", "message"),
    [
        ("2007-09-03T08:15:00+07:00", "2007-09-03T09:05:00+07:00", None, None),
        ("", "", None, None),
        ("2007-09-03T08:15:00+07:00", "", "interview_times", "interview_end is empty"),
        ("", "2007-09-03T09:05:00+07:00", "interview_times", "interview_start is empty"),
        ("2007-09-03T09:15:00+07:00", "2007-09-03T09:05:00+07:00", "interview_times", "not after interview_start"),
        ("2007-09-03T08:15:00+07:00", "2007-09-04T09:05:00+07:00", "interview_times", "not on the interview's day"),
        ("2007-09-03T08:15:00+07:00", "2007-09-03 09:05", "datetime", "with its offset from UTC"),
    ],
)
def test_interview_times_are_given_together_in_order_on_the_interview_day(small_wave, start, end, rule, message):
    rows = [dict(r) for r in small_wave]
    for row in rows:
        row.update(interview_date="2007-09-03", interview_start="", interview_end="", interviewer_id="enum-1")
    rows[1].update(interview_start=start, interview_end=end)
    findings = validate_rows(frame(rows))
    assert [(f.rule, f.column, f.row) for f in findings] == ([] if rule is None else [(rule, "interview_end", 2)])
    if message:
        assert message in findings[0].message


def test_an_interviewer_id_is_written_as_an_identifier(small_wave):
    rows = [dict(r) for r in small_wave]
    rows[0]["interviewer_id"] = "Nguyễn Văn A"
    assert findings_for(rows) == [("interviewer_id_format", "interviewer_id", 1)]
