"""The models' exhibits as a journal prints them, from `results.json` alone: Table 5 (the paper's
two columns side by side, then the referee's), Table 6 (the two-part model of expenditure),
Table 7 (average marginal effects), Table 8 (Firth's penalised logits with profile inference), and
the diagnostics' sentences.

Every number goes through the one formatter (`workflows.analysis.number_format`): a fixed number
of decimals per row, thousands grouped, a true minus, never an exponent (a coefficient too small to
read is shown per billion VND, an expenditure in million VND, each unit named), the statistic in
parentheses under every coefficient, "–" where a model was not estimated and an empty cell where
a model does not have the term. Plain Python over the results: the report imports it.
"""

from workflows.analysis import model_specs, number_format
from workflows.analysis.model_specs import ModelSpec
from workflows.analysis.number_format import DASH, MINUS, fixed, p_value

FIRTH_KIND = "Firth"


def stars(p: float | None) -> str:
    """The paper's marks of significance: ** at 1 %, * at 5 %."""
    if p is None:
        return ""
    return "**" if p < 0.01 else "*" if p < 0.05 else ""


# --- which models, in which order -------------------------------------------------------------

def fitted_models(results: dict) -> list[dict]:
    """Each declared model beside its fit (`{"spec", "fit"}`): every paper model first, then, paper
    model by paper model, its robustness twins and any model fitted without the terms a wave could
    not estimate. A twin the results do not hold (an older document) is left out."""
    robustness = results.get("robustness") or {}
    models = [{"spec": spec, "fit": results["models"][spec.key]} for spec in model_specs.paper_models()]
    for spec in model_specs.paper_models():
        for twin in model_specs.twins_of(spec):
            if twin.key in robustness:
                models.append({"spec": twin, "fit": robustness[twin.key]})
        for key, fit in robustness.items():
            if fit.get("reduces") == spec.key:
                models.append({"spec": spec.without(tuple(fit["dropped"])), "fit": fit})
    return models


def _estimated(fit: dict) -> bool:
    return any(value is not None for value in (fit.get("params") or {}).values())


def _firth(fit: dict) -> dict | None:
    return (fit.get("diagnostics") or {}).get("firth")


def _kind(spec: ModelSpec, words: dict) -> str:
    if spec.dropped:
        return "without " + ", ".join(words["terms"].get(t, t) for t in spec.dropped)
    return spec.kind


def columns(models: list[dict], exhibit: str, words: dict) -> list[dict]:
    """The columns of an exhibit: each model shown there and, beside a logit that needed it, Firth's
    penalised fit. The paper's models come first, side by side."""
    out = []
    for model in models:
        spec, fit = model["spec"], model["fit"]
        if spec.exhibit != exhibit:
            continue
        group = "paper" if spec.twin_of is None else spec.twin_of
        scale, unit = model_specs.OUTCOME_UNITS.get(spec.outcome, (1.0, None)) if exhibit == "table5" else (1.0, None)
        covariance = "HC3" if spec.covariance == "HC3" else "classical"
        out.append({"key": spec.key, "spec": spec, "label": spec.label, "kind": _kind(spec, words),
                    "family": spec.family, "fit": fit, "group": group, "scale": scale, "unit": unit,
                    "estimated": _estimated(fit), "statistic": fit.get("statistic") or ("z" if spec.family == "logit" else "t"),
                    "errors": covariance, "firth": False})
        firth = _firth(fit)
        if firth:
            # Firth's errors are its own (profile or model-based), whatever covariance the model declares.
            kind = ", ".join(part for part in _kind(spec, words).split(", ") if part != spec.covariance) \
                if spec.twin_of else ""
            out.append({"key": spec.key + "_firth", "spec": spec, "label": spec.label,
                        "kind": kind + (", " if kind else "") + FIRTH_KIND,
                        "family": "logit", "fit": firth, "group": "paper_firth" if spec.twin_of is None else group,
                        "scale": scale, "unit": unit, "estimated": True,
                        "statistic": "r" if firth.get("inference", "").startswith("profile") else "z",
                        "errors": "profile" if firth.get("inference", "").startswith("profile") else "model-based",
                        "firth": True})
    # The paper's own columns side by side first, then the referee's, model by model.
    paper = [c for c in out if c["group"] == "paper"]
    rest = [c for c in out if c["group"] != "paper"]
    for column in rest:
        if column["group"] == "paper_firth":
            column["group"] = column["spec"].key
    return paper + rest


