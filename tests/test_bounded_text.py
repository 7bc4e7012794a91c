"""A file's text is bounded wherever it is quoted: in findings, in results.json's validation, in the report.

A 1 MB cell makes a finding of a few hundred characters; a 100,000-column file lists 1,000
findings per rule in results.json, with every rule's full count; four 1 MB "other" answers
leave the report as short as it was.
"""

import json

import dagster as dg
import duckdb
import pandas as pd
import pytest
from pypdf import PdfReader

from schemas.findings import ITEMS_PER_RULE, VALUE_CHARACTERS, WARNING, Finding, Verdict, bounded, validate_rows
from tests.conftest import materialize_wave, write_wave
from tests.test_raw_wave_schema import frame
from workflows.analysis import results
from workflows.report import narrative
from workflows.warehouse import sql, staging
from workflows.report.rendering import render_html, render_pdf
from workflows.report.report_context import OTHER_ANSWER_CHARACTERS, OTHER_ANSWERS_SHOWN, other_answers_shown, report_context
from generators.synthetic import generate_wave
from schemas.questionnaire import CONTRACT_COLUMNS, form_for
from workflows.report.codebook import codebook

MEGABYTE = 1_048_576


def long_text(seed: str, size: int = MEGABYTE) -> str:
    """Words of free text, `size` characters in all."""
    words = f"{seed} answer about the kiln and the dyeing water "
    return (words * (size // len(words) + 1))[:size]


def test_bounded_keeps_short_text_and_cuts_long_text_with_its_length():
    assert bounded(None) is None and bounded("") == ""
    assert bounded("x" * VALUE_CHARACTERS) == "x" * VALUE_CHARACTERS
    assert bounded("x" * (VALUE_CHARACTERS + 1)) == "x" * VALUE_CHARACTERS + f"… ({VALUE_CHARACTERS + 1:,} characters)"
    assert bounded("ạ" * MEGABYTE) == "ạ" * VALUE_CHARACTERS + "… (1,048,576 characters)"


def test_a_megabyte_cell_makes_a_short_finding_whose_message_is_otherwise_unchanged(small_wave):
    rows = [dict(row) for row in small_wave]
    rows[1]["q1_noise"] = "x" * MEGABYTE
    rows[2]["cluster"] = long_text("cluster")
    rows[3]["firm_id"] = "F" * MEGABYTE
    rows[4]["q1_air"] = "abc"
    findings = {(f.rule, f.column): f for f in validate_rows(frame(rows))}

    noise = findings["integer", "q1_noise"]
    assert noise.value == "x" * 200 + "… (1,048,576 characters)"
    assert noise.message == f"{labelled('q1_noise')} must be a whole number, but the cell holds '{noise.value}'."
    cluster = findings["allowed_codes", "cluster"]
    assert cluster.value == long_text("cluster", 200) + "… (1,048,576 characters)"
    assert cluster.message.endswith(f"but the cell holds '{cluster.value}'.")
    firm = findings["firm_id_format", "firm_id"]
    assert firm.value == firm.firm_id == "F" * 200 + "… (1,048,576 characters)"
    # A short cell is quoted whole, as before.
    assert findings["integer", "q1_air"].message == f"{labelled('q1_air')} must be a whole number, but the cell holds 'abc'."
    assert findings["integer", "q1_air"].value == "abc"
    for finding in findings.values():
        assert len(finding.value or "") < 250 and len(finding.firm_id or "") < 250 and len(finding.message) < 600


def labelled(column: str) -> str:
    """The column as a sentence names it: with its question's label from the form."""
    from schemas.questionnaire import QUESTION

    return f"{column} (“{QUESTION[column].label}”)"


def small_warehouse(findings: list[Finding], counts: dict[str, int]) -> duckdb.DuckDBPyConnection:
    """A published wave "w" with no figures but its stored findings, as staging records them."""
    conn = duckdb.connect()
    staging.ensure_tables(conn)
    conn.execute("insert into waves (wave, raw_sha256, source_name, n_firms) values ('w', 'abc', 'w.csv', 3)")
    for table in ("enterprise_characteristics (wave varchar, cluster varchar)",
                  "constraint_mentions (wave varchar, constraint_code varchar)",
                  "knowledge_sources (wave varchar, rank integer, source varchar, count integer)",
                  "pollution_seriousness (wave varchar, cluster varchar)",
                  "model_fits (wave varchar, model varchar, document json)"):
        conn.execute(f"create table {table}")
    staging.record_attempt(conn, "w", staging.Version("abc"), "w.csv", 3, [], [], Verdict(findings, counts))
    return conn


def test_results_lists_at_most_the_limit_per_rule_with_every_rules_full_count():
    columns = [Finding("unknown_column", f"extra_{i}", 0, None, None,
                       f"The column 'extra_{i}' is not part of the questionnaire and is ignored.", WARNING)
               for i in range(ITEMS_PER_RULE + 5)]
    outliers = [Finding("outlier", "employees", row, f"F{row}", "9000", "The number of employees ...", WARNING)
                for row in (1, 2, 3)]
    conn = small_warehouse(columns + outliers, {"unknown_column": 100_000, "outlier": 3})

    bounded_results = results.wave_results(conn, "w")
    validation = bounded_results["validation"]
    assert set(validation) == {"errors", "warnings", "counts", "truncated"}
    assert validation["errors"] == []
    assert sum(item["rule"] == "unknown_column" for item in validation["warnings"]) == ITEMS_PER_RULE
    assert [item for item in validation["warnings"] if item["rule"] == "outlier"] == [
        {"rule": "outlier", "column": "employees", "row": row, "firm_id": f"F{row}", "value": "9000",
         "message": "The number of employees ..."} for row in (1, 2, 3)]
    assert validation["counts"] == {"outlier": 3, "unknown_column": 100_000}
    assert validation["truncated"] is True

    everything = results.wave_results(conn, "w", items_per_rule=None)["validation"]
    assert len(everything["warnings"]) == ITEMS_PER_RULE + 5 + 3
    assert everything["counts"] == validation["counts"]
    # Not every finding was stored (the intake listed 1,005 of 100,000): still truncated.
    assert everything["truncated"] is True

    two = results.wave_results(conn, "w", items_per_rule=2)["validation"]
    assert [item["rule"] for item in two["warnings"]].count("outlier") == 2 and len(two["warnings"]) == 4
    json.dumps(bounded_results, allow_nan=False)


def test_results_of_a_wave_listed_in_full_is_not_truncated():
    findings = [Finding("outlier", "employees", row, f"F{row}", "9000", "far out", WARNING) for row in (1, 2)]
    validation = results.wave_results(small_warehouse(findings, {"outlier": 2}), "w")["validation"]
    assert len(validation["warnings"]) == 2 and validation["counts"] == {"outlier": 2}
    assert validation["truncated"] is False


def other_answers_of(answers: dict[str, list[str]]) -> pd.DataFrame:
    """`sql/rpt_other_answers.sql` on a wave whose firms wrote these "other" answers."""
    rows = [{"wave": "w", "q10_other_text": text if column == "q10" else None,
             "q18_other_text": text if column == "q18" else None}
            for column, texts in answers.items() for text in texts]
    with duckdb.connect() as conn:
        conn.register("rows_frame", pd.DataFrame(rows, columns=["wave", "q10_other_text", "q18_other_text"]))
        conn.execute("create table survey_responses as select * from rows_frame")
        return sql.query(conn, "rpt_other_answers", {"wave": "w"})


def test_the_other_answers_model_lists_the_most_frequent_answers_each_cut_and_counts_every_firm():
    long_one, long_two = long_text("first"), long_text("second")
    # Two long answers alike in their first 200 characters are still two answers.
    twin = long_one[:OTHER_ANSWER_CHARACTERS] + " but different after that"
    q10 = [long_one, long_one, long_one, twin] + [f"answer {i}" for i in range(14) for _ in range(1 + (i == 0))]
    q18 = ["  media  ", "media", long_two]
    frame_ = other_answers_of({"q10": q10, "q18": q18})

    q10_rows = frame_[frame_["question"] == "q10"]
    assert len(q10_rows) == OTHER_ANSWERS_SHOWN
    assert q10_rows["listed"].tolist() == list(range(1, OTHER_ANSWERS_SHOWN + 1))
    assert set(q10_rows["answers"]) == {16} and set(q10_rows["answering_firms"]) == {len(q10)}
    first = q10_rows.iloc[0]
    assert first["answer"] == long_one[:OTHER_ANSWER_CHARACTERS].rstrip() + "…" and first["firms"] == 3
    assert first["shortened"] and not q10_rows.iloc[1:]["shortened"].any()
    assert q10_rows.iloc[1]["answer"] == "answer 0" and q10_rows.iloc[1]["firms"] == 2
    q18_rows = frame_[frame_["question"] == "q18"]
    assert q18_rows[["answer", "firms"]].values.tolist()[0] == ["media", 2]
    assert q18_rows["shortened"].tolist() == [False, True]

    shown = other_answers_shown(frame_)
    assert shown["q10"]["more"] == 16 - OTHER_ANSWERS_SHOWN and shown["q10"]["shortened"]
    assert shown["q10"]["more_firms"] == len(q10) - sum(item["firms"] for item in shown["q10"]["answers"])
    assert shown["q18"]["more"] == 0 and shown["q18"]["more_firms"] == 0 and shown["q18"]["column"] == "q18_other_text"


def test_the_note_names_its_limits_and_where_the_full_text_is_in_english_and_german():
    q10 = [long_text("kiln")] * 2 + [f"answer {i:02}" for i in range(13)]
    shown = other_answers_shown(other_answers_of({"q10": q10, "q18": ["media", "radio"]}))
    context = {"other_answers": shown, "other_answer_limits": {"shown": OTHER_ANSWERS_SHOWN,
                                                               "characters": OTHER_ANSWER_CHARACTERS},
               "en": narrative.words("en"), "de": narrative.words("de"),
               "results": {"n_firms": 3, "knowledge_sources": []}, "constraints_ranked": [],
               "num": lambda value, digits=1: f"{value:,.{digits}f}"}
    constraints = " ".join(render_html("partials/constraints.html.j2", **context).split())
    assert f"answers longer than {OTHER_ANSWER_CHARACTERS} characters are shortened (…)" in constraints
    assert "column q10_other_text" in constraints and "Spalte q10_other_text" in constraints
    assert f'<span lang="de">Aufgeführt sind höchstens die {OTHER_ANSWERS_SHOWN}' in constraints
    assert "“answer 10” (1); and 2 more answers (2).</p>" in constraints and "answer 11" not in constraints
    assert f"“{long_text('kiln', OTHER_ANSWER_CHARACTERS).rstrip()}…” (2); “answer 00” (1)" in constraints
    sources = " ".join(render_html("partials/knowledge_sources.html.j2", **context).split())
    # Nothing of Q18 was shortened or left out: no note.
    assert "“media” (1); “radio” (1)." in sources and "shortened" not in sources


@pytest.mark.integration
def test_four_megabyte_other_answers_leave_the_report_as_short_as_without_them(isolated_project):
    rows = generate_wave({"bat_trang": 4, "dong_ky": 4, "van_phuc": 4}, seed=11)
    for i, row in enumerate(rows[:4]):
        if i < 2:
            row.update(q10_constraint_1="other", q10_constraint_2="", q10_constraint_3="",
                       q10_other_text=long_text(f"firm {i}"))
        else:
            row.update(q18_sources="other", q18_other_text=long_text(f"firm {i}"), q19_partner_importance="6",
                       q20_initiator="both")
    write_wave(isolated_project / "raw" / "long.csv", rows)
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_wave(instance, isolated_project, "long")
    assert result.success
    report = next(e.event_specific_data.materialization.metadata for e in result.get_asset_materialization_events()
                  if e.asset_key == dg.AssetKey("wave_report"))
    out = isolated_project / "outputs" / "long"
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages).split())
    assert "firm 0 answer about the kiln" in text and "firm 3 answer about the kiln" in text
    assert "shortened" in text and "gekürzt" in text
    assert text.count("dyeing water") < 4 * 8  # four answers of 200 characters, not of a megabyte

    # The same report context rendered with and without the four answers.
    with duckdb.connect(str(isolated_project / "warehouse" / "survey.duckdb"), read_only=True) as conn:
        document = json.loads(conn.execute("select document from wave_results where wave = 'long'").fetchall()[0][0])
        other_answers = sql.query(conn, "rpt_other_answers", {"wave": "long"})
    assert other_answers[other_answers["shortened"]]["firms"].tolist() == [1, 1, 1, 1]

    # The report's own codebook appendix: of the form that judged the wave.
    judged = codebook(form_for("long", list(CONTRACT_COLUMNS)))

    def pages(answers: pd.DataFrame) -> int:
        html = render_html("report.html.j2", **report_context(document, "long.csv", "2024-01-01", answers, [], {}, {})
                           | {"attached": [], "file_hashes": {}, "codebook": judged})
        return render_pdf(html, 1_704_067_200).pages

    with_answers, without = pages(other_answers), pages(other_answers.iloc[0:0])
    assert with_answers <= without + 1 and report["pages"].value <= without + 1
