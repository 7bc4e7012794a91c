"""Per-interviewer warnings: an interviewer whose share of records with a finding, of 'other' answers or of
optional questions left empty lies far above the other interviewers' is named, with the figures, in one sentence.

First on small staged relations in DuckDB (a few columns, ten records per interviewer), then once through the
command line on a generated wave with interviewer columns.
"""

import io
import json

import duckdb
import openpyxl
import pytest

from generators.synthetic import generate_wave
from schemas.findings import judge
from schemas.questionnaire import shipped
from schemas.quality import MIN_INTERVIEWS, interviewer_figures, interviewer_warnings, quality_warnings
from schemas.rules import RULE_GROUPS, SEVERITY
from tests.conftest import command, write_wave

FORM = shipped()[-1]
# Each record's own number of employees keeps any two records from having the same answers.
COLUMNS = ["firm_id", "interviewer_id", "employees", "q10_constraint_1"]


def staged(conn: duckdb.DuckDBPyConnection, shares: dict[str, tuple[int, int]], hit: str = "other",
           miss: str | None = "capital") -> str:
    """A staged relation of text cells: per interviewer `(n, of)`, `of` records of which `n` answer Q10 with
    `hit` and the rest with `miss`."""
    records = []
    for interviewer, (n, of) in shares.items():
        records += [(interviewer, hit if number < n else miss) for number in range(of)]
    conn.execute("create or replace table wave (source_row bigint, firm_id varchar, interviewer_id varchar, "
                 "employees varchar, q10_constraint_1 varchar)")
    conn.executemany("insert into wave values (?, ?, ?, ?, ?)",
                     [(row, f"F-{row:03d}", interviewer, str(row), answer)
                      for row, (interviewer, answer) in enumerate(records, 1)])
    return "wave"


def warned(shares: dict[str, tuple[int, int]], columns=COLUMNS, **answers) -> list:
    with duckdb.connect() as conn:
        return interviewer_warnings(conn, staged(conn, shares, **answers), columns, questionnaire=FORM).findings


USUAL = {"A": (1, 10), "B": (1, 10), "C": (2, 10), "D": (2, 10)}


def test_an_interviewer_far_above_the_others_is_warned_in_one_sentence_with_the_figures():
    [finding] = warned({**USUAL, "E": (8, 10)})
    assert (finding.rule, finding.column, finding.row, finding.firm_id, finding.value, finding.severity) == (
        "interviewer_other_answers", "interviewer_id", None, None, "E", "warning")
    assert finding.message == (
        "Interviewer E recorded 'other' in 8 of 10 answers to questions that offer it (80%), far above the other "
        "interviewers (median 15%, fence 50%): check whether the choices were read out.")


def test_an_interviewer_at_the_fence_is_not_warned_one_answer_above_it_is():
    # The others' quartiles are 10% and 20%: the fence is 20% + 3 x 10% = 50%.
    assert warned({**USUAL, "E": (5, 10)}) == []
    assert [f.value for f in warned({**USUAL, "E": (6, 10)})] == ["E"]


def test_where_every_other_share_is_zero_a_stray_answer_is_not_far_above():
    none = {name: (0, 10) for name in "ABCD"}
    assert warned({**none, "E": (1, 10)}) == []
    [finding] = warned({**none, "E": (3, 10)})
    assert "(30%), far above the other interviewers (median 0%, fence 0%)" in finding.message


def test_too_few_interviewers_or_interviews_say_nothing():
    assert warned({"A": (1, 10), "B": (1, 10), "E": (10, 10)}) == []  # three interviewers
    assert warned({**USUAL, "E": (MIN_INTERVIEWS - 1, MIN_INTERVIEWS - 1)}) == []  # E's share is of too few
    # Four interviewers are enough: each is compared with the other three.
    assert [f.value for f in warned({"A": (1, 10), "B": (1, 10), "C": (2, 10), "E": (9, 10)})] == ["E"]


def test_a_wave_without_interviewer_ids_is_silent():
    shares = {**USUAL, "E": (10, 10)}
    assert warned(shares, columns=["firm_id", "employees", "q10_constraint_1"]) == []
    with duckdb.connect() as conn:
        relation = staged(conn, shares)
        conn.execute("update wave set interviewer_id = null")
        assert interviewer_warnings(conn, relation, COLUMNS, questionnaire=FORM).findings == []
        assert interviewer_figures(conn, relation, COLUMNS, FORM).empty


