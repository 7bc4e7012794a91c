"""Reading a raw file: encoding, BOM, delimiter, header, ragged records and record numbers."""

import duckdb
import pandas as pd
import pytest

from tests.conftest import write_wave
from workflows import staging
from workflows.intake import inspect_file, read_records, stage_rows


@pytest.fixture
def conn():
    connection = duckdb.connect()
    staging.ensure_tables(connection)
    yield connection
    connection.close()


def rules(findings):
    return [(f.rule, f.column, f.row) for f in findings]


def staged(conn, raw, ragged) -> pd.DataFrame:
    """Stage the file's accepted records, then read them back indexed by record number."""
    accepted = conn.execute("select count(*) from wave_upload").fetchall()[0][0]
    assert stage_rows(conn, raw, "w", ragged.records) == accepted
    return conn.execute(staging.attempt_rows("w", raw.sha256)).df().set_index("source_row")

def test_a_bom_is_dropped_and_columns_may_come_in_any_order(tmp_path, conn, small_wave):
    columns = list(reversed(small_wave[0].keys()))
    raw = inspect_file(write_wave(tmp_path / "w.csv", small_wave, columns=columns, bom=True))
    assert raw.findings == []
    assert raw.header[-1] == "firm_id"
    rows = staged(conn, raw, read_records(conn, raw))
    assert list(rows.index) == list(range(1, len(small_wave) + 1))
    assert rows.loc[1, "firm_id"] == small_wave[0]["firm_id"]


def test_an_unknown_column_is_a_warning_and_is_not_staged(tmp_path, conn, small_wave):
    raw = inspect_file(write_wave(tmp_path / "w.csv", small_wave, extra={"enumerator": "A"}))
    assert [(f.rule, f.column, f.severity) for f in raw.findings] == [("unknown_column", "enumerator", "warning")]
    rows = staged(conn, raw, read_records(conn, raw))
    assert "enumerator" not in rows.columns


def test_a_file_in_another_encoding_is_refused_with_its_position(tmp_path):
    path = tmp_path / "w.csv"
    path.write_bytes("firm_id,cluster\nVP-1,Vạn Phúc\n".encode("utf-16"))
    assert rules(inspect_file(path).findings) == [("encoding", None, None)]
    path.write_bytes(b"firm_id,notes\nBT-1,ch\xe8 \n")
    finding = inspect_file(path).findings[0]
    assert finding.rule == "encoding" and "line 2" in finding.message


@pytest.mark.parametrize(("content", "rule"), [
    (b"", "empty_file"),
    (b"\xef\xbb\xbf", "empty_file"),
    (b"firm_id;cluster;ownership\nBT-1;bat_trang;private\n", "delimiter"),
    (b"BT-1,bat_trang,private\n", "header"),
])
def test_unreadable_files_are_findings(tmp_path, content, rule):
    path = tmp_path / "w.csv"
    path.write_bytes(content)
    raw = inspect_file(path)
    assert rules(raw.findings) == [(rule, None, None)] and not raw.readable


def test_ragged_records_are_reported_by_record_number_and_the_rest_keep_theirs(tmp_path, conn, small_wave):
    path = write_wave(tmp_path / "w.csv", small_wave)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] += ",surplus"          # record 2
    lines[5] = lines[5].rsplit(",", 3)[0]  # record 5
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw = inspect_file(path)
    ragged = read_records(conn, raw)
    assert rules(ragged.verdict.findings) == [("ragged_row", None, 2), ("ragged_row", None, 5)]
    assert ragged.verdict.counts == {"ragged_row": 2} and list(ragged.records) == [2, 5]
    rows = staged(conn, raw, ragged)
    assert 2 not in rows.index and 5 not in rows.index
    assert rows.loc[6, "firm_id"] == small_wave[5]["firm_id"]


def test_a_quoted_newline_does_not_start_a_record(tmp_path, conn, small_wave):
    rows_in = [dict(r) for r in small_wave]
    rows_in[0]["notes"] = "first line,\nsecond line"
    raw = inspect_file(write_wave(tmp_path / "w.csv", rows_in))
    rows = staged(conn, raw, read_records(conn, raw))
    assert rows.loc[1, "notes"] == "first line,\nsecond line"
    assert rows.loc[2, "firm_id"] == small_wave[1]["firm_id"]
    assert len(rows) == len(small_wave)


def test_a_duplicated_header_is_an_error_naming_the_column(tmp_path, small_wave):
    path = write_wave(tmp_path / "w.csv", small_wave)
    text = path.read_text(encoding="utf-8").replace(",notes\n", ",cluster\n", 1)
    path.write_text(text, encoding="utf-8")
    assert ("duplicate_column", "cluster", 0) in rules(inspect_file(path).findings)


def test_windows_line_endings_are_read_like_any_others(tmp_path, conn, small_wave):
    path = write_wave(tmp_path / "w.csv", small_wave)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    raw = inspect_file(path)
    assert raw.findings == []
    rows = staged(conn, raw, read_records(conn, raw))
    assert len(rows) == len(small_wave) and pd.isna(rows.loc[1, "notes"])  # empty stays missing
    assert rows.loc[len(small_wave), "q22_help_senior_gov"] == small_wave[-1]["q22_help_senior_gov"]
