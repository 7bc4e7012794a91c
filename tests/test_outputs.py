"""The contract's output documents: limits per rule, null for undefined numbers; validation.html and issues.xlsx
holding exactly the findings of validation.json, grouped and with suggestions; no personal data in any of them."""

import json
import math

import numpy as np
import pandas as pd

from schemas.findings import ITEMS_PER_RULE
from workflows.report.outputs import validation_document, write_json


def findings(rule: str, n: int, severity: str = "error") -> pd.DataFrame:
    return pd.DataFrame({"severity": severity, "rule": rule, "column": "q1_noise", "row": range(1, n + 1),
                         "firm_id": [f"F{i}" for i in range(n)], "value": "11", "message": "m"})


def test_at_most_1000_items_per_rule_are_listed_but_every_one_is_counted():
    frame = pd.concat([findings("range", ITEMS_PER_RULE + 5), findings("required", 3),
                       findings("outlier", 2, "warning")])
    counts = frame["rule"].value_counts().to_dict()
    document = validation_document("w", frame, counts)
    assert document["counts"] == {"outlier": 2, "range": ITEMS_PER_RULE + 5, "required": 3}
    assert len(document["errors"]) == ITEMS_PER_RULE + 3 and len(document["warnings"]) == 2
    assert document["truncated"] is True
    everything = validation_document("w", frame, counts, all_items=True)
    assert len(everything["errors"]) == ITEMS_PER_RULE + 8 and everything["truncated"] is False


def test_undefined_numbers_are_written_as_null(tmp_path):
    write_json(tmp_path / "r.json", {"a": float("nan"), "b": [np.float64("inf"), np.int64(3)], "c": None,
                                      "d": math.nan, "e": pd.NA})
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": None, "b": [None, 3], "c": None, "d": None, "e": None}


# The page and the workbook: the same findings as validation.json, grouped, with suggestions, never a formula.

import io
import re
import zipfile
from html.parser import HTMLParser

import openpyxl
import pytest

from workflows.report import outputs, workbook


def finding(rule, column, row, value, severity="error", firm=None, message=None, interviewer=None, day=None):
    return {"severity": severity, "rule": rule, "column": column, "row": row, "firm_id": firm, "value": value,
            "message": message or f"{column} holds {value!r}.", "interviewer_id": interviewer,
            "interview_date": pd.Timestamp(day) if day else None}


def broken_wave() -> tuple[pd.DataFrame, dict]:
    """A wave as field exports break: codes typed loosely, a renamed column, a hostile cell, a warning."""
    rows = [
        finding("missing_column", "employees", None, None, message="The required column 'employees' is missing."),
        *(finding("allowed_codes", "cluster", 2 + i, "van phuc", firm=f"F{i}", interviewer="ANH" if i % 2 else "BINH",
                  day="2007-09-03") for i in range(5)),
        *(finding("allowed_codes", "cluster", 10 + i, "dongky", firm=f"G{i}", interviewer="ANH") for i in range(2)),
        finding("allowed_codes", "q22_help_banks", 12, "Never", firm="H1", interviewer="CHI"),
        finding("multi_select", "q18_sources", 13, "buyer suppliers", firm="H2"),
        finding("allowed_codes", "ownership", 14, "=HYPERLINK(\"http://x\")\x1b[2J<script>alert(1)</script>", firm="H3"),
        finding("range", "q1_noise", 15, "11", firm="H4"),
        finding("unknown_column", "employees_n", 0, None, severity="warning",
                message="The column 'employees_n' is not part of the questionnaire and is ignored."),
        finding("outlier", "turnover_kvnd", 16, "999999999", severity="warning", firm="H5", interviewer="ANH"),
    ]
    frame = pd.DataFrame(rows)
    return frame, frame["rule"].value_counts().to_dict()