def column_groups(cols: list[dict], words: dict) -> list[dict]:
    """The header's first row: the columns grouped as "As in the paper" and, per paper model, "For a referee"."""
    groups = []
    for column in cols:
        title = "As in the paper" if column["group"] == "paper" else f"For a referee: {_paper_label(column['group'])}"
        if groups and groups[-1]["title"] == title:
            groups[-1]["span"] += 1
        else:
            groups.append({"title": title, "span": 1})
    return groups


def _paper_label(key: str) -> str:
    return next((s.label for s in model_specs.paper_models() if s.key == key), key)


def head_line(column: dict) -> str:
    """The line under a column's label: the estimator and, for the referee's columns, how it differs."""
    if column["firth"]:
        base = "Firth logit"
        kind = column["kind"].removesuffix(FIRTH_KIND).rstrip(", ")
        return f"{base}, {kind}" if kind else base
    family = model_specs.FAMILY_NAMES[column["family"]]
    kind = "" if column["group"] == "paper" else column["kind"]
    unit = f", {column['unit']}" if column["unit"] else ""
    return f"{family}{unit}" + (f", {kind}" if kind else "")


# --- coefficient tables ----------------------------------------------------------------------

def _display(term: str) -> tuple[str, float]:
    """The row a term is shown on and the factor its coefficient is multiplied by there."""
    return model_specs.SHOWN_PER.get(term, (term, 1.0))


def table_rows(cols: list[dict]) -> list[str]:
    """The rows: the constant and the paper's variables in the order its models name them, each
    followed by the recodings the robustness models use, then any other term."""
    present = []
    for column in cols:
        for term in column["spec"].terms:
            if term in (column["fit"].get("params") or {}):
                present.append(_display(term)[0])
    present = list(dict.fromkeys(present))
    paper = [_display(t)[0] for spec in model_specs.paper_models() for t in spec.terms]
    rows = []
    for term in dict.fromkeys(paper):
        rows += [term, *(t for t in present if model_specs.RECODES.get(t) == term
                         or model_specs.RECODES.get(t) == _source(term))]
    return [t for t in dict.fromkeys(rows + present) if t in present]


def _source(row: str) -> str:
    """The data's own term a display row stands for (expt_bn_vnd for expt_vnd)."""
    return next((term for term, (shown, _) in model_specs.SHOWN_PER.items() if shown == row), row)


def _cell(column: dict, row: str) -> tuple[str | None, float | None, float | None, float | None]:
    """(the term, its coefficient on the row's scale, its statistic, its p-value) in a column; the
    term is None when the column's model does not have it."""
    fit = column["fit"]
    params = fit.get("params") or {}
    for term in params:
        shown, factor = _display(term)
        if shown == row:
            value = params[term]
            scaled = None if value is None else value * factor / column["scale"]
            return term, scaled, (fit.get("tvalues") or {}).get(term), (fit.get("pvalues") or {}).get(term)
    return None, None, None, None


def coefficient_table(cols: list[dict], words: dict, footer: bool = True) -> dict:
    """The formatted table: per term a coefficient row (with stars) and a statistic row beneath, the
    decimals fixed per row; then the fit's rows."""
    rows = []
    for row in table_rows(cols):
        cells = [_cell(column, row) for column in cols]
        decimals = number_format.decimals_for([value for _, value, _, _ in cells])
        coefficients, statistics = [], []
        for column, (term, value, statistic, p) in zip(cols, cells):
            if term is None:
                coefficients.append("")
                statistics.append("")
            elif value is None:
                coefficients.append(DASH)
                statistics.append("")
            else:
                coefficients.append(fixed(value, decimals) + stars(p))
                statistics.append(f"({fixed(statistic, 2)})")
        rows.append({"term": row, "label": _row_label(row, words), "coefficients": coefficients,
                     "statistics": statistics})
    return {"groups": column_groups(cols, words), "columns": [c | {"head": head_line(c)} for c in cols],
            "rows": rows, "footer": fit_rows(cols) if footer else []}


