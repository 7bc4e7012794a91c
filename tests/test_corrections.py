"""Corrections as data: a survey team's `<wave>.csv` of fixed cells, applied before any rule, never to the raw file."""

import json

import dagster as dg
import duckdb
import pytest

from generators.synthetic import generate_wave
from tests.conftest import command, write_wave
from workflows.defs.automation import stale_reason
from workflows.definitions import defs
from workflows.intake import corrections
from workflows.intake.files import file_sha256
from workflows.intake.corrections import FILE_RULE, REFUSED_RULE, apply_corrections, read_corrections
from workflows.warehouse import staging

HEADER = "firm_id,column,old_value,new_value,reason,who,when\n"


def corrections_file(path, *lines, header=HEADER):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- the file itself ---------------------------------------------------------------------------------------------

def test_a_missing_folder_or_file_means_no_corrections(tmp_path):
    received = read_corrections(tmp_path / "nowhere" / "2009.csv")
    assert received.path is None and received.sha256 == "" and received.corrections == [] == received.problems


def test_each_line_becomes_one_correction_with_its_line_number(tmp_path):
    path = corrections_file(tmp_path / "w.csv", "BT-01,employees,156,56,typing error,Lan,2009-10-02",
                            ",,,,,,", "BT-02,q9_budget_share_pct,,12,answer given at callback,Minh,2009-10-03T09:30")
    received = read_corrections(path)
    assert received.problems == []
    assert [(c.line, c.firm_id, c.column, c.old_value, c.new_value) for c in received.corrections] == [
        (2, "BT-01", "employees", "156", "56"), (4, "BT-02", "q9_budget_share_pct", None, "12")]
    assert len(received.sha256) == 64


def test_the_header_may_be_written_as_people_write_it(tmp_path):
    path = corrections_file(tmp_path / "w.csv", "BT-01,employees,156,56,typing error,Lan,2009-10-02,3",
                            header="Firm ID,Column,Old value,New-Value,Reason,Who,When,Row\n")
    received = read_corrections(path)
    assert received.problems == [] and received.corrections[0].row == 3


@pytest.mark.parametrize("line, said", [
    ("BT-01,employees,156,56,,Lan,2009-10-02", "leaves reason empty"),
    ("BT-01,employees,156,56,typing error,Lan,last Tuesday", "'last Tuesday' as when, which is not a date"),
    (",employees,156,56,typing error,Lan,2009-10-02", "leaves firm_id empty"),
])
def test_a_line_without_its_audit_trail_is_a_finding_naming_the_line(tmp_path, line, said):
    received = read_corrections(corrections_file(tmp_path / "w.csv", line))
    assert received.corrections == []
    assert [p.rule for p in received.problems] == [FILE_RULE]
    assert received.problems[0].message.startswith("Line 2 of the corrections file w.csv")
    assert said in received.problems[0].message


def test_a_file_without_the_columns_or_in_another_encoding_is_named_once(tmp_path):
    missing = read_corrections(corrections_file(tmp_path / "a.csv", "BT-01,employees,56", header="firm_id,column,new\n"))
    assert len(missing.problems) == 1
    assert "has no columns old_value, new_value, reason, who, when in its header" in missing.problems[0].message
    latin = tmp_path / "b.csv"
    latin.write_bytes((HEADER + "BT-01,notes,,Phú,typo,Lan,2009-10-02\n").encode("cp1252"))
    assert "is not UTF-8 text" in read_corrections(latin).problems[0].message


def test_the_same_cell_corrected_twice_is_refused_on_its_second_line(tmp_path):
    received = read_corrections(corrections_file(tmp_path / "w.csv", "BT-01,employees,156,56,a,Lan,2009-10-02",
                                                 "BT-01,employees,156,65,b,Minh,2009-10-02"))
    assert [c.line for c in received.corrections] == [2]
    assert "line 2 does already" in received.problems[0].message


# --- applied to staged cells -------------------------------------------------------------------------------------

