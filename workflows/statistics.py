"""The paper's regression models, declared as data and fitted with statsmodels.

The "replication" specifications are the paper's Table 5 exactly as the input contract
defines them: plain maximum likelihood (logit) and least squares (OLS) with the classical
covariance. A model that cannot be fitted on a wave is reported as not converged, with
null estimates, never as a crash.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm


@dataclass(frozen=True)
class ModelSpec:
    key: str
    family: str  # "logit" or "ols"
    outcome: str
    predictors: tuple[str, ...]
    title: str

    @property
    def terms(self) -> tuple[str, ...]:
        return ("const", *self.predictors)


REPLICATION = (
    ModelSpec("envtech_logit", "logit", "envtech", ("empl", "years", "expt_vnd", "cluster_code", "emp"),
              "Adoption of clean technology (ENVTECH), logit"),
    ModelSpec("envexp_ols", "ols", "envexp_vnd", ("empl", "expt_vnd", "cluster_code", "loan", "cp"),
              "Pollution-control expenditure (ENVEXP, VND), OLS"),
)


def fit(spec: ModelSpec, firms: pd.DataFrame) -> dict:
    """The fitted model as the contract's `results.json` describes it (NaN where undefined)."""
    y = firms[spec.outcome].astype(float)
    X = sm.add_constant(firms[list(spec.predictors)].astype(float), has_constant="add")
    problem = _degenerate(spec, y, X)
    if problem:
        return _not_fitted(spec, len(firms), problem)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if spec.family == "logit":
                result = sm.Logit(y, X).fit(disp=0, maxiter=200)
                converged = bool(result.mle_retvals.get("converged", False))
            else:
                result = sm.OLS(y, X).fit()
                converged = True
        except (np.linalg.LinAlgError, ValueError) as error:
            return _not_fitted(spec, len(firms), f"the fit failed: {error}")
    notes = sorted({str(w.message).splitlines()[0] for w in caught})
    document = {
        "n": int(result.nobs),
        "converged": converged,
        "llf": float(result.llf),
        "params": _series(result.params, spec),
        "bse": _series(result.bse, spec),
        "tvalues": _series(result.tvalues, spec),
        "pvalues": _series(result.pvalues, spec),
        "notes": notes,
    }
    if spec.family == "ols":
        document |= {"rsquared": float(result.rsquared), "rsquared_adj": float(result.rsquared_adj)}
    else:
        document |= {"llnull": float(result.llnull), "prsquared": float(result.prsquared)}
    return document


def _degenerate(spec: ModelSpec, y: pd.Series, X: pd.DataFrame) -> str | None:
    if len(y) <= X.shape[1]:
        return f"{len(y)} firms are too few for {X.shape[1]} coefficients"
    if y.nunique() < 2:
        return f"every firm has the same {spec.outcome}"
    constant = [c for c in spec.predictors if X[c].nunique() < 2]
    if constant:
        return f"{', '.join(constant)} {'does' if len(constant) == 1 else 'do'} not vary across firms"
    return None


def _not_fitted(spec: ModelSpec, n: int, reason: str) -> dict:
    empty = {term: None for term in spec.terms}
    document = {"n": n, "converged": False, "llf": None, "params": empty, "bse": empty,
                "tvalues": empty, "pvalues": empty, "notes": [f"Not estimated: {reason}."]}
    if spec.family == "ols":
        document |= {"rsquared": None, "rsquared_adj": None}
    return document


def _series(values: pd.Series, spec: ModelSpec) -> dict:
    return {term: float(values[term]) for term in spec.terms}