def _row_label(row: str, words: dict) -> str:
    return words["terms"].get(row, row)


def fit_rows(cols: list[dict]) -> list[dict]:
    """The rows under the coefficients, each in the columns it applies to ("–" where that model was not
    estimated, empty where the row does not apply to it)."""
    def ml_logit(column):
        return column["family"] == "logit" and not column["firth"]

    def ols(column):
        return column["family"] == "ols"

    def diagnostics(column):
        return column["fit"].get("diagnostics") or {}

    rows = [
        ("Log likelihood", ml_logit, lambda c: fixed(c["fit"].get("llf"), 3)),
        ("McFadden's pseudo-R²", ml_logit, lambda c: fixed(c["fit"].get("prsquared"), 3)),
        ("R²", ols, lambda c: fixed(c["fit"].get("rsquared"), 3)),
        ("Adjusted R²", ols, lambda c: fixed(c["fit"].get("rsquared_adj"), 3)),
        ("AIC", lambda c: not c["firth"], lambda c: fixed(diagnostics(c).get("aic"), 1)),
    ]
    out = []
    for label, applies, compute in rows:
        cells = [(compute(c) if c["estimated"] else DASH) if applies(c) else "" for c in cols]
        if any(cell not in ("", DASH) for cell in cells):
            out.append({"label": label, "cells": cells})
    out.append({"label": "Firms", "cells": [number_format.count(c["fit"].get("n")) for c in cols]})
    out.append({"label": "In parentheses", "cells": [_statistic_label(c) if c["estimated"] else "" for c in cols]})
    return out


def _statistic_label(column: dict) -> str:
    if column["firth"]:
        return "r, profile" if column["statistic"] == "r" else "z, model-based"
    return f"{column['statistic']}, {column['errors']}"


# --- marginal effects --------------------------------------------------------------------------

def marginal_effects_table(models: list[dict], words: dict) -> dict | None:
    """Average marginal effects on the probability of the paper logit's outcome, in percentage points
    per unit of each predictor (EXPT per billion VND), with delta-method errors beneath: for the
    paper's logit, its twins and their Firth fits, wherever they were estimated."""
    paper = next((m for m in models if m["spec"].twin_of is None and m["spec"].family == "logit"), None)
    if paper is None:
        return None
    cols = [c for c in columns(models, "table5", words)
            if c["family"] == "logit" and c["spec"].outcome == paper["spec"].outcome
            and (c["fit"] if c["firth"] else (c["fit"].get("diagnostics") or {})).get("average_marginal_effects")]
    if not cols:
        return None
    rows = []
    for row in table_rows(cols):
        if row == "const":
            continue
        cells = []
        for column in cols:
            source = column["fit"] if column["firth"] else column["fit"]["diagnostics"]
            term = next((t for t in source["average_marginal_effects"] if _display(t)[0] == row), None)
            if term is None:
                cells.append(None)
                continue
            factor = _display(term)[1] * 100  # percentage points per displayed unit
            cells.append((source["average_marginal_effects"][term] * factor,
                          source["average_marginal_effects_se"][term] * factor,
                          source.get("average_marginal_effects_pvalues", {}).get(term)))
        decimals = number_format.decimals_for([c[0] for c in cells if c])
        rows.append({"label": _row_label(row, words), "unit": words.get("units", {}).get(row, ""),
                     "effects": ["" if c is None else fixed(c[0], decimals) + stars(c[2]) for c in cells],
                     "errors": ["" if c is None else f"({fixed(c[1], decimals)})" for c in cells]})
    return {"columns": [c | {"head": head_line(c)} for c in cols], "rows": rows,
            "subject": paper["spec"].subject or paper["spec"].outcome}


