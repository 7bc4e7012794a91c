"""Each SQL model on small hand-made frames, against the definitions of the input contract."""

import duckdb
import pandas as pd
import pytest

from schemas import codebook
from workflows.warehouse import sql


def firm(firm_id, cluster, **answers):
    base = dict(
        wave="w", firm_id=firm_id, cluster=cluster, years_in_operation=10, employees=5,
        turnover_kvnd=1000.0, export_share_pct=0.0, q1_noise=5, q1_air=5, q1_water=5, q2_resources=5,
        q3_complaints_village=False, q4_complaint_own=False, q6_equipment_installed=False,
        q7_capital_cost_mvnd=0.0, q8_om_cost_mvnd=0.0, q10_constraint_1=None, q10_constraint_2=None,
        q10_constraint_3=None, q11_buyers_asked_compliance=False, q12_buyers_considered_performance=False,
        q14_subsidised_loan=False, q15_monitoring_visits=0, q16_warnings_donre=0, q16_warnings_commune=0,
        q18_sources=[],
    )
    return base | answers


@pytest.fixture
def conn():
    connection = duckdb.connect()
    yield connection
    connection.close()


def load(conn, rows):
    frame = pd.DataFrame(rows)
    conn.register("responses_frame", frame)
    conn.execute("create table survey_responses as select * from responses_frame")
    conn.execute(
        "create table firm_indices as " + sql.load_sql("idx_firm_indices"), {"wave": "w"})


def test_pressure_indices_take_the_higher_weight_that_applies(conn):
    load(conn, [
        firm("a", "bat_trang"),
        firm("b", "bat_trang", q3_complaints_village=True),
        firm("c", "bat_trang", q3_complaints_village=True, q4_complaint_own=True),
        firm("d", "dong_ky", q4_complaint_own=True, q11_buyers_asked_compliance=True),
        firm("e", "van_phuc", q11_buyers_asked_compliance=True, q12_buyers_considered_performance=True),
        firm("f", "van_phuc", q12_buyers_considered_performance=True),
    ])
    got = conn.execute("select firm_id, cp, emp, cluster_code from firm_indices order by firm_id").fetchall()
    assert got == [("a", 0, 0, 1), ("b", 1, 0, 1), ("c", 2, 0, 1), ("d", 2, 1, 2), ("e", 0, 2, 3), ("f", 0, 2, 3)]


def test_gms_expenditure_exports_and_loan_follow_their_definitions(conn):
    load(conn, [firm("a", "dong_ky", q15_monitoring_visits=2, q16_warnings_donre=1, q16_warnings_commune=3,
                     q7_capital_cost_mvnd=12.5, q8_om_cost_mvnd=1.25, turnover_kvnd=2500.0,
                     export_share_pct=40.0, q14_subsidised_loan=True, q6_equipment_installed=True)])
    row = conn.execute("select gms, envexp_vnd, expt_vnd, loan, envtech, empl, years, turn_kvnd from firm_indices").df().iloc[0]
    assert row["gms"] == 2 + 2 * (1 + 3)
    assert row["envexp_vnd"] == pytest.approx(13.75e6)
    assert row["expt_vnd"] == pytest.approx(2500 * 1000 * 0.40)
    assert (row["loan"], row["envtech"], row["empl"], row["years"], row["turn_kvnd"]) == (1, 1, 5, 10, 2500.0)


def test_characteristics_cover_every_cluster_and_the_total(conn):
    load(conn, [
        firm("a", "bat_trang", years_in_operation=10, export_share_pct=50.0, q6_equipment_installed=True,
             q7_capital_cost_mvnd=1.0, turnover_kvnd=1000.0),
        firm("b", "bat_trang", years_in_operation=20, export_share_pct=0.0, turnover_kvnd=3000.0),
        firm("c", "dong_ky", years_in_operation=6, export_share_pct=10.0),
    ])
    table = conn.execute(sql.load_sql("tbl_enterprise_characteristics"),
                         {"wave": "w", "clusters": list(codebook.CLUSTERS)}).df().set_index("cluster")
    assert list(table.index) == [*codebook.CLUSTERS, "total"]
    assert table.loc["bat_trang", "mean_years"] == 15
    assert table.loc["bat_trang", "exporters"] == 1
    assert table.loc["bat_trang", "mean_export_share_pct"] == 25
    assert table.loc["bat_trang", "mean_export_share_exporters_pct"] == 50
    assert table.loc["bat_trang", "expenditure_pct_of_turnover"] == pytest.approx(100 * 1e6 / 4e6)
    assert table.loc["van_phuc", "n"] == 0 and pd.isna(table.loc["van_phuc", "mean_years"])
    assert table.loc["van_phuc", "adopters"] == 0
    assert table.loc["total", "n"] == 3 and table.loc["total", "mean_years"] == 12
    assert table.loc["total", "exporters"] == 2 and table.loc["total", "adopters"] == 1


