"""The declared regression models fitted with statsmodels, with the checks a referee asks for.

The models themselves are declared in `workflows.analysis.model_specs`. Every logit also gets a
separation check and, when separation is found or events are few, Firth's penalised fit. A
model that cannot be fitted on a wave is reported as not converged, with null estimates,
never as a crash.
"""

import warnings

import numpy as np
import pandas as pd
from statsmodels.discrete.discrete_model import Logit
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

from workflows.analysis import diagnostics, model_specs
from workflows.analysis.model_specs import DERIVED, ModelSpec
from workflows.analysis.model_specs import REPLICATION, ROBUSTNESS  # noqa: F401 (results.py groups the fits by them from here)


def fit_all(firms: pd.DataFrame) -> dict[str, dict]:
    """Every declared model fitted on the firms, by key, in the order of the declarations."""
    return {spec.key: fit(spec, firms) for spec in model_specs.SPECS}


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