@pytest.fixture
def staged():
    """Four staged records of wave w: BT-01, BT-02 twice (records 2 and 3), VP-01 with a name."""
    conn = duckdb.connect()
    staging.ensure_tables(conn)
    conn.execute("""
        insert into staging.raw_responses (wave, raw_sha256, corrections_sha256, source_row, firm_id, employees,
                                           respondent_name)
        values ('w', 'raw', 'fix', 1, 'BT-01', '156', null), ('w', 'raw', 'fix', 2, 'BT-02', '5', null),
               ('w', 'raw', 'fix', 3, 'BT-02', '7', null), ('w', 'raw', 'fix', 4, 'VP-01 ', '9', 'Nguyễn Thị Hoa')
    """)
    return conn


def applying(conn, tmp_path, *lines, header=HEADER):
    received = read_corrections(corrections_file(tmp_path / "w.csv", *lines, header=header))
    assert received.problems == []
    version = staging.Version("raw", "fix")
    outcome = apply_corrections(conn, "w", version, received, ["firm_id", "employees", "respondent_name"])
    cells = dict(conn.execute(f"select source_row, employees from ({staging.attempt_rows('w', version)})").fetchall())
    return outcome, cells


def test_a_correction_replaces_the_staged_cell_that_holds_its_old_value_and_is_logged(staged, tmp_path):
    outcome, cells = applying(staged, tmp_path, "BT-01,employees,156,56,typing error,Lan,2009-10-02",
                              "VP-01,employees, 9 ,,never asked,Lan,2009-10-02")
    assert outcome.refused == [] and [record for _, record in outcome.applied] == [1, 4]
    assert cells == {1: "56", 2: "5", 3: "7", 4: None}
    log = corrections.applied_of(staged, "w", staging.Version("raw", "fix"))
    assert [(c["line"], c["source_row"], c["firm_id"], c["old_value"], c["new_value"]) for c in log] == [
        (2, 1, "BT-01", "156", "56"), (3, 4, "VP-01", "9", None)]


def test_a_correction_whose_old_value_is_not_the_cell_is_refused_and_changes_nothing(staged, tmp_path):
    outcome, cells = applying(staged, tmp_path, "BT-01,employees,999,56,typing error,Lan,2009-10-02")
    assert outcome.applied == [] and cells[1] == "156"
    [refused] = outcome.refused
    assert (refused.rule, refused.column, refused.row, refused.firm_id, refused.value) == (
        REFUSED_RULE, "employees", 1, "BT-01", "156")
    assert refused.message.startswith("Line 2 of the corrections file w.csv (firm BT-01, employees) was not applied: "
                                      "it expects '999', but record 1 holds '156'; its old value must be the raw "
                                      "file's cell as validation.json shows it.")


def test_a_firm_id_on_two_records_needs_the_row_and_then_corrects_only_that_record(staged, tmp_path):
    outcome, cells = applying(staged, tmp_path, "BT-02,employees,5,6,typing error,Lan,2009-10-02")
    assert "firm BT-02 has records 2, 3; give the one to correct in the row column" in outcome.refused[0].message
    assert cells[2] == "5"
    staged.execute("delete from staging.applied_corrections")
    outcome, cells = applying(staged, tmp_path, "BT-02,employees,7,8,duplicate entered twice,Lan,2009-10-02,3",
                              header=HEADER.replace("\n", ",row\n"))
    assert outcome.refused == [] and cells == {1: "156", 2: "5", 3: "8", 4: "9"}


def test_an_unknown_firm_or_column_is_refused_with_its_reason(staged, tmp_path):
    outcome, _ = applying(staged, tmp_path, "BT-99,employees,1,2,x,Lan,2009-10-02",
                          "BT-01,turnover_kvnd,1,2,x,Lan,2009-10-02", "BT-01,Employees,156,56,x,Lan,2009-10-02",
                          "BT-01,firm/employees,156,56,x,Lan,2009-10-03")
    assert ["has no record of firm BT-99" in outcome.refused[0].message,
            "the raw file has no question turnover_kvnd" in outcome.refused[1].message,
            "write employees instead of Employees" in outcome.refused[2].message,
            "write employees instead of firm/employees" in outcome.refused[3].message] == [True] * 4


