"""The model fitting, against published reference results and independent computations, and on
waves where a model cannot be estimated: each says why, and no numerical fault ends the run."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from workflows.analysis import model_specs, regression
from workflows.analysis.covariance import hc3
from workflows.analysis.model_specs import REPLICATION, ModelSpec
from workflows.analysis.regression import fit, fit_all


def test_logit_reproduces_the_spector_and_mazzeo_reference_fit():
    data = sm.datasets.spector.load_pandas().data
    spec = ModelSpec("spector", "logit", "GRADE", ("GPA", "TUCE", "PSI"), "reference")
    result = fit(spec, data)
    # Greene, Econometric Analysis, Table 21.1 (as in statsmodels' own test suite).
    assert result["llf"] == pytest.approx(-12.8896334, abs=1e-6)
    assert result["params"]["GPA"] == pytest.approx(2.82611297, rel=1e-6)
    assert result["params"]["const"] == pytest.approx(-13.02134686, rel=1e-6)
    assert result["bse"]["GPA"] == pytest.approx(1.26294, rel=1e-4)  # Greene's printed standard error
    assert result["converged"] is True and result["statistic"] == "z"


def test_ols_reproduces_the_longley_reference_fit():
    data = sm.datasets.longley.load_pandas().data
    spec = ModelSpec("longley", "ols", "TOTEMP", ("GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"), "reference")
    result = fit(spec, data)
    # NIST StRD certified values for the Longley data.
    assert result["rsquared"] == pytest.approx(0.995479004577296, rel=1e-9)
    assert result["params"]["YEAR"] == pytest.approx(1829.15146461355, rel=1e-6)
    assert result["bse"]["const"] == pytest.approx(890420.383607373, rel=1e-6)
    # The Longley design is the classic ill-conditioned one: estimated, and its condition number said.
    assert result["diagnostics"]["condition_number"] > 30


def firms(n=30, adopters=10):
    return pd.DataFrame({
        "envtech": [1] * adopters + [0] * (n - adopters),
        "envexp_vnd": [float(i % 7) * 1e6 for i in range(n)],
        "empl": [5 + (i * 7) % 40 for i in range(n)],
        "years": [3 + (i * 5) % 30 for i in range(n)],
        "expt_vnd": [float((i * 13) % 11) * 1e8 for i in range(n)],
        "cluster_code": [1 + i % 3 for i in range(n)],
        "cluster": [("bat_trang", "dong_ky", "van_phuc")[i % 3] for i in range(n)],
        "emp": [(i * 2 + i // 3) % 3 for i in range(n)],
        "loan": [int(i % 9 == 0) for i in range(n)],
        "cp": [(i * 2) % 3 for i in range(n)],
    })


def random_firms(n: int, seed: int = 5) -> pd.DataFrame:
    """Firm indices drawn so that no model separates: adoption rises with years, a third spend."""
    rng = np.random.default_rng(seed)
    cluster_code = rng.integers(1, 4, n)
    years = rng.integers(2, 40, n)
    return pd.DataFrame({
        "envtech": (rng.random(n) < 1 / (1 + np.exp(-(years - 20) / 8))).astype(int),
        "envexp_vnd": np.where(rng.random(n) < 0.4, rng.gamma(2.0, 4e6, n), 0.0),
        "empl": rng.integers(3, 80, n), "years": years, "expt_vnd": rng.gamma(1.5, 3e8, n),
        "cluster_code": cluster_code, "cluster": np.array(["bat_trang", "dong_ky", "van_phuc"])[cluster_code - 1],
        "emp": rng.integers(0, 3, n), "loan": (rng.random(n) < 0.3).astype(int), "cp": rng.integers(0, 3, n)})


def test_a_wave_without_adopters_is_reported_not_fitted():
    result = fit(REPLICATION[0], firms(adopters=0))
    assert result["converged"] is False and result["params"]["years"] is None
    assert result["not_estimated"]["reason"] == "no_variation"
    assert "same envtech" in result["notes"][0]


def test_a_wave_with_one_cluster_only_is_reported_not_fitted_and_fitted_without_the_cluster_beside():
    data = firms().assign(cluster_code=2, cluster="dong_ky")
    fits = fit_all(data)
    for spec in REPLICATION:
        result = fits[spec.key]
        assert result["converged"] is False and result["not_estimated"]["constant_terms"] == ["cluster_code"]
        assert "cluster_code does not vary" in result["notes"][0]
        reduced = fits[f"{spec.key}_without_cluster_code"]
        assert reduced["reduces"] == spec.key and reduced["dropped"] == ["cluster_code"]
        assert set(reduced["params"]) == set(spec.terms) - {"cluster_code"}
        assert all(value is not None for value in reduced["params"].values())
    # The robustness twins have both dummies constant: not estimated, and no model stands in for them.
    assert fits["envtech_logit_robust"]["not_estimated"]["constant_terms"] == ["dong_ky", "van_phuc"]


def test_a_wave_with_too_few_firms_is_reported_not_fitted():
    result = fit(REPLICATION[1], firms(n=5, adopters=2))
    assert result["converged"] is False and result["rsquared"] is None
    assert result["not_estimated"]["reason"] == "too_few_firms"


def hand_hc3(X: np.ndarray, y: np.ndarray, beta: np.ndarray, logit: bool) -> np.ndarray:
    """HC3 written out firm by firm, as MacKinnon and White (1985) and sandwich::vcovHC define it: the
    hat matrix in full, each firm's score scaled by 1 / (1 - h_ii)."""
    if logit:
        p = 1 / (1 + np.exp(-X @ beta))
        w, e = p * (1 - p), y - p
    else:
        w, e = np.ones(len(y)), y - X @ beta
    # On columns scaled to a largest value of one (EXPT in VND reaches 10^10), then scaled back:
    # the sandwich of X S is S^-1 V S^-1.
    scale = np.max(np.abs(X), axis=0)
    Z = X / scale
    root_w = np.sqrt(w)
    bread = np.linalg.inv((Z * w[:, None]).T @ Z)
    hat = (Z * root_w[:, None]) @ bread @ (Z * root_w[:, None]).T
    meat = np.zeros((X.shape[1], X.shape[1]))
    for i in range(len(y)):
        meat += np.outer(Z[i], Z[i]) * e[i] ** 2 / (1 - hat[i, i]) ** 2
    return (bread @ meat @ bread) / np.outer(scale, scale)


