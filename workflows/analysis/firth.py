"""Firth's penalised logit with profile penalised-likelihood inference, as R's logistf computes it.

Firth (1993) maximises the log-likelihood plus half the log-determinant of the information,
which keeps estimates finite under separation and removes their first-order small-sample bias.
Heinze and Schemper (2002) test and bound each coefficient by the profile of that penalised
likelihood, not by Wald statistics, whose symmetric intervals fail exactly where the penalty is
needed (a likelihood that is flat on one side):

- the test of beta_j = 0: chi² = 2 [l*(beta) - l*(beta | beta_j = 0)], one degree of freedom,
  where the constrained fit keeps the penalty of the full model;
- the 95 % interval: the values c of beta_j with 2 [l*(beta) - l*(beta | beta_j = c)] <= chi²(1, 0.95).

The standard errors are model-based: the square roots of the diagonal of the inverse information
at the penalised estimates, as logistf reports them; they are not robust to anything.
"""

import numpy as np
from scipy import optimize, stats
from scipy.special import expit

from workflows.analysis import large_waves

MAX_STEP = 5.0  # the largest change of one coefficient in one Newton step (logistf's maxstep)
# Converged: the modified score is negligible, or the steps are; or (where the Hessian is not
# negative definite, the augmented information steers instead and its steps shrink only
# geometrically) the penalised log-likelihood no longer rises by more than IMPROVEMENT_TOLERANCE
# with a score below LOOSE_SCORE_TOLERANCE.
STEP_TOLERANCE = 1e-10
SCORE_TOLERANCE = 1e-8
IMPROVEMENT_TOLERANCE = 1e-14
LOOSE_SCORE_TOLERANCE = 1e-7
CONFIDENCE = 0.95
# The profile's cost grows with the firms: its tests take one penalised fit per coefficient, its
# intervals some dozens. Above these many firms the intervals, then also the tests, are the
# penalised Wald ones instead, and the report says so.
PROFILE_INTERVALS_FIRMS_LIMIT = 5_000
PROFILE_TESTS_FIRMS_LIMIT = 200_000


# Up to this many firms Newton's steps use the penalised likelihood's exact Hessian (its cost grows
# as firms x predictors³); above it, the augmented information, whose steps converge more slowly,
# computed a block of firms at a time.
EXACT_HESSIAN_FIRMS_LIMIT = 200_000


class FirthFailure(ArithmeticError):
    """The penalised fit could not be computed (a singular information matrix)."""


def _penalised(X: np.ndarray, y: np.ndarray, beta: np.ndarray):
    eta = X @ beta
    # log p and log(1 - p) without overflow or log(0).
    loglik = float(-(y @ np.logaddexp(0.0, -eta)) - ((1 - y) @ np.logaddexp(0.0, eta)))
    p = 1 / (1 + np.exp(-eta))
    weights = p * (1 - p)
    information = X.T @ (X * weights[:, None])
    return loglik + 0.5 * _logdet(information), loglik, p, weights, information


def _logdet(information: np.ndarray) -> float:
    sign, logdet = np.linalg.slogdet(information)
    if sign <= 0 or not np.isfinite(logdet):
        raise FirthFailure("the information matrix is singular")
    return logdet


def _block_penalised(X: np.ndarray, y: np.ndarray, beta: np.ndarray):
    """`_penalised` of a large wave, from the logit's likelihood and information a block of firms at a time
    (`large_waves.logit_derivatives`); in place of p and the weights, which the derivatives compute again block by
    block, the coefficients they are at."""
    loglik, _, information = large_waves.logit_derivatives(X, y, beta)
    return loglik + 0.5 * _logdet(information), loglik, beta, None, information


def _block_derivatives(X: np.ndarray, y: np.ndarray, beta: np.ndarray, information: np.ndarray
                       ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The modified score and the augmented information of a large wave (`_derivatives`), a block of firms at a
    time: the hat values from the columns of L^-1 X' (L the Cholesky factor of X'WX)."""
    try:
        inverse = np.linalg.inv(np.linalg.cholesky(information))
    except np.linalg.LinAlgError as error:
        raise FirthFailure("the information matrix is singular") from error
    k = X.shape[1]
    score, augmented = np.zeros(k), np.zeros((k, k))
    block = large_waves.BLOCK
    for start in range(0, X.shape[0], block):
        rows, outcome = X[start:start + block], y[start:start + block]
        p = expit(rows @ beta)
        weights = p * (1 - p)
        scaled = inverse @ rows.T
        h = np.einsum("ji,ji->i", scaled, scaled) * weights
        score += rows.T @ (outcome - p + h * (0.5 - p))
        augmented += (rows.T * (weights * (1 + h))) @ rows
    return score, [augmented]


def _derivatives(X: np.ndarray, y: np.ndarray, p: np.ndarray, weights: np.ndarray, information: np.ndarray
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The modified score X'(y - p + h (1/2 - p)) and Newton's matrices, best first: the negative
    Hessian of the penalised log-likelihood,

        X'WX - 1/2 X' diag(h (1 - 6w)) X + 1/2 (GX)' (Q∘Q) (GX),   Q = X (X'WX)^-1 X',  G = diag(w (1 - 2p)),

    with (Q∘Q) = K K' for the rows K_i = a_i ⊗ a_i of A = X L^-T (L the Cholesky factor of X'WX), so
    that no n x n matrix is formed; and the augmented information X'W(1 + h)X, its main part, which is
    positive definite everywhere."""
    try:
        factor = np.linalg.cholesky(information)
    except np.linalg.LinAlgError as error:
        raise FirthFailure("the information matrix is singular") from error
    # A = X L^-T through the k x k inverse: a triangular solve against the n columns of X' costs more.
    A = X @ np.linalg.inv(factor).T
    h = np.sum(A * A, axis=1) * weights
    score = X.T @ (y - p + h * (0.5 - p))
    augmented = X.T @ (X * (weights * (1 + h))[:, None])
    n, k = X.shape
    K = (A[:, :, None] * A[:, None, :]).reshape(n, k * k)
    M = K.T @ (X * (weights * (1 - 2 * p))[:, None])
    negative_hessian = information - 0.5 * X.T @ (X * (h * (1 - 6 * weights))[:, None]) + 0.5 * M.T @ M
    return score, [negative_hessian, augmented]