# --- Firth's penalised fits --------------------------------------------------------------------

def firth_table(models: list[dict], words: dict) -> list[dict]:
    """Per Firth fit: each term's coefficient, model-based standard error, 95 % profile interval,
    penalised likelihood-ratio chi², its p-value, and the Wald p-value for comparison."""
    blocks = []
    for model in models:
        firth = _firth(model["fit"])
        if not firth:
            continue
        spec = model["spec"]
        rows = []
        for term in spec.terms:
            shown, factor = _display(term)
            values = [firth["params"].get(term), firth["bse"].get(term), firth["ci_lower"].get(term),
                      firth["ci_upper"].get(term)]
            scaled = [None if v is None else v * factor for v in values]
            decimals = number_format.decimals_for(scaled)
            lr = firth.get("lr_statistics", {}).get(term)
            rows.append({"label": _row_label(shown, words),
                         "coefficient": fixed(scaled[0], decimals) + stars(firth["pvalues"].get(term)),
                         "error": fixed(scaled[1], decimals),
                         "interval": f"{fixed(scaled[2], decimals)} to {fixed(scaled[3], decimals)}",
                         "chi2": fixed(lr, 2), "p": p_value(firth["pvalues"].get(term)),
                         "wald_p": p_value(firth.get("wald_pvalues", {}).get(term)),
                         "moved": stars(firth["pvalues"].get(term)) != stars(firth.get("wald_pvalues", {}).get(term))})
        title = spec.label + (" (as in the paper)" if spec.twin_of is None else f" ({_kind(spec, words)})")
        blocks.append({"title": title, "rows": rows, "profile": firth.get("inference", "").startswith("profile"),
                       "profile_intervals": firth.get("intervals", "profile") == "profile",
                       "penalised_llf": fixed(firth.get("penalised_llf"), 3), "n": firth.get("n"),
                       "notes": firth.get("notes", [])})
    return blocks


# --- sentences -----------------------------------------------------------------------------------

def terms_text(terms: list[str], words: dict) -> str:
    labels = [words["terms"].get(t, t) for t in terms]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def relation_text(relation: dict, words: dict) -> str:
    """EMP = 3 − CLUSTER: the collinear relation, in the terms' labels and the predictors' units."""
    parts = []
    for term, coefficient in relation["equals"].items():
        magnitude = abs(coefficient)
        number = f"{magnitude:,.6g}"
        label = words["terms"].get(term, term)
        text = number if term == "const" else (label if magnitude == 1 else f"{number} {label}")
        parts.append((MINUS if coefficient < 0 else "+", text))
    joined = " ".join(f"{sign} {text}" for sign, text in parts)
    if parts and parts[0][0] == "+":
        joined = joined[2:]
    elif parts:
        joined = MINUS + joined[2:]
    return f"{words['terms'].get(relation['subject'], relation['subject'])} = {joined}"


def _group_text(group: dict, spec: ModelSpec, words: dict) -> str:
    """"all 20 firms of Vạn Phúc do not adopt", "all 5 firms with LOAN = 1 spend"."""
    values = group["values"]
    cluster = _cluster_of(values)
    who = f"of {words['clusters'][cluster]}" if cluster else "with " + " and ".join(
        f"{words['terms'].get(term, term)} = {fixed(value, 0) if float(value).is_integer() else fixed(value, 2)}"
        for term, value in values.items())
    one, zero = spec.outcome_words if any(spec.outcome_words) else (f"have {spec.label} = 1", f"have {spec.label} = 0")
    does = one if group["outcome"] == 1 else zero
    return f"all {number_format.count(group['firms'])} firms {who} {does}"


