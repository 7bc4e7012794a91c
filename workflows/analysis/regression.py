"""The declared regression models fitted, with the checks a referee asks for.

The models themselves are declared in `workflows.analysis.model_specs`. Each fit goes in steps,
and any step may find that the model cannot be estimated on the wave, which is then reported
with null estimates and its reason (`not_estimated` and `notes`), never as a crash:

1. the design: too few firms, an outcome without variation, a predictor that does not vary;
2. its rank and condition number: a collinear design is named by its linear relation;
3. the fit: maximum likelihood (statsmodels' Logit) or least squares; a logit is checked for
   complete and quasi-complete separation by linear programming, which names the predictors that
   separate, and for events per predictor; when either is a worry, Firth's penalised logit is
   fitted with profile penalised-likelihood tests and intervals (`workflows.analysis.firth`);
4. the covariance: classical, or HC3 computed from the weighted hat matrix
   (`workflows.analysis.covariance`), since statsmodels' GLM gives HC0 under any HC label;
5. the diagnostics (`workflows.analysis.diagnostics`).

A numerical fault in any step after the estimates (a diagnostic, the Firth fit, HC3 with a
firm of leverage 1) removes only what it computes, with a sentence saying so.
"""

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.discrete.discrete_model import Logit
from statsmodels.regression.linear_model import OLS

from workflows.analysis import covariance as robust
from workflows.analysis import design_checks, diagnostics, firth, model_specs
from workflows.analysis.large_waves import LARGE_WAVE_FIRMS, BlockLogit, BlockOLS, r_factor
from workflows.analysis.model_specs import DERIVED, ModelSpec
from workflows.analysis.model_specs import REPLICATION, ROBUSTNESS  # noqa: F401 (results.py groups the fits by them from here)

# The faults of numerical code: a singular matrix, an overflow, a division by zero, a domain error.
NUMERICAL_FAULTS = (np.linalg.LinAlgError, ArithmeticError, ValueError)
# Up to this many firms the separation check runs on every logit (milliseconds), before it is fitted;
# above it, when the fit has not converged in FIRST_ITERATIONS Newton steps or shows signs of separation.
ALWAYS_CHECK_SEPARATION_UP_TO = 1_000
MAX_ITERATIONS = 200
# A logit that converges does so in a few Newton steps (nine or ten on the 2007 wave); one that
# has not by this many is checked for separation before its search goes on to MAX_ITERATIONS.
FIRST_ITERATIONS = 25


def fit_all(firms: pd.DataFrame) -> dict[str, dict]:
    """Every declared model fitted on the firms, by key, in the order of the declarations; beside a
    paper model that a wave cannot estimate only because some of its predictors do not vary (one
    cluster), the same model without them; and each robustness model compared with its paper model."""
    papers = {paper.key: paper for paper in model_specs.paper_models()}
    compared = {spec.key: papers[spec.twin_of] for spec in model_specs.SPECS
                if spec.twin_of in papers and spec.outcome == papers[spec.twin_of].outcome
                and spec.subset == papers[spec.twin_of].subset}
    fits, later = {}, []

    def comparison(twin: ModelSpec, twin_design: tuple | None) -> None:
        paper = compared[twin.key]
        found = _guarded(lambda: compare(paper, fits[paper.key], twin, fits[twin.key], firms, twin_design=twin_design))
        if found is not None:
            fits[twin.key]["comparison"] = found

    # Each design is built once for its fit, and a twin is compared with its paper model while its own
    # design is at hand (the paper model's is built again: one design in memory beside it, not all).
    for spec in model_specs.SPECS:
        designed = _designed(spec, firms)
        fits[spec.key] = fit(spec, firms, designed)
        if spec.key in compared:
            if compared[spec.key].key in fits:
                comparison(spec, designed)
            else:
                later.append(spec)
        del designed
    for spec in model_specs.paper_models():
        dropped = tuple((fits[spec.key].get("not_estimated") or {}).get("constant_terms") or ())
        if dropped and len(dropped) < len(spec.predictors):
            reduced = spec.without(dropped)
            fits[reduced.key] = fit(reduced, firms) | {"reduces": spec.key, "dropped": list(dropped)}
    for spec in later:
        comparison(spec, None)
    return fits


