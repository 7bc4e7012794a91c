"""Waves as the survey platforms export them: XLSX, SPSS `.sav`, KoboToolbox and ODK CSVs.

Each fixture is written here, in process, from the same twelve firms: an XLSX workbook with
typed cells (openpyxl), an SPSS file with numbers, dates and value labels (pyreadstat), and
KoboToolbox-style CSVs with group prefixes, metadata columns and split select_multiple
columns. The same answers must stage as the same typed answers, and a broken cell must be
reported at the file's own row. One test runs the four files end to end and compares their
`results.json`.
"""

import csv
import datetime
import hashlib
import json
import zipfile

import duckdb
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from schemas import questionnaire
from schemas.questionnaire import CONTRACT_COLUMNS, QUESTION, QUESTIONS
from schemas.rules import error_count
from tests.conftest import command, received_file, write_wave
from workflows.intake.wave_file import UNREADABLE, receive, stage_attempt
from workflows.warehouse import staging

SELECT_MULTIPLE = [q.name for q in QUESTIONS if q.kind == "select_multiple"]
SELECT_ONE = [q.name for q in QUESTIONS if q.kind == "select_one"]
INTEGERS = [q.name for q in QUESTIONS if q.kind == "integer"]
DECIMALS = [q.name for q in QUESTIONS if q.kind == "decimal"]
DATES = [q.name for q in QUESTIONS if q.kind == "date"]


def typed(name: str, text: str):
    """A contract cell as a spreadsheet or SPSS file types it (text that is no such value stays text)."""
    if text == "":
        return None
    kind = QUESTION[name].kind
    try:
        if kind == "integer":
            return int(text)
        if kind == "decimal":
            return float(text)
        if kind == "date":
            return datetime.date.fromisoformat(text)
    except ValueError:
        pass
    return text


def write_xlsx(path, rows: list[dict], columns=None, sheet: str = "survey", before: tuple[str, ...] = ()):
    """The rows as a workbook with typed cells, on a sheet of its own after any sheets named in `before`."""
    columns = list(columns or CONTRACT_COLUMNS)
    workbook = openpyxl.Workbook()
    workbook.active.title = before[0] if before else sheet
    for name in before[1:]:
        workbook.create_sheet(name)
    worksheet = workbook.active if not before else workbook.create_sheet(sheet)
    worksheet.append(columns)
    for row in rows:
        worksheet.append([typed(column, row.get(column, "")) for column in columns])
    workbook.save(path)
    return path


def label_codes(name: str) -> dict[int, str]:
    return {i: code for i, code in enumerate(QUESTION[name].codes, start=1)}


def write_sav(path, rows: list[dict], columns=None):
    """The rows as an SPSS file: numbers as doubles, dates as SPSS dates, every select_one as a numeric code
    with value labels naming its choices (the way SPSS's AUTORECODE leaves them), multi-selects as text."""
    columns = list(columns or CONTRACT_COLUMNS)
    frame, labels, formats = pd.DataFrame(index=range(len(rows))), {}, {}
    for column in columns:
        values = [typed(column, row.get(column, "")) for row in rows]
        if column in SELECT_ONE:
            codes = label_codes(column)
            number = {code: i for i, code in codes.items()}
            frame[column] = [float(number[v]) if v in number else (None if v is None else float(v)) for v in values]
            labels[column] = codes
        elif column in INTEGERS or column in DECIMALS:
            frame[column] = [None if v is None else float(v) for v in values]
        elif column in DATES:
            frame[column] = values
            formats[column] = "DATE11"
        else:
            frame[column] = ["" if v is None else v for v in values]
    pyreadstat.write_sav(frame, str(path), variable_value_labels=labels, variable_format=formats)
    return path


def form_versions() -> list[str]:
    """The versions the shipped forms declare (their `settings` sheet), oldest first."""
    return [form.version for form in questionnaire.shipped()]


