"""The German abstract's grammar: the case a preposition governs, the number a count governs, the
verb's agreement with a label, and German percentages; each sentence variant the shipped waves
do not reach, written in process from a small results document."""

import pytest

from tests.test_report import results_like
from workflows.report import narrative


def german(results: dict) -> str:
    return " ".join(narrative.abstract(results, "de"))


def one_adopter() -> dict:
    return results_like(characteristics__bat_trang__adopters=0, characteristics__dong_ky__adopters=1,
                        characteristics__van_phuc__adopters=0, characteristics__total__adopters=1)


def test_one_adopter_takes_the_singular_and_several_the_plural():
    text = german(one_adopter())
    assert "Eines der 30 Unternehmen (3\u00a0%) hatte Anlagen zur Emissionsminderung installiert" in text
    assert "es gehört zum Cluster Đông Kỵ (Möbel)." in text
    assert "1 der 30 Unternehmen" not in text and "hatten" not in text
    assert "11 der 30 Unternehmen (37\u00a0%) hatten Anlagen" in german(results_like())


def test_one_cluster_is_named_in_the_singular_with_its_dative_article():
    results = results_like(characteristics__dong_ky__n=0, characteristics__dong_ky__adopters=0,
                           characteristics__van_phuc__n=0, characteristics__van_phuc__adopters=0,
                           characteristics__total__n=10, characteristics__total__adopters=8)
    text = german(results)
    assert "von 10 kleinen Unternehmen im Handwerkscluster Bát Tràng (Keramik) im Delta" in text
    assert "Handwerksclustern" not in text
    assert "in den Handwerksclustern Bát Tràng (Keramik), Đông Kỵ (Möbel) und Vạn Phúc (Seide)" in german(results_like())


@pytest.mark.parametrize(("counts", "words"), [((1, 0), "wurden nur Kunden genannt, mit 1 Nennung."),
                                              ((1, 1), "Kunden und Zulieferer genannt, mit je 1 Nennung."),
                                              ((14, 1), "Kunden genannt, mit 14 Nennungen, gefolgt von Zulieferern mit 1.")])
def test_the_count_of_mentions_governs_the_nouns_number(counts, words):
    results = results_like()
    results["knowledge_sources"] = [{"source": "buyers", "count": counts[0]}, {"source": "suppliers", "count": counts[1]}]
    text = german(results)
    assert words in text
    assert "1 Nennungen" not in text and "gefolgt von –" not in text


def test_tied_sources_take_je_and_the_singular_for_one_mention():
    results = results_like()
    results["knowledge_sources"] = [{"source": "suppliers", "count": 1}, {"source": "buyers", "count": 1}]
    text = german(results)
    assert "als Wissensquellen über saubere Technologien Zulieferer und Kunden genannt, mit je 1 Nennung." in text


def test_a_single_named_source_is_followed_by_nothing():
    results = results_like()
    results["knowledge_sources"] = [{"source": "consultants", "count": 3}, {"source": "buyers", "count": 0}]
    text = german(results)
    assert "Als Wissensquelle über saubere Technologien wurden nur Berater genannt, mit 3 Nennungen." in text
    assert "gefolgt von –" not in text and "mit 0" not in text


@pytest.mark.parametrize("code", list(narrative.words("de")["sources"]))
def test_gefolgt_von_takes_every_sources_dative(code):
    w = narrative.words("de")
    results = results_like()
    first = "buyers" if code != "buyers" else "suppliers"
    results["knowledge_sources"] = [{"source": first, "count": 9}, {"source": code, "count": 4}]
    assert f"gefolgt von {w['sources_dative'][code]} mit 4." in german(results)


def test_the_words_file_declares_a_dative_for_every_source_and_only_known_constraints_as_plural():
    w = narrative.words("de")
    assert set(w["sources_dative"]) == set(w["sources"])
    assert set(w["constraints_plural"]) <= set(w["constraints"])


@pytest.mark.parametrize(("code", "verb"), [("capital", "war Kapitalmangel"), ("incentives", "waren fehlende Anreize"),
                                            ("other", "waren sonstige Hemmnisse")])
def test_the_verb_agrees_with_the_constraints_label(code, verb):
    results = results_like(constraints={code: {"mentions": 20, "percent": 66.667},
                                        "market": {"mentions": 3, "percent": 10.0}})
    assert f"Das am häufigsten genannte Hemmnis {verb} (67\u00a0% der Unternehmen)." in german(results)


def test_tied_constraints_are_all_named():
    results = results_like(constraints={"capital": {"mentions": 12, "percent": 40.0},
                                        "incentives": {"mentions": 12, "percent": 40.0},
                                        "market": {"mentions": 3, "percent": 10.0}})
    text = german(results)
    assert "Am häufigsten genannt wurden die Hemmnisse Kapitalmangel und fehlende Anreize (je 40\u00a0% der Unternehmen)." in text


def test_german_percentages_have_a_decimal_comma_a_no_break_space_and_a_true_minus():
    assert narrative.percent(0.765, "de", 1) == "76,5\u00a0%"
    assert narrative.percent(-0.05, "de", 1) == "\u22125,0\u00a0%"
    assert narrative.percent(-0.00001, "de", 1) == "0,0\u00a0%"
    assert narrative.number(-1234.5, "de", 1) == "\u22121.234,5"
    results = results_like()
    results["models"]["envexp_ols"]["rsquared_adj"] = -0.0512
    assert "(korrigiert \u22125,1\u00a0%)" in german(results)


def test_the_english_abstract_keeps_its_words_and_prints_the_exhibits_minus():
    english = " ".join(narrative.abstract(one_adopter(), "en"))
    assert "1 of the 30 enterprises (3%) had installed pollution-control equipment" in english
    assert "The constraint named most often was shortage of capital (67% of firms)." in english
    assert narrative.percent(-0.05, "en", 1) == "\u22125.0%"  # the true minus the exhibits print
