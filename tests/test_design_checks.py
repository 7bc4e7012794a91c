"""The separation check's shortcuts say what its linear programs say: each predictor alone in closed
form, and the programs over many firms by cutting planes."""

import numpy as np
import pandas as pd

from workflows.analysis import design_checks
from workflows.analysis.design_checks import _alone_verdicts, _direction, _signed_rows, _strict, separation_by


def one_predictor(rng: np.random.Generator, trial: int) -> tuple[np.ndarray, np.ndarray]:
    """A predictor (dummy, small integers, continuous at any scale, billions) and an outcome, often
    separated by it at a threshold (with firms on it or not, y = 1 above or below) or by one of its values."""
    n = int(rng.integers(2, 50))
    x = [lambda: rng.integers(0, 2, n).astype(float), lambda: rng.integers(-3, 4, n).astype(float),
         lambda: rng.normal(size=n) * 10.0 ** rng.integers(-3, 10), lambda: rng.integers(0, 5, n) * 1e9,
         lambda: rng.integers(0, 6, n) - 10.0][trial % 5]()
    y = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(float)
    mode = trial // 5 % 4
    if mode == 1:
        threshold = np.median(x)
        y = ((x > threshold) if rng.random() < 0.5 else (x < threshold)).astype(float)
        if rng.random() < 0.5:
            y[x == threshold] = rng.integers(0, 2, int(np.sum(x == threshold)))
    elif mode == 2:
        y[x == rng.choice(x)] = float(rng.integers(0, 2))
    elif mode == 3 and trial % 3 == 0:
        x[:] = x[0]
    return x, y


def test_each_predictor_alone_is_judged_in_closed_form_as_the_linear_program_judges_it():
    rng = np.random.default_rng(20)
    seen = set()
    for trial in range(300):
        x, y = one_predictor(rng, trial)
        X = np.c_[np.ones(len(x)), x]
        signs = _signed_rows(X, y)
        by_program = _direction(signs)[0]
        assert _alone_verdicts(X, y, signs, 0, [1]) == [by_program], (x, y)
        seen.add(by_program)
    assert seen == {"complete", "quasi-complete", "none"}


def test_without_a_constant_each_predictor_alone_is_still_judged_by_linear_programming():
    x, y = np.array([1.0, 2.0, -1.0, -2.0]), np.array([1.0, 1.0, 0.0, 0.0])
    X = x[:, None]
    assert _alone_verdicts(X, y, _signed_rows(X, y), None, [0]) == ["complete"]


def firms(n: int, seed: int, how: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    years, employees = rng.integers(1, 60, n).astype(float), rng.integers(2, 200, n).astype(float)
    exports = np.where(rng.random(n) < 0.5, rng.integers(200_000_000, 9_000_000_000, n), 0).astype(float)
    loan, code = (rng.random(n) < 0.1).astype(float), rng.integers(1, 4, n).astype(float)
    y = (rng.random(n) < 0.3).astype(float)
    if how == "quasi":
        y[loan == 1] = 1.0
    elif how == "complete":
        y = (years > 30).astype(float)
    elif how == "mixed":  # loan firms spend; the oldest firms of one cluster do not, unless they have a loan
        y[loan == 1] = 1.0
        y[(code == 3) & (years > 50)] = 0.0
        y[(code == 3) & (years > 50) & (loan == 1)] = 1.0
    return np.c_[np.ones(n), years, employees, exports, code, loan], y


def test_many_firms_are_checked_by_cutting_planes_with_the_verdicts_of_one_program_over_all(monkeypatch):
    names = ["const", "years", "empl", "expt_vnd", "cluster_code", "loan"]
    kinds = []
    for seed, how in enumerate(("none", "quasi", "complete", "mixed")):
        X, y = firms(1000, seed, how)
        signs = _signed_rows(X, y)
        monkeypatch.setattr(design_checks, "DIRECT_PROGRAM_FIRMS", 10**9)
        kind, direction = _direction(signs)
        whole = separation_by(X, y, names)
        monkeypatch.setattr(design_checks, "DIRECT_PROGRAM_FIRMS", 100)
        cut_kind, cut_direction = _direction(signs)
        assert cut_kind == kind, how
        if direction is not None:
            assert np.array_equal(_strict(signs @ cut_direction), _strict(signs @ direction)), how
        assert separation_by(X, y, names) == whole, how
        kinds.append(whole["kind"])
    assert kinds == ["none", "quasi-complete", "complete", "quasi-complete"]


def test_a_large_logit_separated_by_one_predictor_is_seen_before_it_is_fitted(monkeypatch):
    """The closed-form look finds a predictor that separates alone (so the logit skips its Newton search), never
    one that does not, and says nothing of a design without a constant column of ones."""
    from workflows.analysis import regression
    from workflows.analysis.model_specs import ModelSpec

    rng = np.random.default_rng(7)
    n = 3_000
    loan, size = rng.integers(0, 2, n).astype(float), rng.normal(size=n)
    y = (rng.random(n) < 0.4).astype(float)
    y[loan == 1] = 1.0  # every firm with a loan spends: quasi-complete separation by `loan` alone
    X = np.c_[np.ones(n), loan, size]
    names = ["const", "loan", "size"]
    assert design_checks.separated_alone(X, y, names)
    assert not design_checks.separated_alone(X, (rng.random(n) < 0.4).astype(float), names)
    assert not design_checks.separated_alone(X[:, 1:], y, names[1:])
    assert not design_checks.separated_alone(np.c_[2 * np.ones(n), loan], y, ["const", "loan"])

    def no_search(*args, **kwargs):
        raise AssertionError("a separated logit was handed to Newton's search")

    monkeypatch.setattr(regression, "Logit", no_search)
    spec = ModelSpec(key="spends_logit", family="logit", outcome="spends", predictors=("loan", "size"),
                     title="spending", label="spends")
    document = regression._fit_logit(spec, pd.Series(y), pd.DataFrame(X, columns=names), None)
    assert document["not_estimated"]["reason"] == "separation"
    assert document["diagnostics"]["separated_by"]["terms"] == ["loan"]


def test_the_few_distinct_rows_are_those_np_unique_finds_and_many_are_none():
    rng = np.random.default_rng(3)
    for columns in (1, 2, 3):
        values = rng.integers(0, 2, (500, columns)).astype(float)
        np.testing.assert_array_equal(design_checks._few_rows(values, 12), np.unique(values, axis=0))
    assert design_checks._few_rows(rng.normal(size=(500, 1)), 12) is None
    assert design_checks._few_rows(rng.integers(0, 13, (500, 1)).astype(float), 12) is None
    assert design_checks._few_rows(np.empty((0, 1)), 12).shape == (0, 1)
