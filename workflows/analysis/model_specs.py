"""The regression models, each declared once: what it fits and how the report shows it.

The paper's models are its Table 5 exactly as the input contract defines them: plain maximum
likelihood (logit) and least squares (OLS) with the classical covariance. Each robustness model
is the twin of one of them, answering a referee beside it: the clusters as dummies instead of
one ordinal code, exports in billions of VND, HC3 standard errors (Table 5); and for the
expenditure, which most firms do not have, a two-part model: whether a firm spends (logit) and,
among the firms that spend, how much (least squares on the logarithm; Table 6).

Everything else follows from `SPECS`: the firm indices read, the fits stored per wave, the
section of `results.json` (`models` or `robustness`), Table 5's columns and rows, the
diagnostics and the abstract. Adding a model is one entry in `SPECS` (and a label in the words
files for a predictor the report has not named before).

This module imports only numpy: the report's sentences read it, and they must neither load the
fitting libraries nor go stale when only the fitting code changes.
"""

from dataclasses import dataclass, replace

import numpy as np

FAMILY_NAMES = {"logit": "logit", "ols": "OLS"}
EXHIBITS = ("table5", "two_part")
COVARIANCES = ("nonrobust", "HC3")


@dataclass(frozen=True)
class ModelSpec:
    key: str
    family: str  # "logit" or "ols"
    outcome: str
    predictors: tuple[str, ...]
    title: str
    covariance: str = "nonrobust"  # or "HC3"
    # Table 5's column head (the paper's name for the outcome) and the line beneath it.
    label: str = ""
    kind: str = "as in the paper"
    # A robustness model names the paper's model it re-estimates: it stands beside that one in
    # Table 5 and is published under `robustness`, the paper's own models under `models`.
    twin_of: str | None = None
    # The abstract states the model's findings, in the sentences of its family.
    in_abstract: bool = False
    # The diagnostics' words: what the model explains ("adoption"), and for a logit the count
    # in the characteristics of the firms whose outcome is 1 ("adopters"), if there is one.
    subject: str = ""
    events: str | None = None
    # For a logit, what the firms whose outcome is 1 and 0 do, in the diagnostics' sentences ("all 20 firms ... do not adopt").
    outcome_words: tuple[str, str] = ("", "")
    # The firms the model is fitted on: all (None), or those where a derived flag (`DERIVED`) is true.
    subset: str | None = None
    # Where the report shows it: a column of Table 5 ("table5") or of the two-part model's table ("two_part").
    exhibit: str = "table5"
    # For a model fitted beside a paper model that a wave cannot estimate: the terms left out.
    dropped: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        return ("const", *self.predictors)

    @property
    def name(self) -> str:
        """The model as the diagnostics call it: "adoption logit", "expenditure OLS"."""
        return f"{self.subject or self.outcome} {FAMILY_NAMES[self.family]}"

    @property
    def section(self) -> str:
        """Where `results.json` publishes the fit."""
        return "models" if self.twin_of is None else "robustness"

    def twin(self, key: str, predictors: tuple[str, ...], title: str, kind: str, covariance: str) -> "ModelSpec":
        """This model estimated another way for a referee: same outcome and label, beside it, not in the abstract."""
        return replace(self, key=key, predictors=predictors, title=title, kind=kind, covariance=covariance,
                       twin_of=self.key, in_abstract=False)

    def without(self, dropped: tuple[str, ...]) -> "ModelSpec":
        """This model without the terms a wave cannot estimate (a cluster term on a one-cluster wave),
        beside the paper's model, which stays not estimated."""
        return replace(self, key=f"{self.key}_without_{'_'.join(dropped)}",
                       predictors=tuple(p for p in self.predictors if p not in dropped),
                       title=f"{self.title}, without {', '.join(dropped)}", kind="without " + ", ".join(dropped),
                       twin_of=self.key, in_abstract=False, dropped=dropped)


# Predictors, outcomes and subsets computed from one column of the firm indices, by name: (that column, how).
DERIVED = {
    "expt_bn_vnd": ("expt_vnd", lambda exports: exports / 1e9),
    "dong_ky": ("cluster", lambda cluster: (cluster == "dong_ky").astype(float)),
    "van_phuc": ("cluster", lambda cluster: (cluster == "van_phuc").astype(float)),
    # The two-part model of expenditure: whether a firm spends, and the logarithm of what it spends.
    "spends": ("envexp_vnd", lambda expenditure: (expenditure > 0).astype(float)),
    "spenders": ("envexp_vnd", lambda expenditure: expenditure > 0),
    "log_envexp": ("envexp_vnd", lambda expenditure: np.log(expenditure.where(expenditure > 0))),
}
# The paper's term each derived predictor stands in for: Table 5 shows it on the row after that term.
RECODES = {"expt_bn_vnd": "expt_vnd", "dong_ky": "cluster_code", "van_phuc": "cluster_code"}
# The cluster terms: on a wave of one cluster they cannot vary, and a model without them is fitted
# beside each paper model. The dummies name the cluster whose firms they mark; the firms of
# `REFERENCE_CLUSTER` have every dummy 0, and `cluster_code` numbers the clusters 1, 2, 3.
CLUSTER_DUMMIES = {"dong_ky": "dong_ky", "van_phuc": "van_phuc"}
REFERENCE_CLUSTER = "bat_trang"
CLUSTER_CODES = {1.0: "bat_trang", 2.0: "dong_ky", 3.0: "van_phuc"}
# Units the report prints a term's coefficient and marginal effect in, where the data's own unit
# would need an exponent: (the row it is shown on, the factor its coefficient is multiplied by).
# EXPT in VND is shown per billion VND, on the row of the recoded EXPT (bn VND).
SHOWN_PER = {"expt_vnd": ("expt_bn_vnd", 1e9)}
# Outcomes whose coefficients the report divides by a factor, naming the unit: ENVEXP in million VND.
OUTCOME_UNITS = {"envexp_vnd": (1e6, "million VND")}