def kobo_rows(rows: list[dict], combined: bool = False, version: str | None = None) -> tuple[list[dict], list[str]]:
    """The rows as KoboToolbox exports them from the project's newest form: metadata columns (its version among
    them), Q1 in a group, select_multiple split into 0/1 columns (and kept as one column too when `combined`),
    `start` and `end` for the interview times."""
    version = version or form_versions()[-1]
    out = []
    for i, row in enumerate(rows):
        record = {"start": row.get("interview_start", ""), "end": row.get("interview_end", ""), "today": "2007-09-30"}
        for column in CONTRACT_COLUMNS:
            if column in ("interview_start", "interview_end"):
                continue
            if column in SELECT_MULTIPLE:
                if combined:
                    record[column] = row[column]
                chosen = row[column].split()
                for code in QUESTION[column].codes:
                    record[f"{column}/{code}"] = "1" if code in chosen else "0"
            else:
                record[f"pollution/{column}" if column.startswith("q1_") else column] = row[column]
        record |= {"_id": str(4000 + i), "_uuid": f"5e1c0d3a-{i:04d}", "_submission_time": "2007-09-30T10:00:00",
                   "__version__": version, "meta/instanceID": f"uuid:5e1c0d3a-{i:04d}", "_index": str(i + 1)}
        out.append(record)
    return out, list(out[0])


def write_rows(path, records: list[dict], columns: list[str]):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return path


def staged(raw, wave: str = "w", form=None):
    """Stage the file in a fresh warehouse; return the verdict, the typed answers and the attempt's record."""
    conn = duckdb.connect()
    attempt = stage_attempt(conn, raw, wave, None, form)
    rows = None
    if not error_count(attempt.verdict.counts):  # typed as `survey_responses` types them
        rows = conn.execute(f"select {questionnaire.staged_answers()} from ({staging.attempt_rows(wave, staging.Version(raw.sha256))}) "
                            "order by firm_id").df()
        for column in SELECT_MULTIPLE:  # the same codes, in whichever order the file lists them
            rows[column] = rows[column].map(sorted)
    record = conn.execute("select columns, extra_columns, provenance::varchar from staging.wave_attempts").fetchall()[0]
    conn.close()
    return attempt, rows, (json.loads(record[0]), json.loads(record[1]), json.loads(record[2]))


def listed(verdict):
    return [(f.rule, f.column, f.row) for f in verdict.findings]


def test_the_same_wave_in_every_export_stages_the_same_answers(tmp_path, small_wave):
    records, columns = kobo_rows(small_wave)
    combined, both = kobo_rows(small_wave, combined=True)
    files = {
        "csv": write_wave(tmp_path / "w.csv", small_wave),
        "xlsx": write_xlsx(tmp_path / "w.xlsx", small_wave),
        "sav": write_sav(tmp_path / "w.sav", small_wave),
        "kobo": write_rows(tmp_path / "kobo.csv", records, columns),
        "kobo both": write_rows(tmp_path / "kobo-both.csv", combined, both),
        "kobo xlsx": None,
    }
    workbook = openpyxl.Workbook()
    workbook.active.append(columns)
    for record in records:
        workbook.active.append([float(v) if k.split("/")[0] in SELECT_MULTIPLE else v for k, v in record.items()])
    workbook.save(tmp_path / "kobo.xlsx")
    files["kobo xlsx"] = tmp_path / "kobo.xlsx"

    answers, recorded = {}, {}
    for name, path in files.items():
        raw = received_file(path)
        assert raw.findings == [], (name, raw.findings)
        assert raw.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # the file as received
        attempt, answers[name], (columns_recorded, extra, provenance) = staged(raw)
        assert attempt.verdict.counts == {}, (name, attempt.verdict.findings[:3])
        assert attempt.n_rows == len(small_wave)
        assert extra == []
        recorded[name] = sorted(columns_recorded)  # the file's columns as the questionnaire names them
        assert provenance["format"] == ("xlsx" if "xlsx" in name else "sav" if name == "sav" else "csv")
    for name, frame in answers.items():
        pd.testing.assert_frame_equal(frame, answers["csv"], obj=name)
        assert recorded[name] == sorted(CONTRACT_COLUMNS), name


def test_a_kobo_export_keeps_its_metadata_as_provenance_and_names_the_form_version(tmp_path, small_wave):
    records, columns = kobo_rows(small_wave)
    raw = received_file(write_rows(tmp_path / "kobo.csv", records, columns))
    assert [f for f in raw.findings if f.rule == "unknown_column"] == []
    newest, older = form_versions()[-1], form_versions()[0]
    assert raw.form_version == newest and raw.form_versions == {newest: len(small_wave)}
    conn = duckdb.connect()
    stage_attempt(conn, raw, "w", None)
    # How a later step reads an attempt's form version, and the rest of how its file was read.
    assert conn.execute("select provenance->>'$.form_version' from staging.wave_attempts where wave = 'w'"
                        ).fetchall() == [(newest,)]
    provenance = json.loads(conn.execute("select provenance from staging.wave_attempts").fetchall()[0][0])
    assert provenance["form_version_column"] == "__version__"
    assert set(provenance["metadata_columns"]) == {"today", "_id", "_uuid", "_submission_time", "__version__",
                                                   "meta/instanceID", "_index"}
    assert provenance["renamed_columns"] == {"pollution/q1_noise": "q1_noise", "pollution/q1_air": "q1_air",
                                             "pollution/q1_water": "q1_water", "start": "interview_start",
                                             "end": "interview_end"}
    assert provenance["split_columns"]["q18_sources"][0] == "q18_sources/buyers"

    mixed = [dict(r, __version__=older) if i % 3 == 0 else r for i, r in enumerate(records)]
    raw = received_file(write_rows(tmp_path / "mixed.csv", mixed, columns))
    assert raw.form_version is None and raw.form_versions == {newest: 8, older: 4}