def test_constraints_count_mentions_at_any_rank_and_weight_them_three_two_one(conn):
    load(conn, [
        firm("a", "bat_trang", q10_constraint_1="capital", q10_constraint_2="market", q10_constraint_3="other"),
        firm("b", "bat_trang", q10_constraint_1="market", q10_constraint_2="capital"),
        firm("c", "dong_ky", q10_constraint_1="capital"),
        firm("d", "dong_ky"),
    ])
    table = conn.execute(sql.load_sql("tbl_constraint_mentions"),
                         {"wave": "w", "codes": list(codebook.Q10_CONSTRAINTS)}).df().set_index("constraint_code")
    assert list(table.index) == list(codebook.Q10_CONSTRAINTS)
    assert table.loc["capital"].tolist() == ["w", 3, 75.0, 3 + 2 + 3]
    assert table.loc["market"].tolist() == ["w", 2, 50.0, 2 + 3]
    assert table.loc["other"].tolist() == ["w", 1, 25.0, 1]
    assert table.loc["managers"].tolist() == ["w", 0, 0.0, 0]


def test_knowledge_sources_are_ranked_by_count_then_codebook_order(conn):
    load(conn, [
        firm("a", "bat_trang", q18_sources=["government", "buyers"]),
        firm("b", "bat_trang", q18_sources=["government"]),
        firm("c", "dong_ky", q18_sources=["suppliers", "buyers", "other"]),
    ])
    table = conn.execute(sql.load_sql("tbl_knowledge_sources"),
                         {"wave": "w", "codes": list(codebook.Q18_SOURCES)}).df()
    assert table["source"].tolist()[:4] == ["buyers", "government", "suppliers", "other"]
    assert table["count"].tolist()[:4] == [2, 2, 1, 1]
    assert len(table) == len(codebook.Q18_SOURCES) and table["count"].sum() == 6
    assert table["rank"].tolist() == list(range(1, len(codebook.Q18_SOURCES) + 1))


def test_seriousness_means_per_cluster_and_overall(conn):
    load(conn, [firm("a", "van_phuc", q1_noise=9, q1_water=10), firm("b", "van_phuc", q1_noise=8, q1_water=8),
                firm("c", "dong_ky", q1_noise=2, q1_water=6)])
    table = conn.execute(sql.load_sql("tbl_pollution_seriousness"),
                         {"wave": "w", "clusters": list(codebook.CLUSTERS)}).df().set_index("cluster")
    assert table.loc["van_phuc", "noise"] == 8.5 and table.loc["van_phuc", "water"] == 9
    assert table.loc["total", "noise"] == pytest.approx(19 / 3)
    assert pd.isna(table.loc["bat_trang", "air"])


