"""One broken copy of a valid wave per rule: each names exactly its rule, column and row.

The copies are made by editing the CSV text of a valid wave, as a survey manager's file
would go wrong, and judged by the same function the raw_wave asset runs.
"""

from pathlib import Path

import duckdb
import pytest

from tests.conftest import received_file, write_wave
from workflows.intake.wave_file import stage_attempt
from generators.synthetic import generate_wave

ROWS = generate_wave({"bat_trang": 6, "dong_ky": 6, "van_phuc": 6}, seed=21)


def judge(path: Path) -> list[tuple]:
    with duckdb.connect() as conn:
        attempt = stage_attempt(conn, received_file(path), "w")
    return [(f.rule, f.column, f.row, f.severity) for f in attempt.verdict.findings]


def edited(tmp_path, edit) -> Path:
    rows = [dict(r) for r in ROWS]
    edit(rows)
    return write_wave(tmp_path / "w.csv", rows)


def first(predicate):
    return next(i for i, row in enumerate(ROWS) if predicate(row))


ADOPTER = first(lambda r: r["q6_equipment_installed"] == "yes")
NON_ADOPTER = first(lambda r: r["q6_equipment_installed"] == "no")
NAMES_SOURCES = first(lambda r: r["q18_sources"] != "" and "other" not in r["q18_sources"])
NO_SOURCES = first(lambda r: r["q18_sources"] == "")


def test_the_valid_wave_has_no_errors(tmp_path):
    assert [f for f in judge(write_wave(tmp_path / "w.csv", ROWS)) if f[3] == "error"] == []


CELL_RULES = [
    ("required", "ownership", 4, lambda rows: rows[3].update(ownership="")),
    ("integer", "years_in_operation", 2, lambda rows: rows[1].update(years_in_operation="twelve")),
    ("number", "turnover_kvnd", 7, lambda rows: rows[6].update(turnover_kvnd="3.200.000")),
    ("range", "q2_resources", 9, lambda rows: rows[8].update(q2_resources="11")),
    ("range", "q15_monitoring_visits", 3, lambda rows: rows[2].update(q15_monitoring_visits="400")),
    ("date", "interview_date", 5, lambda rows: rows[4].update(interview_date="2007-13-01")),
    ("allowed_codes", "ownership", 6, lambda rows: rows[5].update(ownership="foreign")),
    ("firm_id_format", "firm_id", 1, lambda rows: rows[0].update(firm_id="BT 01")),
    ("duplicate_firm_id", "firm_id", 10, lambda rows: rows[9].update(firm_id=rows[2]["firm_id"])),
    ("multi_select", "q21_partner_locations", 11, lambda rows: rows[10].update(q21_partner_locations="moon")),
    ("q9_skip", "q9_introduced_by", ADOPTER + 1, lambda rows: rows[ADOPTER].update(q9_introduced_by="")),
    ("q9_skip", "q9_introduced_by", NON_ADOPTER + 1,
     lambda rows: rows[NON_ADOPTER].update(q9_introduced_by="supplier")),
    ("q10_ranking", "q10_constraint_3", 12, lambda rows: rows[11].update(
        q10_constraint_1="capital", q10_constraint_2="market", q10_constraint_3="market", q10_other_text="")),
    ("q10_ranking", "q10_constraint_2", 13, lambda rows: rows[12].update(
        q10_constraint_1="", q10_constraint_2="market", q10_constraint_3="", q10_other_text="")),
    ("other_text", "q10_other_text", 14, lambda rows: rows[13].update(
        q10_constraint_1="other", q10_constraint_2="", q10_constraint_3="", q10_other_text="")),
    ("other_text", "q18_other_text", NAMES_SOURCES + 1,
     lambda rows: rows[NAMES_SOURCES].update(q18_sources="other", q18_other_text="")),
    ("q19_skip", "q19_partner_importance", NAMES_SOURCES + 1,
     lambda rows: rows[NAMES_SOURCES].update(q19_partner_importance="")),
    ("q20_skip", "q20_initiator", NO_SOURCES + 1, lambda rows: rows[NO_SOURCES].update(q20_initiator="both")),
]


@pytest.mark.parametrize(("rule", "column", "row", "edit"), CELL_RULES, ids=[f"{r[0]}-{r[1]}" for r in CELL_RULES])
def test_a_broken_cell_is_reported_by_rule_column_and_row(tmp_path, rule, column, row, edit):
    errors = [f for f in judge(edited(tmp_path, edit)) if f[3] == "error"]
    assert errors == [(rule, column, row, "error")]


