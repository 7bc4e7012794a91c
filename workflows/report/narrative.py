"""The report's sentences, written from a wave's results in English and German.

Every number and every claim comes from `results.json`; the words come from
`reports/templates/words/<language>.json` and the choices' labels from the questionnaire's
forms, so a wave with other findings reads differently.
"""

import json
from functools import cache

from babel.numbers import format_decimal, format_percent

from schemas import codebook
from schemas import questionnaire as questionnaires
from workflows.analysis import model_specs, number_format
from workflows.paths import TEMPLATES_DIR

LANGUAGES = ("en", "de")
LOCALES = {"en": "en_GB", "de": "de_DE"}
# The languages whose numbers print a true minus (U+2212) as the statistical exhibits do, and no "−0".
TRUE_MINUS = {"en", "de"}
SIGNIFICANCE = 0.05


# The words that are the forms' choice labels, by the question whose choices they name.
FORM_LABELS = {"clusters": "cluster", "sources": "q18_sources", "constraints": "q10_constraint_1",
               "locations": "q21_partner_locations"}


@cache
def words(language: str) -> dict:
    """The report's words in the language: its own sentences, and the choices' labels from the questionnaire."""
    loaded = json.loads((TEMPLATES_DIR / "words" / f"{language}.json").read_text(encoding="utf-8"))
    for key, name in FORM_LABELS.items():
        question = questionnaires.project().question[name]
        loaded[key] = {**loaded.get(key, {}), **{code: question.choice_label(code, language) for code in question.codes}}
    return loaded


def number(value: float | None, language: str, digits: int = 1) -> str:
    """A number in the language's style: 1,234.5 in English, 1.234,5 in German; a dash if undefined."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return _minus(format_decimal(value, format=pattern, locale=LOCALES[language]), language)


def count(value: int, language: str) -> str:
    """A whole number with its thousands grouped in the language's style: 1,000,000 or 1.000.000."""
    return number(value, language, digits=0)


def percent(share: float | None, language: str, digits: int = 0) -> str:
    """A share (0.33) as a percentage in the language's style: 33% or 33 %."""
    if share is None:
        return "–"
    # German sets the sign apart, with a space that never breaks the line: 39,4 %.
    sign = "\u00a0%" if language == "de" else "%"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + sign
    return _minus(format_percent(share, format=pattern, locale=LOCALES[language]), language)


def _minus(text: str, language: str) -> str:
    """The sign as the language prints it: −5,0 % rather than -5,0 %, and 0,0 % rather than -0,0 %."""
    if language not in TRUE_MINUS or not text.startswith("-"):
        return text
    return text[1:] if not any(c in "123456789" for c in text) else number_format.MINUS + text[1:]