def test_the_robust_logit_has_true_hc3_errors_not_statsmodels_hc0():
    data = random_firms(60)
    spec = model_specs.ROBUSTNESS[0]
    assert spec.family == "logit" and spec.covariance == "HC3"
    result = fit(spec, data)
    y, X = regression.design(spec, data)
    refit = sm.Logit(y, X).fit(disp=0)
    beta = refit.params.to_numpy()
    expected = np.sqrt(np.diag(hand_hc3(X.to_numpy(), y.to_numpy(), beta, logit=True)))
    assert [result["bse"][t] for t in spec.terms] == pytest.approx(list(expected), rel=1e-6)
    z = beta / expected
    assert [result["tvalues"][t] for t in spec.terms] == pytest.approx(list(z), rel=1e-6)
    assert [result["pvalues"][t] for t in spec.terms] == pytest.approx(list(2 * stats.norm.sf(np.abs(z))), rel=1e-6)
    # statsmodels' GLM labels HC0 as HC3 (its issue 7798): the errors published must not be those.
    glm_hc0 = sm.GLM(y, X, family=sm.families.Binomial()).fit(cov_type="HC3").bse.to_numpy()
    assert np.all(expected > glm_hc0)


def test_the_robust_ols_has_hc3_errors_and_t_p_values_on_n_minus_k_degrees_of_freedom():
    data = random_firms(60)
    spec = model_specs.ROBUSTNESS[1]
    assert spec.family == "ols" and spec.covariance == "HC3"
    result = fit(spec, data)
    y, X = regression.design(spec, data)
    reference = sm.OLS(y, X).fit(cov_type="HC3", use_t=True)  # statsmodels' OLS HC3 is the true one
    assert [result["bse"][t] for t in spec.terms] == pytest.approx(list(reference.bse), rel=1e-8)
    assert [result["pvalues"][t] for t in spec.terms] == pytest.approx(list(reference.pvalues), rel=1e-8)
    assert result["df_resid"] == len(y) - X.shape[1] and result["statistic"] == "t"
    hand = np.sqrt(np.diag(hand_hc3(X.to_numpy(), y.to_numpy(), reference.params.to_numpy(), logit=False)))
    assert [result["bse"][t] for t in spec.terms] == pytest.approx(list(hand), rel=1e-8)
    # The classical F stays under its contract key; the robust Wald F has keys of its own.
    classical = sm.OLS(y, X).fit()
    checks = result["diagnostics"]
    assert checks["f_statistic"] == pytest.approx(classical.fvalue, rel=1e-9)
    assert checks["f_pvalue"] == pytest.approx(classical.f_pvalue, rel=1e-6)
    assert checks["wald_f_statistic"] == pytest.approx(reference.fvalue, rel=1e-8)
    assert (checks["wald_f_df_num"], checks["wald_f_df_denom"]) == (X.shape[1] - 1, len(y) - X.shape[1])