def test_a_missing_required_column_is_reported_under_its_name(tmp_path):
    columns = [c for c in ROWS[0] if c != "q13_buyers_offered_help"]
    path = write_wave(tmp_path / "w.csv", ROWS, columns=columns)
    assert [f for f in judge(path) if f[3] == "error"] == [("missing_column", "q13_buyers_offered_help", None, "error")]


def test_optional_columns_may_be_left_out(tmp_path):
    columns = [c for c in ROWS[0] if c not in ("respondent_name", "respondent_phone", "notes")]
    assert [f for f in judge(write_wave(tmp_path / "w.csv", ROWS, columns=columns)) if f[3] == "error"] == []


def rewrite(tmp_path, transform) -> Path:
    path = write_wave(tmp_path / "w.csv", ROWS)
    path.write_bytes(transform(path.read_bytes()))
    return path


def with_line(content: bytes, number: int, change) -> bytes:
    lines = content.split(b"\n")
    lines[number] = change(lines[number])
    return b"\n".join(lines)


FILE_RULES = [
    ("encoding", None, None, lambda b: b.replace(b"bat_trang", "bát_tràng".encode("cp1258"), 1)),
    ("empty_file", None, None, lambda b: b""),
    ("no_rows", None, None, lambda b: b.split(b"\n")[0] + b"\n"),
    ("delimiter", None, None, lambda b: b.replace(b",", b";")),
    ("header", None, None, lambda b: b"\n".join(b.split(b"\n")[1:])),
    ("ragged_row", None, 3, lambda b: with_line(b, 3, lambda line: line + b",surplus")),
    ("duplicate_column", "notes", 0, lambda b: b.replace(b",respondent_phone,notes", b",notes,notes", 1)),
]


@pytest.mark.parametrize(("rule", "column", "row", "transform"), FILE_RULES, ids=[r[0] for r in FILE_RULES])
def test_a_broken_file_is_reported_by_its_file_rule(tmp_path, rule, column, row, transform):
    errors = [f for f in judge(rewrite(tmp_path, transform)) if f[3] == "error"]
    assert (rule, column, row, "error") in errors
    if rule not in ("ragged_row", "duplicate_column"):
        assert errors == [(rule, column, row, "error")]


WARNING_RULES = [
    ("outlier", "employees", 2, lambda rows: rows[1].update(employees="99999")),
    ("interview_date_far", "interview_date", 3, lambda rows: rows[2].update(interview_date="2008-09-10")),
    ("duplicate_answers", "firm_id", 5, lambda rows: rows[4].update(
        {k: v for k, v in rows[0].items() if k not in ("firm_id", "interview_date", "notes")})),
    ("q4_without_q3", "q4_complaint_own", 6, lambda rows: rows[5].update(
        q3_complaints_village="no", q4_complaint_own="yes")),
]


@pytest.mark.parametrize(("rule", "column", "row", "edit"), WARNING_RULES, ids=[r[0] for r in WARNING_RULES])
def test_data_quality_warnings_do_not_block(tmp_path, rule, column, row, edit):
    findings = judge(edited(tmp_path, edit))
    assert (rule, column, row, "warning") in findings
    assert [f for f in findings if f[3] == "error"] == []


def test_an_unknown_column_is_a_warning(tmp_path):
    findings = judge(write_wave(tmp_path / "w.csv", ROWS, extra={"gps": "21.0,105.8"}))
    assert findings.count(("unknown_column", "gps", 0, "warning")) == 1
    assert [f for f in findings if f[3] == "error"] == []


def test_every_mistake_of_a_file_is_reported_in_one_pass(tmp_path):
    path = edited(tmp_path, lambda rows: [edit(rows) for *_, edit in CELL_RULES[:10]])
    errors = {(f[0], f[1], f[2]) for f in judge(path) if f[3] == "error"}
    assert {(rule, column, row) for rule, column, row, _ in CELL_RULES[:10]} <= errors


def test_the_benchmark_generator_writes_valid_waves(tmp_path):
    from generators.synthetic import generate_large_wave

    path = tmp_path / "big.csv"
    path.write_bytes(generate_large_wave(400, seed=3))
    assert [f for f in judge(path) if f[3] == "error"] == []


def test_a_wave_failing_everywhere_is_counted_in_full_but_listed_up_to_the_limit(tmp_path):
    from generators.synthetic import generate_large_wave

    lines = generate_large_wave(2_500, seed=5).decode().splitlines()
    column = lines[0].split(",").index("q1_noise")
    broken = [lines[0]] + [",".join(cells[:column] + ["11"] + cells[column + 1:])
                           for cells in (line.split(",") for line in lines[1:])]
    path = tmp_path / "w.csv"
    path.write_text("\n".join(broken) + "\n")
    with duckdb.connect() as conn:
        bounded = stage_attempt(conn, received_file(path), "w", items_per_rule=1_000).verdict
    with duckdb.connect() as conn:
        everything = stage_attempt(conn, received_file(path), "w", items_per_rule=None).verdict
    assert bounded.counts["range"] == everything.counts["range"] == 2_500
    ranged = [f for f in bounded.findings if f.rule == "range"]
    assert len(ranged) == 1_000 and [f.row for f in ranged] == list(range(1, 1_001))
    assert len([f for f in everything.findings if f.rule == "range"]) == 2_500


