"""What a referee asks of a small-sample logit and OLS: separation, events per variable, a Firth
fit, marginal effects, information criteria, collinearity and the shape of the residuals.
"""

import numpy as np
import pandas as pd
from statsmodels.stats.stattools import jarque_bera
from scipy import optimize, stats

# Peduzzi et al. (1996): below ten events per variable, logit estimates are biased and unstable.
MIN_EVENTS_PER_VARIABLE = 10
NORMALITY_ALPHA = 0.05


def fit_looks_separated(result, X: pd.DataFrame) -> bool:
    """Signs of separation in a maximum-likelihood logit: no convergence, fitted probabilities of
    0 or 1, or a coefficient worth more than 15 logits per standard deviation of its predictor.

    Only then is the linear program run, which costs seconds on a census-size wave.
    """
    if not result.mle_retvals.get("converged", False):
        return True
    fitted = result.predict()
    if np.any(fitted < 1e-8) or np.any(fitted > 1 - 1e-8):
        return True
    spread = X.drop(columns="const").std().to_numpy()
    return bool(np.any(np.abs(result.params.drop("const").to_numpy() * spread) > 15))


def separation(X: np.ndarray, y: np.ndarray) -> str:
    """'complete', 'quasi-complete' or 'none' (Albert and Anderson 1984), by linear programming.

    Some direction b with (2y - 1) x'b >= 0 for every firm, and > 0 for at least one,
    means the likelihood keeps rising as the coefficients run off to infinity.
    """
    signs = (2 * y - 1)[:, None] * X
    n, k = signs.shape
    bounds = [(-1, 1)] * k
    # Complete: every firm strictly on its side; maximise the smallest margin t.
    complete = optimize.linprog(np.r_[np.zeros(k), -1.0], A_ub=np.c_[-signs, np.ones(n)], b_ub=np.zeros(n),
                                bounds=bounds + [(None, 1)], method="highs")
    if complete.status == 0 and -complete.fun > 1e-7:
        return "complete"
    quasi = optimize.linprog(-signs.sum(axis=0), A_ub=-signs, b_ub=np.zeros(n), bounds=bounds, method="highs")
    if quasi.status == 0 and -quasi.fun > 1e-7:
        return "quasi-complete"
    return "none"


def firth_logit(X: np.ndarray, y: np.ndarray, max_iterations: int = 100, tolerance: float = 1e-10) -> dict:
    """Firth's penalised logit (Firth 1993; Heinze and Schemper 2002), by Newton steps with step halving.

    It maximises the log-likelihood plus half the log-determinant of the information, which
    keeps estimates finite under separation and removes the first-order small-sample bias.
    """
    beta = np.zeros(X.shape[1])

    def penalised(b):
        p = 1 / (1 + np.exp(-X @ b))
        information = X.T @ (X * (p * (1 - p))[:, None])
        sign, logdet = np.linalg.slogdet(information)
        loglik = np.sum(y * np.log(p + 1e-300) + (1 - y) * np.log(1 - p + 1e-300))
        return loglik + 0.5 * logdet, p, information

    value, p, information = penalised(beta)
    converged = False
    for _ in range(max_iterations):
        covariance = np.linalg.inv(information)
        weights = p * (1 - p)
        hat = np.einsum("ij,jk,ik->i", X * np.sqrt(weights)[:, None], covariance, X * np.sqrt(weights)[:, None])
        score = X.T @ (y - p + hat * (0.5 - p))
        step = covariance @ score
        for _ in range(30):  # halve the step until the penalised likelihood does not fall
            candidate = beta + step
            new_value, new_p, new_information = penalised(candidate)
            if new_value >= value - 1e-12:
                break
            step = step / 2
        beta, value, p, information = candidate, new_value, new_p, new_information
        if np.max(np.abs(step)) < tolerance:
            converged = True
            break
    bse = np.sqrt(np.diag(np.linalg.inv(information)))
    loglik = float(np.sum(y * np.log(p + 1e-300) + (1 - y) * np.log(1 - p + 1e-300)))
    return {"params": beta, "bse": bse, "zvalues": beta / bse, "pvalues": 2 * stats.norm.sf(np.abs(beta / bse)),
            "llf": loglik, "penalised_llf": float(value), "converged": converged}


def null_log_likelihood(y: np.ndarray) -> float:
    """The log-likelihood of the constant-only logit, whose fitted probability is the share of ones."""
    share = y.mean()
    if share in (0.0, 1.0):
        return 0.0
    return float(len(y) * (share * np.log(share) + (1 - share) * np.log(1 - share)))


def events_per_variable(y: np.ndarray, predictors: int) -> float:
    return float(min(y.sum(), len(y) - y.sum()) / max(predictors, 1))


def logit_diagnostics(result, X: pd.DataFrame, y: pd.Series) -> dict:
    """McFadden's pseudo-R², the likelihood-ratio test against the null, average marginal effects."""
    effects, errors = average_marginal_effects(X.to_numpy(dtype=float), result.params.to_numpy(),
                                               result.cov_params().to_numpy())
    names = list(X.columns)
    keep = [i for i, name in enumerate(names) if name != "const"]
    return {
        "mcfadden_r2": float(result.prsquared),
        "lr_statistic": float(result.llr),
        "lr_pvalue": float(result.llr_pvalue),
        "average_marginal_effects": {names[i]: float(effects[i]) for i in keep},
        "average_marginal_effects_se": {names[i]: float(errors[i]) for i in keep},
    }


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


def variance_inflation_factors(predictors: np.ndarray) -> np.ndarray:
    """1 / (1 - R²) of each predictor on the others and a constant: the diagonal of the inverse
    correlation matrix, the same figures as statsmodels' auxiliary regressions in one pass.
    """
    return np.diag(np.linalg.inv(np.corrcoef(predictors, rowvar=False)))


def ols_diagnostics(result, X: pd.DataFrame) -> dict:
    """AIC, BIC, the overall F test, variance inflation factors and a normality test of the residuals."""
    jb_statistic, jb_pvalue, _, _ = jarque_bera(result.resid)
    predictors = [column for column in X.columns if column != "const"]
    vifs = dict(zip(predictors, map(float, variance_inflation_factors(X[predictors].to_numpy(dtype=float)))))
    return {
        "aic": float(result.aic), "bic": float(result.bic),
        "f_statistic": float(result.fvalue), "f_pvalue": float(result.f_pvalue),
        "vif": vifs, "jarque_bera": float(jb_statistic), "jarque_bera_pvalue": float(jb_pvalue),
        "residuals_far_from_normal": bool(jb_pvalue < NORMALITY_ALPHA),
    }