_ADOPTION = ModelSpec(
    "envtech_logit", "logit", "envtech", ("empl", "years", "expt_vnd", "cluster_code", "emp"),
    "Adoption of clean technology (ENVTECH), logit",
    label="ENVTECH", in_abstract=True, subject="adoption", events="adopters", outcome_words=("adopt", "do not adopt"))
_EXPENDITURE = ModelSpec(
    "envexp_ols", "ols", "envexp_vnd", ("empl", "expt_vnd", "cluster_code", "loan", "cp"),
    "Pollution-control expenditure (ENVEXP, VND), OLS",
    label="ENVEXP", in_abstract=True, subject="expenditure")

# The paper's models first: the abstract states their findings in this order.
SPECS: tuple[ModelSpec, ...] = (
    _ADOPTION,
    _EXPENDITURE,
    _ADOPTION.twin("envtech_logit_robust", ("empl", "years", "expt_bn_vnd", "dong_ky", "van_phuc", "emp"),
                   "ENVTECH, logit with cluster dummies, exports in bn VND, HC3 errors",
                   kind="dummies, HC3", covariance="HC3"),
    _EXPENDITURE.twin("envexp_ols_robust", ("empl", "expt_bn_vnd", "dong_ky", "van_phuc", "loan", "cp"),
                      "ENVEXP, OLS with cluster dummies, exports in bn VND, HC3 errors",
                      kind="dummies, HC3", covariance="HC3"),
    # Most firms spend nothing: whether a firm spends (part 1), and how much among those that do (part 2).
    replace(_EXPENDITURE.twin("envexp_any_logit", _EXPENDITURE.predictors,
                              "Any pollution-control expenditure (ENVEXP > 0), logit: part 1 of the two-part model",
                              kind="part 1: any spending", covariance="nonrobust"),
            family="logit", outcome="spends", label="ENVEXP > 0", exhibit="two_part", subject="spending",
            events=None, outcome_words=("spend", "spend nothing")),
    replace(_EXPENDITURE.twin("envexp_amount_ols", _EXPENDITURE.predictors,
                              "ln ENVEXP among the firms that spend, OLS, HC3 errors: part 2 of the two-part model",
                              kind="part 2: amount if any", covariance="HC3"),
            outcome="log_envexp", label="ln ENVEXP", subset="spenders", exhibit="two_part",
            subject="expenditure among spenders"),
)


# The functions below read SPECS when called, so that a test can declare a model of its own.

def paper_models() -> tuple[ModelSpec, ...]:
    return tuple(spec for spec in SPECS if spec.twin_of is None)


def robustness_models() -> tuple[ModelSpec, ...]:
    return tuple(spec for spec in SPECS if spec.twin_of is not None)


def twins_of(spec: ModelSpec) -> tuple[ModelSpec, ...]:
    return tuple(twin for twin in SPECS if twin.twin_of == spec.key)


def columns_used() -> tuple[str, ...]:
    """The firm indices the models read: outcomes, predictors, subsets, and the columns derived ones come from."""
    return tuple(dict.fromkeys(
        DERIVED[name][0] if name in DERIVED else name
        for spec in SPECS
        for name in (spec.outcome, *spec.predictors, *([spec.subset] if spec.subset else []))
    ))


def declaration_problems(specs: tuple[ModelSpec, ...]) -> list[str]:
    """What would make the declarations contradict themselves; a twin of an unknown model would vanish from Table 5."""
    keys = [spec.key for spec in specs]
    paper = {spec.key for spec in specs if spec.twin_of is None}
    problems = [f"{key} is declared twice" for key in sorted({k for k in keys if keys.count(k) > 1})]
    problems += [f"{spec.key} has an unknown family {spec.family!r}"
                 for spec in specs if spec.family not in FAMILY_NAMES]
    problems += [f"{spec.key} is a twin of {spec.twin_of}, which is not a paper model"
                 for spec in specs if spec.twin_of is not None and spec.twin_of not in paper]
    problems += [f"{spec.key} is shown in an unknown exhibit {spec.exhibit!r}"
                 for spec in specs if spec.exhibit not in EXHIBITS]
    problems += [f"{spec.key} is fitted on an unknown subset {spec.subset!r}"
                 for spec in specs if spec.subset is not None and spec.subset not in DERIVED]
    problems += [f"{spec.key} has the covariance {spec.covariance!r}, neither classical nor HC3"
                 for spec in specs if spec.covariance not in COVARIANCES]
    # The words files hold one set of abstract sentences per family, naming what that model explains.
    stated = [spec.family for spec in specs if spec.in_abstract]
    problems += [f"the abstract has sentences for one {family} model only"
                 for family in sorted({f for f in stated if stated.count(f) > 1})]
    return problems


if _problems := declaration_problems(SPECS):
    raise ValueError("The model declarations contradict themselves: " + "; ".join(_problems))

# For the modules that group the fits (results.json's two sections) and the tests.
REPLICATION = paper_models()
ROBUSTNESS = robustness_models()