def penalised_fit(X: np.ndarray, y: np.ndarray, start: np.ndarray | None = None, fixed: int | None = None,
                  value: float = 0.0, max_iterations: int = 500) -> dict:
    """The penalised maximum, with coefficient `fixed` (if any) held at `value`: Newton steps on the
    modified score (Heinze and Schemper 2002), with the exact Hessian where it is negative definite and
    the augmented information elsewhere, each step at most MAX_STEP in any coefficient and halved until
    the penalised likelihood does not fall."""
    k = X.shape[1]
    beta = np.zeros(k) if start is None else np.array(start, dtype=float)
    free = np.ones(k, dtype=bool)
    if fixed is not None:
        free[fixed] = False
        beta[fixed] = value
    block = np.ix_(free, free)
    if X.shape[0] <= EXACT_HESSIAN_FIRMS_LIMIT:
        evaluate = _penalised
        derive = lambda p, weights, information: _derivatives(X, y, p, weights, information)  # noqa: E731
    else:
        evaluate = _block_penalised
        derive = lambda at, _, information: _block_derivatives(X, y, at, information)  # noqa: E731
    current, loglik, p, weights, information = evaluate(X, y, beta)
    converged = False
    for iteration in range(max_iterations):
        score, matrices = derive(p, weights, information)
        if np.max(np.abs(score[free]), initial=0.0) < SCORE_TOLERANCE:
            converged = True
            break
        moved = False
        for matrix in matrices:
            try:
                factor = np.linalg.cholesky(matrix[block])  # positive definite: a step uphill
            except np.linalg.LinAlgError:
                continue
            step = np.zeros(k)
            inverse = np.linalg.inv(factor)
            step[free] = inverse.T @ (inverse @ score[free])
            largest = np.max(np.abs(step))
            if largest > MAX_STEP:
                step *= MAX_STEP / largest
            for _ in range(40):  # halve the step until the penalised likelihood does not fall
                try:
                    state = evaluate(X, y, beta + step)
                except FirthFailure:
                    state = None
                if state is not None and state[0] >= current - 1e-12 * max(1.0, abs(current)):
                    moved = True
                    break
                step = step / 2
            if moved:
                break
        if not moved:
            break
        beta = beta + step
        improvement = state[0] - current
        current, loglik, p, weights, information = state
        if np.max(np.abs(step)) < STEP_TOLERANCE or (
                improvement < IMPROVEMENT_TOLERANCE and np.max(np.abs(score[free]), initial=0.0) < LOOSE_SCORE_TOLERANCE):
            converged = True
            break
    return {"params": beta, "penalised_llf": current, "llf": loglik, "information": information,
            "converged": converged, "iterations": iteration + 1}


