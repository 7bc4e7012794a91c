"""Reading a raw file: one read into a private copy, the CSV grammar, limits and record numbers."""

import os

import duckdb
import pandas as pd
import pytest

from schemas.rules import error_count
from tests.conftest import received_file, write_wave
from workflows.warehouse import staging
from workflows.intake.files import NotARegularFile
from workflows.intake.wave_file import MAX_COLUMNS, receive, stage_attempt, stage_records


@pytest.fixture
def conn():
    connection = duckdb.connect()
    staging.ensure_tables(connection)
    yield connection
    connection.close()


def rules(findings):
    return [(f.rule, f.column, f.row) for f in findings]


def staged(conn, raw):
    """Stage the file's well-formed records; return them indexed by record number, and the verdict."""
    result = stage_records(conn, raw, "w")
    rows = conn.execute(staging.attempt_rows("w", staging.Version(raw.sha256))).df().set_index("source_row")
    assert len(rows) == result.n_rows
    return rows, result.verdict


def rewrite(path, edit):
    lines = path.read_bytes().decode("utf-8").split("\n")
    edit(lines)
    path.write_bytes("\n".join(lines).encode("utf-8"))
    return path


def test_a_bom_is_dropped_and_columns_may_come_in_any_order(tmp_path, conn, small_wave):
    columns = list(reversed(small_wave[0].keys()))
    raw = received_file(write_wave(tmp_path / "w.csv", small_wave, columns=columns, bom=True))
    assert raw.findings == []
    assert raw.header[-1] == "firm_id"
    rows, verdict = staged(conn, raw)
    assert verdict.counts == {}
    assert list(rows.index) == list(range(1, len(small_wave) + 1))
    assert rows.loc[1, "firm_id"] == small_wave[0]["firm_id"]


def test_the_digest_and_the_rows_come_from_one_read_into_a_private_copy(tmp_path, conn, small_wave):
    source = write_wave(tmp_path / "export[1].csv", small_wave)
    decoy = write_wave(tmp_path / "export1.csv", small_wave[:2])  # what a glob pattern would match
    raw = received_file(source)
    original = source.read_bytes()
    source.write_bytes(decoy.read_bytes())  # replaced during the run: the copy is what was read
    assert raw.copy.read_bytes() == original and raw.copy.parent == tmp_path / "intake-scratch"
    import hashlib
    assert raw.sha256 == hashlib.sha256(original).hexdigest()
    rows, _ = staged(conn, raw)
    assert len(rows) == len(small_wave)


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_only_regular_files_are_read(tmp_path, kind):
    path = tmp_path / "w.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")
    with pytest.raises(NotARegularFile, match="not a regular file"):
        receive(path, tmp_path / "scratch")
    assert list((tmp_path / "scratch").iterdir()) == []


def test_an_unknown_column_is_a_warning_and_is_not_staged(tmp_path, conn, small_wave):
    raw = received_file(write_wave(tmp_path / "w.csv", small_wave, extra={"enumerator": "A"}))
    assert [(f.rule, f.column, f.severity) for f in raw.findings] == [("unknown_column", "enumerator", "warning")]
    rows, _ = staged(conn, raw)
    assert "enumerator" not in rows.columns


def test_a_file_in_another_encoding_is_refused_with_its_position(tmp_path):
    path = tmp_path / "w.csv"
    path.write_bytes("firm_id,cluster\nVP-1,Vạn Phúc\n".encode("utf-16"))
    # A two-column file: the questionnaire's other columns are missing, said in the same round.
    assert rules(received_file(path).findings)[:2] == [("encoding", None, None), ("missing_column", "interview_date", None)]
    path.write_bytes(b"firm_id,notes\nBT-1,ch\xe8 \n")
    finding = received_file(path).findings[0]
    assert finding.rule == "encoding" and "line 2" in finding.message


@pytest.mark.parametrize(("content", "rule"), [
    (b"", "empty_file"),
    (b"\xef\xbb\xbf", "empty_file"),
    (b"firm_id;cluster;ownership\nBT-1;bat_trang;private\n", "delimiter"),
    (b"BT-1,bat_trang,private\n", "header"),
    (b'firm_id,"cluster\nBT-1,bat_trang\n', "header"),
])
def test_unreadable_files_are_findings(tmp_path, content, rule):
    path = tmp_path / "w.csv"
    path.write_bytes(content)
    raw = received_file(path)
    said = [finding for finding in rules(raw.findings) if finding[0] != "missing_column"]
    assert said == [(rule, None, None)] and not raw.readable


