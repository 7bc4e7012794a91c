"""Standard errors that are what their label says.

statsmodels' GLM returns HC0 whatever HCx is asked for (statsmodels issue 7798), so the
heteroskedasticity-robust errors of every model are computed here, the same way for the logit
and for least squares: the sandwich of `sandwich::vcovHC(type = "HC3")` (MacKinnon and White
1985; Long and Ervin 2000),

    V = (X'WX)^-1  [ sum_i x_i x_i' e_i^2 / (1 - h_i)^2 ]  (X'WX)^-1,

with W the working weights (p(1 - p) for the logit, 1 for least squares), e_i the response
residual (y - p, or y - x'b) and h_i the leverage, the diagonal of the weighted hat matrix
W^1/2 X (X'WX)^-1 X' W^1/2. The logit's statistics are z (normal reference); least squares'
are t with n - k degrees of freedom, robust or not.
"""

import numpy as np
from scipy import stats

# A firm whose leverage is this close to 1 determines a coefficient alone; HC3 divides by 1 - h.
LEVERAGE_LIMIT = 1 - 1e-8


class RobustCovarianceUndefined(ArithmeticError):
    """HC3 divides by 1 - h_i: a firm with leverage 1 leaves it undefined."""


def leverage(X: np.ndarray, weights: np.ndarray, information_inverse: np.ndarray) -> np.ndarray:
    """The diagonal of the weighted hat matrix W^1/2 X (X'WX)^-1 X' W^1/2."""
    return np.einsum("ij,jk,ik->i", X, information_inverse, X) * weights


def hc3(X: np.ndarray, residuals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The HC3 sandwich covariance of a GLM with canonical link (least squares: weights of one)."""
    information = X.T @ (X * weights[:, None])
    bread = np.linalg.inv(information)
    h = leverage(X, weights, bread)
    if np.any(h >= LEVERAGE_LIMIT):
        raise RobustCovarianceUndefined(
            f"{int(np.sum(h >= LEVERAGE_LIMIT))} firm(s) have leverage 1, so HC3's 1 / (1 - h) is undefined")
    scores = X * (residuals / (1 - h))[:, None]
    return bread @ (scores.T @ scores) @ bread


def logit_hc3(X: np.ndarray, y: np.ndarray, params: np.ndarray) -> np.ndarray:
    p = 1 / (1 + np.exp(-(X @ params)))
    return hc3(X, y - p, p * (1 - p))


def ols_hc3(X: np.ndarray, y: np.ndarray, params: np.ndarray) -> np.ndarray:
    return hc3(X, y - X @ params, np.ones(len(y)))


def inference(params: np.ndarray, covariance: np.ndarray, df_resid: float | None) -> dict[str, np.ndarray]:
    """Standard errors, statistics and two-sided p-values: t(df_resid) when given, else the normal (z)."""
    variances = np.diag(covariance)
    bse = np.sqrt(np.where(variances >= 0, variances, np.nan))
    statistics = params / bse
    reference = stats.norm if df_resid is None else stats.t(df_resid)
    return {"bse": bse, "tvalues": statistics, "pvalues": 2 * reference.sf(np.abs(statistics))}


def wald_f(params: np.ndarray, covariance: np.ndarray, df_resid: float) -> dict:
    """The Wald test that every coefficient but the constant (the first) is zero, as an F(q, n - k)."""
    slopes, block = params[1:], covariance[1:, 1:]
    q = len(slopes)
    statistic = float(slopes @ np.linalg.solve(block, slopes)) / q
    return {"statistic": statistic, "df_num": q, "df_denom": float(df_resid),
            "pvalue": float(stats.f.sf(statistic, q, df_resid))}
