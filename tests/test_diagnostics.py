"""Referee's checks of the models: separation and the predictors that cause it, Firth's fit and its
profile penalised-likelihood inference against firthmodels (which the production code does not
call) and known closed forms, the logit's fit statistics against their textbook definitions, and a
wave whose clusters separate adopters completely."""

import json
import math

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from firthmodels import detect_separation
from scipy import stats

from tests.conftest import materialize_wave, write_wave
from tests.test_referee_waves import firthmodels_reference, indices_2007
from workflows.analysis import diagnostics, regression
from workflows.analysis.design_checks import collinearity, separation, separation_by
from workflows.analysis.firth import firth_logit
from workflows.analysis.model_specs import REPLICATION, ROBUSTNESS
from workflows.analysis.regression import _firth
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


def designs():
    """Designs shaped like the waves' models: the shipped 2007 reconstruction's indices (recomputed here
    from the raw file), and a wave where Vạn Phúc's firms never adopt (quasi-complete separation)."""
    firms = indices_2007()
    separated = firms.assign(envtech=np.where(firms["cluster"] == "van_phuc", 0, firms["envtech"]))
    for name, data, spec in (("2007 as in the paper", firms, REPLICATION[0]), ("2007 dummies", firms, ROBUSTNESS[0]),
                             ("Vạn Phúc never adopts", separated, ROBUSTNESS[0])):
        y, X = regression.design(spec, data)
        yield name, X.to_numpy(), y.to_numpy()