def _cluster_of(values: dict) -> str | None:
    """The cluster a combination of cluster terms stands for, when it stands for one."""
    if set(values) == {"cluster_code"}:
        return model_specs.CLUSTER_CODES.get(values["cluster_code"])
    dummies = model_specs.CLUSTER_DUMMIES
    if values and set(values) <= set(dummies) and all(v in (0, 1) for v in values.values()):
        ones = [dummies[t] for t, v in values.items() if v == 1]
        if len(ones) == 1:
            return ones[0]  # a firm with one cluster's dummy at 1 is of that cluster
        if not ones and set(values) == set(dummies):
            return model_specs.REFERENCE_CLUSTER
    return None


def separation_text(spec: ModelSpec, fit: dict, words: dict) -> str:
    d = fit.get("diagnostics") or {}
    by = d.get("separated_by") or {}
    kind = d.get("separation")
    n = fit.get("n")
    one, zero = spec.outcome_words
    sides = f"the firms that {one} from those that {zero}" if one and zero else \
        f"the firms with {spec.label} = 1 from those with {spec.label} = 0"
    if by.get("terms"):
        who = terms_text(by["terms"], words)
        verb = "separates" if len(by["terms"]) == 1 else "together separate"
        text = f"{kind} separation: {who} {verb} {sides}"
    else:
        text = f"{kind} separation: some combination of the predictors separates {sides}"
    if kind == "complete":
        text += ", every firm predicted perfectly"
    else:
        text += f", {number_format.count(by.get('perfectly_predicted', 0))} of {number_format.count(n)} firms predicted perfectly"
    if by.get("groups"):
        text += " (" + "; ".join(_group_text(g, spec, words) for g in by["groups"]) + ")"
    alone = by.get("alone") or {}
    if isinstance(alone, list):  # results written before each predictor's own kind was kept
        alone = {term: kind for term in alone}
    alone = {t: k for t, k in alone.items() if by.get("terms") != [t]}
    for how in ("complete", "quasi-complete"):
        named = [t for t, k in alone.items() if k == how]
        if named:
            verb = "separates" if len(named) == 1 else "separate"
            text += f"; {terms_text(named, words)} alone {verb} them {how}ly" if how == "complete" else \
                f"; {terms_text(named, words)} alone {verb} them quasi-completely"
    return text


def not_estimated_text(spec: ModelSpec, fit: dict, words: dict) -> str:
    """Why a model was not estimated, in the report's words."""
    reason = fit.get("not_estimated") or {}
    code = reason.get("reason")
    if code == "constant":
        terms = reason["constant_terms"]
        return f"{terms_text(terms, words)} {'does' if len(terms) == 1 else 'do'} not vary across the firms"
    if code == "collinear":
        if reason.get("relation"):
            what = f"the predictors are collinear, {relation_text(reason['relation'], words)}"
        else:
            what = f"the predictors {terms_text(reason.get('terms') or [], words)} are collinear"
        if reason.get("rank", 0) < reason.get("columns", 0):
            return f"{what}: the design has rank {reason['rank']} for {reason['columns']} coefficients"
        return f"{what}: the design's condition number is {fixed(reason.get('condition_number'), 0)}"
    if code == "separation":
        return separation_text(spec, fit, words) + ", so maximum-likelihood estimates do not exist"
    if code == "no_variation":
        return f"every firm has {spec.label} = {fixed(reason.get('value'), 0)}"
    if code == "too_few_firms":
        return f"{reason['firms']} firms are too few for {reason['coefficients']} coefficients"
    if code == "not_converged":
        return f"the maximum-likelihood search did not converge in {reason['iterations']} iterations"
    if code in ("numerical", "not_finite"):
        return (fit.get("notes") or ["the fit failed"])[0].removeprefix("Not estimated: ").rstrip(".")
    return "it could not be estimated on this wave"


def _column_name(spec: ModelSpec, words: dict) -> str:
    return f"{spec.label} ({'as in the paper' if spec.twin_of is None else _kind(spec, words)})"


