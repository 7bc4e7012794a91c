"""Least squares and logit fits that give the same bits on every processor.

The shipped synthetic waves are found by a seeded search that accepts or rejects each
move by comparing fits, so the fits must round alike everywhere. Three things do not:
BLAS and LAPACK (each kernel adds in its own order), numpy's vector loops for `exp` and
`log` (AVX2 and AVX-512 differ in the last bit), and the C library's `exp`, `log` and
`pow` (glibc picks an FMA build or an SSE2 build by processor). So here:

- only `+ - * /`, `sqrt`, `ldexp`, `frexp` and `rint` are used, which IEEE 754 rounds
  correctly on every processor, elementwise in numpy (each SIMD lane is its own entry) or
  on Python floats;
- sums run over the rows of an array in numpy's fixed order, or through `math.fsum`;
- systems are solved by a Cholesky factorisation in plain Python floats;
- `exp` and `log` are polynomials of those operations (`portable_exp`, `portable_log`);
- the search also rounds each loss to `LOSS_DIGITS` significant digits, a second guard.
"""

import math

import numpy as np

LOSS_DIGITS = 10

# ln 2 split so that k * LN2_HI is exact for every |k| < 2**11 (Cody and Waite).
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INVERSE_LN2 = 1.44269504088896338700e00
# 1/n! for n = 0..13: exp(r) for |r| <= ln(2)/2 to within 1e-17 relative.
EXP_TAYLOR = [1.0 / math.factorial(n) for n in range(14)]
SQRT_HALF = 0.70710678118654752440


def rounded_loss(value: float) -> float:
    """A loss as the search compares it: rounded far above floating-point noise (decimal rounding is exact)."""
    return float(f"{float(value):.{LOSS_DIGITS}g}")


def square(value: float) -> float:
    """value², by one multiplication: Python's `**` calls the C library's `pow`."""
    return value * value


def portable_exp(x):
    """exp(x) for a float or an array, from operations that round alike on every processor."""
    x = np.clip(x, -708.0, 708.0)
    k = np.rint(x * INVERSE_LN2)
    r = (x - k * LN2_HI) - k * LN2_LO
    polynomial = EXP_TAYLOR[-1]
    for coefficient in reversed(EXP_TAYLOR[:-1]):
        polynomial = polynomial * r + coefficient
    return np.ldexp(polynomial, np.asarray(k, dtype=np.int64))


def portable_log(x):
    """log(x) for positive x, a float or an array: x = m 2^e, log m = 2 atanh((m - 1)/(m + 1))."""
    mantissa, exponent = np.frexp(x)
    low = mantissa < SQRT_HALF
    mantissa = np.where(low, mantissa * 2.0, mantissa)
    exponent = np.where(low, exponent - 1, exponent).astype(float)
    f = (mantissa - 1.0) / (mantissa + 1.0)
    f2 = f * f
    series = 1.0 / 23.0
    for odd in range(21, 0, -2):
        series = series * f2 + 1.0 / odd
    return (exponent * LN2_HI + (2.0 * f * series + exponent * LN2_LO))


def weighted_gram(X: np.ndarray, weights: np.ndarray | None = None) -> list[list[float]]:
    """X' diag(weights) X, summed row after row."""
    weighted = X if weights is None else X * weights[:, None]
    return np.add.reduce(X[:, :, None] * weighted[:, None, :], axis=0).tolist()


def cross(X: np.ndarray, v: np.ndarray) -> list[float]:
    """X' v, summed row after row."""
    return np.add.reduce(X * v[:, None], axis=0).tolist()


def linear_predictor(X: np.ndarray, beta: list[float]) -> np.ndarray:
    """X beta, one column at a time: elementwise products and sums only."""
    total = X[:, 0] * beta[0]
    for j in range(1, len(beta)):
        total = total + X[:, j] * beta[j]
    return total


def cholesky(a: list[list[float]]) -> list[list[float]] | None:
    """The lower factor L of a symmetric positive definite matrix, or None if it is not one."""
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


def forward(lower: list[list[float]], b: list[float]) -> list[float]:
    """y with L y = b."""
    y = [0.0] * len(b)
    for i in range(len(b)):
        s = b[i]
        for m in range(i):
            s -= lower[i][m] * y[m]
        y[i] = s / lower[i][i]
    return y


def solve_with_cholesky(lower: list[list[float]], b: list[float]) -> list[float]:
    """x with L L' x = b."""
    y = forward(lower, b)
    k = len(b)
    x = [0.0] * k
    for i in reversed(range(k)):
        s = y[i]
        for m in range(i + 1, k):
            s -= lower[m][i] * x[m]
        x[i] = s / lower[i][i]
    return x


def inverse_diagonal(lower: list[list[float]]) -> list[float]:
    """The diagonal of A^-1 = L^-T L^-1: the squared norm of each column of L^-1, always positive."""
    k = len(lower)
    return [math.fsum(square(v) for v in forward(lower, [1.0 if i == j else 0.0 for i in range(k)]))
            for j in range(k)]


def logit_fit(X: np.ndarray, y: np.ndarray) -> dict | None:
    """Maximum-likelihood logit by Newton's method: coefficients, z statistics, log-likelihood.

    None when the fit does not converge or a coefficient runs away (separation).
    """
    scale = np.abs(X).max(axis=0)
    Z = X / scale
    beta = [0.0] * Z.shape[1]
    for _ in range(50):
        p = 1.0 / (1.0 + portable_exp(-linear_predictor(Z, beta)))
        lower = cholesky(weighted_gram(Z, p * (1.0 - p)))
        if lower is None:
            return None
        step = solve_with_cholesky(lower, cross(Z, y - p))
        beta = [b + s for b, s in zip(beta, step)]
        if not all(math.isfinite(b) for b in beta):
            return None
        if max(abs(s) for s in step) < 1e-10:
            break
    else:
        return None
    p = np.clip(1.0 / (1.0 + portable_exp(-linear_predictor(Z, beta))), 1e-12, 1 - 1e-12)
    lower = cholesky(weighted_gram(Z, p * (1.0 - p)))
    if lower is None or max(abs(b) for b in beta) > 50:
        return None
    z = np.array([b / math.sqrt(v) for b, v in zip(beta, inverse_diagonal(lower))])
    llf = math.fsum(portable_log(np.where(y > 0, p, 1.0 - p)).tolist())
    return {"params": np.array(beta) / scale, "z": z, "llf": llf}


def ols_fit(X: np.ndarray, y: np.ndarray) -> dict | None:
    """Least squares by the normal equations on scaled columns: coefficients, t statistics, R².

    None for a singular design or a perfect fit.
    """
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
    if not ssr > 0.0 or not sst > 0.0:
        return None
    sigma2 = ssr / (n - k)
    t = np.array([b / math.sqrt(sigma2 * v) for b, v in zip(beta, inverse_diagonal(lower))])
    return {"params": np.array(beta) / scale, "t": t, "rsquared": 1 - ssr / sst}