def test_a_model_whose_columns_changed_rebuilds_its_table_and_never_misplaces_values(tmp_path, monkeypatch):
    """Renaming (or adding) a column of a model on an existing warehouse: values stay under their names."""
    import duckdb

    from workflows.warehouse import sql

    conn = duckdb.connect()
    conn.execute("create table survey_responses as select * from (values ('a', 1, 10), ('b', 2, 20)) t(wave, x, y)")
    monkeypatch.setattr(sql, "SQL_DIR", tmp_path)
    sql.load_sql.cache_clear()
    model = tmp_path / "tbl_shape.sql"
    model.write_text("with final as (select wave, x as first, y as second from survey_responses where wave = $wave)\n"
                     "select * from final\n")
    for wave in ("a", "b"):
        sql.replace_wave_rows(conn, "shape", "tbl_shape", {"wave": wave})
    # Same number of columns, names swapped: a positional insert would put x under `second`.
    model.write_text("with final as (select wave, y as second, x as first from survey_responses where wave = $wave)\n"
                     "select * from final\n")
    sql.load_sql.cache_clear()
    sql.replace_wave_rows(conn, "shape", "tbl_shape", {"wave": "a"})
    assert conn.execute("select wave, first, second from shape order by wave").fetchall() == [("a", 1, 10), ("b", 2, 20)]
    # A renamed column: the table is rebuilt in the new shape, every wave derived again.
    model.write_text("with final as (select wave, x as renamed, y as second from survey_responses where wave = $wave)\n"
                     "select * from final\n")
    sql.load_sql.cache_clear()
    sql.replace_wave_rows(conn, "shape", "tbl_shape", {"wave": "a"})
    assert conn.execute("select * from shape order by wave").fetchall() == [("a", 1, 10), ("b", 2, 20)]
    assert [c[0] for c in conn.execute("describe shape").fetchall()] == ["wave", "renamed", "second"]
    sql.load_sql.cache_clear()


def test_the_document_store_keeps_one_document_per_wave_or_one_per_name():
    import math

    import duckdb

    from workflows.warehouse import documents

    conn = duckdb.connect()
    assert documents.load(conn, documents.WAVE_RESULTS, "a", default={}) == {}
    documents.replace(conn, documents.WAVE_RESULTS, "a", {"x": 1.5, "bad": math.inf})
    documents.replace(conn, documents.WAVE_RESULTS, "a", {"x": 2})
    documents.replace(conn, documents.MODEL_FITS, "a", {"ols": {"n": 3}, "logit": {"n": 4}})
    documents.replace(conn, documents.MODEL_FITS, "b", {"ols": {"n": 5}})
    assert documents.load(conn, documents.WAVE_RESULTS, "a") == {"x": 2}
    assert documents.load(conn, documents.MODEL_FITS, "a") == {"logit": {"n": 4}, "ols": {"n": 3}}
    documents.replace(conn, documents.PUBLISHED_COMPARISON, "a", [{"within": True, "shown": math.nan}])
    assert documents.load(conn, documents.PUBLISHED_COMPARISON, "a") == [{"within": True, "shown": None}]


def test_each_published_column_is_traced_to_the_raw_questions_it_comes_from():
    from schemas.questionnaire import CONTRACT_COLUMNS
    from workflows.warehouse import sql
    from workflows.warehouse.column_lineage import column_lineage

    schema = {"survey_responses": {c: "VARCHAR" for c in ["wave", *CONTRACT_COLUMNS]}}
    traced = column_lineage(sql.load_sql("idx_firm_indices"), ["cp", "gms", "envexp_vnd", "expt_vnd"], schema)
    sources = {column: {(dep.asset_key.to_user_string(), dep.column_name) for dep in deps}
               for column, deps in traced.deps_by_column.items()}
    assert sources["cp"] == {("survey_responses", "q3_complaints_village"), ("survey_responses", "q4_complaint_own")}
    assert sources["gms"] == {("survey_responses", c) for c in
                              ("q15_monitoring_visits", "q16_warnings_donre", "q16_warnings_commune")}
    assert sources["envexp_vnd"] == {("survey_responses", "q7_capital_cost_mvnd"), ("survey_responses", "q8_om_cost_mvnd")}
    assert sources["expt_vnd"] == {("survey_responses", "turnover_kvnd"), ("survey_responses", "export_share_pct")}


