"""What a referee asks of a small-sample logit and OLS beyond the coefficients: events per
predictor, the fit against the model without predictors, marginal effects, how well the logit
sorts the firms (classification, AUC, Hosmer-Lemeshow), information criteria, collinearity and
the shape of the residuals.

Each function takes arrays and returns plain numbers, so that each is tested against an
independent computation (statsmodels, or the textbook formula written out in the test).
"""

import numpy as np
from scipy import stats
from statsmodels.stats.stattools import jarque_bera

# Peduzzi et al. (1996): a rule of thumb, not a threshold. With fewer than about ten events per
# predictor, maximum-likelihood logit estimates are biased away from zero and their Wald tests
# unreliable, so the Firth penalised fit is shown beside them.
MIN_EVENTS_PER_VARIABLE = 10
NORMALITY_ALPHA = 0.05
CLASSIFICATION_CUTOFF = 0.5
HOSMER_LEMESHOW_GROUPS = 10


def fit_looks_separated(converged: bool, fitted: np.ndarray, params: np.ndarray, spread: np.ndarray) -> bool:
    """Signs of separation in a maximum-likelihood logit: no convergence, fitted probabilities of
    0 or 1, or a coefficient worth more than 15 logits per standard deviation of its predictor.

    On a large wave only these signs run the linear program (seconds on a census-size wave); on
    a small one it always runs.
    """
    if not converged:
        return True
    if np.any(fitted < 1e-8) or np.any(fitted > 1 - 1e-8):
        return True
    return bool(np.any(np.abs(params * spread) > 15))


def null_log_likelihood(y: np.ndarray) -> float:
    """The log-likelihood of the constant-only logit, whose fitted probability is the share of ones."""
    share = y.mean()
    if share in (0.0, 1.0):
        return 0.0
    return float(len(y) * (share * np.log(share) + (1 - share) * np.log(1 - share)))


def events_per_variable(y: np.ndarray, predictors: int) -> float:
    return float(min(y.sum(), len(y) - y.sum()) / max(predictors, 1))


def information_criteria(llf: float, parameters: int, n: int) -> dict:
    """AIC = -2 llf + 2 k and BIC = -2 llf + k log n (k counting the constant; for least squares,
    the error variance is not counted, as statsmodels and Stata count it)."""
    return {"aic": -2 * llf + 2 * parameters, "bic": -2 * llf + parameters * np.log(n)}


def likelihood_ratio(llf: float, llnull: float, df: int) -> dict:
    statistic = max(0.0, 2 * (llf - llnull))
    return {"lr_statistic": statistic, "lr_df": df, "lr_pvalue": float(stats.chi2.sf(statistic, df))}


