"""Referee's checks of the models: separation, Firth's fit against its known closed forms, and
a wave whose clusters separate adopters completely."""

import json
import math

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from tests.conftest import materialize_wave, write_wave
from workflows.analysis.diagnostics import firth_logit, separation
from workflows.analysis.model_specs import REPLICATION, ROBUSTNESS
from workflows.analysis.regression import _logit_checks
from generators.synthetic import generate_wave


def two_by_two(a: int, b: int, c: int, d: int):
    """a, b firms with x = 1 (y = 1, y = 0); c, d firms with x = 0."""
    x = np.r_[np.ones(a + b), np.zeros(c + d)]
    y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
    return np.c_[np.ones_like(x), x], y


@pytest.mark.parametrize("cells", [(7, 3, 2, 8), (5, 0, 3, 6), (12, 1, 0, 9)])
def test_firth_on_a_two_by_two_table_adds_a_half_to_every_cell(cells):
    # Firth (1993) and Heinze and Schemper (2002): for one binary covariate the penalised
    # estimates are the log odds of the table with 0.5 added to each cell, separated or not.
    a, b, c, d = cells
    result = firth_logit(*two_by_two(a, b, c, d))
    intercept = math.log((c + 0.5) / (d + 0.5))
    assert result["converged"]
    assert result["params"][0] == pytest.approx(intercept, abs=1e-8)
    assert result["params"][1] == pytest.approx(math.log((a + 0.5) / (b + 0.5)) - intercept, abs=1e-8)


def test_firth_on_an_intercept_alone_is_the_log_odds_plus_a_half():
    y = np.r_[np.ones(3), np.zeros(17)]
    result = firth_logit(np.ones((20, 1)), y)
    assert result["params"][0] == pytest.approx(math.log(3.5 / 17.5), abs=1e-9)


def test_separation_is_told_apart_from_overlap():
    X, y = two_by_two(5, 0, 3, 6)
    assert separation(X, y) == "quasi-complete"
    x = np.arange(10.0)
    assert separation(np.c_[np.ones(10), x], (x > 4.5).astype(float)) == "complete"
    assert separation(*two_by_two(7, 3, 2, 8)) == "none"


def test_a_wave_where_every_bat_trang_firm_adopts_completes_and_says_what_it_did(isolated_project):
    rows = generate_wave({"bat_trang": 12, "dong_ky": 14, "van_phuc": 14}, seed=17)
    for row in rows:
        adopts = row["cluster"] == "bat_trang" or (row["cluster"] == "dong_ky" and row["firm_id"] < "DK-0005")
        row["q6_equipment_installed"] = "yes" if adopts else "no"
        row["q9_introduced_by"] = "own_initiative" if adopts else ""
    write_wave(isolated_project / "raw" / "sep.csv", rows)
    firms = pd.DataFrame(rows)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize_wave(instance, isolated_project, "sep").success
    results = json.loads((isolated_project / "outputs" / "sep" / "results.json").read_text())
    robust = results["robustness"]["envtech_logit_robust"]
    assert robust["converged"] is False and robust["params"]["dong_ky"] is None
    assert robust["diagnostics"]["separation"] in ("complete", "quasi-complete")
    firth = robust["diagnostics"]["firth"]
    assert firth["converged"] and all(abs(v) < 50 for v in firth["params"].values())
    assert "separation" in robust["notes"][0] and "Firth" in robust["notes"][0]
    assert len(firms) == results["n_firms"]
    from pypdf import PdfReader
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(isolated_project / "outputs" / "sep" / "report.pdf").pages).split())
    assert "Firth" in text and "separation" in text and "estimates do not exist" in text


def test_the_paper_models_and_the_robustness_models_are_declared_as_data():
    assert [s.key for s in REPLICATION] == ["envtech_logit", "envexp_ols"]
    assert all(s.covariance == "nonrobust" for s in REPLICATION)
    assert all(s.covariance == "HC3" for s in ROBUSTNESS)
    assert {"dong_ky", "van_phuc", "expt_bn_vnd"} <= set(ROBUSTNESS[0].predictors)


def test_closed_forms_match_statsmodels_own_marginal_effects_and_inflation_factors():
    import statsmodels.api as sm
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    from workflows.analysis.diagnostics import average_marginal_effects, variance_inflation_factors

    rng = np.random.default_rng(7)
    X = sm.add_constant(np.c_[rng.normal(size=400), rng.poisson(3, 400), rng.normal(size=400)])
    X[:, 3] += 0.6 * X[:, 1]  # some collinearity, so the factors are not all one
    y = (rng.random(400) < 1 / (1 + np.exp(-(X @ [0.2, 0.8, -0.3, 0.5])))).astype(float)
    result = sm.Logit(y, X).fit(disp=0)
    margins = result.get_margeff(at="overall")
    effects, errors = average_marginal_effects(X, result.params, result.cov_params())
    np.testing.assert_allclose(effects[1:], margins.margeff, rtol=1e-10)
    np.testing.assert_allclose(errors[1:], margins.margeff_se, rtol=1e-5)
    np.testing.assert_allclose(variance_inflation_factors(X[:, 1:]),
                               [variance_inflation_factor(X, i) for i in (1, 2, 3)], rtol=1e-10)


def test_the_null_log_likelihood_in_closed_form_is_the_one_statsmodels_searches_for():
    import statsmodels.api as sm

    from workflows.analysis.diagnostics import null_log_likelihood

    rng = np.random.default_rng(3)
    X = sm.add_constant(rng.normal(size=(300, 2)))
    y = (rng.random(300) < 0.3).astype(float)
    assert null_log_likelihood(y) == pytest.approx(sm.Logit(y, X).fit(disp=0).llnull, rel=1e-8)


def test_a_firth_fit_that_cannot_be_computed_is_a_sentence_not_the_end_of_the_run():
    # A predictor that is zero for every firm makes the information matrix singular, as
    # collinear cluster dummies do on some processors' rounding and not on others'.
    spec = next(s for s in ROBUSTNESS if s.family == "logit")
    y = pd.Series(np.r_[np.ones(3), np.zeros(9)])
    X = pd.DataFrame(np.c_[np.ones(12), np.linspace(1, 12, 12), np.zeros((12, len(spec.terms) - 2))],
                     columns=spec.terms)
    checks = _logit_checks(spec, y, X, "complete")
    assert checks["firth"] is None
    assert checks["firth_failure"] == "The Firth penalised fit could not be computed either (singular matrix)"