def firth_logit(X: np.ndarray, y: np.ndarray, profile: bool | None = None, intervals: bool | None = None) -> dict:
    """The penalised fit with model-based errors, Wald statistics, and profile penalised-likelihood
    ratio tests (`profile`) and 95 % intervals (`intervals`) for every coefficient; by default each
    up to its limit of firms, the penalised Wald ones above it.

    Fitted on the columns scaled to a largest value of one (EXPT in VND reaches 10^10) and scaled
    back: the estimates, errors and intervals scale with their column, the tests do not change, and
    the penalty grows by the log of the scales."""
    scale = np.max(np.abs(X), axis=0)
    scale[scale == 0] = 1.0
    Z = X / scale
    fit = penalised_fit(Z, y)
    try:
        covariance = np.linalg.inv(fit["information"])
    except np.linalg.LinAlgError as error:
        raise FirthFailure(str(error).lower()) from error
    scaled_bse = np.sqrt(np.diag(covariance))
    beta, bse = fit["params"] / scale, scaled_bse / scale
    wald_z = beta / bse
    profile = len(y) <= PROFILE_TESTS_FIRMS_LIMIT if profile is None else profile
    intervals = profile and len(y) <= PROFILE_INTERVALS_FIRMS_LIMIT if intervals is None else intervals and profile
    half = stats.norm.isf((1 - CONFIDENCE) / 2) * bse
    document = {
        "params": beta, "bse": bse, "wald_z": wald_z, "wald_pvalues": 2 * stats.norm.sf(np.abs(wald_z)),
        "llf": fit["llf"], "penalised_llf": fit["penalised_llf"] + float(np.sum(np.log(scale))),
        "converged": fit["converged"], "covariance": covariance / np.outer(scale, scale), "profile": profile,
        "intervals": "profile" if intervals else "Wald", "tvalues": wald_z, "pvalues": 2 * stats.norm.sf(np.abs(wald_z)),
        "ci_lower": beta - half, "ci_upper": beta + half, "lr_statistics": np.full(len(beta), np.nan),
    }
    if not profile:
        return document
    chi2 = np.empty(len(beta))
    lower, upper = beta - half, beta + half
    profiles_converged = True
    for j in range(len(beta)):
        restricted = _best_constrained(Z, y, j, 0.0, [fit["params"], np.zeros(len(beta))])
        profiles_converged &= restricted["converged"]
        chi2[j] = max(0.0, 2 * (fit["penalised_llf"] - restricted["penalised_llf"]))
        if intervals:
            (lower[j], upper[j]), converged = profile_interval(Z, y, fit, j, scaled_bse[j])
            lower[j], upper[j] = lower[j] / scale[j], upper[j] / scale[j]
            profiles_converged &= converged
    # The signed root of the penalised likelihood-ratio statistic: the statistic whose normal
    # p-value is the profile test's, printed in parentheses as z is for a Wald test.
    signed_root = np.sign(beta) * np.sqrt(chi2)
    return document | {"lr_statistics": chi2, "pvalues": stats.chi2.sf(chi2, 1), "tvalues": signed_root,
                       "ci_lower": lower, "ci_upper": upper, "profiles_converged": bool(profiles_converged)}


def _best_constrained(X: np.ndarray, y: np.ndarray, j: int, value: float, starts: list[np.ndarray]) -> dict:
    """The highest constrained maximum (coefficient j held at `value`) reached from the starts."""
    tries = []
    for start in starts:
        try:
            tries.append(penalised_fit(X, y, start=start, fixed=j, value=value))
        except FirthFailure:
            continue
    if not tries:
        raise FirthFailure("no constrained penalised fit could be computed")
    return max(tries, key=lambda attempt: attempt["penalised_llf"])


def profile_interval(X: np.ndarray, y: np.ndarray, fit: dict, j: int, bse: float) -> tuple[tuple[float, float], bool]:
    """The 95 % profile penalised-likelihood interval of coefficient j.

    Each bound is the root of |r(c)| = z(0.975), where r(c) = sign(c - beta_j) sqrt(2 [l*max -
    l*(beta | beta_j = c)]) is the signed root of the profile's likelihood ratio, nearly linear in c.
    With a coefficient held fixed the penalised likelihood can have several maxima (found on the
    2007 wave's dummies model as well as under separation), so each point of the profile is the
    higher of two constrained maxima: one reached from the nearest point already profiled on the
    inner side, following the profile as a path, and one from the penalised estimate itself. The
    path goes from the estimate outwards in steps of at most one standard error until the root is
    bracketed; then Brent's method finds it inside the bracket.
    """
    target = stats.norm.isf((1 - CONFIDENCE) / 2)
    beta_hat = fit["params"][j]
    unit = bse if np.isfinite(bse) and bse > 0 else 1.0
    converged = True
    bounds = []
    for direction in (-1.0, 1.0):
        inner = {0.0: fit["params"]}  # distance from the estimate: the constrained maximum there

        def signed_root(c: float) -> float:
            nonlocal converged
            distance = abs(c - beta_hat)
            nearest = max(d for d in inner if d <= distance)
            restricted = _best_constrained(X, y, j, c, [inner[nearest], fit["params"]])
            converged &= restricted["converged"]
            value = np.sqrt(max(0.0, 2 * (fit["penalised_llf"] - restricted["penalised_llf"])))
            if value < target:
                inner[distance] = restricted["params"]
            return value

        previous, previous_root, step = 0.0, 0.0, 0.5 * unit
        for _ in range(200):
            distance = previous + step
            root = signed_root(beta_hat + direction * distance)
            if root >= target:
                break
            # The next step aims at the target along the signed root's slope, within [0.25, 1] standard error.
            slope = (root - previous_root) / step
            wanted = (target - root) / slope * 1.1 if slope > 0 else unit
            previous, previous_root, step = distance, root, min(max(wanted, 0.25 * unit), unit)
        else:
            bounds.append(float("nan"))  # the profile never reaches the critical value
            converged = False
            continue
        near, far = previous, distance
        found = optimize.brentq(lambda d: signed_root(beta_hat + direction * d) - target, near, far,
                                xtol=1e-10 * (far - near), rtol=1e-12)
        bounds.append(beta_hat + direction * found)
    return (bounds[0], bounds[1]), converged