def diagnostics_lines(models: list[dict], results: dict, words: dict) -> list[str]:
    """The referee's checks, model by model in Table 5's order, each a sentence or two: what was
    and was not estimated and why, then what each estimated model's fit says."""
    lines = []
    paper_keys = {m["spec"].key for m in models if m["spec"].twin_of is None}
    for model in models:
        spec, fit = model["spec"], model["fit"]
        d = fit.get("diagnostics") or {}
        name = _column_name(spec, words)
        if not _estimated(fit):
            text = f"{name}, {spec.family == 'logit' and 'logit' or 'OLS'}: not estimated, since {not_estimated_text(spec, fit, words)}."
            firth = _firth(fit)
            if firth:
                text += " Firth's penalised fit gives finite estimates in its place."
            elif d.get("firth_failure"):
                text += f" {d['firth_failure']}."
            lines.append(text)
            continue
        if spec.family == "logit":
            lines.append(_logit_line(spec, fit, results, words, spec.key in paper_keys))
        else:
            lines.append(_ols_line(spec, fit, words, spec.key in paper_keys))
        comparison = fit.get("comparison")
        if comparison:
            lines.append(_comparison_line(spec, comparison, words))
        for note in fit.get("notes") or []:
            lines.append(f"{name}: {note}")
    return lines


def _events_sentence(spec: ModelSpec, fit: dict, results: dict) -> str:
    d = fit["diagnostics"]
    events = ""
    if spec.events and spec.subset is None:
        count = ((results.get("characteristics") or {}).get("total") or {}).get(spec.events)
        if count is not None:
            events = f"{number_format.count(count)} {spec.events} among "
    text = (f"{events}{number_format.count(fit['n'])} firms give {fixed(d['events_per_variable'], 1)} events per predictor "
            "(the fewer of the two outcomes, per predictor)")
    if d["events_per_variable"] < 10:
        text += (": below the rule of thumb of about ten (Peduzzi et al. 1996), under which maximum-likelihood "
                 "estimates tend to be biased away from zero and Wald tests to mislead")
        text += ", so Firth's penalised fit is shown beside it" if d.get("firth") else ""
        text += f"; {d['firth_failure']}" if d.get("firth_failure") else ""
    return text + "."


def _logit_line(spec: ModelSpec, fit: dict, results: dict, words: dict, paper: bool) -> str:
    d = fit["diagnostics"]
    parts = [f"{_column_name(spec, words)}, logit: {_events_sentence(spec, fit, results)}"]
    if d.get("separation") == "none":
        parts.append("The linear program finds no complete or quasi-complete separation.")
    parts.append(f"McFadden's pseudo-R² is {fixed(d.get('mcfadden_r2'), 3)}; the likelihood-ratio test against the "
                 f"model without predictors gives χ²({d.get('lr_df')}) = {fixed(d.get('lr_statistic'), 2)}, "
                 f"p {_p_phrase(d.get('lr_pvalue'))}; AIC {fixed(d.get('aic'), 1)}, BIC {fixed(d.get('bic'), 1)}.")
    table = d.get("classification")
    if table:
        correct = table["true_positives"] + table["true_negatives"]
        parts.append(
            f"At a fitted probability of {fixed(table['cutoff'], 1)} it classifies {correct} of {number_format.count(fit['n'])} "
            f"firms correctly ({fixed(100 * table['correctly_classified'], 1)}%, against "
            f"{fixed(100 * table['baseline'], 1)}% for the commoner outcome alone): "
            f"{table['true_positives']} of {table['true_positives'] + table['false_negatives']} with {spec.label} = 1 "
            f"and {table['true_negatives']} of {table['true_negatives'] + table['false_positives']} with {spec.label} = 0.")
    if d.get("auc") is not None:
        text = f"The area under the ROC curve is {fixed(d['auc'], 3)}."
        hl = d.get("hosmer_lemeshow") or {}
        if hl.get("statistic") is not None and hl.get("pvalue") is not None:
            text += (f" Hosmer and Lemeshow's test over {hl['groups']} groups of fitted risk gives "
                     f"χ²({hl['df']}) = {fixed(hl['statistic'], 2)}, p {_p_phrase(hl['pvalue'])}")
            if hl.get("smallest_expected", 0) < 5:
                smallest = hl["smallest_expected"]
                small = "below 0.01" if smallest < 0.01 else f"as small as {fixed(smallest, 2)}"
                text += (f"; with expected counts {small} in a group its χ² approximation is poor and the test "
                         "has little power")
            text += "."
        parts.append(text)
    if d.get("condition_number") and d["condition_number"] > 30:
        parts.append(f"The condition number of the design is {fixed(d['condition_number'], 0)}, above 30: "
                     "collinearity is moderate to strong (Belsley, Kuh and Welsch 1980).")
    if spec.covariance == "HC3":
        parts.append("Its z statistics use HC3 errors, the sandwich with each firm's squared residual divided by "
                     "(1 − leverage)², leverage from the weighted hat matrix; they guard against a misspecified "
                     "variance, at a loss of power in small samples.")
    return " ".join(parts)