def test_hc3_is_undefined_for_a_firm_with_leverage_one_and_said_so():
    X = np.c_[np.ones(6), [0, 0, 0, 0, 0, 1.0]]  # the sixth firm alone fixes the dummy's coefficient
    with pytest.raises(ArithmeticError):
        hc3(X, np.arange(6.0), np.ones(6))
    data = random_firms(40).assign(loan=0)
    data.loc[data.index[0], "loan"] = 1
    result = fit(model_specs.ROBUSTNESS[1], data)
    assert result["converged"] is True and result["params"]["loan"] is not None
    assert result["bse"]["loan"] is None and "leverage 1" in " ".join(result["notes"])


@pytest.mark.parametrize("n", [51, 2000])
def test_collinear_predictors_are_named_by_their_relation_and_not_estimated(n):
    data = random_firms(n)
    data["emp"] = 3 - data["cluster_code"]  # EMP = 3 - CLUSTER
    fits = fit_all(data)
    logit = fits["envtech_logit"]
    assert logit["converged"] is False and all(v is None for v in logit["params"].values())
    reason = logit["not_estimated"]
    assert reason["reason"] == "collinear" and (reason["rank"], reason["columns"]) == (5, 6)
    assert reason["relation"] == {"subject": "emp", "equals": {"const": 3.0, "cluster_code": -1.0}}
    assert "emp = 3 - cluster_code" in logit["notes"][0]
    # The dummies twin: EMP = 2 - DONG_KY - 2 VAN_PHUC, named the same way.
    twin = fits["envtech_logit_robust"]["not_estimated"]
    assert twin["relation"] == {"subject": "emp", "equals": {"const": 2.0, "dong_ky": -1.0, "van_phuc": -2.0}}
    # The models that do not have EMP are estimated as usual.
    assert fits["envexp_ols"]["converged"] is True


def test_a_numerically_collinear_design_is_not_estimated_either():
    data = random_firms(51)
    data["emp"] = 3 - data["cluster_code"] + np.random.default_rng(1).normal(0, 1e-9, len(data))
    reason = fit(REPLICATION[0], data)["not_estimated"]
    assert reason["reason"] == "collinear" and reason["condition_number"] > 1e7