def test_a_broken_cell_in_a_kobo_export_is_reported_at_its_record(tmp_path, small_wave):
    records, columns = kobo_rows(small_wave)
    records[4]["pollution/q1_noise"] = "11"   # record 5, a question inside a group
    records[8]["cluster"] = "Bat Trang"       # record 9, a label where the code belongs
    attempt, _, _ = staged(received_file(write_rows(tmp_path / "kobo.csv", records, columns)))
    assert [(f.rule, f.column, f.row, f.value) for f in attempt.verdict.findings] == [
        ("range", "q1_noise", 5, "11"), ("allowed_codes", "cluster", 9, "Bat Trang")]
    assert attempt.verdict.findings[0].firm_id == small_wave[4]["firm_id"]


def test_start_and_end_are_the_interview_times(tmp_path, small_wave):
    firms = [dict(r, interview_start=f"{r['interview_date']}T08:15:00.000+07:00",
                  interview_end=f"{r['interview_date']}T09:05:00.000+07:00") for r in small_wave]
    firms[3]["interview_end"] = f"{firms[3]['interview_date']}T07:00:00.000+07:00"  # ends before it starts
    records, columns = kobo_rows(firms)
    raw = received_file(write_rows(tmp_path / "kobo.csv", records, columns))
    assert raw.layout.direct["interview_start"] == columns.index("start")
    attempt, _, _ = staged(raw)
    assert listed(attempt.verdict) == [("interview_times", "interview_end", 4)]
    assert attempt.verdict.findings[0].value == firms[3]["interview_end"]

    # A file with the contract's own column keeps the platform's `start` as provenance.
    raw = received_file(write_wave(tmp_path / "both.csv", firms, extra={"start": "2007-09-03T08:00:00+07:00"}))
    assert raw.findings == [] and raw.layout.direct["interview_start"] == raw.header.index("interview_start")
    assert "start" in raw.layout.metadata


def test_a_broken_cell_in_a_workbook_is_reported_at_its_own_row(tmp_path, small_wave):
    firms = [dict(r) for r in small_wave]
    firms[4]["q1_noise"] = "0"                # out of range
    firms[6]["employees"] = "many"            # text in a number column
    path = write_xlsx(tmp_path / "w.xlsx", firms, sheet="data")
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["data"]
    sheet.insert_rows(4)                      # a blank spreadsheet row 4 (data row 3): the firms after it move down
    # An error cell (what a broken formula leaves) in data row 9, and a value beyond the header in data row 10.
    sheet.cell(row=10, column=CONTRACT_COLUMNS.index("turnover_kvnd") + 1).value = "#DIV/0!"
    sheet.cell(row=10, column=CONTRACT_COLUMNS.index("turnover_kvnd") + 1).data_type = "e"
    sheet.cell(row=11, column=len(CONTRACT_COLUMNS) + 2).value = "stray"
    workbook.save(path)

    raw = received_file(path)
    assert raw.format == "xlsx" and raw.sheet == "data"
    attempt, _, _ = staged(raw)
    assert sorted(listed(attempt.verdict), key=lambda f: f[2]) == [
        ("blank_record", None, 3), ("range", "q1_noise", 6), ("integer", "employees", 8),
        ("number", "turnover_kvnd", 9), ("ragged_row", None, 10)]
    by_rule = {f.rule: f for f in attempt.verdict.findings}
    assert by_rule["range"].message.startswith("Spreadsheet row 7 (sheet 'data'): q1_noise")
    assert by_rule["range"].firm_id == firms[4]["firm_id"]
    assert by_rule["number"].value == "#DIV/0!"
    assert "column " in by_rule["ragged_row"].message and "Spreadsheet row 11" in by_rule["ragged_row"].message
    assert by_rule["blank_record"].message.startswith("Spreadsheet row 4 (sheet 'data') is blank")


