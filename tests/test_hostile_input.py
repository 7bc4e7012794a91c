"""Hostile input cannot reach outside the report, and personal data reaches no output."""

import http.server
import threading

import duckdb
import pandas as pd
import pytest
from pypdf import PdfReader

from tests.conftest import command, write_wave
from workflows.warehouse import sql
from workflows.report.rendering import TemplateFolderFetcher, render_html
from workflows.paths import TEMPLATES_DIR
from generators.synthetic import generate_wave


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - the standard library's name
        RecordingHandler.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"LEAKED-FROM-SERVER")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    RecordingHandler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def hostile_texts(base: str) -> list[str]:
    return [
        f'<img src="{base}/img.png">',
        '<link rel="attachment" href="file:///etc/passwd">',
        f'<style>@import url("{base}/style.css");</style>',
        '<img src="file:///etc/hostname"><iframe src="file:///etc/passwd"></iframe>',
        "{{ 7 * 7 }} {% raw %} ${7*7}",
        f'<a href="{base}/link">click</a><object data="{base}/object"></object>',
    ]


@pytest.mark.integration
def test_a_hostile_wave_fetches_nothing_shows_no_local_file_and_keeps_personal_data_out(tmp_path, server, isolated_project,
                                                                                        caplog):
    texts = hostile_texts(server)
    rows = generate_wave({"bat_trang": 6, "dong_ky": 6, "van_phuc": 6}, seed=8)
    for i, row in enumerate(rows):
        text = texts[i % len(texts)]
        row.update(q10_constraint_1="other", q10_constraint_2="", q10_constraint_3="", q10_other_text=text,
                   q18_sources="other", q18_other_text=text, q19_partner_importance="6", q20_initiator="both",
                   notes=text, respondent_name=f"MARKERNAME{i}", respondent_phone=f"+84-MARKERPHONE-{i}")
    source = write_wave(tmp_path / "hostile.csv", rows, extra={f'<img src="{server}/header.png">': "x"})
    out = tmp_path / "out"
    done = command("run", str(source), "--out", str(out))
    assert done.returncode == 0, done.stderr

    assert RecordingHandler.requests == []
    pdf = PdfReader(out / "report.pdf")
    text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert f'<img src="{server}/img.png">' in text
    assert "{{ 7 * 7 }} {% raw %} ${7*7}" in text
    assert "root:x:0:0" not in text and "LEAKED-FROM-SERVER" not in text
    # Only the report's own data files are attached, byte for byte as published beside it.
    assert set(pdf.attachments) == {"firm_indices.csv", "results.json", "validation.json"}
    for name, contents in pdf.attachments.items():
        assert contents == [(out / name).read_bytes()]

    leaks = [path for path in out.rglob("*") if path.is_file() and b"MARKER" in path.read_bytes()]
    assert leaks == []
    assert "MARKER" not in done.stdout + done.stderr + caplog.text  # printed, or logged by a library
    home = isolated_project / "dagster_home"
    assert [p for p in home.rglob("*") if p.is_file() and b"MARKER" in p.read_bytes()] == []
    with duckdb.connect(str(isolated_project / "warehouse" / "survey.duckdb"), read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where not (table_schema = 'staging' and table_name = 'raw_responses')").fetchall()
        for schema, table in tables:
            content = conn.execute(f'select * from "{schema}"."{table}"').df().to_csv()
            assert "MARKER" not in content, f"{schema}.{table}"
        kept = conn.execute("select count(*) from staging.raw_responses where respondent_name like 'MARKER%'").fetchall()
    assert kept[0][0] == len(rows)  # the survey manager's copy, and the only one


def test_the_fetcher_serves_template_files_only():
    fetcher = TemplateFolderFetcher()
    assert fetcher.fetch((TEMPLATES_DIR / "style.css").as_uri()).read()
    for url in ("file:///etc/passwd", (TEMPLATES_DIR / ".." / ".." / "pyproject.toml").as_uri(),
                "http://127.0.0.1:9/x", "data:text/plain,hello", "ftp://127.0.0.1/x", "file://remote/etc/passwd"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_templates_escape_every_value():
    html = render_html("partials/data_quality.html.j2", results={
        "validation": {"warnings": [{"row": 1, "firm_id": "a", "message": "<script>x</script>{{ 1 + 1 }}"}],
                       "counts": {"outlier": 1}}})
    assert "&lt;script&gt;x&lt;/script&gt;{{ 1 + 1 }}" in html and "<script>" not in html


def test_text_in_firm_indices_csv_cannot_run_as_a_formula(tmp_path):
    hostile = ["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)", "\tcmd", "\rcmd", "-2+3", "bat_trang"]
    numbers = {c: [1.5] * len(hostile) for c in ("cluster_code", "envtech", "envexp_vnd", "cp", "emp", "gms",
                                                 "loan", "expt_vnd", "empl", "years", "turn_kvnd")}
    firms = pd.DataFrame({"wave": "w", "firm_id": [f"F{i}" for i in range(len(hostile))], "cluster": hostile,
                          **numbers})
    with duckdb.connect() as conn:
        conn.register("hostile_firms", firms)
        conn.execute("create table firm_indices as select * from hostile_firms")
        sql.copy_to_csv(conn, "out_firm_indices", {"wave": "w"}, tmp_path / "x.csv")
    back = pd.read_csv(tmp_path / "x.csv", keep_default_na=False, dtype=str)
    assert back["cluster"].tolist() == ["'" + text for text in hostile[:-1]] + ["bat_trang"]
    assert back.columns[0] == "firm_id" and back["envexp_vnd"].tolist() == ["1.5"] * len(hostile)


@pytest.mark.parametrize("wave", ["../up", "a/b", "", "x" * 33, "_lead", "semi;colon", "new\nline", "ünï"])
def test_hostile_wave_ids_are_refused_before_any_work(tmp_path, isolated_project, wave):
    source = write_wave(tmp_path / "w.csv", generate_wave({"bat_trang": 2}, seed=1))
    done = command("run", str(source), "--wave", wave)
    assert done.returncode == 2 and "wave id" in done.stderr
    assert not (isolated_project / "outputs").exists()
    assert not (isolated_project / "warehouse" / "survey.duckdb").exists()