def test_no_numerical_fault_in_any_step_ends_the_fit(monkeypatch):
    data = random_firms(51)

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(regression.Logit, "fit", broken)
    result = fit(REPLICATION[0], data)
    assert result["not_estimated"]["reason"] == "numerical" and "singular matrix" in result["notes"][0]
    monkeypatch.undo()
    monkeypatch.setattr(regression.diagnostics, "hosmer_lemeshow", broken)
    monkeypatch.setattr(regression.firth, "firth_logit", broken)
    result = fit(REPLICATION[0], data)
    assert result["converged"] is True and "hosmer_lemeshow" not in result["diagnostics"]
    assert "A diagnostic could not be computed: singular matrix." in result["notes"]
    assert result["diagnostics"]["firth_failure"].endswith("(singular matrix)")


def test_the_two_part_model_fits_whether_and_how_much_firms_spend():
    data = random_firms(80)
    fits = fit_all(data)
    spends = (data["envexp_vnd"] > 0).astype(float)
    X = sm.add_constant(data[list(REPLICATION[1].predictors)].astype(float))
    any_spending = fits["envexp_any_logit"]
    reference = sm.Logit(spends, X).fit(disp=0)
    assert any_spending["n"] == len(data)
    assert [any_spending["params"][t] for t in X.columns] == pytest.approx(list(reference.params), rel=1e-6)
    amount = fits["envexp_amount_ols"]
    spenders = data["envexp_vnd"] > 0
    reference = sm.OLS(np.log(data.loc[spenders, "envexp_vnd"]), X[spenders]).fit(cov_type="HC3", use_t=True)
    assert amount["n"] == int(spenders.sum()) and amount["covariance"] == "HC3"
    assert [amount["params"][t] for t in X.columns] == pytest.approx(list(reference.params), rel=1e-8)
    assert [amount["pvalues"][t] for t in X.columns] == pytest.approx(list(reference.pvalues), rel=1e-8)


def test_each_twin_is_compared_with_its_paper_model_by_a_nested_test():
    data = random_firms(120)
    fits = fit_all(data)
    logit = fits["envtech_logit_robust"]["comparison"]
    ordinal = sm.Logit(data["envtech"], sm.add_constant(data[["empl", "years", "expt_vnd", "cluster_code", "emp"]]
                                                         .astype(float))).fit(disp=0)
    dummies_X = sm.add_constant(data[["empl", "years", "expt_vnd", "emp"]].astype(float)).assign(
        dong_ky=(data["cluster"] == "dong_ky").astype(float), van_phuc=(data["cluster"] == "van_phuc").astype(float))
    dummies = sm.Logit(data["envtech"], dummies_X).fit(disp=0)
    assert logit["nested"] and logit["restricted"] == "envtech_logit" and logit["df"] == 1
    assert logit["statistic"] == pytest.approx(2 * (dummies.llf - ordinal.llf), rel=1e-6)
    assert logit["aic"] == pytest.approx({"envtech_logit": ordinal.aic, "envtech_logit_robust": dummies.aic}, rel=1e-9)
    assert logit["bic"]["envtech_logit_robust"] == pytest.approx(dummies.bic, rel=1e-9)
    ols = fits["envexp_ols_robust"]["comparison"]
    restricted = sm.OLS(data["envexp_vnd"], sm.add_constant(data[list(REPLICATION[1].predictors)].astype(float))).fit()
    general_X = sm.add_constant(data[["empl", "expt_vnd", "loan", "cp"]].astype(float)).assign(
        dong_ky=(data["cluster"] == "dong_ky").astype(float), van_phuc=(data["cluster"] == "van_phuc").astype(float))
    general = sm.OLS(data["envexp_vnd"], general_X).fit()
    f_value, p_value, df = general.compare_f_test(restricted)
    assert ols["test"] == "F" and ols["df"] == df == 1
    assert ols["statistic"] == pytest.approx(f_value, rel=1e-8) and ols["pvalue"] == pytest.approx(p_value, rel=1e-6)
    assert ols["aic"]["envexp_ols"] == pytest.approx(restricted.aic, rel=1e-12)