def test_a_workbook_is_read_from_the_sheet_named_like_the_wave_else_the_first_visible_one(tmp_path, small_wave):
    path = write_xlsx(tmp_path / "2011.xlsx", small_wave[:3], sheet="2011", before=("notes", "2010"))
    assert received_file(path).sheet == "2011"
    assert receive(path, tmp_path / "scratch", "2010").sheet == "2010"  # named by the caller: an empty sheet
    workbook = openpyxl.load_workbook(path)
    workbook["notes"].sheet_state = "hidden"
    workbook.save(tmp_path / "other.xlsx")
    raw = received_file(tmp_path / "other.xlsx")
    assert raw.sheet == "2010" and [(f.rule, f.message) for f in raw.findings] == [
        ("empty_file", "The sheet '2010' is empty: it has no header and no rows.")]


def test_a_workbook_table_may_start_right_of_column_a_and_hold_an_empty_column(tmp_path, small_wave):
    columns = list(CONTRACT_COLUMNS)
    workbook = openpyxl.Workbook()
    sheet = workbook.active

    def place(j: int) -> int:  # the table starts in column C, and column H is left empty between two questions
        return j + 3 + (j >= 5)

    for j, name in enumerate(columns):
        sheet.cell(row=1, column=place(j), value=name)
    for r, row in enumerate(small_wave, start=2):
        for j, name in enumerate(columns):
            sheet.cell(row=r, column=place(j), value=typed(name, row[name]))
    workbook.save(tmp_path / "w.xlsx")
    raw = received_file(tmp_path / "w.xlsx")
    assert raw.findings == [] and raw.header == columns
    attempt, answers, _ = staged(raw)
    assert attempt.verdict.counts == {}
    _, expected, _ = staged(received_file(write_wave(tmp_path / "w.csv", small_wave)))
    pd.testing.assert_frame_equal(answers, expected)

    sheet.cell(row=4, column=place(5) - 1, value="called back")  # a note in the empty column: a column without a name
    workbook.save(tmp_path / "noted.xlsx")
    raw = received_file(tmp_path / "noted.xlsx")
    assert [(f.rule, f.severity) for f in raw.findings] == [("unknown_column", "warning")]
    assert raw.findings[0].message.startswith("Column 6 has no name")


def test_a_broken_cell_in_an_spss_file_is_reported_at_its_case(tmp_path, small_wave):
    firms = [dict(r) for r in small_wave]
    firms[1]["cluster"] = "9"            # case 2: a code with no label
    firms[3]["employees"] = ""           # case 4: system-missing
    firms[5]["q7_capital_cost_mvnd"] = "-2.5"
    raw = received_file(write_sav(tmp_path / "w.sav", firms))
    assert raw.format == "sav" and raw.conversion["value_labels_read"] == SELECT_ONE
    attempt, _, _ = staged(raw)
    assert listed(attempt.verdict) == [("allowed_codes", "cluster", 2), ("required", "employees", 4),
                                       ("range", "q7_capital_cost_mvnd", 6)]
    assert attempt.verdict.findings[0].value == "9"
    assert attempt.verdict.findings[1].message.startswith("Case 4: employees")


def test_an_spss_value_label_names_its_choice_by_code_or_label(tmp_path, small_wave):
    frame = pd.DataFrame({"firm_id": ["BT-1", "BT-2", "BT-3"], "cluster": [1.0, 2.0, 3.0]})
    labels = {"cluster": {1: "bat_trang", 2: "Dong Ky", 3: "Van Phuc village"}}
    pyreadstat.write_sav(frame, str(tmp_path / "w.sav"), variable_value_labels=labels)
    raw = received_file(tmp_path / "w.sav")
    conn = duckdb.connect()
    stage_attempt(conn, raw, "w", None)
    cells = conn.execute("select cluster from staging.raw_responses order by source_row").fetchall()
    assert cells == [("bat_trang",), ("dong_ky",), ("Van Phuc village",)]  # the last is the codes rule's to judge