def test_records_with_findings_and_optional_questions_left_empty_are_shares_of_their_own():
    # 'bogus' breaks the allowed codes: E has a finding in 7 of 10 records, the others in 0 to 2.
    [finding] = warned({"A": (0, 10), "B": (1, 10), "C": (2, 10), "D": (1, 10), "E": (7, 10)}, hit="bogus")
    assert finding.rule == "interviewer_findings" and finding.message.startswith(
        "Interviewer E has at least one finding in 7 of 10 records (70%), far above the other interviewers (median ")
    assert finding.message.endswith("go through these records with the interviewer and retrain where the same "
                                    "mistake repeats.")
    # An empty Q10 is an optional question left empty (and no answer to a question offering 'other').
    [finding] = warned({**USUAL, "E": (9, 10)}, hit=None)
    assert finding.rule == "interviewer_skipped_optional" and finding.message.startswith(
        "Interviewer E left 9 of 10 optional questions unanswered (90%), far above the other interviewers")
    with duckdb.connect() as conn:
        figures = interviewer_figures(conn, staged(conn, {**USUAL, "E": (9, 10)}, hit=None), COLUMNS, FORM)
    assert figures.set_index("interviewer_id").loc["E"].to_dict() == {
        "records": 10, "records_with_findings": 0, "other_answers": 0, "select_answers": 1, "skipped_optional": 9,
        "optional_asked": 10}


@pytest.mark.parametrize("listed", [None, 1])
def test_the_judges_verdict_gives_the_records_with_a_finding_unless_it_lists_fewer_than_it_counts(listed):
    with duckdb.connect() as conn:
        relation = staged(conn, {"A": (1, 10), "B": (3, 10), "C": (0, 10), "D": (2, 10), "E": (7, 10)}, hit="bogus")
        judged = judge(conn, relation, COLUMNS, listed, FORM)
        listed_codes = [finding for finding in judged.findings if finding.rule == "allowed_codes"]
        assert (len(listed_codes) < judged.counts["allowed_codes"]) == (listed is not None)
        again = interviewer_figures(conn, relation, COLUMNS, FORM)
        assert interviewer_figures(conn, relation, COLUMNS, FORM, judged=judged).equals(again)
    assert again["records_with_findings"].tolist() == [1, 3, 0, 2, 7]


def test_the_warnings_are_quality_warnings_of_their_own_warning_group():
    with duckdb.connect() as conn:
        verdict = quality_warnings(conn, staged(conn, {**USUAL, "E": (8, 10)}), COLUMNS, questionnaire=FORM)
        assert "warned_records" not in {row[0] for row in conn.execute("show tables").fetchall()}
    assert verdict.counts == {"interviewer_other_answers": 1}
    [group] = [group for group in RULE_GROUPS if group.name == "interviewer_patterns"]
    assert group.severity == "warning" and set(group.rules) == {
        "interviewer_findings", "interviewer_other_answers", "interviewer_skipped_optional"}
    assert {SEVERITY[rule] for rule in group.rules} == {"warning"}