def test_a_rebuild_derives_each_wave_with_its_own_parameters_or_changes_nothing(tmp_path, monkeypatch):
    import duckdb
    import pytest

    from workflows.warehouse import sql

    conn = duckdb.connect()
    conn.execute("create table staged as select * from (values ('a', 's1', 1), ('b', 's2', 2), ('b', 'old', 9)) "
                 "t(wave, sha, x)")
    monkeypatch.setattr(sql, "SQL_DIR", tmp_path)
    model = tmp_path / "stg_tagged.sql"
    model.write_text("with final as (select wave, x from staged where wave = $wave and sha = $sha)\nselect * from final\n")
    sql.load_sql.cache_clear()
    published = {"a": "s1", "b": "s2"}
    for wave, sha in published.items():
        sql.replace_wave_rows(conn, "tagged", "stg_tagged", {"wave": wave, "sha": sha})
    model.write_text("with final as (select wave, x as renamed from staged where wave = $wave and sha = $sha)\n"
                     "select * from final\n")
    sql.load_sql.cache_clear()
    conn.begin()
    with pytest.raises(RuntimeError, match="would give wave b 0 rows instead of 1"):
        sql.replace_wave_rows(conn, "tagged", "stg_tagged", {"wave": "a", "sha": "s1"})  # b with a's file
    conn.rollback()
    assert conn.execute("select * from tagged order by wave").fetchall() == [("a", 1), ("b", 2)]
    sql.replace_wave_rows(conn, "tagged", "stg_tagged", {"wave": "a", "sha": "s1"},
                          params_of=lambda wave: {"wave": wave, "sha": published[wave]})
    assert conn.execute("select wave, renamed from tagged order by wave").fetchall() == [("a", 1), ("b", 2)]
    sql.load_sql.cache_clear()


def test_every_published_answer_is_traced_to_its_column_of_the_raw_wave():
    from schemas.questionnaire import CONTRACT_COLUMNS
    from workflows.warehouse import sql
    from workflows.warehouse.column_lineage import column_lineage

    staged = {"raw_responses": {c: "VARCHAR" for c in ["wave", "raw_sha256", "corrections_sha256", "source_row",
                                                       *CONTRACT_COLUMNS]}}
    published = [c for c in CONTRACT_COLUMNS if c not in ("respondent_name", "respondent_phone")]
    traced = column_lineage(sql.load_sql("stg_survey_responses"), published, staged).deps_by_column
    assert {column: [(d.asset_key.to_user_string(), d.column_name) for d in deps] for column, deps in traced.items()} == \
        {column: [("raw_wave", column)] for column in published}


def test_every_published_table_has_the_columns_its_declaration_names(small_wave):
    """The staging model and every derived model, run on a small wave, give exactly their declared columns."""
    from workflows.warehouse import staging
    from workflows.warehouse.tables import DERIVED_TABLES, SURVEY_RESPONSES

    conn = duckdb.connect()
    staging.ensure_tables(conn)
    frame = pd.DataFrame(small_wave).replace({"": None})
    frame["wave"], frame["raw_sha256"], frame["source_row"] = "w", "sha", range(1, len(frame) + 1)
    conn.register("rows_frame", frame)
    conn.execute("insert into staging.raw_responses by name select * from rows_frame")
    assert sql.replace_wave_rows(conn, "survey_responses", SURVEY_RESPONSES.model,
                                 {"wave": "w", **staging.Version("sha").params},
                                 declared=SURVEY_RESPONSES) == len(small_wave)
    for table in (SURVEY_RESPONSES, *DERIVED_TABLES):
        if table is not SURVEY_RESPONSES:
            text = sql.load_sql(table.model)
            params = {"wave": "w", "clusters": list(codebook.CLUSTERS), "codes": list(table.codes)}
            sql.replace_wave_rows(conn, table.name, table.model,
                                  {k: v for k, v in params.items() if f"${k}" in text}, declared=table)
        assert sql.table_columns(conn, table.name) == table.column_types
        assert all(column.description for column in table.columns)


def test_a_model_that_gives_columns_its_declaration_does_not_name_writes_nothing(tmp_path, monkeypatch):
    from workflows.warehouse.tables import Column, DerivedTable

    conn = duckdb.connect()
    conn.execute("create table survey_responses as select * from (values ('a', 1, 10)) t(wave, x, y)")
    monkeypatch.setattr(sql, "SQL_DIR", tmp_path)
    sql.load_sql.cache_clear()
    (tmp_path / "tbl_shape.sql").write_text(
        "with final as (select wave, x as first, y as second from survey_responses where wave = $wave)\n"
        "select * from final\n")
    declared = DerivedTable("shape", "tbl_shape", "A test table.", ("survey_responses",),
                            (Column("wave", "VARCHAR", "The wave."), Column("first", "INTEGER", "The first.")))
    with pytest.raises(sql.UndeclaredShape, match="given but not declared: second INTEGER"):
        sql.replace_wave_rows(conn, "shape", "tbl_shape", {"wave": "a"}, declared=declared)
    assert sql.table_columns(conn, "shape") is None
    sql.load_sql.cache_clear()