def test_a_header_beyond_the_column_limit_is_one_finding(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text(",".join(["firm_id"] + [f"x{i}" for i in range(MAX_COLUMNS)]) + "\n1\n", encoding="utf-8")
    raw = received_file(path)
    assert rules(raw.findings) == [("too_many_columns", None, None)] and not raw.readable


def test_ragged_records_are_reported_by_record_number_and_the_rest_keep_theirs(tmp_path, conn, small_wave):
    def edit(lines):
        lines[2] += ","                         # record 2: one extra empty field
        lines[3] = lines[3].replace(",", ",x,", 1)  # record 3: an unquoted comma shifts every cell
        lines[5] = lines[5].rsplit(",", 3)[0]    # record 5: three fields short
    raw = received_file(rewrite(write_wave(tmp_path / "w.csv", small_wave), edit))
    rows, verdict = staged(conn, raw)
    assert rules(verdict.findings) == [("ragged_row", None, 2), ("ragged_row", None, 3), ("ragged_row", None, 5)]
    width = len(raw.header)
    assert f"{width + 1} fields but the header has {width} columns" in verdict.findings[0].message
    assert not {2, 3, 5} & set(rows.index)
    assert rows.loc[6, "firm_id"] == small_wave[5]["firm_id"]


def test_a_blank_line_is_a_warning_and_a_short_record_after_it_an_error(tmp_path, conn, small_wave):
    def edit(lines):
        lines[3:3] = ["", "BT-X,bat_trang"]
    raw = received_file(rewrite(write_wave(tmp_path / "w.csv", small_wave), edit))
    rows, verdict = staged(conn, raw)
    assert [(f.rule, f.row, f.severity) for f in verdict.findings] == [
        ("blank_record", 3, "warning"), ("ragged_row", 4, "error")]
    assert rows.loc[5, "firm_id"] == small_wave[2]["firm_id"]  # numbering goes on after them


def test_an_unclosed_quote_is_named_and_nothing_after_it_is_read_silently(tmp_path, conn, small_wave):
    def edit(lines):
        lines[4] = lines[4].replace(",", ',"', 1)
    raw = received_file(rewrite(write_wave(tmp_path / "w.csv", small_wave), edit))
    rows, verdict = staged(conn, raw)
    assert rules(verdict.findings) == [("unclosed_quote", None, 4)]
    assert "No record from there on was read" in verdict.findings[0].message
    assert list(rows.index) == [1, 2, 3]


def test_a_misplaced_quote_and_a_bare_carriage_return_are_findings(tmp_path, conn, small_wave):
    firms = [dict(r) for r in small_wave]
    firms[1]["notes"] = "first\rsecond"
    firms[2]["notes"] = "windows\r\nline break"   # a CR LF inside a quoted cell is a line break
    def edit(lines):
        lines[-2] = lines[-2].replace(",", ',"x"y,', 1)
    path = rewrite(write_wave(tmp_path / "w.csv", firms), edit)
    path.write_bytes(path.read_bytes().replace(b"first\rsecond", b'"first\rsecond"'))
    raw = received_file(path)
    rows, verdict = staged(conn, raw)
    assert rules(verdict.findings) == [("carriage_return", "notes", 2), ("misplaced_quote", None, len(firms))]
    assert rows.loc[3, "notes"] == "windows\r\nline break"


def test_a_cell_beyond_the_size_limit_is_a_finding_not_a_crash(tmp_path, conn, small_wave, monkeypatch):
    import csv
    monkeypatch.setattr("workflows.intake.wave_file.MAX_CELL_CHARACTERS", 1000)
    previous = csv.field_size_limit(1000)
    try:
        firms = [dict(r) for r in small_wave]
        firms[3]["notes"] = "n" * 5000
        raw = received_file(write_wave(tmp_path / "w.csv", firms))
        rows, verdict = staged(conn, raw)
    finally:
        csv.field_size_limit(previous)
    assert rules(verdict.findings) == [("cell_too_long", None, 4)]
    assert "longer than 1,000 characters" in verdict.findings[0].message


def test_a_quoted_newline_does_not_start_a_record(tmp_path, conn, small_wave):
    rows_in = [dict(r) for r in small_wave]
    rows_in[0]["notes"] = "first line,\nsecond line"
    rows, verdict = staged(conn, received_file(write_wave(tmp_path / "w.csv", rows_in)))
    assert rows.loc[1, "notes"] == "first line,\nsecond line"
    assert rows.loc[2, "firm_id"] == small_wave[1]["firm_id"]
    assert len(rows) == len(small_wave) and verdict.counts == {}


def test_a_duplicated_header_is_an_error_naming_the_column(tmp_path, small_wave):
    path = write_wave(tmp_path / "w.csv", small_wave)
    text = path.read_text(encoding="utf-8").replace(",interview_end\n", ",cluster\n", 1)
    path.write_text(text, encoding="utf-8")
    assert ("duplicate_column", "cluster", 0) in rules(received_file(path).findings)


def test_windows_line_endings_are_read_like_any_others(tmp_path, conn, small_wave):
    path = write_wave(tmp_path / "w.csv", small_wave)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    raw = received_file(path)
    assert raw.findings == []
    rows, verdict = staged(conn, raw)
    assert verdict.counts == {}
    assert len(rows) == len(small_wave) and pd.isna(rows.loc[1, "notes"])  # empty stays missing
    assert rows.loc[len(small_wave), "q22_help_senior_gov"] == small_wave[-1]["q22_help_senior_gov"]


def test_a_column_name_beyond_its_limit_is_one_finding(tmp_path, small_wave):
    raw = received_file(write_wave(tmp_path / "w.csv", small_wave, extra={"x" * 100_000: "1"}))
    assert rules(raw.findings) == [("header", None, None)] and "100,000 characters" in raw.findings[0].message


def test_a_blank_first_line_is_named_as_such(tmp_path, small_wave):
    path = write_wave(tmp_path / "w.csv", small_wave)
    path.write_bytes(b"\n" + path.read_bytes())
    raw = received_file(path)
    assert rules(raw.findings) == [("header", None, None)] and "line 1 is blank" in raw.findings[0].message


@pytest.mark.parametrize(("ending", "record"), [(b"\r\n", None), (b"\r", None), (b"\r\r\n", 0)])
def test_line_endings_are_read_or_named_never_shifting_a_record(tmp_path, conn, small_wave, ending, record):
    path = write_wave(tmp_path / "w.csv", small_wave)
    path.write_bytes(path.read_bytes().replace(b"\n", ending))
    raw = received_file(path)
    if record is None:
        rows, verdict = staged(conn, raw)
        assert verdict.counts == {} and list(rows.index) == list(range(1, len(small_wave) + 1))
    else:
        assert rules(raw.findings) == [("carriage_return", None, 0)] and not raw.readable


def test_a_bare_carriage_return_between_cells_is_named_by_its_record(tmp_path, conn, small_wave):
    path = write_wave(tmp_path / "w.csv", small_wave)
    lines = path.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b",", b",\r", 1)  # record 5, outside any quote
    path.write_bytes(b"\n".join(lines))
    raw = received_file(path)
    assert rules(raw.findings) == [("carriage_return", None, 5)] and "line 6" in raw.findings[0].message