def model_firms(spec: ModelSpec, firms: pd.DataFrame) -> pd.DataFrame:
    """The firms the model is fitted on: all, or its subset's."""
    if spec.subset is None:
        return firms
    source, derive = DERIVED[spec.subset]
    return firms[derive(firms[source]).to_numpy(dtype=bool)]


def design(spec: ModelSpec, firms: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """The outcome and the design matrix (a constant first) on the model's firms.

    The design is one float64 block, written column by column into a (terms x firms) array whose
    transpose the frame holds without a copy: `X.to_numpy()` is then a view, laid out in memory as
    pandas lays out a frame of float columns (column after column), so the fits read the same bits
    in the same order."""
    firms = model_firms(spec, firms)
    names = ["const", *spec.predictors]
    values = np.empty((len(names), len(firms)))
    values[0] = 1.0
    for row, name in enumerate(spec.predictors, start=1):
        values[row] = _column(name, firms).astype(float)
    return (_column(spec.outcome, firms).astype(float),
            pd.DataFrame(values.T, index=firms.index, columns=names, copy=False))


def _designed(spec: ModelSpec, firms: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame] | None:
    """The design, or None where building it fails (`fit` then builds it again and says why)."""
    try:
        return design(spec, firms)
    except NUMERICAL_FAULTS:
        return None


def _column(name: str, firms: pd.DataFrame) -> pd.Series:
    source, derive = DERIVED.get(name, (name, None))
    return firms[source] if derive is None else derive(firms[source])


def fit(spec: ModelSpec, firms: pd.DataFrame, designed: tuple[pd.Series, pd.DataFrame] | None = None) -> dict:
    """The fitted model as the contract's `results.json` describes it (null where undefined), with diagnostics;
    on `designed`, its outcome and design, when already built."""
    try:
        y, X = design(spec, firms) if designed is None else designed
    except NUMERICAL_FAULTS as error:
        return _not_fitted(spec, len(firms), {"reason": "numerical", "detail": _sentence(error)})
    problem = _degenerate(spec, y, X)
    if problem:
        return _not_fitted(spec, len(y), problem)
    try:
        shape = design_checks.collinearity(X.to_numpy(), list(X.columns))
    except NUMERICAL_FAULTS as error:
        return _not_fitted(spec, len(y), {"reason": "numerical", "detail": _sentence(error)})
    if shape["collinear"]:
        return _not_fitted(spec, len(y), {"reason": "collinear", "rank": shape["rank"], "columns": shape["columns"],
                                          "condition_number": shape["condition_number"], "terms": shape["terms"],
                                          "relation": shape["relation"]})
    clusters = _clusters(model_firms(spec, firms))
    try:
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            document = (_fit_logit if spec.family == "logit" else _fit_ols)(spec, y, X, clusters)
    except NUMERICAL_FAULTS as error:
        return _not_fitted(spec, len(y), {"reason": "numerical", "detail": _sentence(error)})
    document["diagnostics"]["condition_number"] = shape["condition_number"]
    document["notes"] = document.get("notes", []) + sorted(
        {str(w.message).splitlines()[0] for w in caught if not _expected_warning(w)})
    return document


def _expected_warning(caught) -> bool:
    """Warnings the steps themselves answer: a fit that did not converge or is separated is reported
    as such, by the checks' own words."""
    text, kind = str(caught.message), type(caught.message).__name__
    return kind in ("ConvergenceWarning", "PerfectSeparationWarning") or "divide by zero" in text or "overflow" in text


def _clusters(firms: pd.DataFrame) -> int | None:
    """How many clusters (villages) the model's firms come from, when the firms say."""
    for column in ("cluster", "cluster_code"):
        if column in firms:
            return int(firms[column].nunique())
    return None


def _fit_logit(spec: ModelSpec, y: pd.Series, X: pd.DataFrame, clusters: int | None) -> dict:
    names, Xa, ya = list(X.columns), X.to_numpy(dtype=float), y.to_numpy(dtype=float)
    n, k = Xa.shape
    # A separated logit has no maximum-likelihood estimates, and its Newton search runs to MAX_ITERATIONS
    # without converging: a small wave, and a large one where a predictor separates on its own (a
    # closed-form look), is checked before it is fitted; any other large one once its first
    # FIRST_ITERATIONS have not converged; and a separated one is not fitted further.
    checked_first = n <= ALWAYS_CHECK_SEPARATION_UP_TO or design_checks.separated_alone(Xa, ya, names)
    separation = design_checks.separation_by(Xa, ya, names) if checked_first else None
    if separation is None or separation["kind"] == "none":
        with warnings.catch_warnings(record=True) as first:
            warnings.simplefilter("always")
            result = _logit(ya, Xa).fit(disp=0, maxiter=FIRST_ITERATIONS if separation is None else MAX_ITERATIONS,
                                        method="newton")
        if separation is None and not _converged(result):
            separation = design_checks.separation_by(Xa, ya, names)
            if separation["kind"] == "none":
                # The same search from the start, as if it had never stopped: the same digits.
                first = []
                result = _logit(ya, Xa).fit(disp=0, maxiter=MAX_ITERATIONS, method="newton")
        for caught in first:
            warnings.warn_explicit(caught.message, caught.category, caught.filename, caught.lineno)
        params = np.asarray(result.params, dtype=float)
        converged = _converged(result)
        fitted = 1 / (1 + np.exp(-(Xa @ params)))
        if separation is None:
            check = diagnostics.fit_looks_separated(converged, fitted, params[1:], Xa[:, 1:].std(axis=0))
            separation = design_checks.separation_by(Xa, ya, names) if check else {"kind": "none"}
    epv = diagnostics.events_per_variable(ya, len(spec.predictors))
    checks = {"separation": separation["kind"], "events_per_variable": epv,
              "clustered_errors": _clustering_note(clusters, k)}
    if separation["kind"] != "none":
        checks["separated_by"] = {key: separation[key] for key in ("terms", "alone", "perfectly_predicted", "groups")}
    penalised = _firth(spec, Xa, ya, names, separation["kind"] != "none" or epv < diagnostics.MIN_EVENTS_PER_VARIABLE,
                       complete=separation["kind"] == "complete")
    checks |= penalised
    if separation["kind"] != "none":
        return _not_fitted(spec, n, {"reason": "separation", "separation": separation["kind"],
                                     "terms": separation["terms"], "firth": "firth" in checks}) | {"diagnostics": checks}
    if not converged:
        return _not_fitted(spec, n, {"reason": "not_converged", "iterations": MAX_ITERATIONS}) | {"diagnostics": checks}
    llnull = diagnostics.null_log_likelihood(ya)
    llf = float(result.llf)
    notes = []
    covariance, label_notes = _covariance(spec, lambda: np.asarray(result.cov_params()),
                                          lambda: robust.logit_hc3(Xa, ya, params))
    notes += label_notes
    inference = robust.inference(params, covariance, None) if covariance is not None else None
    document = _estimated(spec, n, llf, params, inference, names, statistic="z") | {
        "llnull": llnull, "prsquared": 1 - llf / llnull if llnull else None, "notes": notes}
    checks |= {"mcfadden_r2": document["prsquared"], **diagnostics.likelihood_ratio(llf, llnull, k - 1),
               **diagnostics.information_criteria(llf, k, n)}
    checks |= _guarded(lambda: {"classification": diagnostics.classification(ya, fitted),
                                "auc": diagnostics.area_under_curve(ya, fitted),
                                "hosmer_lemeshow": diagnostics.hosmer_lemeshow(ya, fitted)}, notes) or {}
    if covariance is not None:
        checks |= _guarded(lambda: diagnostics.marginal_effects(Xa, params, covariance, names), notes) or {}
    document["diagnostics"] = checks
    return document


def _logit(ya: np.ndarray, Xa: np.ndarray) -> Logit | BlockLogit:
    """The logit to fit: statsmodels' up to LARGE_WAVE_FIRMS firms, the same search a block of firms at a time
    above (`large_waves.py`); without statsmodels' rank check, as `fit` has found the design of full rank already
    (the check, a singular value decomposition of the whole design, took 0.1-0.4 s a model at a million firms)."""
    if len(ya) > LARGE_WAVE_FIRMS:
        return BlockLogit(ya, Xa)
    return Logit(ya, Xa, check_rank=False)


def _ols(ya: np.ndarray, Xa: np.ndarray) -> OLS | BlockOLS:
    """Least squares: statsmodels' up to LARGE_WAVE_FIRMS firms, the same fit a block of firms at a time above,
    for a design whose first column is the constant (as every model's is)."""
    if len(ya) > LARGE_WAVE_FIRMS and np.all(Xa[:, 0] == 1.0):
        return BlockOLS(ya, Xa)
    return OLS(ya, Xa)


def _converged(result) -> bool:
    return bool(result.mle_retvals.get("converged", False)) and bool(np.all(np.isfinite(result.params)))


def _firth(spec: ModelSpec, Xa: np.ndarray, ya: np.ndarray, names: list[str], needed: bool,
           complete: bool = False) -> dict:
    """Firth's penalised fit when separation or few events make it a worry, as the diagnostics hold it."""
    if not needed:
        return {}
    try:
        result = firth.firth_logit(Xa, ya)
        effects = diagnostics.marginal_effects(Xa, result["params"], result["covariance"], names)
    except NUMERICAL_FAULTS as error:
        # Near separation the information matrix can become singular on one processor's rounding
        # and not on another's: a sentence in the report, never the end of the run.
        return {"firth_failure": f"The Firth penalised fit could not be computed either ({_sentence(error)})"}
    by_term = lambda values: {name: float(v) for name, v in zip(names, values)}  # noqa: E731
    document = {
        "n": len(ya), "converged": bool(result["converged"]), "llf": result["llf"],
        "penalised_llf": result["penalised_llf"],
        "inference": "profile penalised likelihood" if result["profile"] else "penalised Wald",
        "intervals": result["intervals"],
        "statistic": "signed root of the penalised likelihood-ratio chi²" if result["profile"] else "z",
        "covariance": "model-based (inverse penalised information)",
        "params": by_term(result["params"]), "bse": by_term(result["bse"]),
        "tvalues": by_term(result["tvalues"]), "pvalues": by_term(result["pvalues"]),
        "lr_statistics": by_term(result["lr_statistics"]),
        "ci_lower": by_term(result["ci_lower"]), "ci_upper": by_term(result["ci_upper"]),
        "wald_z": by_term(result["wald_z"]), "wald_pvalues": by_term(result["wald_pvalues"]),
        **effects,
    }
    notes = []
    if result["profile"] and not result.get("profiles_converged", True):
        notes.append("Some profile penalised-likelihood fits did not converge; their tests or bounds are approximate.")
    if complete and result["profile"]:
        # Found on the test waves: with a coefficient held fixed, the penalised likelihood of completely
        # separated data can have several maxima, and the one the path reaches need not be the highest.
        notes.append("Under complete separation the penalised likelihood with a coefficient held fixed can have "
                     "several maxima; the tests and intervals follow the profile from the penalised estimate "
                     "and may be too narrow.")
    if notes:
        document["notes"] = notes
    return {"firth": document}


def _fit_ols(spec: ModelSpec, y: pd.Series, X: pd.DataFrame, clusters: int | None) -> dict:
    names, Xa, ya = list(X.columns), X.to_numpy(dtype=float), y.to_numpy(dtype=float)
    n, k = Xa.shape
    result = _ols(ya, Xa).fit()
    params = np.asarray(result.params, dtype=float)
    df_resid = n - k
    notes = []
    covariance, label_notes = _covariance(spec, lambda: np.asarray(result.cov_params()),
                                          lambda: robust.ols_hc3(Xa, ya, params))
    notes += label_notes
    inference = robust.inference(params, covariance, df_resid) if covariance is not None else None
    llf = float(result.llf)
    document = _estimated(spec, n, llf, params, inference, names, statistic="t") | {
        "df_resid": df_resid, "rsquared": float(result.rsquared), "rsquared_adj": float(result.rsquared_adj),
        "notes": notes}
    checks = {**diagnostics.information_criteria(llf, k, n),
              **diagnostics.classical_f(float(result.rsquared), n, k),
              "clustered_errors": _clustering_note(clusters, k)}
    if spec.covariance != "nonrobust" and covariance is not None:
        wald = _guarded(lambda: robust.wald_f(params, covariance, df_resid), notes)
        if wald is not None:
            checks |= {"wald_f_statistic": wald["statistic"], "wald_f_df_num": wald["df_num"],
                       "wald_f_df_denom": wald["df_denom"], "wald_f_pvalue": wald["pvalue"],
                       "wald_f_covariance": spec.covariance}
    checks |= _guarded(lambda: {"vif": diagnostics.vifs(Xa, names)}, notes) or {}
    checks |= _guarded(lambda: diagnostics.residual_normality(ya - Xa @ params), notes) or {}
    document["diagnostics"] = checks
    return document


def _covariance(spec: ModelSpec, classical, hc3) -> tuple[np.ndarray | None, list[str]]:
    """The covariance the model is declared with; None (and a sentence) when HC3 is undefined."""
    if spec.covariance == "nonrobust":
        return classical(), []
    try:
        return hc3(), []
    except NUMERICAL_FAULTS as error:
        return None, [f"HC3 standard errors are not defined on this wave: {_sentence(error)}."]


def _estimated(spec: ModelSpec, n: int, llf: float, params: np.ndarray, inference: dict | None, names: list[str],
               statistic: str) -> dict:
    by_term = lambda values: {name: float(v) for name, v in zip(names, values)}  # noqa: E731
    undefined = {name: None for name in names}
    return {
        "n": int(n), "converged": True, "covariance": spec.covariance, "statistic": statistic,
        "not_estimated": None, "llf": llf, "params": by_term(params),
        "bse": by_term(inference["bse"]) if inference else undefined,
        "tvalues": by_term(inference["tvalues"]) if inference else undefined,
        "pvalues": by_term(inference["pvalues"]) if inference else undefined,
    }


def _clustering_note(clusters: int | None, k: int) -> dict | None:
    """Why the errors are not clustered by village: with G clusters, the cluster-robust covariance
    is a sum of G outer products of score sums that themselves sum to zero (the model has a
    constant), so its rank is at most G - 1, below the k coefficients; and a wild cluster
    bootstrap with Rademacher weights has only 2^G distinct draws."""
    if clusters is None:
        return None
    return {"clusters": clusters, "coefficients": k, "cluster_robust_rank_at_most": clusters - 1,
            "wild_bootstrap_draws": 2 ** clusters}


def compare(paper: ModelSpec, paper_fit: dict, twin: ModelSpec, twin_fit: dict, firms: pd.DataFrame,
            twin_design: tuple[pd.Series, pd.DataFrame] | None = None) -> dict | None:
    """The paper's model beside its twin on the same firms: AIC and BIC of each and, when one is nested in
    the other (its design's columns lie in the span of the other's), the likelihood-ratio test (logit)
    or F test (OLS) of the restriction."""
    if paper_fit.get("llf") is None or twin_fit.get("llf") is None:
        return None
    _, X_paper = design(paper, firms)
    y, X_twin = design(twin, firms) if twin_design is None else twin_design
    n = len(y)
    criteria = {key: diagnostics.information_criteria(fit_["llf"], X.shape[1], n)
                for key, fit_, X in ((paper.key, paper_fit, X_paper), (twin.key, twin_fit, X_twin))}
    document = {"with": paper.key, "aic": {key: c["aic"] for key, c in criteria.items()},
                "bic": {key: c["bic"] for key, c in criteria.items()}, "nested": False}
    for restricted, general, X_r, X_g, fit_r, fit_g in (
            (paper.key, twin.key, X_paper, X_twin, paper_fit, twin_fit),
            (twin.key, paper.key, X_twin, X_paper, twin_fit, paper_fit)):
        if X_r.shape[1] < X_g.shape[1] and _spans(X_g.to_numpy(), X_r.to_numpy()):
            df = X_g.shape[1] - X_r.shape[1]
            document |= {"nested": True, "restricted": restricted, "general": general, "df": df}
            if paper.family == "logit":
                statistic = max(0.0, 2 * (fit_g["llf"] - fit_r["llf"]))
                document |= {"test": "likelihood ratio", "statistic": statistic,
                             "pvalue": float(stats.chi2.sf(statistic, df))}
            else:
                rss = {key: float(np.sum((y.to_numpy() - X.to_numpy() @ np.array(list(f["params"].values()))) ** 2))
                       for key, X, f in ((restricted, X_r, fit_r), (general, X_g, fit_g))}
                df_denom = n - X_g.shape[1]
                statistic = max(0.0, (rss[restricted] - rss[general]) / df) / (rss[general] / df_denom)
                document |= {"test": "F", "statistic": statistic, "df_denom": df_denom,
                             "pvalue": float(stats.f.sf(statistic, df, df_denom))}
            break
    return document


def _spans(general: np.ndarray, restricted: np.ndarray) -> bool:
    """Whether every column of `restricted` is a linear combination of `general`'s (a fitted, full-rank design).

    From the R factor of [general | restricted], built a block of firms at a time (a tall-skinny QR):
    the part of a restricted column's R column below general's rows is its residual on general's span,
    so no copy of a design is ever made (at ten million firms each is half a gigabyte). Nested when
    every restricted column lies within SPAN_TOLERANCE of that span, relative to its own length."""
    k = general.shape[1]
    factor = r_factor(general, restricted)
    lengths = np.linalg.norm(factor[:, k:], axis=0)  # R keeps the columns' lengths
    lengths[lengths == 0] = 1.0
    residual = np.linalg.norm(factor[k:, k:], axis=0) / lengths
    return bool(np.max(residual, initial=0.0) < SPAN_TOLERANCE)


SPAN_TOLERANCE = 1e-8


def _degenerate(spec: ModelSpec, y: pd.Series, X: pd.DataFrame) -> dict | None:
    if len(y) <= X.shape[1]:
        return {"reason": "too_few_firms", "firms": len(y), "coefficients": X.shape[1]}
    if not np.all(np.isfinite(y.to_numpy())) or not np.all(np.isfinite(X.to_numpy())):
        return {"reason": "not_finite"}
    # Minimum against maximum: one pass, where counting distinct values would hash a census.
    if y.min() == y.max():
        return {"reason": "no_variation", "outcome": spec.outcome, "value": float(y.iloc[0])}
    constant = [c for c in spec.predictors if X[c].min() == X[c].max()]
    if constant:
        return {"reason": "constant", "constant_terms": constant}
    return None


NOT_ESTIMATED = {
    "too_few_firms": lambda d: f"{d['firms']} firms are too few for {d['coefficients']} coefficients",
    "not_finite": lambda d: "some values of the model's variables are not finite numbers",
    "no_variation": lambda d: f"every firm has the same {d['outcome']}",
    "constant": lambda d: f"{', '.join(d['constant_terms'])} {'does' if len(d['constant_terms']) == 1 else 'do'} "
                          "not vary across firms",
    "collinear": lambda d: "the predictors are collinear" + (
        f" ({_relation_text(d['relation'])})" if d.get("relation") else f" ({', '.join(d['terms'])})")
        + f": the design has rank {d['rank']} for {d['columns']} coefficients"
        + (f" (condition number {d['condition_number']:.3g})" if d.get("condition_number") and d["rank"] == d["columns"]
           else ""),
    "separation": lambda d: f"{d['separation']} separation"
                            + (f" by {', '.join(d['terms'])}" if d.get("terms") else "")
                            + ", so the maximum-likelihood estimates would run to infinity",
    "not_converged": lambda d: f"the maximum-likelihood search did not converge in {d['iterations']} iterations",
    "numerical": lambda d: f"the fit failed: {d['detail']}",
}


def _relation_text(relation: dict) -> str:
    parts = []
    for term, coefficient in relation["equals"].items():
        magnitude = abs(coefficient)
        number = f"{magnitude:g}"
        text = number if term == "const" else (term if magnitude == 1 else f"{number} {term}")
        parts.append(("- " if coefficient < 0 else "+ ") + text)
    joined = " ".join(parts)
    return f"{relation['subject']} = " + (joined[2:] if joined.startswith("+ ") else "-" + joined[2:])


def _not_fitted(spec: ModelSpec, n: int, reason: dict) -> dict:
    empty = {term: None for term in spec.terms}
    sentence = NOT_ESTIMATED[reason["reason"]](reason)
    if reason["reason"] == "separation":
        sentence = f"Not estimated by maximum likelihood: {sentence}" + (
            "; the Firth penalised fit is reported instead." if reason.get("firth") else ".")
    else:
        sentence = f"Not estimated: {sentence}."
    document = {"n": n, "converged": False, "covariance": spec.covariance,
                "statistic": "z" if spec.family == "logit" else "t", "not_estimated": reason, "llf": None,
                "params": empty, "bse": empty, "tvalues": empty, "pvalues": empty, "notes": [sentence],
                "diagnostics": {}}
    if spec.family == "ols":
        document |= {"rsquared": None, "rsquared_adj": None}
    return document


def _guarded(compute, notes: list[str] | None = None):
    """A step after the estimates: its result, or None (and a sentence in `notes`) on a numerical fault."""
    try:
        return compute()
    except NUMERICAL_FAULTS as error:
        if notes is not None:
            notes.append(f"A diagnostic could not be computed: {_sentence(error)}.")
        return None


def _sentence(error: BaseException) -> str:
    text = str(error).strip().rstrip(".") or type(error).__name__
    return text[:1].lower() + text[1:]

