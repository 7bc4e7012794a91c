"""Each model is one declaration: a model added to the list is fitted, stored, and shown in Table 5 and
the diagnostics, with no other change to the code."""

import duckdb
import numpy as np
import pandas as pd
import pytest

from workflows.analysis import model_specs
from workflows.report import narrative
from workflows.warehouse import documents
from workflows.defs.models import fit_wave
from workflows.analysis.model_specs import ModelSpec, declaration_problems
from workflows.report.rendering import render_html
from workflows.report.report_context import FORMATTING, model_context

BORROWING = ModelSpec("loan_logit", "logit", "loan", ("empl", "years", "cp"), "Access to a bank loan (LOAN), logit",
                      label="LOAN", subject="borrowing")


def firm_indices(n: int = 60, seed: int = 5) -> pd.DataFrame:
    """A wave's firm indices with every column the models read, drawn so that no model separates."""
    rng = np.random.default_rng(seed)
    cluster_code = rng.integers(1, 4, n)
    years = rng.integers(2, 40, n)
    return pd.DataFrame({
        "firm_id": [f"F-{i:03d}" for i in range(n)],
        "wave": "w",
        "envtech": (rng.random(n) < 1 / (1 + np.exp(-(years - 20) / 8))).astype(int),
        "envexp_vnd": rng.gamma(2.0, 4e6, n),
        "empl": rng.integers(3, 80, n),
        "years": years,
        "expt_vnd": rng.gamma(1.5, 3e8, n),
        "cluster_code": cluster_code,
        "cluster": np.array(["bat_trang", "dong_ky", "van_phuc"])[cluster_code - 1],
        "emp": rng.integers(0, 3, n),
        "loan": (rng.random(n) < 0.45).astype(int),
        "cp": rng.integers(0, 3, n),
    })


def test_a_third_model_is_one_declaration(monkeypatch):
    monkeypatch.setattr(model_specs, "SPECS", (*model_specs.SPECS, BORROWING))
    assert declaration_problems(model_specs.SPECS) == []

    with duckdb.connect() as conn:
        frame = firm_indices()
        conn.execute("create table firm_indices as select * from frame")
        fits = fit_wave(conn, "w")
        stored = documents.load(conn, documents.MODEL_FITS, "w")
    assert list(fits) == [spec.key for spec in model_specs.SPECS]
    assert stored["loan_logit"]["converged"] is True
    assert set(stored["loan_logit"]["params"]) == {"const", "empl", "years", "cp"}

    results = {"wave": "w", "n_firms": len(frame), "models": {}, "robustness": {},
               "characteristics": {cluster: {"n": len(firms), "adopters": int(firms["envtech"].sum())}
                                   for cluster, firms in [*frame.groupby("cluster"), ("total", frame)]},
               "knowledge_sources": [{"source": "buyers", "count": 9}],
               "constraints": {"capital": {"mentions": 20, "percent": 33.3}}}
    for spec in model_specs.SPECS:
        results[spec.section][spec.key] = stored[spec.key]
    context = model_context(results)
    heads = [(column["label"], column["head"]) for column in context["model_columns"]]
    # The paper's models side by side first, the new one among them; then the referee's columns.
    assert heads[:3] == [("ENVTECH", "logit"), ("ENVEXP", "OLS, million VND"), ("LOAN", "logit")]
    assert ("ENVEXP", "OLS, million VND, dummies, HC3") in heads[3:]
    assert [g["title"] for g in context["table5"]["groups"]][0] == "As in the paper"
    assert {"empl", "years", "cp"} <= set(context["model_terms"])

    html = render_html("partials/models.html.j2", results=results, en=narrative.words("en"),
                       **FORMATTING, **context)
    assert "LOAN<br>" in html and "LOAN (as in the paper), logit: " in html
    # Not declared for the abstract, so the abstract says what it said without it.
    with_it = narrative.abstract(results, "en")
    monkeypatch.setattr(model_specs, "SPECS", model_specs.SPECS[:-1])
    assert narrative.abstract(results, "en") == with_it


def test_contradicting_declarations_are_named():
    paper = model_specs.paper_models()[0]
    orphan = paper.twin("orphan", paper.predictors, "twin of nothing", kind="other", covariance="HC3")
    problems = declaration_problems((*model_specs.SPECS, paper,
                                     ModelSpec("x", "probit", "y", ("a",), "x"),
                                     ModelSpec("z", "logit", "loan", ("a",), "z", in_abstract=True)))
    assert f"{paper.key} is declared twice" in problems
    assert "x has an unknown family 'probit'" in problems
    assert "the abstract has sentences for one logit model only" in problems
    assert declaration_problems((orphan,)) == [f"orphan is a twin of {paper.key}, which is not a paper model"]


def test_every_robustness_model_answers_a_paper_model_about_the_same_outcome():
    paper = {spec.key: spec for spec in model_specs.REPLICATION}
    for twin in model_specs.ROBUSTNESS:
        assert twin.section == "robustness" and not twin.in_abstract
        if twin.exhibit == "table5":
            assert twin.outcome == paper[twin.twin_of].outcome and twin.label == paper[twin.twin_of].label
        else:
            # The two-part model's parts: whether a firm spends and the log of what it spends, each
            # derived from the paper model's outcome, on the paper model's predictors.
            assert model_specs.DERIVED[twin.outcome][0] == paper[twin.twin_of].outcome
            assert twin.predictors == paper[twin.twin_of].predictors
    assert all(spec.section == "models" for spec in model_specs.REPLICATION)
    assert {spec.key for spec in model_specs.ROBUSTNESS if spec.exhibit == "two_part"} == {
        "envexp_any_logit", "envexp_amount_ols"}


@pytest.mark.parametrize("language", narrative.LANGUAGES)
def test_every_term_of_every_model_has_a_label(language):
    terms = {term for spec in model_specs.SPECS for term in spec.terms}
    assert terms <= set(narrative.words(language)["terms"])