def test_a_personal_cell_is_corrected_but_its_values_are_never_written_into_a_sentence(staged, tmp_path):
    outcome, _ = applying(staged, tmp_path, "VP-01,respondent_name,Nguyễn Thị Lan,Hoa,misheard,Lan,2009-10-02")
    [refused] = outcome.refused
    assert "Nguyễn" not in refused.message and "Hoa" not in refused.message and refused.value is None
    assert "does not hold the old value it gives (the values of a personal column are shown nowhere" in refused.message
    outcome, _ = applying(staged, tmp_path, "VP-01,respondent_name,Nguyễn Thị Hoa,Nguyễn Thị Hòa,accent,Lan,2009-10-02")
    assert outcome.refused == [] and staged.execute(
        "select respondent_name from staging.raw_responses where source_row = 4").fetchall() == [("Nguyễn Thị Hòa",)]


def test_a_folder_where_the_file_should_be_is_a_finding_and_so_is_another_separator(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    [problem] = read_corrections(tmp_path / "folder.csv").problems
    assert problem.rule == FILE_RULE and "cannot be read" in problem.message and "a folder" in problem.message
    semicolons = corrections_file(tmp_path / "s.csv", "BT-01;employees;156;56;typo;Lan;2009-10-02",
                                  header=HEADER.replace(",", ";"))
    assert "is separated by semicolons, not by commas" in read_corrections(semicolons).problems[0].message


def test_a_finding_about_a_corrected_cell_names_the_corrections_line_and_the_raw_value(staged, tmp_path):
    from schemas.findings import Finding, Verdict

    outcome, _ = applying(staged, tmp_path, "BT-01,employees,156,-5,typo,Lan,2009-10-02")
    judged = Verdict([Finding("range", "employees", 1, "BT-01", "-5", "employees must be at least 0."),
                      Finding("range", "employees", 2, "BT-02", "-7", "employees must be at least 0.")], {"range": 2})
    first, second = corrections.corrected_cells(judged, outcome, "w.csv").findings
    assert first.message == ("employees must be at least 0. (The value comes from line 2 of the corrections file "
                             "w.csv; the raw file holds '156'.)")
    assert second.message == "employees must be at least 0."


def test_a_wave_published_with_corrections_is_warned_about_when_its_file_is_gone(staged, tmp_path):
    assert corrections.corrections_left_behind(staged, "w") == []
    staged.execute("insert into waves (wave, raw_sha256, corrections_sha256, source_name, n_firms) "
                   "values ('w', 'raw', 'fix', 'w.csv', 4)")
    corrections.store_received(staged, "w", read_corrections(corrections_file(
        tmp_path / "w.csv", "BT-01,employees,156,56,typo,Lan,2009-10-02")))
    staged.execute("update staging.corrections set corrections_sha256 = 'fix'")
    [warning] = corrections.corrections_left_behind(staged, "w")
    assert warning.severity == "warning" and warning.message.startswith(
        "The published version of wave w was corrected by the corrections file w.csv (1 line), but the corrections "
        "folder has none for the wave now")


# --- through the command and the asset graph ---------------------------------------------------------------------

@pytest.mark.integration
def test_a_corrections_file_fixes_the_wave_on_the_next_run_and_a_bad_one_never_touches_the_published_wave(
        isolated_project):
    rows = generate_wave({"bat_trang": 6, "dong_ky": 6, "van_phuc": 6}, seed=5)
    rows[2]["q1_noise"] = "11"  # out of the 1-10 scale
    raw = write_wave(isolated_project / "raw" / "2011.csv", rows)
    raw_bytes = raw.read_bytes()
    out = isolated_project / "outputs" / "2011"

    failed = command("run", str(raw))
    assert failed.returncode == 1 and "q1_noise" in failed.stderr

    fix = corrections_file(isolated_project / "corrections" / "2011.csv",
                           f"{rows[2]['firm_id']},q1_noise,11,1,Interviewer's note: one out of ten,Lan,2011-10-02",
                           f"{rows[0]['firm_id']},respondent_phone,{rows[0]['respondent_phone']},0900000000,"
                           "New number,Lan,2011-10-02")
    done = command("run", str(raw))
    assert done.returncode == 0, done.stderr
    assert raw.read_bytes() == raw_bytes
    results = json.loads((out / "results.json").read_text())
    assert results["validation"]["counts"].get("range", 0) == 0
    applied = results["corrections"]["applied"]
    assert [(a["firm_id"], a["column"], a["old_value"], a["new_value"]) for a in applied] == [
        (rows[2]["firm_id"], "q1_noise", "11", "1"), (rows[0]["firm_id"], "respondent_phone", None, None)]
    assert results["corrections"]["sha256"] == read_corrections(fix).sha256
    assert "0900000000" not in (out / "results.json").read_text() + (out / "validation.json").read_text()
    published = {name: (out / name).read_bytes() for name in ("report.pdf", "results.json", "validation.json")}

    corrections_file(fix, f"{rows[2]['firm_id']},q1_noise,12,1,wrong old value,Lan,2011-10-03")
    with dg.DagsterInstance.get() as instance:  # the schedule sees the changed file as a stale report
        graph = defs().resolve_asset_graph()
        assert stale_reason(instance, graph, "2011", file_sha256(raw), results["corrections"]["sha256"]
                            ) is None
        assert stale_reason(instance, graph, "2011", file_sha256(raw), read_corrections(fix).sha256
                            ) == "its corrections file changed"
    refused = command("run", str(raw))
    assert refused.returncode == 1 and "was not applied: it expects '12', but record 3 holds '11'" in refused.stderr
    assert {name: (out / name).read_bytes() for name in published} == published
    with duckdb.connect(str(isolated_project / "warehouse" / "survey.duckdb"), read_only=True) as conn:
        assert conn.execute("select corrections_sha256 from waves").fetchall()[0][0] == results["corrections"]["sha256"]
        assert conn.execute("select count(*) from survey_responses where q1_noise = 1 and wave = '2011'"
                            ).fetchall()[0][0] >= 1

    checked = command("validate", str(raw))
    assert checked.returncode == 1 and "correction_refused" in checked.stderr


def test_a_new_or_changed_corrections_file_runs_the_wave_again(isolated_project):
    from workflows.defs.automation import raw_wave_files
    from workflows.defs.resources import WaveFiles

    write_wave(isolated_project / "raw" / "2011.csv", generate_wave({"van_phuc": 4}, seed=1))
    wave_files = WaveFiles(raw_dir=isolated_project / "raw", outputs_dir=isolated_project / "outputs",
                           corrections_dir=isolated_project / "corrections")
    (isolated_project / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(isolated_project / "instance")) as instance:
        def tick(cursor):
            with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"wave_files": wave_files}) as ctx:
                return raw_wave_files(ctx)

        first = tick(None)
        assert len(first.run_requests) == 1
        assert tick(first.cursor).run_requests == []
        fix = corrections_file(isolated_project / "corrections" / "2011.csv", "VP-0001,employees,1,2,x,Lan,2011-10-02")
        added = tick(first.cursor)
        assert [r.tags.get("cleantech/corrections_sha256") for r in added.run_requests] == [read_corrections(fix).sha256]
        assert tick(added.cursor).run_requests == []
        fix.unlink()
        removed = tick(added.cursor)
        assert len(removed.run_requests) == 1 and "cleantech/corrections_sha256" not in removed.run_requests[0].tags
        assert tick(removed.cursor).run_requests == []