def _ols_line(spec: ModelSpec, fit: dict, words: dict, paper: bool) -> str:
    d = fit["diagnostics"]
    parts = [f"{_column_name(spec, words)}, OLS on {number_format.count(fit['n'])} firms: AIC {fixed(d.get('aic'), 1)}, "
             f"BIC {fixed(d.get('bic'), 1)}; the classical F test of all slopes gives F({d.get('f_df_num')}, "
             f"{d.get('f_df_denom')}) = {fixed(d.get('f_statistic'), 2)}, p {_p_phrase(d.get('f_pvalue'))}."]
    if d.get("wald_f_statistic") is not None:
        parts.append(f"The same test with HC3 errors (a Wald test) gives F({d['wald_f_df_num']}, "
                     f"{int(d['wald_f_df_denom'])}) = {fixed(d['wald_f_statistic'], 2)}, "
                     f"p {_p_phrase(d['wald_f_pvalue'])}; its t statistics use HC3 errors on {fit['df_resid']} "
                     "degrees of freedom, which guard against heteroskedasticity, not against non-normal residuals.")
    vif = d.get("vif") or {}
    if vif:
        term, largest = max(vif.items(), key=lambda item: item[1])
        text = f"The largest variance inflation factor is {fixed(largest, 2)} ({words['terms'].get(term, term)})"
        text += ", a sign of strong collinearity." if largest > 10 else "."
        parts.append(text)
    if d.get("condition_number") and d["condition_number"] > 30:
        parts.append(f"The condition number of the design is {fixed(d['condition_number'], 0)}, above 30: "
                     "collinearity is moderate to strong (Belsley, Kuh and Welsch 1980).")
    if "jarque_bera_pvalue" in d:
        if d["residuals_far_from_normal"]:
            parts.append(f"The residuals are far from normal (Jarque-Bera p {_p_phrase(d['jarque_bera_pvalue'])}): with "
                         f"{number_format.count(fit['n'])} firms the t statistics' reference distribution is an approximation.")
        else:
            parts.append(f"The residuals do not depart significantly from normality (Jarque-Bera p "
                         f"{_p_phrase(d['jarque_bera_pvalue'])}).")
    return " ".join(parts)


def _comparison_line(spec: ModelSpec, comparison: dict, words: dict) -> str:
    paper = comparison["with"]
    paper_label = f"{_paper_label(paper)} (as in the paper)"
    this = _column_name(spec, words)
    text = (f"{paper_label} against {this}: AIC {fixed(comparison['aic'][paper], 1)} against "
            f"{fixed(comparison['aic'][spec.key], 1)}, BIC {fixed(comparison['bic'][paper], 1)} against "
            f"{fixed(comparison['bic'][spec.key], 1)} (lower is better)")
    if comparison.get("nested"):
        restricted = "the paper's model" if comparison["restricted"] == paper else "this model"
        if comparison["test"] == "F":
            test = (f"the F test gives F({comparison['df']}, {comparison['df_denom']}) = "
                    f"{fixed(comparison['statistic'], 2)}")
        else:
            test = f"the likelihood-ratio test gives χ²({comparison['df']}) = {fixed(comparison['statistic'], 2)}"
        verdict = "rejects" if comparison["pvalue"] < 0.05 else "does not reject"
        restrictions = f"{comparison['df']} restriction{'' if comparison['df'] == 1 else 's'}"
        text += (f"; {restricted} is nested in the other ({restrictions}), and {test}, "
                 f"p {_p_phrase(comparison['pvalue'])}, which {verdict} the restriction at the 5% level.")
    else:
        text += "; neither model is nested in the other, so no test compares them."
    return text