def test_a_clean_file_is_staged_alike_by_duckdb_and_record_by_record(tmp_path, small_wave):
    from workflows.intake.wave_file import load_clean_file, stage_uploaded

    firms = [dict(r) for r in small_wave]
    firms[0]["notes"] = 'a "quoted", multi-line\nnote'
    firms[1]["notes"] = ""
    raw = received_file(write_wave(tmp_path / "w.csv", firms, columns=list(reversed(firms[0]))))
    fast, slow = duckdb.connect(), duckdb.connect()
    for connection in (fast, slow):
        staging.ensure_tables(connection)
    assert load_clean_file(fast, raw) == len(firms)
    stage_uploaded(fast, raw, "w")
    stage_records(slow, raw, "w")
    query = staging.attempt_rows("w", staging.Version(raw.sha256)) + " order by source_row"
    assert fast.execute(query).df().equals(slow.execute(query).df())
    ragged = received_file(write_wave(tmp_path / "r.csv", firms, extra={"x": "1"}))
    ragged.copy.write_bytes(ragged.copy.read_bytes() + b"one,field\n")
    assert load_clean_file(fast, ragged) is None


@pytest.mark.parametrize("damage", ["one field short", "one field over", "blank line amid", "commas at the end",
                                    "quoted blank line"])
def test_duckdb_loads_a_file_only_when_it_keeps_every_record_number(tmp_path, small_wave, damage):
    """DuckDB's reader skips blank lines and would load a short record padded: any of them sends the file to the
    record-by-record path, which numbers every record as the grammar does."""
    from workflows.intake.wave_file import load_clean_file

    path = write_wave(tmp_path / "w.csv", small_wave)
    lines = path.read_bytes().split(b"\n")
    if damage == "one field short":
        lines[2] = lines[2].rsplit(b",", 1)[0]
    elif damage == "one field over":
        lines[2] += b",extra"
    elif damage == "blank line amid":
        lines.insert(2, b"")
    elif damage == "commas at the end":
        lines.insert(-1, b"," * lines[0].count(b","))
    else:
        position = lines[0].split(b",").index(b"notes")
        cells = lines[2].split(b",")
        cells[position] = b'"first\n\nthird"'
        lines[2] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))
    conn = duckdb.connect()
    staging.ensure_tables(conn)
    assert load_clean_file(conn, received_file(path)) is None