class Findings(HTMLParser):
    """The page's finding rows, as the cells a reader sees, and its section headings with their classes."""

    def __init__(self):
        super().__init__()
        self.rows, self.sections, self._row, self._cell = [], [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "finding" in (attrs.get("class") or ""):
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "span" and self._cell is not None and attrs.get("class") in ("suggestion", "rule-name"):
            self._cell.append("\0")  # the message ends here
        elif tag == "section" and "check" in (attrs.get("class") or ""):
            self.sections.append(attrs["class"].split()[1])

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append("".join(self._cell).split("\0")[0].strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(tuple(self._row))
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_rows(html: str) -> Findings:
    parser = Findings()
    parser.feed(html)
    return parser


def shown(item: dict) -> tuple:
    """A finding of validation.json as the page's cells show it: row, firm, column, value, message."""
    return tuple("" if item[k] is None else str(item[k]) for k in ("row", "firm_id", "column", "value", "message"))


def workbook_findings(content: bytes) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    found = []
    for sheet in book.worksheets:
        header = [cell.value for cell in sheet[1]]
        if "correction" not in header:
            continue
        for values in sheet.iter_rows(min_row=2, values_only=True):
            record = dict(zip(header, values))
            assert record["correction"] is None and record["comment"] is None
            found.append((record["rule"], record["column"], record["row"], record["firm"], record["value"],
                          record["message"]))
    return found


@pytest.mark.parametrize("all_items", [False, True])
def test_the_page_and_the_workbook_list_exactly_the_findings_of_the_json(all_items):
    frame = pd.concat([findings("range", ITEMS_PER_RULE + 7), findings("required", 3),
                       findings("outlier", 2, "warning")]).assign(interviewer_id=None, interview_date=None)
    counts = frame["rule"].value_counts().to_dict()
    files = outputs.validation_files("w", "w.csv", "abc", frame, counts, all_items)
    document = json.loads(files["validation.json"])
    listed = document["errors"] + document["warnings"]
    assert len(listed) == (ITEMS_PER_RULE + 12 if all_items else ITEMS_PER_RULE + 5)
    assert sorted(page_rows(files["validation.html"]).rows) == sorted(shown(item) for item in listed)
    assert sorted(workbook_findings(files["issues.xlsx"]), key=str) == sorted(
        (tuple(item[k] for k in outputs.FINDING_FIELDS) for item in listed), key=str)
    assert ("1,000 of 1,007 listed" in files["validation.html"]) is not all_items


def test_the_page_opens_with_a_summary_blocking_first_groups_values_and_suggests_codes():
    frame, counts = broken_wave()
    html = outputs.validation_files("w", "w.csv", "abc", frame, counts)["validation.html"]
    summary = html[html.index('id="summary"'):html.index('id="controls"')]
    assert summary.index("Required columns present") < summary.index("Answers well formed") < summary.index(
        "No unknown columns")
    assert page_rows(html).sections == ["error"] * 3 + ["warning"] * 2
    # Repeated (column, value) pairs with their count, rows and the nearest allowed code.
    repeated = re.search(r'data-filter="van phuc".*?</tr>', html, re.S).group()
    assert ">5<" in repeated and "2, 3, 4, 5, 6" in repeated and "Did you mean &#39;van_phuc&#39;?" in repeated
    assert "Did you mean &#39;dong_ky&#39;?" in html and "Did you mean &#39;never&#39;?" in html
    assert "Did you mean &#39;buyers suppliers&#39;?" in html
    # A missing column paired with the unknown one of a similar name.
    assert re.search(r"The required column <code>employees</code> is missing, and the file has an unknown column "
                     r"<code>employees_n</code>", html)
    # Every value is escaped text; nothing on the page is fetched.
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"<(link|img|iframe)\b|\b(src|href)=[\"']?(https?:|//|file:)|<script\s+src", html)
    assert "default-src 'none'" in html


@pytest.mark.parametrize("column, value, expected", [
    ("cluster", "van phuc", "van_phuc"), ("cluster", "Vạn Phúc", "van_phuc"), ("cluster", "DONG-KY", "dong_ky"),
    ("cluster", "bat trang ", "bat_trang"), ("cluster", "hanoi", None), ("cluster", "bat_trang", None),
    ("q22_help_banks", "Never", "never"), ("q22_help_banks", "ofen", "often"), ("ownership", "privte", "private"),
    ("q18_sources", "buyer,suppliers", "buyers suppliers"), ("q18_sources", "buyers buyers", "buyers"),
    ("q18_sources", "buyers nonsense", None), ("q1_noise", "11", None), ("not_a_question", "x", None),
])
def test_the_nearest_allowed_code_is_offered_only_for_a_code_close_to_one(column, value, expected):
    assert outputs.nearest_codes(column, value) == expected


def test_a_missing_column_is_paired_with_the_unknown_one_of_the_most_similar_name():
    items = [{"rule": "missing_column", "column": c} for c in ("employees", "turnover_kvnd", "cluster")] + [
        {"rule": "unknown_column", "column": c} for c in ("Turnover (kVND)", "employees_n", "enumerator")]
    assert outputs.renamed_columns(items) == {"employees": "employees_n", "turnover_kvnd": "Turnover (kVND)"}


def test_the_workbook_has_a_summary_a_sheet_per_check_and_the_interviewers_figures():
    frame, counts = broken_wave()
    content = outputs.validation_files("w", "w.csv", "abc", frame, counts,
                                       interviews={"ANH": {"records": 4}, "BINH": {"records": 2}, "CHI": {"records": 1}})["issues.xlsx"]
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["summary", "required_columns_present", "answers_well_formed", "answers_in_range",
                               "no_outliers_within_clusters", "no_unknown_columns", "interviewers"]
    summary = [row for row in book["summary"].iter_rows(values_only=True)]
    assert summary[0][0] == "Validation of wave w (w.csv)" and "12 error(s) block this wave" in summary[2][0]
    checks = {row[0]: row[1:5] for row in summary if row[0] in {g.name for g in outputs.CHECKS}}
    assert checks["answers_well_formed"] == ("blocking", 10, 10, "answers_well_formed")
    assert checks["firm_ids_unique"] == ("blocking", 0, 0, None)
    sheet = book["answers_well_formed"]
    assert [c.value for c in sheet[1]] == [name for name, _, _ in workbook.FINDING_COLUMNS]
    first = dict(zip([c.value for c in sheet[1]], [c.value for c in sheet[2]]))
    assert first == {"row": 2, "firm": "F0", "interviewer": "BINH", "date": "2007-09-03", "column": "cluster",
                     "question": outputs_label("cluster"), "value": "van phuc", "rule": "allowed_codes",
                     "message": "cluster holds 'van phuc'.", "suggestion": "Did you mean 'van_phuc'?",
                     "correction": None, "comment": None}
    hostile = next(row for row in sheet.iter_rows(min_row=2) if row[2 - 1].value == "H3")
    assert hostile[6].data_type == "s" and hostile[6].value.startswith('=HYPERLINK("http://x")\\x1b[2J')
    interviewers = [row for row in book["interviewers"].iter_rows(values_only=True)]
    assert interviewers[0][:6] == ("interviewer", "records", "findings", "errors", "warnings", "findings per record")
    by_id = {row[0]: row[1:6] for row in interviewers[1:] if row[0]}
    assert by_id["ANH"] == (4, 5, 4, 1, 1.25) and by_id["BINH"] == (2, 3, 3, 0, 1.5) and by_id["CHI"] == (1, 1, 1, 0, 1)
    assert by_id["(no interviewer)"][1] == 5
    assert [row[0] for row in interviewers[1:4]] == ["BINH", "ANH", "CHI"]  # most findings per record first


def outputs_label(column: str) -> str:
    from schemas.questionnaire import QUESTION

    return QUESTION[column].label


def test_findings_beyond_a_sheets_rows_continue_on_the_next_sheet():
    frame = findings("range", 5).assign(interviewer_id=None, interview_date=None)
    items = outputs.finding_items(frame)
    book = openpyxl.load_workbook(io.BytesIO(workbook.issues_workbook("w", "w.csv", "abc", items, {"range": 5}, {},
                                                                     False, rows_per_sheet=2)))
    assert book.sheetnames == ["summary", "answers_in_range", "answers_in_range (2)", "answers_in_range (3)"]
    assert [len(list(book[name].iter_rows(min_row=2))) for name in book.sheetnames[1:]] == [2, 2, 1]
    assert workbook._title("interview_dates_within_the_wave", 2, set()) == "interview_dates_within_the (2)"


def test_the_workbook_is_the_same_bytes_for_the_same_findings():
    frame, counts = broken_wave()
    first = outputs.validation_files("w", "w.csv", "abc", frame, counts, interviews={"ANH": {"records": 4}})["issues.xlsx"]
    again = outputs.validation_files("w", "w.csv", "abc", frame, counts, interviews={"ANH": {"records": 4}})["issues.xlsx"]
    assert first == again
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "<dcterms:created" in archive.read("docProps/core.xml").decode()


# Staged attempts: the findings' context, the copied-file warning, and no personal data in any file.

import duckdb

from generators.synthetic import generate_wave
from tests.conftest import received_file, write_wave
from workflows.intake.wave_file import stage_attempt
from workflows.warehouse import staging


def staged_files(conn, path, wave) -> dict:
    raw = received_file(path)
    stage_attempt(conn, raw, wave)
    return outputs.validation_files(wave, path.name, raw.sha256,
                                    staging.findings_of(conn, wave, staging.Version(raw.sha256), outputs.CONTEXT_COLUMNS),
                                    staging.counts_of(conn, wave, staging.Version(raw.sha256)), False,
                                    staging.interviews_per_interviewer(conn, wave, staging.Version(raw.sha256)))


def every_text(files: dict) -> str:
    """The JSON, the page and every part of the workbook, as text."""
    with zipfile.ZipFile(io.BytesIO(files["issues.xlsx"])) as archive:
        parts = [archive.read(name).decode("utf-8") for name in archive.namelist()]
    return "\n".join([files["validation.json"], files["validation.html"], *parts])


def test_no_file_carries_a_respondents_name_or_phone(tmp_path):
    rows = generate_wave({"bat_trang": 3, "dong_ky": 3}, seed=7)
    for number, row in enumerate(rows):
        row.update(respondent_name=f"Nguyen Thi Secret{number}", respondent_phone=f"+84 912 345 67{number}",
                   interviewer_id="ANH" if number < 4 else "BINH", q1_noise="11")
    with duckdb.connect() as conn:
        files = staged_files(conn, write_wave(tmp_path / "p.csv", rows), "p")
        with pytest.raises(ValueError, match="personal"):
            staging.findings_of(conn, "p", staging.Version("x"), ("respondent_phone",))
    text = every_text(files)
    assert "q1_noise" in text and "ANH" in text and "Secret" not in text and "912 345" not in text
    interviewers = openpyxl.load_workbook(io.BytesIO(files["issues.xlsx"]))["interviewers"]
    assert [row[:3] for row in interviewers.iter_rows(min_row=2, max_row=3, values_only=True)] == [
        ("ANH", 4, 4), ("BINH", 2, 2)]


def test_a_file_with_the_bytes_of_another_waves_file_is_warned_about_also_by_a_scratch_warehouse(tmp_path):
    path = write_wave(tmp_path / "2009.csv", generate_wave({"bat_trang": 3, "dong_ky": 3}, seed=9))
    with duckdb.connect() as conn:
        first = json.loads(staged_files(conn, path, "2009")["validation.json"])
        copy = json.loads(staged_files(conn, path, "2011")["validation.json"])
        register = staging.file_register(conn)
    assert "same_file_as_other_wave" not in first["counts"] and copy["counts"]["same_file_as_other_wave"] == 1
    warning = next(w for w in copy["warnings"] if w["rule"] == "same_file_as_other_wave")
    assert warning["column"] is None and warning["row"] is None and warning["value"] is None
    assert "byte for byte the file of wave 2009 (2009.csv" in warning["message"]
    with duckdb.connect() as scratch:  # `validate`'s database, told of the warehouse's files
        staging.learn_file_register(scratch, register)
        again = json.loads(staged_files(scratch, path, "2013")["validation.json"])
    assert again["counts"]["same_file_as_other_wave"] == 2 and again["errors"] == []


def test_the_copied_file_warning_is_a_warning_check_in_the_ui_and_a_line_of_the_reports_data_quality_appendix(tmp_path):
    import dagster as dg

    from schemas.rules import RULE_GROUPS
    from workflows.defs.validation import latest_verdict, rule_group_result
    from workflows.report.rendering import render_html

    path = write_wave(tmp_path / "2009.csv", generate_wave({"bat_trang": 3, "dong_ky": 3}, seed=9))
    with duckdb.connect() as conn:
        staged_files(conn, path, "2009")
        document = json.loads(staged_files(conn, path, "2011")["validation.json"])
        verdict = latest_verdict(conn, "2011")
    group = next(g for g in RULE_GROUPS if g.name == "file_differs_from_other_waves")
    check = rule_group_result(group, *verdict)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["failures"].value == 1
    appendix = render_html("partials/data_quality.html.j2", results={"validation": document})
    assert "byte for byte the file of wave 2009" in appendix
