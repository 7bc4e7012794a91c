"""What a design matrix allows before anything is fitted: its rank and condition, the linear
relation that makes it collinear, and whether (and by which predictors) a binary outcome is
separated.

Every check works on the columns scaled to unit length (Belsley, Kuh and Welsch 1980), so that
a predictor in VND (10^9) and a dummy (0/1) weigh alike: collinearity and separation do not
depend on units.
"""

import math
from itertools import combinations

import numpy as np
from scipy import optimize

# Condition number (of the columns scaled to unit length, constant included) above which
# collinearity is worth naming: Belsley, Kuh and Welsch's "moderate to strong" threshold.
CONDITION_WORRY = 30.0
# Above this, X'X (condition number squared, 10^14) leaves fewer than two significant digits of
# the estimates: the model is collinear in all but name and is not estimated.
CONDITION_LIMIT = 1e7
# Below this condition number (estimated from the cross-products, which square it) a design is
# well-conditioned and the singular value decomposition of the whole design is not needed.
SCREEN_LIMIT = 1e4
# A linear program's optimum below this is zero: no separating direction.
LP_TOLERANCE = 1e-7


def _unit_columns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(X, axis=0)
    norms[norms == 0] = 1.0
    return X / norms, norms


def collinearity(X: np.ndarray, names: list[str]) -> dict:
    """The rank and condition number of X (columns at unit length), and when X is collinear,
    exactly or numerically, the terms involved and (for one relation) the relation itself.

    `{"rank", "columns", "condition_number", "collinear", "terms", "relation"}`: `relation` is
    `{"subject": term, "equals": {term: coefficient}}`, the subject written as a combination of
    the others (EMP = 3 CONSTANT - 1 CLUSTER), with coefficients in the predictors' own units.
    """
    scaled, norms = _unit_columns(X)
    k = X.shape[1]
    # A first look from the k x k cross-products, whose eigenvalues are the squared singular values:
    # exact enough for a well-conditioned design, the common case, at the cost of one pass.
    eigenvalues = np.linalg.eigvalsh(scaled.T @ scaled)
    if eigenvalues[0] > 0 and np.sqrt(eigenvalues[-1] / eigenvalues[0]) < SCREEN_LIMIT:
        return {"rank": k, "columns": k, "condition_number": float(np.sqrt(eigenvalues[-1] / eigenvalues[0])),
                "collinear": False, "terms": [], "relation": None}
    # Otherwise the singular values of X itself, which resolve a condition number the squares cannot.
    _, singular, right = np.linalg.svd(scaled, full_matrices=False)
    tolerance = singular[0] * max(X.shape) * np.finfo(float).eps
    rank = int(np.sum(singular > tolerance))
    condition = float(singular[0] / singular[-1]) if singular[-1] > 0 else math.inf
    document = {"rank": rank, "columns": k, "condition_number": condition if math.isfinite(condition) else None,
                "collinear": rank < k or condition > CONDITION_LIMIT, "terms": [], "relation": None}
    if not document["collinear"]:
        return document
    nullity = max(k - rank, 1)
    null = right[k - nullity:]  # rows: directions v with X_scaled v ~ 0
    involved = np.max(np.abs(null), axis=0) > 1e-6
    document["terms"] = [name for name, used in zip(names, involved) if used]
    if nullity == 1:
        coefficients = null[0] / norms  # in the predictors' own units: X @ coefficients ~ 0
        weight = np.abs(null[0])
        candidates = [i for i, name in enumerate(names) if involved[i] and name != "const"]
        if candidates:
            subject = candidates[-1]
            equals = {names[i]: _tidy(-coefficients[i] / coefficients[subject])
                      for i in range(k) if i != subject and weight[i] > 1e-6}
            document["relation"] = {"subject": names[subject], "equals": equals}
    return document


def _tidy(value: float) -> float:
    """A relation's coefficient to six significant digits, a whole number when it is one."""
    if value == 0:
        return 0.0
    rounded = float(f"{value:.6g}")
    return float(round(rounded)) if abs(rounded - round(rounded)) < 1e-6 * max(1.0, abs(rounded)) else rounded


