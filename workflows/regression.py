"""The paper's regression models, declared as data and fitted with statsmodels.

The "replication" specifications are the paper's Table 5 exactly as the input contract
defines them: plain maximum likelihood (logit) and least squares (OLS) with the classical
covariance. The "robustness" specifications answer a referee beside them: the clusters as
dummies instead of one ordinal code, exports in billions of VND, HC3 standard errors.
Every logit also gets a separation check and, when separation is found or events are few,
Firth's penalised fit. A model that cannot be fitted on a wave is reported as not
converged, with null estimates, never as a crash.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.discrete.discrete_model import Logit
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

from workflows import diagnostics


@dataclass(frozen=True)
class ModelSpec:
    key: str
    family: str  # "logit" or "ols"
    outcome: str
    predictors: tuple[str, ...]
    title: str
    covariance: str = "nonrobust"  # or "HC3"

    @property
    def terms(self) -> tuple[str, ...]:
        return ("const", *self.predictors)


# Predictors computed from one column of the firm indices, by name: (that column, how).
DERIVED = {
    "expt_bn_vnd": ("expt_vnd", lambda exports: exports / 1e9),
    "dong_ky": ("cluster", lambda cluster: (cluster == "dong_ky").astype(float)),
    "van_phuc": ("cluster", lambda cluster: (cluster == "van_phuc").astype(float)),
}


REPLICATION = (
    ModelSpec("envtech_logit", "logit", "envtech", ("empl", "years", "expt_vnd", "cluster_code", "emp"),
              "Adoption of clean technology (ENVTECH), logit"),
    ModelSpec("envexp_ols", "ols", "envexp_vnd", ("empl", "expt_vnd", "cluster_code", "loan", "cp"),
              "Pollution-control expenditure (ENVEXP, VND), OLS"),
)
ROBUSTNESS = (
    ModelSpec("envtech_logit_robust", "logit", "envtech",
              ("empl", "years", "expt_bn_vnd", "dong_ky", "van_phuc", "emp"),
              "ENVTECH, logit with cluster dummies, exports in bn VND, HC3 errors", "HC3"),
    ModelSpec("envexp_ols_robust", "ols", "envexp_vnd", ("empl", "expt_bn_vnd", "dong_ky", "van_phuc", "loan", "cp"),
              "ENVEXP, OLS with cluster dummies, exports in bn VND, HC3 errors", "HC3"),
)


# The firm indices the specifications read: outcomes, predictors, and the cluster behind the dummies.
COLUMNS_USED = tuple(dict.fromkeys(
    column
    for spec in REPLICATION + ROBUSTNESS
    for column in (spec.outcome, *(DERIVED[p][0] if p in DERIVED else p for p in spec.predictors))
))


def design(spec: ModelSpec, firms: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    columns = {}
    for name in spec.predictors:
        source, derive = DERIVED.get(name, (name, None))
        columns[name] = firms[source] if derive is None else derive(firms[source])
    X = add_constant(pd.DataFrame(columns).astype(float), has_constant="add")
    return firms[spec.outcome].astype(float), X


def fit(spec: ModelSpec, firms: pd.DataFrame) -> dict:
    """The fitted model as the contract's `results.json` describes it (NaN where undefined), with diagnostics."""
    y, X = design(spec, firms)
    problem = _degenerate(spec, y, X)
    if problem:
        return _not_fitted(spec, len(firms), problem)
    separated = "none"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if spec.family == "logit":
                result = Logit(y, X).fit(disp=0, maxiter=200)
                # The constant-only model has a closed form; statsmodels would search for it.
                result.set_null_options(llnull=diagnostics.null_log_likelihood(y.to_numpy()))
                if diagnostics.fit_looks_separated(result, X):
                    separated = diagnostics.separation(X.to_numpy(), y.to_numpy())
                converged = bool(result.mle_retvals.get("converged", False)) and separated == "none"
                extra = {"llnull": float(result.llnull), "prsquared": float(result.prsquared)}
                checks = diagnostics.logit_diagnostics(result, X, y) if converged else {}
                if spec.covariance != "nonrobust":
                    # The logit's estimates are the binomial GLM's own maximum: no IRLS step is
                    # needed (maxiter=0), only the robust covariance evaluated there.
                    result = GLM(y, X, family=Binomial()).fit(
                        start_params=result.params, maxiter=0, cov_type=spec.covariance)
            else:
                result = OLS(y, X).fit(cov_type=spec.covariance)
                converged = True
                extra = {"rsquared": float(result.rsquared), "rsquared_adj": float(result.rsquared_adj)}
                checks = diagnostics.ols_diagnostics(result, X)
        except (np.linalg.LinAlgError, ValueError) as error:
            return _not_fitted(spec, len(firms), f"the fit failed: {error}")
    notes = sorted({str(w.message).splitlines()[0] for w in caught})
    if separated != "none":
        notes.insert(0, f"Not estimated by maximum likelihood: {separated} separation, so the estimates "
                        "would run to infinity; the Firth penalised fit is reported instead.")
        return _not_fitted(spec, len(firms), None, notes) | {"diagnostics": _logit_checks(spec, y, X, separated)}
    document = {
        "n": int(result.nobs),
        "converged": converged,
        "covariance": spec.covariance,
        "llf": float(result.llf),
        "params": _series(result.params, spec),
        "bse": _series(result.bse, spec),
        "tvalues": _series(result.tvalues, spec),
        "pvalues": _series(result.pvalues, spec),
        "notes": notes,
    } | extra
    if spec.family == "logit":
        document["diagnostics"] = checks | _logit_checks(spec, y, X, separated)
        if document["diagnostics"]["firth"] is None:
            document["diagnostics"].pop("firth")
    else:
        document["diagnostics"] = checks
    return document