def _european_export(path, firms, encoding="cp1252", rename=None):
    """The wave as Excel saves 'CSV' on a European Windows: semicolons, decimal commas, ANSI text."""
    columns = [rename.get(c, c) for c in firms[0]] if rename else list(firms[0])
    lines = [";".join(columns)]
    for firm in firms:
        cells = dict(firm, notes="Bát Tràng, café", turnover_kvnd=f"{firm['turnover_kvnd']},5")
        lines.append(";".join(str(cells[c]) for c in firm))
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def test_every_file_level_fault_of_an_ansi_semicolon_export_is_said_in_one_round(tmp_path, small_wave):
    path = _european_export(tmp_path / "w.csv", small_wave, rename={"employees": "employees_n"})
    raw = received_file(path)
    said = {f.rule: f for f in raw.findings}
    assert [f.rule for f in raw.findings] == [
        "encoding", "delimiter", "unknown_column", "missing_column", "decimal_comma"]
    assert "Windows-1252" in said["encoding"].message and "CSV UTF-8" in said["encoding"].message
    assert "semicolons" in said["delimiter"].message and "comma-separated CSV UTF-8" in said["delimiter"].message
    assert (said["unknown_column"].column, said["missing_column"].column) == ("employees_n", "employees")
    assert "turnover_kvnd (12 cells" in said["decimal_comma"].message
    assert "years_in_operation" not in said["decimal_comma"].message
    # Nothing of it is staged: the attempt is refused with these findings, and no row is read.
    conn = duckdb.connect()
    attempt = stage_attempt(conn, raw, "w", None)
    assert attempt.n_rows == 0 and not raw.readable
    assert {"encoding", "delimiter", "decimal_comma", "missing_column"} <= set(attempt.verdict.counts)
    assert conn.execute("select count(*) from staging.raw_responses").fetchall() == [(0,)]
    assert "no_rows" not in attempt.verdict.counts


def test_a_utf8_semicolon_export_names_its_decimal_commas_too(tmp_path, small_wave):
    raw = received_file(_european_export(tmp_path / "w.csv", small_wave, encoding="utf-8"))
    assert [f.rule for f in raw.findings] == ["delimiter", "decimal_comma"] and not raw.readable


def test_a_comma_separated_file_in_another_encoding_is_refused_for_its_encoding_alone(tmp_path, small_wave):
    path = write_wave(tmp_path / "w.csv", [dict(firm, notes="café") for firm in small_wave])
    path.write_bytes(path.read_bytes().decode("utf-8").encode("cp1252"))
    raw = received_file(path)
    assert [f.rule for f in raw.findings] == ["encoding"] and not raw.readable


@pytest.mark.parametrize("tail", [",,,,", ""])
def test_empty_trailing_records_are_dropped_with_one_warning(tmp_path, small_wave, tail):
    path = write_wave(tmp_path / "w.csv", small_wave)
    width = len(received_file(path).header)
    empty = "," * (width - 1) if tail else ""
    path.write_bytes(path.read_bytes() + f"{empty}\n{empty}\n,,\n".encode())  # as Excel leaves them
    raw = received_file(path)
    conn = duckdb.connect()
    attempt = stage_attempt(conn, raw, "w", None)
    warnings = [f for f in attempt.verdict.findings if f.rule == "blank_record"]
    assert attempt.n_rows == len(small_wave) and error_count(attempt.verdict.counts) == 0
    assert attempt.verdict.counts.get("blank_record") == 1 and len(warnings) == 1
    first = len(small_wave) + 1
    assert warnings[0].row == first and f"3 empty records (records {first}-{first + 2}" in warnings[0].message
    assert "dropped" in warnings[0].message


def test_an_empty_record_amid_the_file_is_read_as_before(tmp_path, small_wave):
    path = write_wave(tmp_path / "w.csv", small_wave)
    width = len(received_file(path).header)
    rewrite(path, lambda lines: lines.insert(3, "," * (width - 1)))
    attempt = stage_attempt(duckdb.connect(), received_file(path), "w", None)
    assert attempt.n_rows == len(small_wave) + 1 and "blank_record" not in attempt.verdict.counts
    assert {f.row for f in attempt.verdict.findings if f.rule == "required"} == {3}


def test_a_header_with_only_empty_records_has_no_rows(tmp_path, small_wave):
    path = write_wave(tmp_path / "w.csv", small_wave[:1])
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(lines[0] + b"\n\n\n")
    attempt = stage_attempt(duckdb.connect(), received_file(path), "w", None)
    assert attempt.n_rows == 0 and {"no_rows", "blank_record"} <= set(attempt.verdict.counts)