def test_the_logit_diagnostics_are_those_of_an_independent_refit():
    data = random_firms(90)
    result = fit(REPLICATION[0], data)
    y, X = regression.design(REPLICATION[0], data)
    refit = sm.Logit(y, X).fit(disp=0)
    checks = result["diagnostics"]
    assert checks["mcfadden_r2"] == pytest.approx(refit.prsquared, rel=1e-8)
    assert checks["lr_statistic"] == pytest.approx(refit.llr, rel=1e-8)
    assert checks["lr_pvalue"] == pytest.approx(refit.llr_pvalue, rel=1e-6)
    assert (checks["aic"], checks["bic"]) == pytest.approx((refit.aic, refit.bic), rel=1e-10)
    margins = refit.get_margeff(at="overall")
    assert list(checks["average_marginal_effects"].values()) == pytest.approx(list(margins.margeff), rel=1e-8)
    assert list(checks["average_marginal_effects_se"].values()) == pytest.approx(list(margins.margeff_se), rel=1e-5)
    table = checks["classification"]
    predicted = refit.predict() >= 0.5
    assert table["true_positives"] == int(np.sum(predicted & (y == 1)))
    assert table["true_negatives"] == int(np.sum(~predicted & (y == 0)))
    assert checks["clustered_errors"] == {"clusters": 3, "coefficients": 6, "cluster_robust_rank_at_most": 2,
                                          "wild_bootstrap_draws": 8}


def test_the_wave_is_read_in_numeric_columns_and_fitted_to_the_same_digits():
    """The models read their columns as numbers, the cluster as a categorical coded in SQL, in the
    table's own order: the same fits, bit for bit, as from the whole frame with the cluster's text."""
    import duckdb

    from workflows.defs.models import model_columns
    from workflows.warehouse.json_values import clean

    frame = random_firms(120, seed=8).assign(wave="w", firm_id=[f"F-{i:03d}" for i in range(120)])
    frame.loc[frame.index[:40], "loan"] = 1
    frame.loc[frame["loan"] == 1, "envexp_vnd"] = 5e6  # every firm with a loan spends: part 1 is separated
    with duckdb.connect() as conn:
        conn.execute("create table firm_indices as select * from frame")
        read = model_columns(conn, "w")
    assert set(read.columns) == set(model_specs.columns_used())
    assert isinstance(read["cluster"].dtype, pd.CategoricalDtype)
    assert list(read["cluster"].astype(str)) == list(frame["cluster"])
    fits = fit_all(read)
    assert fits["envexp_any_logit"]["not_estimated"]["reason"] == "separation"
    assert clean(fits) == clean(fit_all(frame))
    y, X = regression.design(REPLICATION[0], read)
    assert X.to_numpy().flags["F_CONTIGUOUS"] and np.shares_memory(X.to_numpy(), X.to_numpy())