def test_the_census_generator_writes_the_same_valid_wave_for_the_same_seed(tmp_path):
    from generators.synthetic import main

    main(["300", str(tmp_path / "a.csv"), "--seed", "2"])
    main(["300", str(tmp_path / "b.csv"), "--seed", "2"])
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    with duckdb.connect() as conn:
        attempt = stage_attempt(conn, received_file(tmp_path / "a.csv"), "a")
    assert attempt.n_rows == 300
    assert [f for f in attempt.verdict.findings if f.severity == "error"] == []


def test_ragged_records_are_counted_in_full_but_listed_up_to_the_limit(tmp_path):
    from generators.synthetic import generate_large_wave

    lines = generate_large_wave(1_500, seed=6).decode().splitlines()
    path = tmp_path / "w.csv"
    path.write_text("\n".join([lines[0]] + [line + ",surplus" for line in lines[1:1_201]] + lines[1_201:]) + "\n")
    with duckdb.connect() as conn:
        attempt = stage_attempt(conn, received_file(path), "w", items_per_rule=1_000)
    assert attempt.verdict.counts["ragged_row"] == 1_200 and attempt.n_rows == 300
    assert [f.row for f in attempt.verdict.findings if f.rule == "ragged_row"] == list(range(1, 1_001))


@pytest.mark.parametrize("written", ["1e400", "-1e400", "1e15", "9" * 400])
def test_numbers_must_be_finite_and_of_a_usable_size(tmp_path, written):
    path = edited(tmp_path, lambda rows: rows[4].update(turnover_kvnd=written))
    assert [f for f in judge(path) if f[3] == "error"] == [("number", "turnover_kvnd", 5, "error")]
    with duckdb.connect() as conn:
        message = stage_attempt(conn, received_file(path), "w").verdict.findings[0].message
    assert "too large for any answer" in message and written[:20] in message


def test_a_large_but_plausible_number_passes(tmp_path):
    findings = judge(edited(tmp_path, lambda rows: rows[4].update(turnover_kvnd="9.5e14")))
    assert [f for f in findings if f[3] == "error"] == [] and ("outlier", "turnover_kvnd", 5, "warning") in findings


@pytest.mark.parametrize("written", ["99999999999999999999", "9223372036854775808", "9" * 3000])
def test_whole_numbers_beyond_any_integer_are_findings_not_crashes(tmp_path, written):
    path = edited(tmp_path, lambda rows: rows[2].update(employees=written))
    assert [f for f in judge(path) if f[3] == "error"] == [("integer", "employees", 3, "error")]
    with duckdb.connect() as conn:
        message = stage_attempt(conn, received_file(path), "w").verdict.findings[0].message
    assert "too large for any answer" in message


def timed(rows: list[dict], minutes: dict[int, int] | None = None) -> None:
    """Interviews of 40 to 57 minutes from 08:00 on their day; `minutes` overrides some rows' length."""
    for i, row in enumerate(rows):
        length = (minutes or {}).get(i, 40 + i)
        day = row["interview_date"]
        row.update(interview_start=f"{day}T08:00:00+07:00",
                   interview_end=f"{day}T{8 + length // 60:02d}:{length % 60:02d}:00+07:00", interviewer_id="E1")


def test_an_interview_far_shorter_or_longer_than_the_waves_is_a_warning(tmp_path):
    assert [f for f in judge(edited(tmp_path, timed)) if f[0] in ("interview_duration", "interview_times")
            or f[3] == "error"] == []
    findings = judge(edited(tmp_path, lambda rows: timed(rows, {3: 4, 7: 300})))
    assert [f for f in findings if f[0] == "interview_duration"] == [
        ("interview_duration", "interview_end", 4, "warning"), ("interview_duration", "interview_end", 8, "warning")]
    assert [f for f in findings if f[3] == "error"] == []
    with duckdb.connect() as conn:
        attempt = stage_attempt(conn, received_file(edited(tmp_path, lambda rows: timed(rows, {3: 4}))), "w")
    [warning] = [f for f in attempt.verdict.findings if f.rule == "interview_duration"]
    assert warning.message.startswith("The interview lasted 4 minutes (") and "far outside the wave's usual" in warning.message