def test_a_validated_wave_with_interviewer_columns_warns_about_the_interviewer_far_off(tmp_path):
    rows = generate_wave({"bat_trang": 10, "dong_ky": 10, "van_phuc": 10}, seed=21)
    for number, row in enumerate(rows):
        row.update(interviewer_id=f"INT-{number % 5 + 1:02d}", interview_start=f"{row['interview_date']}T08:00:00+07:00",
                   interview_end=f"{row['interview_date']}T08:{40 + number % 9:02d}:00+07:00")
        if row["interviewer_id"] == "INT-05":  # asks none of the optional questions (and so none that follow them)
            row.update(q10_constraint_1="", q10_constraint_2="", q10_constraint_3="", q10_other_text="",
                       q18_sources="", q18_other_text="", q19_partner_importance="", q20_initiator="",
                       q21_partner_locations="")
        else:  # the others get an answer to each
            row.update(q10_constraint_1="capital", q10_constraint_2="knowledge", q10_constraint_3="market",
                       q10_other_text="", q18_sources="buyers", q18_other_text="", q19_partner_importance="7",
                       q20_initiator="both", q21_partner_locations="village")
    out = tmp_path / "out"
    done = command("validate", str(write_wave(tmp_path / "fieldwork.csv", rows)), "--out", str(out))
    assert done.returncode == 0, done.stderr
    validation = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert validation["errors"] == [] and validation["counts"].get("interviewer_skipped_optional") == 1
    [warning] = [w for w in validation["warnings"] if w["rule"] == "interviewer_skipped_optional"]
    assert (warning["column"], warning["row"], warning["value"]) == ("interviewer_id", None, "INT-05")
    assert warning["message"].startswith("Interviewer INT-05 left 30 of 30 optional questions unanswered (100%), far "
                                         "above the other interviewers (median ")
    book = openpyxl.load_workbook(io.BytesIO((out / "issues.xlsx").read_bytes()))
    summary = [row for row in book["summary"].iter_rows(values_only=True) if row and row[0] == "interviewer_patterns"]
    assert summary and summary[0][1:3] == ("warning", 1)
    header, *table = book["interviewers"].iter_rows(values_only=True)
    assert "records with a finding" in header and "interviewer_patterns" in header
    [int05] = [row for row in table if row and row[0] == "INT-05"]
    assert int05[1] == 6 and int05[header.index("interviewer_patterns")] == 1


def test_the_workbook_shows_each_interviewers_shares_and_counts_a_warning_about_one_under_them():
    import pandas as pd

    from workflows.report import outputs

    def finding(rule, column, row, value, severity, interviewer):
        return {"severity": severity, "rule": rule, "column": column, "row": row, "firm_id": None, "value": value,
                "message": "x", "interviewer_id": interviewer, "interview_date": None}

    frame = pd.DataFrame([finding("range", "q1_noise", 2, "11", "error", "ANH"),
                          finding("range", "q1_air", 2, "12", "error", "ANH"),
                          finding("interviewer_other_answers", "interviewer_id", None, "BINH", "warning", None)])
    counts = {"range": 2, "interviewer_other_answers": 1}
    figures = {"ANH": {"records": 4, "records_with_findings": 1, "other_answers": 1, "select_answers": 10,
                       "skipped_optional": 5, "optional_asked": 20},
               "BINH": {"records": 5, "records_with_findings": 0, "other_answers": 6, "select_answers": 8,
                        "skipped_optional": 0, "optional_asked": 25}}
    content = outputs.validation_files("w", "w.csv", "abc", frame, counts, interviews=figures)["issues.xlsx"]
    book = openpyxl.load_workbook(io.BytesIO(content))
    header, *table = book["interviewers"].iter_rows(values_only=True)
    rows = {row[0]: dict(zip(header, row)) for row in table if row and row[0] in figures}
    assert {name: (row["records"], row["findings"], row["records with a finding"], row["'other' answers"],
                   row["optional left empty"], row["interviewer_patterns"]) for name, row in rows.items()} == {
        "ANH": (4, 2, 0.25, 0.1, 0.25, 0), "BINH": (5, 1, 0, 0.75, 0, 1)}
    shares = next(row for row in book["interviewers"].iter_rows(min_row=2) if row[0].value == "BINH")
    assert shares[header.index("'other' answers")].number_format == "0%"
    [warning] = list(book["interviewer_patterns"].iter_rows(min_row=2, values_only=True))
    assert warning[2] == "BINH"  # the interviewer column names the interviewer the warning is about
    # Given only each interviewer's records, the sheet counts the records with a listed finding.
    content = outputs.validation_files("w", "w.csv", "abc", frame, counts, interviews={"ANH": {"records": 4},
                                                                                 "BINH": {"records": 5}})["issues.xlsx"]
    header, *table = openpyxl.load_workbook(io.BytesIO(content))["interviewers"].iter_rows(values_only=True)
    assert "'other' answers" not in header
    assert {row[0]: row[header.index("records with a finding")] for row in table if row and row[0] in figures} == {
        "ANH": 0.25, "BINH": 0}