def test_a_large_waves_logit_is_statsmodels_search_a_block_of_firms_at_a_time(monkeypatch):
    """Above LARGE_WAVE_FIRMS the logit is fitted by blocks (`large_waves.py`): the same Newton steps as statsmodels',
    to the same estimates, log-likelihood and covariance, and the same verdict when it stops unconverged."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    from workflows.analysis import large_waves

    monkeypatch.setattr(large_waves, "BLOCK", 97)  # many blocks, the last one short
    data = random_firms(900)
    y, X = regression.design(REPLICATION[0], data)
    ya, Xa = y.to_numpy(), X.to_numpy()
    reference = sm.Logit(ya, Xa).fit(disp=0, method="newton", maxiter=200)
    mine = large_waves.BlockLogit(ya, Xa).fit(disp=0, method="newton", maxiter=200)
    assert mine.mle_retvals["converged"] and mine.mle_retvals["iterations"] == reference.mle_retvals["iterations"]
    np.testing.assert_allclose(mine.params, reference.params, rtol=1e-10)
    assert mine.llf == pytest.approx(reference.llf, rel=1e-12)
    np.testing.assert_allclose(mine.cov_params(), reference.cov_params(), rtol=1e-8)
    with pytest.warns(ConvergenceWarning):
        stopped = large_waves.BlockLogit(ya, Xa).fit(disp=0, method="newton", maxiter=2)
    assert not stopped.mle_retvals["converged"]

    # The models take it above the limit, and say what they said of statsmodels' fit.
    expected = fit(REPLICATION[0], data)
    monkeypatch.setattr(regression, "LARGE_WAVE_FIRMS", 100)
    assert isinstance(regression._logit(ya, Xa), large_waves.BlockLogit)
    by_blocks = fit(REPLICATION[0], data)
    for figure in ("params", "bse", "pvalues"):
        assert list(by_blocks[figure].values()) == pytest.approx(list(expected[figure].values()), rel=1e-7)
    assert by_blocks["llf"] == pytest.approx(expected["llf"], rel=1e-12)
    assert by_blocks["diagnostics"]["auc"] == pytest.approx(expected["diagnostics"]["auc"], rel=1e-12)


def test_a_large_waves_least_squares_fit_is_statsmodels_fit_a_block_of_firms_at_a_time(monkeypatch):
    """Above LARGE_WAVE_FIRMS least squares is a tall-skinny QR of [X | y] by blocks (`large_waves.py`): the same
    estimates, log-likelihood, R² and covariance as statsmodels', and the same model documents."""
    from workflows.analysis import large_waves

    monkeypatch.setattr(large_waves, "BLOCK", 97)
    data = random_firms(900)
    spec = next(s for s in model_specs.SPECS if s.family == "ols" and s.covariance == "nonrobust")
    y, X = regression.design(spec, data)
    ya, Xa = y.to_numpy(), X.to_numpy()
    reference = sm.OLS(ya, Xa).fit()
    mine = large_waves.BlockOLS(ya, Xa).fit()
    # Both are backward stable; on a design scaled up to 10^10 (EXPT in VND) they agree to some 1e-8.
    np.testing.assert_allclose(mine.params, reference.params, rtol=1e-7)
    for figure in ("llf", "rsquared", "rsquared_adj"):
        assert getattr(mine, figure) == pytest.approx(getattr(reference, figure), rel=1e-10), figure
    # The covariance to 1e-8 of the product of the two standard errors (a correlation's scale).
    scale = np.sqrt(np.outer(np.diag(reference.cov_params()), np.diag(reference.cov_params())))
    np.testing.assert_allclose(mine.cov_params() / scale, reference.cov_params() / scale, rtol=0, atol=1e-8)
    with pytest.raises(np.linalg.LinAlgError):
        large_waves.BlockOLS(ya, np.c_[Xa, Xa[:, 1]]).fit()
    # Columns of very different scales are not singular (a million firms' EXPT in VND beside a dummy): a column
    # scaled by 10^12 has its coefficient scaled by 10^-12, and the others stay as they were.
    scales = np.r_[1.0, 1.0, np.full(Xa.shape[1] - 2, 1e12)]
    np.testing.assert_allclose(large_waves.BlockOLS(ya, Xa * scales).fit().params * scales, mine.params, rtol=1e-6)

    expected = {s.key: fit(s, data) for s in model_specs.SPECS if s.family == "ols"}
    monkeypatch.setattr(regression, "LARGE_WAVE_FIRMS", 100)
    assert isinstance(regression._ols(ya, Xa), large_waves.BlockOLS)
    for key, document in expected.items():
        by_blocks = fit(next(s for s in model_specs.SPECS if s.key == key), data)
        for figure in ("params", "bse", "pvalues"):
            assert list(by_blocks[figure].values()) == pytest.approx(list(document[figure].values()), rel=1e-6), key
        assert by_blocks["rsquared"] == pytest.approx(document["rsquared"], rel=1e-10)