def enumeration(items: list[str], language: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {words(language)['sentences']['and']} {items[-1]}"


def sentence(language: str, key: str, amount: int) -> str:
    """The sentence `key` in the number its amount governs: the words file's `<key>_one` for exactly
    one (Eines der 30 Unternehmen hatte …), where the language words it apart, else `key`."""
    say = words(language)["sentences"]
    return say.get(f"{key}_one", say[key]) if amount == 1 else say[key]


def counted(value: int, noun: str, language: str) -> str:
    """A count with its noun in the number the count governs (1 Nennung, 14 Nennungen), from the words
    file's `counted`; the bare count where the language declares no such noun."""
    forms = words(language).get("counted", {}).get(noun)
    if not forms:
        return count(value, language)
    return f"{count(value, language)} {forms['one' if value == 1 else 'other']}"


def abstract(results: dict, language: str) -> list[str]:
    """The abstract's sentences for the wave, in the language."""
    w = words(language)
    total = results["characteristics"]["total"]
    n = total["n"]
    clusters = [w["clusters"][c] for c in codebook.CLUSTERS if results["characteristics"][c]["n"]]
    sentences = [sentence(language, "survey", len(clusters)).format(wave=results["wave"], n=count(n, language),
                                                                    clusters=enumeration(clusters, language))]
    sentences.append(_adoption(results, language))
    sentences.append(_sources(results, language))
    sentences.append(_constraint(results, language))
    for spec in model_specs.SPECS:
        if spec.in_abstract:
            sentences.append(MODEL_SENTENCE[spec.family](results[spec.section][spec.key], language))
    return sentences


def significant_terms(model: dict) -> list[tuple[str, float]]:
    """The model's predictors significant at 5 %, with their coefficients, in the model's order."""
    return [
        (term, model["params"][term])
        for term, p in model["pvalues"].items()
        if term != "const" and p is not None and p < SIGNIFICANCE
    ]


def _adoption(results: dict, language: str) -> str:
    say = words(language)["sentences"]
    total = results["characteristics"]["total"]
    if not total["adopters"]:
        return say["adoption_none"].format(n=count(total["n"], language))
    rates = {
        c: results["characteristics"][c]["adopters"] / results["characteristics"][c]["n"]
        for c in codebook.CLUSTERS if results["characteristics"][c]["n"]
    }
    top = max(rates, key=lambda c: (rates[c], results["characteristics"][c]["adopters"]))
    return sentence(language, "adoption", total["adopters"]).format(
        adopters=count(total["adopters"], language), n=count(total["n"], language),
        share=percent(total["adopters"] / total["n"], language), top_cluster=words(language)["clusters"][top],
        top_adopters=count(results["characteristics"][top]["adopters"], language),
        top_n=count(results["characteristics"][top]["n"], language),
    )


def _sources(results: dict, language: str) -> str:
    w = words(language)
    ranked = [s for s in results["knowledge_sources"] if s["count"] > 0]
    if not ranked:
        return w["sentences"]["sources_none"]
    leaders = [s for s in ranked if s["count"] == ranked[0]["count"]]
    mentions = counted(leaders[0]["count"], "mentions", language)
    if len(leaders) > 1:
        return w["sentences"]["sources_tie"].format(
            first=enumeration([w["sources"][s["source"]] for s in leaders], language),
            first_count=count(leaders[0]["count"], language), first_mentions=mentions)
    if len(ranked) == 1 and "sources_single" in w["sentences"]:
        return w["sentences"]["sources_single"].format(
            first=w["sources"][ranked[0]["source"]], first_count=count(ranked[0]["count"], language),
            first_mentions=mentions)
    second = ranked[1] if len(ranked) > 1 else {"source": None, "count": 0}
    # "followed by" governs a case: a language whose words file carries the sources' dative forms uses them there.
    governed = w.get("sources_dative", {}).get(second["source"]) or w["sources"].get(second["source"], "–")
    return w["sentences"]["sources"].format(
        first=w["sources"][ranked[0]["source"]], first_count=count(ranked[0]["count"], language),
        first_mentions=mentions, second=governed, second_count=count(second["count"], language),
    )


def _constraint(results: dict, language: str) -> str:
    w = words(language)
    say = w["sentences"]
    code, top = max(results["constraints"].items(), key=lambda item: item[1]["mentions"])
    if not top["mentions"]:
        return say["constraint_none"]
    leaders = [c for c, row in results["constraints"].items() if row["mentions"] == top["mentions"]]
    share = percent(top["percent"] / 100, language)
    if len(leaders) > 1 and "constraint_tie" in say:
        return say["constraint_tie"].format(
            constraint=enumeration([w["constraints"][c] for c in leaders], language), percent=share)
    # The verb agrees with the constraint's label: a language's words file lists the labels that are plural.
    was = say.get("were" if code in w.get("constraints_plural", ()) else "was", "")
    return say["constraint"].format(constraint=w["constraints"][code], percent=share, was=was)


def _terms_text(terms: list[tuple[str, float]], language: str) -> tuple[str, str]:
    w = words(language)
    shown = [f"{w['terms'][term]} ({'+' if coef > 0 else '−'})" for term, coef in terms]
    return enumeration(shown, language), w["sentences"]["is" if len(terms) == 1 else "are"]


def _logit(model: dict, language: str) -> str:
    say = words(language)["sentences"]
    if not model["converged"]:
        return say["logit_failed"]
    terms = significant_terms(model)
    if not terms:
        return say["logit_none"]
    text, verb = _terms_text(terms, language)
    return say["logit_significant"].format(terms=text, verb=verb)


def _ols(model: dict, language: str) -> str:
    say = words(language)["sentences"]
    if not model["converged"] or model["rsquared"] is None:
        return say["ols_failed"]
    terms = significant_terms(model)
    tail = ""
    if terms:
        text, verb = _terms_text(terms, language)
        tail = say["ols_terms"].format(terms=text, verb=verb)
    return say["ols_fit"].format(
        r2=percent(model["rsquared"], language, 1), r2_adj=percent(model["rsquared_adj"], language, 1), ols_terms=tail)


# The abstract's sentence on a model, written from its fit by the model's family.
MODEL_SENTENCE = {"logit": _logit, "ols": _ols}