@pytest.mark.parametrize("name,X,y", list(designs()), ids=lambda v: v if isinstance(v, str) else "")
def test_firth_and_its_profile_inference_agree_with_firthmodels(name, X, y):
    mine = firth_logit(X, y)
    reference = firthmodels_reference(X, y)
    assert mine["penalised_llf"] == pytest.approx(reference["penalised_llf"], abs=1e-7)
    np.testing.assert_allclose(mine["params"], reference["params"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(mine["bse"], reference["bse"], rtol=1e-6)
    # firthmodels leaves a test it could not finish as NaN; every other one must agree.
    finite = np.isfinite(reference["pvalues"])
    assert finite.sum() >= len(finite) - 1
    np.testing.assert_allclose(mine["pvalues"][finite], reference["pvalues"][finite], rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(mine["ci_lower"], reference["ci_lower"], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(mine["ci_upper"], reference["ci_upper"], rtol=1e-5, atol=1e-12)
    # The statistic in parentheses is the signed root of the test's chi², so its normal p-value is the test's.
    np.testing.assert_allclose(2 * stats.norm.sf(np.abs(mine["tvalues"])), mine["pvalues"], rtol=1e-9)


@pytest.mark.parametrize("name,X,y", list(designs()), ids=lambda v: v if isinstance(v, str) else "")
def test_the_large_wave_passes_of_firths_fit_reach_firthmodels_estimates(name, X, y, monkeypatch):
    """Above EXACT_HESSIAN_FIRMS_LIMIT firms the fit takes its passes a block of firms at a time (one logarithm,
    the hat values from L^-1 X'); on these designs, as if they were that large, it reaches the same maximum."""
    from workflows.analysis import firth, large_waves

    monkeypatch.setattr(firth, "EXACT_HESSIAN_FIRMS_LIMIT", 0)
    monkeypatch.setattr(large_waves, "BLOCK", 37)  # many blocks, the last one short
    mine = firth_logit(X, y, profile=False)
    reference = firthmodels_reference(X, y)
    assert mine["penalised_llf"] == pytest.approx(reference["penalised_llf"], abs=1e-7)
    # The augmented information's steps shrink only geometrically under separation: they stop within 1e-5.
    np.testing.assert_allclose(mine["params"], reference["params"], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(mine["bse"], reference["bse"], rtol=1e-5)


def test_profile_and_wald_p_values_differ_where_the_penalised_likelihood_is_skewed():
    # One covariate, quasi-completely separated: Wald's symmetric test understates the evidence.
    X, y = two_by_two(5, 0, 5, 10)
    result = firth_logit(X, y)
    assert result["pvalues"][1] < 0.05 < result["wald_pvalues"][1]


def test_above_their_limits_of_firms_the_profile_intervals_then_tests_give_way_to_wald(monkeypatch):
    from workflows.analysis import firth

    X, y = two_by_two(12, 4, 5, 19)
    profile = firth_logit(X, y)
    monkeypatch.setattr(firth, "PROFILE_INTERVALS_FIRMS_LIMIT", 20)
    tests_only = firth_logit(X, y)
    assert tests_only["intervals"] == "Wald" and profile["intervals"] == "profile"
    np.testing.assert_allclose(tests_only["pvalues"], profile["pvalues"], rtol=1e-12)
    half = stats.norm.isf(0.025) * tests_only["bse"]
    np.testing.assert_allclose(tests_only["ci_upper"], tests_only["params"] + half, rtol=1e-12)
    monkeypatch.setattr(firth, "PROFILE_TESTS_FIRMS_LIMIT", 20)
    wald = firth_logit(X, y)
    assert wald["profile"] is False
    np.testing.assert_allclose(wald["pvalues"], wald["wald_pvalues"], rtol=1e-12)


def test_separation_is_told_apart_from_overlap():
    X, y = two_by_two(5, 0, 3, 6)
    assert separation(X, y) == "quasi-complete"
    x = np.arange(10.0)
    assert separation(np.c_[np.ones(10), x], (x > 4.5).astype(float)) == "complete"
    assert separation(*two_by_two(7, 3, 2, 8)) == "none"


def clusters(n_each=(12, 14, 14), seed=0):
    rng = np.random.default_rng(seed)
    code = np.repeat([1.0, 2.0, 3.0], n_each)
    n = len(code)
    return code, rng.integers(2, 40, n).astype(float), rng.normal(size=n)


def test_separation_names_the_predictors_that_separate_and_the_firms_they_sort():
    code, years, noise = clusters()
    dong_ky, van_phuc = (code == 2).astype(float), (code == 3).astype(float)
    # Every Bat Tràng firm adopts, no Vạn Phúc firm does, Đông Kỵ is mixed.
    y = ((code == 1) | ((code == 2) & (np.arange(len(code)) % 2 == 0))).astype(float)
    X = np.c_[np.ones(len(y)), years, noise, dong_ky, van_phuc]
    found = separation_by(X, y, ["const", "years", "noise", "dong_ky", "van_phuc"])
    assert found["kind"] == "quasi-complete"
    assert found["terms"] == ["dong_ky", "van_phuc"] and found["alone"] == {"van_phuc": "quasi-complete"}
    assert found["perfectly_predicted"] == 12 + 14
    assert found["groups"] == [{"values": {"dong_ky": 0.0, "van_phuc": 0.0}, "outcome": 1, "firms": 12},
                               {"values": {"dong_ky": 0.0, "van_phuc": 1.0}, "outcome": 0, "firms": 14}]
    # firthmodels' own linear program (Konis 2007) agrees that the data separate, and the coefficients
    # it finds infinite are among the ones named.
    reference = detect_separation(X[:, 1:], y)
    # (its flags follow the columns given, the intercept last)
    infinite = {name for name, finite in zip(["years", "noise", "dong_ky", "van_phuc"], reference.is_finite) if not finite}
    assert reference.separation and infinite <= set(found["terms"])
    # The same data with the paper's one ordinal code: CLUSTER separates, sorting 1 and 3 perfectly.
    ordinal = separation_by(np.c_[np.ones(len(y)), years, code], y, ["const", "years", "cluster_code"])
    assert ordinal["terms"] == ["cluster_code"] and [g["values"]["cluster_code"] for g in ordinal["groups"]] == [1.0, 3.0]


def test_complete_separation_by_a_combination_is_named_only_when_confirmed():
    code, years, noise = clusters()
    y = (years + 10 * noise > 20).astype(float)  # neither predictor alone separates, the two together do
    found = separation_by(np.c_[np.ones(len(y)), years, noise, code], y, ["const", "years", "noise", "cluster_code"])
    assert found["kind"] == "complete" and set(found["terms"]) == {"years", "noise"} and found["alone"] == {}
    assert found["perfectly_predicted"] == len(y)
    # Firms with noise > 0 and years > 20 against the rest: no line sorts them, nothing is named.
    overlap = separation_by(np.c_[np.ones(len(y)), years, noise], ((noise > 0) & (years > 20)).astype(float),
                            ["const", "years", "noise"])
    assert overlap == {"kind": "none", "terms": [], "alone": {}, "perfectly_predicted": 0, "groups": []}
    assert separation_by(np.c_[np.ones(40), np.arange(40.0)], np.arange(40) % 2 * 1.0, ["const", "x"])["kind"] == "none"


def test_the_collinear_relation_is_found_in_the_predictors_own_units():
    code, years, noise = clusters()
    exports = np.abs(noise) * 1e9
    found = collinearity(np.c_[np.ones(len(code)), years, exports, code, 3 - code],
                         ["const", "years", "expt_vnd", "cluster_code", "emp"])
    assert found["collinear"] and found["rank"] == 4
    assert found["relation"] == {"subject": "emp", "equals": {"const": 3.0, "cluster_code": -1.0}}
    assert not collinearity(np.c_[np.ones(len(code)), years, exports, code], ["const", "years", "expt_vnd", "c"])["collinear"]


def test_the_area_under_the_curve_is_the_share_of_correctly_ordered_pairs():
    rng = np.random.default_rng(4)
    y = (rng.random(60) < 0.4).astype(float)
    fitted = np.round(rng.random(60), 1)  # ties, which count a half
    pairs = [(1.0 if a > b else 0.5 if a == b else 0.0) for a in fitted[y == 1] for b in fitted[y == 0]]
    assert diagnostics.area_under_curve(y, fitted) == pytest.approx(np.mean(pairs), rel=1e-12)


def test_hosmer_lemeshow_groups_by_deciles_of_risk_as_r_does():
    rng = np.random.default_rng(9)
    fitted = rng.random(200)
    y = (rng.random(200) < fitted).astype(float)
    result = diagnostics.hosmer_lemeshow(y, fitted)
    # R's ResourceSelection::hoslem.test: cut(yhat, quantile(yhat, 0:10/10), include.lowest = TRUE).
    groups = pd.cut(fitted, np.quantile(fitted, np.linspace(0, 1, 11)), include_lowest=True)
    frame = pd.DataFrame({"g": groups, "y": y, "p": fitted}).groupby("g", observed=True)
    observed, expected, size = frame["y"].sum(), frame["p"].sum(), frame.size()
    chi2 = (((observed - expected) ** 2 / expected) + ((observed - expected) ** 2 / (size - expected))).sum()
    assert result["groups"] == 10 and result["df"] == 8
    assert result["statistic"] == pytest.approx(chi2, rel=1e-10)
    assert result["pvalue"] == pytest.approx(stats.chi2.sf(chi2, 8), rel=1e-8)


def test_a_firth_fit_that_cannot_be_computed_is_a_sentence_not_the_end_of_the_run():
    # A predictor that is zero for every firm makes the information matrix singular, as
    # collinear cluster dummies do on some processors' rounding and not on others'.
    spec = next(s for s in ROBUSTNESS if s.family == "logit")
    y = np.r_[np.ones(3), np.zeros(9)]
    X = np.c_[np.ones(12), np.linspace(1, 12, 12), np.zeros((12, len(spec.terms) - 2))]
    checks = _firth(spec, X, y, list(spec.terms), needed=True)
    assert "firth" not in checks
    assert checks["firth_failure"] == "The Firth penalised fit could not be computed either (the information matrix is singular)"


def test_the_paper_models_and_the_robustness_models_are_declared_as_data():
    assert [s.key for s in REPLICATION] == ["envtech_logit", "envexp_ols"]
    assert all(s.covariance == "nonrobust" for s in REPLICATION)
    table5 = [s for s in ROBUSTNESS if s.exhibit == "table5"]
    assert all(s.covariance == "HC3" for s in table5)
    assert {"dong_ky", "van_phuc", "expt_bn_vnd"} <= set(table5[0].predictors)


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


@pytest.mark.integration  # a whole run
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
    # Vạn Phúc never adopts: the dummy separates on its own; with the other predictors, the four Đông Kỵ
    # adopters are sorted too (completely, on this wave). Whatever the linear program names, the data
    # separate on those predictors alone, as firthmodels' own linear program (Konis 2007) confirms.
    checks = robust["diagnostics"]
    assert checks["separation"] in ("complete", "quasi-complete")
    assert checks["separated_by"]["alone"]["van_phuc"] == "quasi-complete"
    named = checks["separated_by"]["terms"]
    assert named and set(named) <= set(ROBUSTNESS[0].predictors)
    y = firms["q6_equipment_installed"].eq("yes").to_numpy(dtype=float)
    columns = {"van_phuc": firms["cluster"].eq("van_phuc"), "dong_ky": firms["cluster"].eq("dong_ky"),
               "years": firms["years_in_operation"].astype(float), "empl": firms["employees"].astype(float),
               "expt_bn_vnd": firms["turnover_kvnd"].astype(float) * firms["export_share_pct"].astype(float) / 1e8}
    if set(named) <= set(columns):
        assert detect_separation(np.column_stack([columns[t] for t in named]).astype(float), y).separation
    firth = robust["diagnostics"]["firth"]
    assert firth["converged"] and all(abs(v) < 50 for v in firth["params"].values())
    assert firth["inference"] == "profile penalised likelihood"
    assert "separation" in robust["notes"][0] and "Firth" in robust["notes"][0]
    assert len(firms) == results["n_firms"]
    from pypdf import PdfReader
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(isolated_project / "outputs" / "sep" / "report.pdf").pages).split())
    assert "Firth" in text and "estimates do not exist" in text
    assert f"not estimated, since {checks['separation']} separation: " in text
    assert "Vạn Phúc alone separates them quasi-completely" in text
