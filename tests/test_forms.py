"""The survey team's XLSForms: compiled into the project's questions and rules, or refused in one sentence."""

import shutil

import openpyxl
import pandas as pd
import pytest

from schemas import questionnaire as questionnaires
from schemas.findings import validate_rows
from schemas.form_expressions import UnsupportedExpression, condition
from schemas.questionnaire import FORMS_DIR, form_for, load, shipped
from schemas.xlsform import FormError


def edited_form(tmp_path, name: str, column: str, value: str, source: str = "2007.xlsx", **more: str):
    """A copy of a shipped form with cells of one question's row on the survey sheet changed."""
    path = tmp_path / f"edited-{source}"
    shutil.copy(FORMS_DIR / source, path)
    book = openpyxl.load_workbook(path)
    sheet = book["survey"]
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[header.index("name")].value == name:
            for key, text in {column: value, **more}.items():
                row[header.index(key)].value = text
            number = row[0].row
    book.save(path)
    return path, number


def frame(rows: list[dict], columns) -> pd.DataFrame:
    data = pd.DataFrame(rows).reindex(columns=list(columns)).replace({"": None})
    data.index = range(1, len(rows) + 1)
    return data.astype("str").where(data.notna(), None)


def test_the_shipped_forms_compile_and_the_2007_form_states_the_input_contract():
    old, new = shipped()
    assert (old.name, old.version, new.name, new.version) == ("2007.xlsx", "2007", "2009.xlsx", "2009")
    assert set(new.columns) - set(old.columns) == {"q23_energy_source"}
    noise = old.question["q1_noise"]
    assert (noise.kind, noise.low, noise.high, noise.required) == ("integer", 1, 10, True)
    assert old.question["q18_sources"].most == 3 and old.question["q21_partner_locations"].most is None
    assert old.question["cluster"].codes == ("bat_trang", "dong_ky", "van_phuc")
    assert old.question["cluster"].choice_label("bat_trang") == "Bát Tràng (ceramics)"
    assert old.question["cluster"].choice_label("van_phuc", "de") == "Vạn Phúc (Seide)"
    assert old.question["q9_introduced_by"].required is False  # required only when Q6 is yes: its skip rule says so
    assert {rule.name for rule in old.row_rules} == {"q9_skip", "q19_skip", "q20_skip", "other_text", "q10_ranking",
                                                    "interview_times", "q4_without_q3"}
    assert set(old.required_columns) >= {"firm_id", "q22_help_senior_gov"}
    assert not {"respondent_name", "notes", "interviewer_id", "interview_start"} & set(old.required_columns)
    for question in old.questions:
        assert set(question.labels) == {"en", "de", "vi"} or question.kind == "datetime"
        assert question.labels.get("vi") != question.labels.get("en") or question.kind == "datetime"
    energy = new.question["q23_energy_source"]
    assert energy.codes == ("coal", "gas", "electricity", "wood") and energy.required


def test_the_2009_form_judges_the_energy_question_against_its_choices(small_wave):
    form = shipped()[-1]
    rows = [dict(row) | {"q23_energy_source": "gas"} for row in small_wave]
    rows[2]["q23_energy_source"] = "diesel"
    findings = validate_rows(frame(rows, form.columns), questionnaire=form)
    assert [(f.rule, f.column, f.row) for f in findings] == [("allowed_codes", "q23_energy_source", 3)]
    assert "must be one of coal, gas, electricity, wood" in findings[0].message


def test_a_tightened_constraint_blocks_a_wave_with_the_rows_constraint_message(tmp_path, small_wave):
    message = "A craft workshop of more than 500 employees is not in this survey's frame."
    path, _ = edited_form(tmp_path, "employees", "constraint", ". >= 0 and . <= 500",
                          **{"constraint_message::English (en)": message})
    tight = load(path)
    rows = [dict(row) for row in small_wave]
    rows[1]["employees"] = "600"
    findings = validate_rows(frame(rows, tight.columns), questionnaire=tight)
    assert [(f.rule, f.column, f.row) for f in findings] == [("range", "employees", 2)]
    assert findings[0].message == f"employees (“Full-time employees”): {message} The cell holds 600."
    assert validate_rows(frame(rows, shipped()[0].columns), questionnaire=shipped()[0]) == []


def test_a_constraint_beyond_a_range_is_compiled_and_said_with_its_message(tmp_path, small_wave):
    path, _ = edited_form(tmp_path, "q8_om_cost_mvnd", "constraint", ". <= ${q7_capital_cost_mvnd} * 2 + 1")
    form = load(path)
    rows = [dict(row) for row in small_wave]
    rows[3].update(q7_capital_cost_mvnd="1", q8_om_cost_mvnd="5")
    findings = validate_rows(frame(rows, form.columns), questionnaire=form)
    assert [(f.rule, f.column, f.row) for f in findings] == [("constraint", "q8_om_cost_mvnd", 4)]


