"""Table 5, its companions and Appendix B as a journal prints them: one formatter (fixed decimals per
row, thousands grouped, a true minus, never an exponent), the statistic beneath every coefficient,
"–" where a model was not estimated; and the published figures judged by their printed precision,
Table 5's tests by sign, stars and statistic."""

import re

import pytest

from workflows.analysis import number_format, published
from workflows.analysis.number_format import DASH, MINUS, decimals_for, fixed, p_value
from workflows.report import narrative
from workflows.report.rendering import render_html
from workflows.report.report_context import FORMATTING, model_context


def test_the_formatter_prints_as_a_journal_does():
    assert fixed(-1234.5, 1) == f"{MINUS}1,234.5"
    assert fixed(8526835.0, 0) == "8,526,835" and fixed(8526835.0, 0, grouped=False) == "8526835"
    assert fixed(-0.00001, 2) == "0.00"  # never a negative zero
    assert fixed(6.8e-10, 6) == "0.000000" and "e" not in fixed(1e20, 2)
    assert fixed(None, 2) == fixed(float("nan"), 2) == DASH
    assert number_format.signed(0.731, 2) == "+0.73" and number_format.signed(-0.5, 1) == f"{MINUS}0.5"
    assert decimals_for([0.00113, 15.52, -2.4]) == 4 and decimals_for([0.16, 2.4]) == 2 and decimals_for([]) == 2
    assert p_value(0.0004) == "< 0.001" and p_value(0.0234) == "0.023" and p_value(None) == DASH
    assert number_format.printed_decimals("0.0005082") == 7 and number_format.printed_decimals("4,655,670") == 0
    assert number_format.half_unit("15.1") == pytest.approx(0.05)


def estimated(params, tvalues, pvalues, **extra):
    return {"n": 51, "converged": True, "not_estimated": None, "params": params, "tvalues": tvalues,
            "pvalues": pvalues, "bse": {k: 1.0 for k in params}, "notes": [], **extra}


def not_estimated(terms, reason):
    empty = {t: None for t in terms}
    return {"n": 51, "converged": False, "not_estimated": reason, "params": empty, "tvalues": empty,
            "pvalues": empty, "bse": empty, "llf": None, "notes": ["Not estimated."], "diagnostics": {}}


def small_results() -> dict:
    """A results document in the contract's shape: the paper's logit estimated, its OLS estimated, the
    dummies logit not estimated (separation) with a Firth fit, the dummies OLS estimated."""
    logit_terms = ["const", "empl", "years", "expt_vnd", "cluster_code", "emp"]
    ols_terms = ["const", "empl", "expt_vnd", "cluster_code", "loan", "cp"]
    dummies = ["const", "empl", "years", "expt_bn_vnd", "dong_ky", "van_phuc", "emp"]
    firth = {"n": 51, "converged": True, "inference": "profile penalised likelihood", "penalised_llf": -3.2,
             "params": dict(zip(dummies, [-1.7, -0.0042, 0.112, 0.46, -1.29, -3.75, -0.21])),
             "tvalues": dict(zip(dummies, [-1.06, -0.27, 3.22, 1.51, -0.79, -2.35, -0.25])),
             "pvalues": dict(zip(dummies, [0.29, 0.78, 0.0013, 0.13, 0.43, 0.019, 0.81])),
             "bse": dict(zip(dummies, [1.6, 0.014, 0.047, 0.32, 1.4, 1.9, 0.67])),
             "ci_lower": dict(zip(dummies, [-6.7, -0.03, 0.04, -0.13, -4.5, -11.2, -2.3])),
             "ci_upper": dict(zip(dummies, [1.4, 0.03, 0.32, 1.38, 2.4, -0.57, 1.4])),
             "lr_statistics": dict(zip(dummies, [1.1, 0.08, 10.3, 2.3, 0.6, 5.5, 0.06])),
             "wald_pvalues": dict(zip(dummies, [0.30, 0.76, 0.016, 0.15, 0.37, 0.046, 0.76])),
             "average_marginal_effects": dict(zip(dummies[1:], [-0.0004, 0.0096, 0.039, -0.11, -0.32, -0.018])),
             "average_marginal_effects_se": dict(zip(dummies[1:], [0.001, 0.0035, 0.026, 0.12, 0.15, 0.058])),
             "average_marginal_effects_pvalues": dict(zip(dummies[1:], [0.7, 0.007, 0.13, 0.34, 0.03, 0.76]))}
    return {
        "wave": "w", "n_firms": 51, "characteristics": {"total": {"n": 51, "adopters": 17}},
        "models": {
            "envtech_logit": estimated(
                dict(zip(logit_terms, [-0.232, 0.00113, 0.1606, 6.8e-10, -2.398, -0.3228])),
                dict(zip(logit_terms, [-0.089, 0.063, 2.75, 1.69, -2.10, -0.28])),
                dict(zip(logit_terms, [0.93, 0.95, 0.006, 0.091, 0.036, 0.78])),
                statistic="z", llf=-8.5829, prsquared=0.7356,
                diagnostics={"separation": "none", "events_per_variable": 3.4, "aic": 29.2, "bic": 40.8,
                             "mcfadden_r2": 0.7356, "lr_statistic": 47.76, "lr_df": 5, "lr_pvalue": 4e-9,
                             "average_marginal_effects": dict(zip(logit_terms[1:], [5.2e-5, 0.0073, 3.1e-11, -0.11, -0.015])),
                             "average_marginal_effects_se": dict(zip(logit_terms[1:], [8.2e-4, 0.0024, 1.8e-11, 0.047, 0.053])),
                             "average_marginal_effects_pvalues": dict(zip(logit_terms[1:], [0.95, 0.002, 0.083, 0.018, 0.78]))}),
            "envexp_ols": estimated(
                dict(zip(ols_terms, [15524761.1, 39871.9, 0.000457, -6152767.0, 17977771.4, 4261674.4])),
                dict(zip(ols_terms, [1.85, 0.83, 0.40, -2.03, 3.01, 1.66])),
                dict(zip(ols_terms, [0.071, 0.41, 0.69, 0.048, 0.0043, 0.10])),
                statistic="t", df_resid=45, llf=-896.7, rsquared=0.39368, rsquared_adj=0.32631,
                diagnostics={"aic": 1805.4, "bic": 1817.0, "f_statistic": 5.84, "f_df_num": 5, "f_df_denom": 45,
                             "f_pvalue": 0.0003, "vif": {"empl": 1.25, "cluster_code": 2.55}}),
        },
        "robustness": {
            "envtech_logit_robust": not_estimated(dummies, {"reason": "separation", "separation": "quasi-complete",
                                                            "terms": ["van_phuc"]})
            | {"diagnostics": {"separation": "quasi-complete", "events_per_variable": 2.8, "firth": firth,
                               "separated_by": {"terms": ["van_phuc"], "alone": {"van_phuc": "quasi-complete"}, "perfectly_predicted": 20,
                                                "groups": [{"values": {"van_phuc": 1.0}, "outcome": 0, "firms": 20}]}}},
        },
    }