def average_marginal_effects(X: np.ndarray, params: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logit's average marginal effects, mean of p(1 - p) times each coefficient, and their delta-method errors.

    The same figures as statsmodels' `get_margeff(at="overall")`, from the analytic Jacobian
    rather than numerical differentiation, which costs seconds on a census-size wave.
    """
    p = 1 / (1 + np.exp(-X @ params))
    weight = p * (1 - p)
    effects = weight.mean() * params
    # d effect_k / d beta_j = mean(w) [k = j] + beta_k mean(w (1 - 2p) x_j)
    jacobian = weight.mean() * np.eye(len(params)) + np.outer(params, (weight * (1 - 2 * p)) @ X / len(p))
    return effects, np.sqrt(np.diag(jacobian @ covariance @ jacobian.T))


def marginal_effects(X: np.ndarray, params: np.ndarray, covariance: np.ndarray, names: list[str]) -> dict:
    """Average marginal effects on the probability (per unit of each predictor) with their
    delta-method errors, z and p, by term (the constant left out)."""
    effects, errors = average_marginal_effects(X, params, covariance)
    z = effects / errors
    p = 2 * stats.norm.sf(np.abs(z))
    keep = [i for i, name in enumerate(names) if name != "const"]
    return {
        "average_marginal_effects": {names[i]: float(effects[i]) for i in keep},
        "average_marginal_effects_se": {names[i]: float(errors[i]) for i in keep},
        "average_marginal_effects_pvalues": {names[i]: float(p[i]) for i in keep},
    }


def classification(y: np.ndarray, fitted: np.ndarray, cutoff: float = CLASSIFICATION_CUTOFF) -> dict:
    """The classification table at a cutoff: a firm is predicted 1 when its fitted probability is at least the cutoff."""
    predicted = fitted >= cutoff
    actual = y == 1
    table = {
        "cutoff": cutoff,
        "true_positives": int(np.sum(predicted & actual)), "false_negatives": int(np.sum(~predicted & actual)),
        "false_positives": int(np.sum(predicted & ~actual)), "true_negatives": int(np.sum(~predicted & ~actual)),
    }
    positives, negatives = int(np.sum(actual)), int(np.sum(~actual))
    table["correctly_classified"] = (table["true_positives"] + table["true_negatives"]) / len(y)
    table["sensitivity"] = table["true_positives"] / positives if positives else None
    table["specificity"] = table["true_negatives"] / negatives if negatives else None
    # The share a model without predictors gets right by predicting the more common outcome for all.
    table["baseline"] = max(positives, negatives) / len(y)
    return table


def area_under_curve(y: np.ndarray, fitted: np.ndarray) -> float:
    """The area under the ROC curve: the chance that a random firm with outcome 1 has a higher fitted
    probability than a random firm with outcome 0, ties counting a half (the Mann-Whitney U / n1 n0)."""
    ranks = stats.rankdata(fitted)
    positives = y == 1
    n1, n0 = int(positives.sum()), int((~positives).sum())
    if not n1 or not n0:
        return float("nan")
    return float((ranks[positives].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def hosmer_lemeshow(y: np.ndarray, fitted: np.ndarray, groups: int = HOSMER_LEMESHOW_GROUPS) -> dict:
    """Hosmer and Lemeshow's goodness-of-fit test over groups of fitted risk: the firms sorted by
    fitted probability and cut at its quantiles (tied probabilities stay in one group, as R's
    ResourceSelection::hoslem.test cuts them), chi² = sum over groups and outcomes of
    (observed - expected)² / expected, on groups - 2 degrees of freedom.

    With few firms per group the chi² approximation is poor: the smallest expected count is returned
    so that the report can say so.
    """
    edges = np.unique(np.quantile(fitted, np.linspace(0, 1, groups + 1)))
    # Each firm's group: the interval of the unique quantile edges it falls in, the lowest closed.
    labels = np.clip(np.searchsorted(edges, fitted, side="left") - 1, 0, len(edges) - 2) if len(edges) > 1 \
        else np.zeros(len(fitted), dtype=int)
    size = np.bincount(labels)
    kept = size > 0
    size = size[kept]
    observed = np.bincount(labels, weights=y)[kept]
    expected = np.bincount(labels, weights=fitted)[kept]
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.sum((observed - expected) ** 2 / expected)
                          + np.sum(((size - observed) - (size - expected)) ** 2 / (size - expected)))
    used = int(len(size))
    df = used - 2
    return {"statistic": statistic if np.isfinite(statistic) else None, "df": df, "groups": used,
            "pvalue": float(stats.chi2.sf(statistic, df)) if df > 0 and np.isfinite(statistic) else None,
            "smallest_expected": float(min(expected.min(), (size - expected).min()))}


def variance_inflation_factors(predictors: np.ndarray) -> np.ndarray:
    """1 / (1 - R²) of each predictor on the others and a constant: the diagonal of the inverse
    correlation matrix, the same figures as statsmodels' auxiliary regressions in one pass.
    """
    return np.diag(np.linalg.inv(np.corrcoef(predictors, rowvar=False)))


def vifs(X: np.ndarray, names: list[str]) -> dict[str, float]:
    keep = [i for i, name in enumerate(names) if name != "const"]
    if len(keep) < 2:
        return {names[i]: 1.0 for i in keep}
    return dict(zip([names[i] for i in keep], map(float, variance_inflation_factors(X[:, keep]))))


def residual_normality(residuals: np.ndarray) -> dict:
    jb_statistic, jb_pvalue, _, _ = jarque_bera(residuals)
    return {"jarque_bera": float(jb_statistic), "jarque_bera_pvalue": float(jb_pvalue),
            "residuals_far_from_normal": bool(jb_pvalue < NORMALITY_ALPHA)}


def classical_f(rsquared: float, n: int, k: int) -> dict:
    """The classical F test that every slope is zero: (R² / (k - 1)) / ((1 - R²) / (n - k))."""
    q, df = k - 1, n - k
    statistic = (rsquared / q) / ((1 - rsquared) / df) if q > 0 and df > 0 and rsquared < 1 else float("nan")
    return {"f_statistic": statistic, "f_df_num": q, "f_df_denom": df,
            "f_pvalue": float(stats.f.sf(statistic, q, df)) if np.isfinite(statistic) else None}