def _logit_checks(spec: ModelSpec, y: pd.Series, X: pd.DataFrame, separated: str) -> dict:
    """Separation, events per variable and, when either is a worry, Firth's penalised fit."""
    epv = diagnostics.events_per_variable(y.to_numpy(), len(spec.predictors))
    checks = {"separation": separated, "events_per_variable": epv, "firth": None}
    if separated != "none" or epv < diagnostics.MIN_EVENTS_PER_VARIABLE:
        try:
            firth = diagnostics.firth_logit(X.to_numpy(), y.to_numpy())
        except np.linalg.LinAlgError as error:
            # Near separation the information matrix can become singular on one processor's
            # rounding and not on another's: a sentence in the report, never the end of the run.
            checks["firth_failure"] = f"The Firth penalised fit could not be computed either ({str(error).lower()})"
            return checks
        checks["firth"] = {
            "converged": firth["converged"], "llf": firth["llf"], "penalised_llf": firth["penalised_llf"],
            **{key: dict(zip(spec.terms, map(float, firth[source])))
               for key, source in (("params", "params"), ("bse", "bse"), ("tvalues", "zvalues"),
                                   ("pvalues", "pvalues"))},
        }
    return checks


def _degenerate(spec: ModelSpec, y: pd.Series, X: pd.DataFrame) -> str | None:
    if len(y) <= X.shape[1]:
        return f"{len(y)} firms are too few for {X.shape[1]} coefficients"
    # Minimum against maximum: one pass, where counting distinct values would hash a census.
    if y.min() == y.max():
        return f"every firm has the same {spec.outcome}"
    constant = [c for c in spec.predictors if X[c].min() == X[c].max()]
    if constant:
        return f"{', '.join(constant)} {'does' if len(constant) == 1 else 'do'} not vary across firms"
    return None


def _not_fitted(spec: ModelSpec, n: int, reason: str | None, notes: list[str] | None = None) -> dict:
    empty = {term: None for term in spec.terms}
    document = {"n": n, "converged": False, "covariance": spec.covariance, "llf": None, "params": empty,
                "bse": empty, "tvalues": empty, "pvalues": empty,
                "notes": notes if notes is not None else [f"Not estimated: {reason}."]}
    if spec.family == "ols":
        document |= {"rsquared": None, "rsquared_adj": None}
    return document


def _series(values: pd.Series, spec: ModelSpec) -> dict:
    return {term: float(values[term]) for term in spec.terms}