def cells(html: str, caption: str) -> list[list[str]]:
    table = html.split(f"<caption>{caption}")[1].split("</table>")[0]
    body = table.split("<tbody>")[1]
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_table_5_prints_every_coefficient_with_its_statistic_beneath_and_dashes_where_not_estimated():
    results = small_results()
    context = model_context(results)
    html = render_html("partials/models.html.j2", results=results, en=narrative.words("en"), **FORMATTING, **context)
    rows = cells(html, "Table 5.")
    heads = [(c["label"], c["head"]) for c in context["table5"]["columns"]]
    # The paper's two columns side by side, then the referee's; the Firth column says nothing of HC3.
    assert heads == [("ENVTECH", "logit"), ("ENVEXP", "OLS, million VND"), ("ENVTECH", "logit, dummies, HC3"),
                     ("ENVTECH", "Firth logit, dummies")]
    by_label = {row[0]: row[1:] for row in rows if row[0]}
    # Decimals fixed per row (EMPL needs four for the logit's 0.0011), ENVEXP in million VND, a true minus.
    assert by_label["EMPL"] == ["0.0011", "0.0399", DASH, f"{MINUS}0.0042"]
    assert by_label["Constant"] == [f"{MINUS}0.23", "15.52", DASH, f"{MINUS}1.70"]
    # EXPT per billion VND on one row: the paper's VND coefficients times 10^9 (and / 10^6 for ENVEXP).
    assert by_label["EXPT (bn VND)"] == ["0.68", "0.46", DASH, "0.46"]
    assert by_label["CLUSTER"] == [f"{MINUS}2.40*", f"{MINUS}6.15*", "", ""]
    assert by_label["Vạn Phúc"] == ["", "", DASH, f"{MINUS}3.75*"]
    # Beneath every printed coefficient, its statistic in parentheses; nothing beneath a dash or a blank.
    for row, statistics in zip(context["table5"]["rows"], [r for r in rows if not r[0]]):
        for coefficient, statistic in zip(row["coefficients"], statistics[1:]):
            assert bool(re.fullmatch(r"\(−?\d+\.\d\d\)", statistic)) == (coefficient not in ("", DASH))
    assert by_label["In parentheses"] == ["z, classical", "t, classical", "", "r, profile"]
    assert by_label["Log likelihood"] == [f"{MINUS}8.583", "", DASH, ""]
    assert by_label["R²"] == ["", "0.394", "", ""]
    numbers = re.sub(r"<[^>]+>", " ", html.split("<tbody>")[1].split("</tbody>")[0])
    assert not re.search(r"\d[eE][+-]?\d", numbers) and not re.search(r"(?<![\w(])-\d", numbers)


