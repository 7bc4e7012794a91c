"""Least squares and logit fits that give the same bits on every processor.

The shipped synthetic waves are found by a seeded search that accepts or rejects each
move by comparing fits. BLAS kernels and numpy's SIMD loops for `exp` and `log` add and
round in an order that depends on the processor, so on another CPU the same search took
other decisions and wrote other bytes. Here nothing goes through BLAS or LAPACK:

- sums run over the rows of an array with numpy's elementwise additions, whose order and
  rounding do not depend on the SIMD width (each lane is a different matrix entry);
- systems are solved by a Cholesky factorisation in plain Python floats;
- `exp` and `log` come from the C library one value at a time, never from numpy's
  vectorised versions, which differ in the last bit between AVX2 and AVX-512;
- the search compares losses rounded to `LOSS_DECIMALS` places, far above the noise of
  any of the above.
"""

import math

import numpy as np

LOSS_DECIMALS = 9


def rounded_loss(value: float) -> float:
    """A loss as the search compares it: rounded far above floating-point noise."""
    return round(float(value), LOSS_DECIMALS)


def weighted_gram(X: np.ndarray, weights: np.ndarray | None = None) -> list[list[float]]:
    """X' diag(weights) X, summed row after row."""
    weighted = X if weights is None else X * weights[:, None]
    return np.add.reduce(X[:, :, None] * weighted[:, None, :], axis=0).tolist()


def cross(X: np.ndarray, v: np.ndarray) -> list[float]:
    """X' v, summed row after row."""
    return np.add.reduce(X * v[:, None], axis=0).tolist()


def linear_predictor(X: np.ndarray, beta: list[float]) -> np.ndarray:
    """X beta as one column at a time: elementwise products and sums only."""
    total = X[:, 0] * beta[0]
    for j in range(1, len(beta)):
        total = total + X[:, j] * beta[j]
    return total


def cholesky(a: list[list[float]]) -> list[list[float]] | None:
    """The lower factor L of a symmetric positive definite matrix, or None if it is not."""
    k = len(a)
    lower = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1):
            s = a[i][j]
            for m in range(j):
                s -= lower[i][m] * lower[j][m]
            if i == j:
                if not s > 0.0:
                    return None
                lower[i][i] = math.sqrt(s)
            else:
                lower[i][j] = s / lower[j][j]
    return lower


def solve_with_cholesky(lower: list[list[float]], b: list[float]) -> list[float]:
    k = len(b)
    y = [0.0] * k
    for i in range(k):
        s = b[i]
        for m in range(i):
            s -= lower[i][m] * y[m]
        y[i] = s / lower[i][i]
    x = [0.0] * k
    for i in reversed(range(k)):
        s = y[i]
        for m in range(i + 1, k):
            s -= lower[m][i] * x[m]
        x[i] = s / lower[i][i]
    return x


def inverse_diagonal(lower: list[list[float]]) -> list[float]:
    """The diagonal of A^-1 from A's Cholesky factor: the squared row norms of L^-1, by column."""
    k = len(lower)
    diagonal = [0.0] * k
    for j in range(k):
        unit = [1.0 if i == j else 0.0 for i in range(k)]
        column = solve_with_cholesky(lower, unit)
        diagonal[j] = column[j]
    return diagonal


def _logistic(eta: np.ndarray) -> np.ndarray:
    return np.array([1.0 / (1.0 + math.exp(-v)) if v > -700 else 0.0 for v in eta.tolist()])


def logit_fit(X: np.ndarray, y: np.ndarray) -> dict | None:
    """Maximum-likelihood logit by Newton's method: coefficients, z statistics, log-likelihood.

    None when the fit does not converge or a coefficient runs away (separation).
    """
    scale = np.abs(X).max(axis=0)
    Z = X / scale
    beta = [0.0] * Z.shape[1]
    for _ in range(50):
        p = _logistic(linear_predictor(Z, beta))
        lower = cholesky(weighted_gram(Z, p * (1 - p)))
        if lower is None:
            return None
        step = solve_with_cholesky(lower, cross(Z, y - p))
        beta = [b + s for b, s in zip(beta, step)]
        if max(abs(s) for s in step) < 1e-10:
            break
    else:
        return None
    p = np.clip(_logistic(linear_predictor(Z, beta)), 1e-12, 1 - 1e-12)
    lower = cholesky(weighted_gram(Z, p * (1 - p)))
    if lower is None or max(abs(b) for b in beta) > 50:
        return None
    variances = inverse_diagonal(lower)
    z = np.array([b / math.sqrt(v) for b, v in zip(beta, variances)])
    if not np.all(np.isfinite(z)):
        return None
    llf = math.fsum(math.log(pi) if yi else math.log(1 - pi) for pi, yi in zip(p.tolist(), y.tolist()))
    return {"params": np.array(beta) / scale, "z": z, "llf": llf}


def ols_fit(X: np.ndarray, y: np.ndarray) -> dict | None:
    """Least squares by the normal equations on scaled columns: coefficients, t statistics, R²."""
    scale = np.abs(X).max(axis=0)
    Z = X / scale
    lower = cholesky(weighted_gram(Z))
    if lower is None:
        return None
    beta = solve_with_cholesky(lower, cross(Z, y))
    residuals = y - linear_predictor(Z, beta)
    n, k = X.shape
    ssr = math.fsum((residuals * residuals).tolist())
    centred = y - math.fsum(y.tolist()) / n
    sst = math.fsum((centred * centred).tolist())
    sigma2 = ssr / (n - k)
    variances = inverse_diagonal(lower)
    t = np.array([b / math.sqrt(sigma2 * v) for b, v in zip(beta, variances)])
    return {"params": np.array(beta) / scale, "t": t, "rsquared": 1 - ssr / sst}