def _p_phrase(p: float | None) -> str:
    text = p_value(p)
    return text if text.startswith("<") or text == DASH else f"= {text}"


def clustering_sentence(models: list[dict]) -> str | None:
    """Why the errors are not clustered by village, from the paper models' own counts."""
    notes = [(m["fit"].get("diagnostics") or {}).get("clustered_errors") for m in models if m["spec"].twin_of is None]
    notes = [n for n in notes if n]
    if not notes:
        return None
    clusters = notes[0]["clusters"]
    smallest = min(n["coefficients"] for n in notes)
    village = "village" if clusters == 1 else "villages"
    return (f"Standard errors are not clustered by village: with {clusters} {village}, the cluster-robust covariance "
            f"is a sum of {clusters} outer products of score sums that add up to zero, so its rank is at most "
            f"{notes[0]['cluster_robust_rank_at_most']}, below the {smallest} or more coefficients of each model, and it is "
            f"singular; a wild cluster bootstrap with Rademacher weights would have only 2{_superscript(clusters)} = "
            f"{notes[0]['wild_bootstrap_draws']} distinct draws.")


def _superscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def two_part_sentence(models: list[dict], results: dict, words: dict) -> str | None:
    parts = [m for m in models if m["spec"].exhibit == "two_part"]
    if not parts:
        return None
    first = next((m for m in parts if m["spec"].subset is None), None)
    second = next((m for m in parts if m["spec"].subset is not None), None)
    n = results.get("n_firms")
    spenders = second["fit"].get("n") if second else None
    text = "Most firms spend nothing on pollution control" if spenders is not None and n and spenders < n / 2 \
        else "Many firms spend nothing on pollution control"
    if spenders is not None and n:
        text += f" ({number_format.count(n - spenders)} of {number_format.count(n)})"
    text += (", which least squares on the amount ignores. Table 6 separates whether a firm spends (part 1, logit, "
             "z in parentheses) from how much it spends if it does (part 2, least squares on the logarithm of the "
             "amount among the firms that spend, HC3 errors, t in parentheses); a coefficient of part 2 is the "
             "approximate proportional change in spending per unit.")
    if first and not _estimated(first["fit"]):
        reason = first["fit"].get("not_estimated") or {}
        if reason.get("reason") == "separation":
            by = f" by {terms_text(reason['terms'], words)}" if reason.get("terms") else ""
            text += (f" Part 1 is not estimated by maximum likelihood ({reason['separation']} separation{by}); "
                     "Firth's penalised fit stands beside it.")
        else:
            text += f" Part 1 is not estimated: {not_estimated_text(first['spec'], first['fit'], words)}."
    return text


def model_exhibits(results: dict, words: dict) -> dict:
    """Everything the models' pages print, formatted."""
    models = fitted_models(results)
    table5 = columns(models, "table5", words)
    two_part = columns(models, "two_part", words)
    return {
        "fitted_models": models,
        "table5": coefficient_table(table5, words),
        "two_part": coefficient_table(two_part, words) if two_part else None,
        "marginal_effects": marginal_effects_table(models, words),
        "firth_blocks": firth_table(models, words),
        "diagnostics_lines": diagnostics_lines(models, results, words),
        "clustering_sentence": clustering_sentence(models),
        "two_part_sentence": two_part_sentence(models, results, words),
    }