def test_the_diagnostics_say_what_was_not_estimated_and_why_in_the_reports_words():
    context = model_context(small_results())
    lines = context["diagnostics_lines"]
    silk = narrative.words("en")["clusters"]["van_phuc"]
    assert ("ENVTECH (dummies, HC3), logit: not estimated, since quasi-complete separation: Vạn Phúc separates "
            "the firms that adopt from those that do not adopt, 20 of 51 firms predicted perfectly (all 20 firms of "
            f"{silk} do not adopt), so maximum-likelihood estimates do not exist. Firth's penalised fit "
            "gives finite estimates in its place.") in lines
    text = " ".join(lines)
    # A rule of thumb, said as one; HC3 is about heteroskedasticity, not normality.
    assert "rule of thumb of about ten (Peduzzi et al. 1996)" in text and "needs to be free of" not in text
    assert context["firth_blocks"][0]["title"] == "ENVTECH (dummies, HC3)"
    firth_rows = {row["label"]: row for row in context["firth_blocks"][0]["rows"]}
    assert firth_rows["Vạn Phúc"]["interval"] == f"{MINUS}11.2 to {MINUS}0.57" or \
        firth_rows["Vạn Phúc"]["interval"] == f"{MINUS}11.20 to {MINUS}0.57"
    assert firth_rows["YEARS"]["moved"] is True and firth_rows["Constant"]["moved"] is False
    effects = context["marginal_effects"]
    assert [c["head"] for c in effects["columns"]] == ["logit", "Firth logit, dummies"]
    ame = {row["label"]: row for row in effects["rows"]}
    # Percentage points per billion VND: 3.1e-11 per VND is 3.1 points per billion.
    assert ame["EXPT (bn VND)"]["effects"] == ["3.10", "3.90"] and ame["EXPT (bn VND)"]["errors"] == ["(1.80)", "(2.60)"]
    assert ame["EXPT (bn VND)"]["unit"] == "per billion VND of exports" and ame["YEARS"]["effects"][0] == "0.73**"


def test_a_figure_is_reproduced_only_within_half_a_unit_of_its_last_printed_digit():
    figures = published.published_figures()["figures"]
    llf = next(f for f in figures if f["path"] == "models.envtech_logit.llf")
    assert llf["printed"] == f"{MINUS}8.583" and published.tolerance(llf) == pytest.approx(0.0005)
    for value, within in ((-8.5829, True), (-8.5834, True), (-8.5836, False), (-8.649, False)):
        assert published.compare_figure(llf, {"models": {"envtech_logit": {"llf": value}}}, {})["within"] is within
    # Every figure's tolerance is its printed precision, unless it states another and why.
    for figure in figures:
        if "tolerance_basis" not in figure and figure["kind"] != "significance":
            assert "tolerance" not in figure, figure["label"]


def test_table_5_tests_are_judged_by_sign_stars_and_the_statistic_within_its_band():
    figures = published.published_figures()["figures"]
    expt = next(f for f in figures if f["path"] == "models.envexp_ols.expt_vnd" and f["kind"] == "significance")
    assert expt["printed"] == "0.0005082 (1.18)" and expt["band"] == 0.5
    fit = {"params": {"expt_vnd": 0.000457}, "tvalues": {"expt_vnd": 0.40}, "pvalues": {"expt_vnd": 0.69},
           "statistic": "t"}
    row = published.compare_figure(expt, {"models": {"envexp_ols": fit}}, {})
    # Same sign, same (absent) stars, but a t of 0.40 is not the printed 1.18.
    assert row["checks"] == {"sign": True, "stars": True, "statistic": False} and not row["within"]
    assert row["shown"] == "0.0004570 (0.40)" and row["judged_by"] == "sign, stars, t ± 0.5"
    fit["tvalues"]["expt_vnd"] = 1.55
    assert published.compare_figure(expt, {"models": {"envexp_ols": fit}}, {})["within"]


def test_appendix_b_prints_the_papers_figures_as_printed_with_human_labels():
    rows = published.compare({"models": {}, "characteristics": {"bat_trang": {"mean_years": 15.067}},
                              "knowledge_sources": [], "constraints": {}, "seriousness": {}}, {})
    html = render_html("partials/published_comparison.html.j2", comparison=rows, **FORMATTING)
    assert "8526835" in html and "8.52684e+06" not in html and "e+0" not in html
    assert "envtech_logit" not in html and "envexp_ols" not in html and "'capital'" not in html
    assert "Firms naming: shortage of capital" in html and "ENVEXP (OLS): LOAN, sign, stars and t" in html
    assert "<td>15.1</td><td>15.067</td>" in html  # two more decimals than the paper's
    required = [r for r in rows if r["required"]]
    assert f"Reproduced: 1 of {len(required)} required figures" in html