def test_split_choices_that_are_not_0_or_1_or_disagree_with_their_column_are_findings(tmp_path, small_wave):
    firms = [dict(r, q18_sources="buyers", q19_partner_importance="8", q20_initiator="partner", q18_other_text="")
             for r in small_wave]
    records, columns = kobo_rows(firms, combined=True)
    records[4]["q18_sources/suppliers"] = "2"                 # record 5
    records[5]["q18_sources/government"] = "1"                # record 6: split says buyers government
    records[7]["q21_partner_locations/abroad"] = "true"       # record 8: disagrees too, written as true
    attempt, _, _ = staged(received_file(write_rows(tmp_path / "kobo.csv", records, columns)))
    assert listed(attempt.verdict) == [("split_choice_value", "q18_sources/suppliers", 5),
                                       ("split_choices_disagree", "q18_sources", 6),
                                       ("split_choices_disagree", "q21_partner_locations", 8)]
    assert error_count(attempt.verdict.counts) == 3  # they block the wave, as every answers_well_formed rule
    disagree = attempt.verdict.findings[1]
    assert disagree.value == "buyers" and "'buyers government'" in disagree.message

    # Split columns alone make the answer; a choice the questionnaire lacks reaches the multi-select rule.
    alone, columns = kobo_rows(firms)
    for record in alone:
        record["q18_sources/television"] = "0"
    alone[2]["q18_sources/television"] = "1"
    attempt, answers, _ = staged(received_file(write_rows(tmp_path / "split.csv", alone, columns + [
        "q18_sources/television"])))
    assert listed(attempt.verdict) == [("multi_select", "q18_sources", 3)]
    assert attempt.verdict.findings[0].value == "buyers television"


def test_split_columns_convert_alike_by_duckdb_and_record_by_record(tmp_path, small_wave):
    from workflows.intake.wave_file import load_clean_file, stage_records, stage_uploaded

    records, columns = kobo_rows(small_wave, combined=True)
    records[2]["q18_sources/other"] = "yes"
    records[6]["q18_sources/buyers"] = "1" if records[6]["q18_sources/buyers"] == "0" else "0"
    raw = received_file(write_rows(tmp_path / "kobo.csv", records, columns))
    fast, slow = duckdb.connect(), duckdb.connect()
    for connection in (fast, slow):
        staging.ensure_tables(connection)
    assert load_clean_file(fast, raw) == len(records)
    quick = stage_uploaded(fast, raw, "w")
    careful = stage_records(slow, raw, "w").verdict
    assert quick == careful and listed(quick) == [("split_choice_value", "q18_sources/other", 3),
                                                  ("split_choices_disagree", "q18_sources", 7)]
    query = staging.attempt_rows("w", staging.Version(raw.sha256)) + " order by source_row"
    assert fast.execute(query).df().equals(slow.execute(query).df())


def test_one_question_under_two_names_is_a_duplicate_column(tmp_path, small_wave):
    raw = received_file(write_wave(tmp_path / "w.csv", small_wave, extra={"group-a/q1_noise": "3"}))
    assert [(f.rule, f.column, f.row) for f in raw.findings] == [("duplicate_column", "q1_noise", 0)]
    assert "'group-a/q1_noise'" in raw.findings[0].message
    firms = [dict(r, q18_sources="") for r in small_wave]
    raw = received_file(write_wave(tmp_path / "s.csv", firms, extra={"q18_sources/buyers": "0",
                                                                     "q18_sources_buyers": "0"}))
    assert [(f.rule, f.column) for f in raw.findings] == [("duplicate_column", "q18_sources_buyers")]


@pytest.mark.parametrize(("content", "rule", "words"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "unsupported_file_type", "save it as .xlsx"),
    (b"<stata_dta><header><release>118</release>" + b"\0" * 100, "unsupported_file_type", "32 characters"),
    (b"PK\x03\x04" + b"\0" * 100, "damaged_file", "cannot be opened"),
    (b"$FL2@(#) IBM SPSS STATISTICS" + b"\0" * 100, "damaged_file", "SPSS"),
])
def test_exports_the_project_does_not_read_are_named_with_what_to_do(tmp_path, content, rule, words):
    path = tmp_path / "w.csv"
    path.write_bytes(content)
    raw = received_file(path)
    assert [(f.rule, f.row) for f in raw.findings] == [(rule, None)] and not raw.readable and rule in UNREADABLE
    assert words in raw.findings[0].message and "not UTF-8 text" not in raw.findings[0].message
    attempt, _ = stage_attempt(duckdb.connect(), raw, "w", None), None
    assert attempt.n_rows == 0 and set(attempt.verdict.counts) == {rule} and error_count(attempt.verdict.counts) == 1
    raw.discard()
    assert list((tmp_path / "intake-scratch").iterdir()) == []


