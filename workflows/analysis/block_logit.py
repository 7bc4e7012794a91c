"""The logit of a large wave, fitted by statsmodels' own Newton search, a block of firms at a time.

statsmodels evaluates each Newton step over whole-design temporaries (the linear predictor,
the weighted design, its transpose), several hundred megabytes each at ten million firms: a
step took 1.4 s there, most of it spent moving memory, not on arithmetic. Here each step reads the
design once, BLOCK firms at a time, accumulating the log-likelihood, the score and the
information, so that every temporary stays small. The search is statsmodels' `newton`: from
zero, each step solves the information scaled by the firms, plus its ridge of 1e-10, against the
scaled score, until no coefficient moves by more than 1e-8 or `maxiter` steps are taken (then
not converged, with statsmodels' ConvergenceWarning); the covariance is the inverse information
at the estimate. Up to LARGE_WAVE_FIRMS firms the models keep statsmodels' fit, and its digits.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from statsmodels.tools.sm_exceptions import ConvergenceWarning

LARGE_WAVE_FIRMS = 200_000
BLOCK = 65_536
TOLERANCE = 1e-8  # statsmodels' `tol` for newton
RIDGE = 1e-10  # statsmodels' `ridge_factor`, added to the scaled information


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
        """The log-likelihood, the score X'(y - p) and the information X'WX at `params`, in one pass."""
        k = self.X.shape[1]
        loglik, score, information = 0.0, np.zeros(k), np.zeros((k, k))
        for start in range(0, self.X.shape[0], BLOCK):
            X, y = self.X[start:start + BLOCK], self.y[start:start + BLOCK]
            eta = X @ params
            p = expit(eta)
            loglik += float(y @ eta - np.sum(np.logaddexp(0.0, eta)))
            score += X.T @ (y - p)
            information += (X.T * (p * (1 - p))) @ X
        return loglik, score, information