def _signed_rows(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each firm's row, its columns scaled to a largest value of one, negated where y = 0: one array,
    negated in place (the same bits as multiplying by -1)."""
    signs = X / np.maximum(np.max(np.abs(X), axis=0), 1e-300)
    np.negative(signs, out=signs, where=(y == 0)[:, None])
    return signs


def _strict(margins: np.ndarray) -> np.ndarray:
    return margins > LP_TOLERANCE * max(1.0, float(np.max(np.abs(margins))))


# Up to this many firms each linear program is solved over all of them at once. Above it, over some
# of them first (each column's extreme firms and evenly spaced others), adding the firms its solution
# puts on the wrong side, the furthest first, until it puts none there (cutting planes): a program
# over some of the firms is a relaxation of the program over all, so an optimum of it that every
# firm satisfies is an optimum over all, and an optimum of zero already says zero.
DIRECT_PROGRAM_FIRMS = 5_000
CUTS_PER_ROUND = 2_000
# A firm on the wrong side by less than this (the rows at most one, the direction in [-1, 1]) is on the line.
CUT_TOLERANCE = 1e-9


def _first_rows(signs: np.ndarray) -> np.ndarray:
    """The firms a cutting-plane program starts from: each column's smallest and largest, and evenly spaced others."""
    n = signs.shape[0]
    spaced = np.linspace(0, n - 1, DIRECT_PROGRAM_FIRMS // 2).astype(np.int64)
    return np.unique(np.concatenate([spaced, np.argmin(signs, axis=0), np.argmax(signs, axis=0)]))


def _program(signs: np.ndarray, objective: np.ndarray | None, rows: np.ndarray):
    """One of `_direction`'s linear programs over the firms `rows`, grown by cutting planes until its
    solution keeps every firm on its side: with `objective` None, the largest margin t by which some b
    in [-1, 1] puts every firm strictly on its side (t at most 1); else the b in [-1, 1] that keeps every
    firm on its side or the line and maximises objective'b. Returns the result and the rows used."""
    n, k = signs.shape
    bounds = [(-1, 1)] * k
    while True:
        part = signs if len(rows) == n else signs[rows]
        m = len(part)
        if objective is None:
            result = optimize.linprog(np.r_[np.zeros(k), -1.0], A_ub=np.c_[-part, np.ones(m)], b_ub=np.zeros(m),
                                      bounds=bounds + [(None, 1)], method="highs")
        else:
            result = optimize.linprog(-objective, A_ub=-part, b_ub=np.zeros(m), bounds=bounds, method="highs")
        if len(rows) == n or result.status != 0 or -result.fun <= LP_TOLERANCE:
            return result, rows
        margins = signs @ result.x[:k]
        short = margins < (result.x[k] if objective is None else 0.0) - CUT_TOLERANCE
        short[rows] = False
        if not np.any(short):
            return result, rows
        cuts = np.flatnonzero(short)
        if len(cuts) > CUTS_PER_ROUND:
            cuts = cuts[np.argpartition(margins[cuts], CUTS_PER_ROUND)[:CUTS_PER_ROUND]]
        rows = np.union1d(rows, cuts)


def _direction(signs: np.ndarray) -> tuple[str, np.ndarray | None]:
    """Albert and Anderson (1984) by linear programming: 'complete' when some b puts every firm
    strictly on its side of x'b = 0, 'quasi-complete' when some b puts every firm on its side or on
    the line and at least one strictly, else 'none'; with the direction b found.

    Under quasi-complete separation the direction returned sorts as many firms strictly as any
    can: each round asks for a direction that keeps every firm on its side and is strict on some
    firm not yet sorted, and the sum of the rounds' directions is strict on all they sorted.
    """
    n, k = signs.shape
    rows = np.arange(n) if n <= DIRECT_PROGRAM_FIRMS else _first_rows(signs)
    complete, rows = _program(signs, None, rows)
    if complete.status == 0 and -complete.fun > LP_TOLERANCE:
        return "complete", complete.x[:k]
    total, sorted_ = np.zeros(k), np.zeros(n, dtype=bool)
    for _ in range(n):
        rest = ~sorted_
        # Over many firms the sum as a product, without a copy of the rows not yet sorted.
        objective = signs[rest].sum(axis=0) if n <= DIRECT_PROGRAM_FIRMS else rest.astype(float) @ signs
        quasi, rows = _program(signs, objective, rows)
        if quasi.status != 0 or -quasi.fun <= LP_TOLERANCE:
            break
        total = total + quasi.x
        now = _strict(signs @ total)
        if not np.any(now & rest):
            break
        sorted_ = now
    if not np.any(sorted_):
        return "none", None
    return "quasi-complete", total


def _alone(x: np.ndarray, outcome: np.ndarray) -> str:
    """What `_direction` finds for one predictor with the constant, in closed form, from the predictor
    scaled as `_signed_rows` scales it (largest absolute value one) and whether each firm's y is 1.

    With a constant, a direction is a threshold: the firms of one outcome at or above it, the others'
    at or below, in either order (y = 1 above, or below). Complete separation: the two outcomes'
    values do not overlap, and the complete program's optimum is half the gap between them (the
    predictor's coefficient 1, the constant's midway, within [-1, 1] since the values are); counted
    complete when that exceeds the programs' tolerance, as `_direction` counts it. Quasi-complete: they
    touch (gap zero, or within that tolerance) and the predictor varies, so some firm lies off the
    threshold on its side. Binary and continuous predictors alike: a dummy separates completely when
    its two values are the two outcomes', quasi-completely when one of its values has one outcome only.
    """
    ones, zeros = x[outcome], x[~outcome]
    if len(ones) == 0 or len(zeros) == 0:
        return "complete"  # the constant alone puts every firm on its side
    gap = max(float(ones.min() - zeros.max()), float(zeros.min() - ones.max()))
    if gap / 2 > LP_TOLERANCE:
        return "complete"
    if gap >= 0 and float(x.max() - x.min()) > LP_TOLERANCE:
        return "quasi-complete"
    return "none"


def _alone_verdicts(X: np.ndarray, y: np.ndarray, signs: np.ndarray, constant: int | None,
                    predictors: list[int]) -> list[str]:
    """Whether each predictor with the constant separates, and how: in closed form (`_alone`) when the
    constant column is one; by linear programming otherwise (no constant, or a column named so that is not)."""
    column = None if constant is None else X[:, constant]
    if column is None or len(column) == 0 or column[0] == 0 or not np.all(column == column[0]):
        base = [] if constant is None else [constant]
        return [_direction(signs[:, base + [i]])[0] for i in predictors]
    outcome = y == 1
    return [_alone(X[:, i] / np.maximum(np.max(np.abs(X[:, i])), 1e-300), outcome) for i in predictors]


def separated_alone(X: np.ndarray, y: np.ndarray, names: list[str]) -> bool:
    """Whether some predictor with the constant separates the outcome on its own, in closed form (`_alone`):
    a look of one pass per predictor, before a large logit is fitted. False where the design has no constant
    column of ones (only a linear program would tell)."""
    constant = names.index("const") if "const" in names else None
    if constant is None or len(y) == 0 or not np.all(X[:, constant] == 1):
        return False
    predictors = [i for i in range(len(names)) if i != constant]
    return any(verdict != "none" for verdict in _alone_verdicts(X, y, None, constant, predictors))


def separation(X: np.ndarray, y: np.ndarray) -> str:
    """'complete', 'quasi-complete' or 'none' (Albert and Anderson 1984), by linear programming."""
    return _direction(_signed_rows(X, y))[0]


# Up to this many firms the fewest separating predictors are searched subset by subset (some
# dozens of small linear programs); above it, the predictors of the program's own direction are named.
SMALLEST_SET_FIRMS_LIMIT = 20_000


def _smallest_set(signs: np.ndarray, base: list[int], predictors: list[int], kind: str,
                  strict: np.ndarray) -> tuple[list[int], np.ndarray] | None:
    """The fewest predictors (with the constant) that separate as all of them do: completely, or
    quasi-completely sorting the same firms; the first such set in the declarations' order."""
    for size in range(1, len(predictors) + 1):
        for subset in combinations(predictors, size):
            columns = base + list(subset)
            own_kind, own = _direction(signs[:, columns])
            if own is None:
                continue
            if kind == "complete" and own_kind == "complete":
                return list(subset), _strict(signs[:, columns] @ own)
            if kind == "quasi-complete":
                sorted_here = _strict(signs[:, columns] @ own)
                if np.array_equal(sorted_here, strict):
                    return list(subset), sorted_here
    return None


# The combinations of the separating predictors' values listed as `groups`, when there are at most this many.
GROUPS_LIMIT = 12


def _few_rows(values: np.ndarray, limit: int) -> np.ndarray | None:
    """The distinct rows of `values`, sorted as np.unique sorts them, when there are at most `limit`; else None.

    One pass over the firms per distinct row found, never more than limit + 1, and no copy of the rows:
    np.unique(values, axis=0) sorts every firm's row (0.4 s and a copy of them at a million firms) to find a few."""
    remaining = np.ones(len(values), dtype=bool)
    found = []
    while remaining.any():
        if len(found) == limit:
            return None
        row = values[int(np.argmax(remaining))]
        found.append(row)
        remaining &= ~np.all(values == row, axis=1)
    return np.unique(np.array(found).reshape(len(found), values.shape[1]), axis=0)


def separation_by(X: np.ndarray, y: np.ndarray, names: list[str]) -> dict:
    """Whether the outcome is separated, and by what: `{"kind", "terms", "alone", "perfectly_predicted",
    "groups"}`, each from a separating direction found by linear programming and checked again on
    the predictors it names.

    `terms` are the fewest predictors (with the constant) that separate as all of them do: for
    complete separation, completely; for quasi-complete separation, sorting the same firms as the
    direction that sorts the most firms perfectly. `alone` names each predictor that separates on its own,
    with how (`{"van_phuc": "quasi-complete"}`).
    `perfectly_predicted` counts the firms strictly on their side (all of them under complete
    separation). When the named predictors take few values, `groups` lists each combination of
    their values whose firms are all predicted perfectly, with their one outcome, e.g.
    `{"values": {"van_phuc": 1.0}, "outcome": 0, "firms": 20}`.
    """
    signs = _signed_rows(X, y)
    kind, direction = _direction(signs)
    document = {"kind": kind, "terms": [], "alone": {}, "perfectly_predicted": 0, "groups": []}
    if kind == "none":
        return document
    constant = names.index("const") if "const" in names else None
    predictors = [i for i in range(len(names)) if i != constant]
    base = [] if constant is None else [constant]
    alone = dict(zip([names[i] for i in predictors], _alone_verdicts(X, y, signs, constant, predictors)))
    document["alone"] = {name: separated for name, separated in alone.items() if separated != "none"}

    def strict_set(columns: list[int], b: np.ndarray) -> np.ndarray:
        return _strict(signs[:, columns] @ b)

    def used(b: np.ndarray) -> list[int]:
        return [i for i in predictors if abs(b[i]) > 1e-9 * np.max(np.abs(b))]

    everything = list(range(len(names)))
    chosen, strict = used(direction), strict_set(everything, direction)
    if len(y) <= SMALLEST_SET_FIRMS_LIMIT:
        smallest = _smallest_set(signs, base, predictors, kind, strict)
        if smallest is not None:
            chosen, strict = smallest
    confirmed = alone[names[chosen[0]]] if len(chosen) == 1 else _direction(signs[:, base + chosen])[0]
    if confirmed == "none":
        return document | {"perfectly_predicted": int(np.sum(strict))}  # not confirmed: name nothing
    document["terms"] = [names[i] for i in chosen]
    document["perfectly_predicted"] = int(len(y)) if kind == "complete" else int(np.sum(strict))
    if chosen:
        values = X[:, chosen]
        combinations = _few_rows(values, GROUPS_LIMIT)
        if combinations is not None:
            for combination in combinations:
                members = np.all(values == combination, axis=1)
                outcomes = np.unique(y[members])
                if len(outcomes) == 1 and np.all(strict[members]):
                    document["groups"].append({"values": {names[i]: float(v) for i, v in zip(chosen, combination)},
                                               "outcome": int(outcomes[0]), "firms": int(np.sum(members))})
    return document