@pytest.mark.parametrize(
    ("name", "column", "value", "said"),
    [
        ("q1_noise", "constraint", "pulldata('prices', 'x') > 1", "the function pulldata() at character 1"),
        ("q9_introduced_by", "relevant", "${q6_equipment} = 'yes'", "Could not find the name 'q6_equipment'"),
        ("q1_air", "constraint", ". >", "the expression ends too early"),
    ],
)
def test_a_form_with_an_expression_outside_the_subset_is_refused_naming_sheet_row_and_expression(
        tmp_path, name, column, value, said):
    path, row = edited_form(tmp_path, name, column, value)
    with pytest.raises(FormError) as refused:
        load(path)
    message = str(refused.value)
    assert message.startswith(f"The form {path.name}, sheet survey, row {row}")
    assert said in message and repr(value) in message and column in message


def test_a_broken_choices_list_is_refused_naming_the_form(tmp_path):
    path, row = edited_form(tmp_path, "ownership", "type", "select_one legal_forms")
    with pytest.raises(FormError, match=rf"The form {path.name}, sheet survey, row {row}: .*not in choices.*legal_forms"):
        load(path)


def test_an_unsupported_question_type_is_refused_with_its_row(tmp_path):
    path, row = edited_form(tmp_path, "notes", "type", "geopoint")
    with pytest.raises(FormError, match=rf"sheet survey, row {row}: the question notes has the type 'geopoint'"):
        load(path)


def test_which_form_judges_a_wave():
    old, new = shipped()
    header_2007 = list(old.columns)
    assert form_for("2007", list(new.columns)) is old  # the wave id's own form, even if the file has more
    assert form_for("2011", header_2007) is old  # the newest form the header fits: never failed for a newer form
    assert form_for("2011", list(new.columns)) is new
    assert form_for("2011", list(new.columns), version="2007") is old  # the version the platform wrote
    assert form_for("2007", header_2007, path=FORMS_DIR / "2009.xlsx") is new  # the form named on the command line
    assert questionnaires.by_version("1999") is None


@pytest.mark.parametrize(
    ("expression", "rows"),
    [
        (". >= 2 and . <= 4", [False, True, False, False]),
        ("count-selected(${s}) = 2", [False, True, False, False]),
        ("selected(${s}, 'b') or ${t} = 'x'", [False, True, True, False]),
        ("not(string-length(${t}) > 0)", [True, True, False, True]),
        ("regex(${t}, '^[a-z]$')", [False, False, True, False]),
        ("if(${n} > 3, ${n} - 3, ${n} + 3) = 2", [False, False, False, True]),
        (". div 2 = 1.5 or . mod 2 = 1", [False, True, False, True]),
    ],
)
def test_the_expression_subset_means_what_odk_means_and_is_never_null(expression, rows):
    import duckdb

    kinds = {"n": "integer", "s": "select_multiple", "t": "text"}
    compiled = condition(expression, kinds, own="n")
    table = pd.DataFrame({"n": [None, "3", "10", "5"], "s": [None, "a b", "b", ""], "t": [None, None, "x", None]})
    with duckdb.connect() as conn:
        conn.register("cells", table)
        assert [value for (value,) in conn.execute(f"select {compiled.sql} from cells").fetchall()] == rows


def test_an_expression_that_does_not_parse_is_unsupported():
    with pytest.raises(UnsupportedExpression, match="does not continue the expression"):
        condition(". > 1 2", {"n": "integer"}, own="n")


def test_a_form_given_on_the_command_line_judges_the_wave_or_is_refused_before_any_wave_is_read(
        tmp_path, isolated_project, small_wave):
    from schemas.questionnaire import shipped
    from tests.conftest import command, write_wave

    message = "A craft workshop of more than 300 employees is not in this survey's frame."
    tight, _ = edited_form(tmp_path, "employees", "constraint", ". >= 0 and . <= 300",
                           **{"constraint_message::English (en)": message})
    rows = [dict(row) for row in small_wave]
    rows[5]["employees"] = "350"
    wave = write_wave(tmp_path / "trial.csv", rows, shipped()[0].columns)
    assert command("validate", str(wave), "--out", str(tmp_path / "by-2007")).returncode == 0
    judged = command("validate", str(wave), "--form", str(tight), "--out", str(tmp_path / "tight"))
    assert judged.returncode == 1
    assert f"row 6 (firm {rows[5]['firm_id']}): employees (“Full-time employees”): {message}" in judged.stderr

    (tmp_path / "broken").mkdir()
    broken, row = edited_form(tmp_path / "broken", "q1_noise", "constraint", "now() > 1")
    refused = command("run", str(wave), "--form", str(broken), "--out", str(tmp_path / "never"))
    assert refused.returncode == 2
    assert f"sheet survey, row {row} (q1_noise), column constraint" in refused.stderr and "'now() > 1'" in refused.stderr
    assert not (tmp_path / "never").exists()
