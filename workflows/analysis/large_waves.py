"""The fits of a large wave, by statsmodels' own methods, a block of firms at a time.

statsmodels evaluates its fits over whole-design temporaries (the linear predictor, the
weighted design, its transpose, a decomposition's factors), several hundred megabytes each at
ten million firms: a Newton step of the logit took 1.4 s there and a least-squares fit 6 s, most
of it spent moving memory, not on arithmetic. Here each pass reads the design once, BLOCK firms
at a time, so that every temporary stays small:

- the logit (`BlockLogit`) is statsmodels' `newton` search: from zero, each step solves the
  information scaled by the firms, plus its ridge of 1e-10, against the scaled score, until no
  coefficient moves by more than 1e-8 or `maxiter` steps are taken (then not converged, with
  statsmodels' ConvergenceWarning); the covariance is the inverse information at the estimate;
- least squares (`BlockOLS`) solves the R factor of [X | y] from a tall-skinny QR, block by
  block, as backward stable as statsmodels' pseudo-inverse; R² is centred (the design has a
  constant), and the covariance is s² (R'R)^-1.

Up to LARGE_WAVE_FIRMS firms the models keep statsmodels' fits, and their digits.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import expit
from statsmodels.tools.sm_exceptions import ConvergenceWarning

LARGE_WAVE_FIRMS = 200_000
BLOCK = 65_536
TOLERANCE = 1e-8  # statsmodels' `tol` for newton
RIDGE = 1e-10  # statsmodels' `ridge_factor`, added to the scaled information
SINGULAR = 1e-12  # a least-squares design column's part outside the others' span, relative to its length


@dataclass
class BlockLogitResult:
    """What the models read of a statsmodels fit: the estimates, log-likelihood, covariance and search record."""

    params: np.ndarray
    llf: float
    covariance: np.ndarray
    mle_retvals: dict

    def cov_params(self) -> np.ndarray:
        return self.covariance


class BlockLogit:
    """`statsmodels.discrete.discrete_model.Logit(y, X)`, for its `fit(method="newton")` only."""

    def __init__(self, endog: np.ndarray, exog: np.ndarray):
        self.y, self.X = np.asarray(endog, dtype=float), np.asarray(exog, dtype=float)

    def fit(self, disp: int = 0, maxiter: int = 35, method: str = "newton") -> BlockLogitResult:
        if method != "newton":
            raise ValueError(f"only Newton's method is fitted a block at a time, not {method!r}")
        n, k = self.X.shape
        params, previous, iterations = np.zeros(k), np.full(k, np.inf), 0
        while iterations < maxiter and np.any(np.abs(params - previous) > TOLERANCE):
            _, score, information = self.derivatives(params)
            scaled = information / n
            scaled[np.diag_indices(k)] += RIDGE
            previous, params = params, params + np.linalg.solve(scaled, score / n)
            iterations += 1
        converged = iterations < maxiter
        if not converged:
            warnings.warn("Maximum Likelihood optimization failed to converge. Check mle_retvals", ConvergenceWarning)
        llf, score, information = self.derivatives(params)
        return BlockLogitResult(params=params, llf=llf, covariance=np.linalg.inv(information),
                                mle_retvals={"converged": converged, "iterations": iterations, "score": -score / n,
                                             "fopt": -llf / n})

    def derivatives(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        return logit_derivatives(self.X, self.y, params)


def logit_derivatives(X: np.ndarray, y: np.ndarray, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The logit's log-likelihood, score X'(y - p) and information X'WX at `params`, in one pass over the firms,
    a block at a time."""
    k = X.shape[1]
    loglik, score, information = 0.0, np.zeros(k), np.zeros((k, k))
    for start in range(0, X.shape[0], BLOCK):
        rows, outcome = X[start:start + BLOCK], y[start:start + BLOCK]
        eta = rows @ params
        p = expit(eta)
        loglik += float(outcome @ eta - np.sum(np.logaddexp(0.0, eta)))
        score += rows.T @ (outcome - p)
        information += (rows.T * (p * (1 - p))) @ rows
    return loglik, score, information


def r_factor(*columns: np.ndarray) -> np.ndarray:
    """The R factor of the columns side by side (designs, or single columns), from a tall-skinny QR a block of firms
    at a time: stacked on the R of the blocks before, each block's QR keeps the R of all so far, and no copy of the
    columns is ever made whole."""
    width = sum(1 if column.ndim == 1 else column.shape[1] for column in columns)
    factor = np.zeros((0, width))
    for start in range(0, len(columns[0]), BLOCK):
        block = np.column_stack([column[start:start + BLOCK] for column in columns])
        factor = np.linalg.qr(np.vstack([factor, block]), mode="r")
    return factor


@dataclass
class BlockOLSResult:
    """What the models read of a statsmodels least-squares fit."""

    params: np.ndarray
    llf: float
    rsquared: float
    rsquared_adj: float
    covariance: np.ndarray

    def cov_params(self) -> np.ndarray:
        return self.covariance


class BlockOLS:
    """`statsmodels.regression.linear_model.OLS(y, X)` with a constant column, for its `fit()` only."""

    def __init__(self, endog: np.ndarray, exog: np.ndarray):
        self.y, self.X = np.asarray(endog, dtype=float), np.asarray(exog, dtype=float)

    def fit(self) -> BlockOLSResult:
        n, k = self.X.shape
        factor = r_factor(self.X, self.y)
        R, projected = factor[:k, :k], factor[:k, k]
        # Singular where a column lies in the span of those before it, relative to its own length (the columns'
        # scales differ by ten orders of magnitude: EXPT in VND beside dummies).
        lengths = np.linalg.norm(R, axis=0)
        if not np.all(lengths > 0) or np.min(np.abs(np.diag(R)) / lengths) < SINGULAR:
            raise np.linalg.LinAlgError("the design is singular")
        params = solve_triangular(R, projected)
        ssr = float(factor[k, k] ** 2) if factor.shape[0] > k else 0.0
        centred_tss = float(np.sum((self.y - np.mean(self.y)) ** 2))
        df_resid = n - k
        rsquared = 1 - ssr / centred_tss
        inverse = solve_triangular(R, np.eye(k))
        return BlockOLSResult(params=params, llf=-n / 2 * (np.log(2 * np.pi) + np.log(ssr / n) + 1),
                              rsquared=rsquared, rsquared_adj=1 - (n - 1) / df_resid * (1 - rsquared),
                              covariance=ssr / df_resid * (inverse @ inverse.T))