def test_a_zip_without_a_workbook_and_an_ods_are_named(tmp_path):
    with zipfile.ZipFile(tmp_path / "w.zip", "w") as archive:
        archive.writestr("2011.csv", "firm_id\nBT-1\n")
    assert "Unpack it" in received_file(tmp_path / "w.zip").findings[0].message
    with zipfile.ZipFile(tmp_path / "w.ods", "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert received_file(tmp_path / "w.ods").findings[0].message.startswith("The file is an OpenDocument spreadsheet")


def test_a_workbook_saved_under_a_csv_name_is_read_as_the_workbook_it_is(tmp_path, small_wave):
    path = write_xlsx(tmp_path / "w.csv", small_wave)
    raw = received_file(path)
    assert raw.format == "xlsx" and raw.findings == [] and raw.copy.suffix == ".xlsx"
    attempt, _, _ = staged(raw)
    assert attempt.verdict.counts == {} and attempt.n_rows == len(small_wave)


def test_a_semicolon_export_says_how_to_export_again(tmp_path, small_wave):
    path = write_wave(tmp_path / "w.csv", small_wave)
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    finding = received_file(path).findings[0]
    assert finding.rule == "delimiter" and "semicolons" in finding.message
    assert "CSV UTF-8 (Comma delimited)" in finding.message and "XLSX" in finding.message


def test_a_header_of_labels_says_so(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("Firm ID,Village cluster\nBT-1,Bat Trang\n", encoding="utf-8")
    finding = received_file(path).findings[0]
    assert finding.rule == "header" and "XML values and headers" in finding.message


@pytest.mark.integration
def test_the_same_wave_as_csv_xlsx_spss_and_a_kobo_export_gives_the_same_results(tmp_path, small_wave,
                                                                                  isolated_project):
    """The CSV through the command, whose results.json is the wave's results document as the warehouse holds
    it; the other three exports through every asset up to that document (the report only renders it)."""
    import dagster as dg

    from tests.conftest import project_resources
    from workflows.definitions import defs
    from workflows.warehouse import documents

    records, columns = kobo_rows(small_wave)
    csv_file = write_wave(tmp_path / "w-csv.csv", small_wave)
    done = command("run", str(csv_file), "--out", str(tmp_path / "w-csv"))
    assert done.returncode == 0, done.stderr
    published = json.loads((tmp_path / "w-csv" / "results.json").read_text(encoding="utf-8"))
    assert published["raw_sha256"] == hashlib.sha256(csv_file.read_bytes()).hexdigest()
    assert published["n_firms"] == len(small_wave)

    others = {"w-xlsx": write_xlsx(tmp_path / "w-xlsx.xlsx", small_wave),
              "w-sav": write_sav(tmp_path / "w-sav.sav", small_wave),
              "w-kobo": write_rows(tmp_path / "w-kobo.csv", records, columns)}
    definitions = defs()
    up_to_results = [a for a in definitions.assets if dg.AssetKey("wave_report") not in a.keys]
    with dg.DagsterInstance.ephemeral() as instance:
        for wave, path in others.items():
            instance.add_dynamic_partitions("wave", [wave])
            resources = project_resources(isolated_project)
            resources["wave_files"].source_file = path
            assert dg.materialize(up_to_results, instance=instance, partition_key=wave, resources=resources,
                                  selection=up_to_results).success, wave
    with duckdb.connect(str(isolated_project / "warehouse" / "survey.duckdb"), read_only=True) as conn:
        for wave, path in others.items():
            document = documents.load(conn, documents.WAVE_RESULTS, wave)
            assert document["raw_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert {k: v for k, v in json.loads(json.dumps(document)).items() if k not in ("wave", "raw_sha256")} \
                == {k: v for k, v in published.items() if k not in ("wave", "raw_sha256")}, wave


def test_a_form_version_no_form_declares_or_several_versions_in_one_file_block_the_wave(tmp_path, small_wave):
    records, columns = kobo_rows(small_wave)
    unknown = [dict(r, __version__="2031") for r in records]
    attempt, _, _ = staged(received_file(write_rows(tmp_path / "unknown.csv", unknown, columns)))
    [finding] = [f for f in attempt.verdict.findings if f.rule == "form_version"]
    assert "name the form version 2031, which no form in schemas/forms/ declares" in finding.message
    mixed = [dict(r, __version__=form_versions()[0]) if i % 3 == 0 else r for i, r in enumerate(records)]
    attempt, _, _ = staged(received_file(write_rows(tmp_path / "mixed.csv", mixed, columns)))
    assert [f.rule for f in attempt.verdict.findings] == ["form_version"]
    assert "several form versions" in attempt.verdict.findings[0].message
