"""The bilingual report: sentences written from the data, German numbers, and an archivable PDF."""

import copy
import json
import re
import shutil

import dagster as dg
import pikepdf
import pytest
from pypdf import PdfReader

from tests.conftest import materialize_wave
from tests.test_same_bytes import OTHER_FONT_CONFIGURATION
from workflows.report import narrative
from workflows.paths import FONTS_DIR, RAW_DIR


def results_like(**changes) -> dict:
    """A small results document in the contract's shape."""
    base = {
        "wave": "w", "n_firms": 30,
        "characteristics": {
            "bat_trang": {"n": 10, "adopters": 8}, "dong_ky": {"n": 10, "adopters": 2},
            "van_phuc": {"n": 10, "adopters": 1}, "total": {"n": 30, "adopters": 11}},
        "knowledge_sources": [{"source": "buyers", "count": 9}, {"source": "government", "count": 4},
                              {"source": "other", "count": 0}],
        "constraints": {"capital": {"mentions": 20, "percent": 66.667}, "market": {"mentions": 3, "percent": 10.0}},
        "models": {
            "envtech_logit": {"converged": True, "params": {"const": 1.0, "years": 0.05, "cluster_code": -2.0},
                              "pvalues": {"const": 0.5, "years": 0.004, "cluster_code": 0.03}},
            "envexp_ols": {"converged": True, "rsquared": 0.41234, "rsquared_adj": 0.3456,
                           "params": {"const": 1.0, "loan": 2.5e7}, "pvalues": {"const": 0.2, "loan": 0.001}},
        },
    }
    for path, value in changes.items():
        node = base
        *head, last = path.split("__")
        for key in head:
            node = node[key]
        node[last] = value
    return base


def test_the_abstracts_state_the_data_in_both_languages():
    english = " ".join(narrative.abstract(results_like(), "en"))
    german = " ".join(narrative.abstract(results_like(), "de"))
    assert "11 of the 30 enterprises (37%)" in english and "highest in Bát Tràng (ceramics), with 8 of 10 firms" in english
    assert "11 der 30 Unternehmen (37\u00a0%)" in german and "am häufigsten in Bát Tràng (Keramik)" in german
    assert "buyers and customers, with 9 mentions, followed by government, with 4" in english
    assert "YEARS (+) and CLUSTER (−) are significant" in english
    assert "explains 41.2% of its variance (adjusted 34.6%)" in english
    assert "erklärt 41,2\u00a0% ihrer Varianz (korrigiert 34,6\u00a0%)" in german
    assert "66.667" not in english and "Kapitalmangel (67\u00a0% der Unternehmen)" in german


def test_other_findings_give_other_sentences():
    changed = results_like(characteristics__dong_ky__adopters=9, characteristics__total__adopters=18)
    changed["knowledge_sources"] = [{"source": "government", "count": 5}, {"source": "buyers", "count": 5}]
    changed["models"]["envtech_logit"]["pvalues"] = {"const": 0.5, "years": 0.2, "cluster_code": 0.3}
    english = " ".join(narrative.abstract(changed, "en"))
    assert "highest in Đông Kỵ (furniture), with 9 of 10 firms" in english
    assert "were buyers and customers and government, with 5 mentions each" not in english
    assert "government and buyers and customers, with 5 mentions each" in english
    assert "no predictor is significant" in english
    none = copy.deepcopy(changed)
    none["characteristics"]["total"]["adopters"] = 0
    none["models"]["envtech_logit"]["converged"] = False
    assert "None of the 30 enterprises" in " ".join(narrative.abstract(none, "en"))
    assert "ließ sich für diese Welle nicht schätzen" in " ".join(narrative.abstract(none, "de"))


def test_german_numbers_use_a_decimal_comma_and_a_thousands_separator():
    assert narrative.number(3209882.5, "de", 1) == "3.209.882,5"
    assert narrative.number(3209882.5, "en", 1) == "3,209,882.5"
    assert narrative.percent(0.394, "de", 1) == "39,4\u00a0%"


@pytest.mark.integration
def test_the_pdf_is_an_archivable_tagged_pdf_a_3b_carrying_its_data(isolated_project, monkeypatch):
    shutil.copy(RAW_DIR / "2007.csv", isolated_project / "raw" / "2007.csv")
    folder = isolated_project / "outputs" / "2007"
    other_fonts = isolated_project / "fonts.conf"
    other_fonts.write_text(OTHER_FONT_CONFIGURATION.format(fonts=FONTS_DIR))
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize_wave(instance, isolated_project, "2007").success
        first = (folder / "report.pdf").read_bytes()
        monkeypatch.setenv("FONTCONFIG_FILE", str(other_fonts))
        assert materialize_wave(instance, isolated_project, "2007").success
    # The same inputs give the same bytes, whatever fonts the machine has.
    assert (folder / "report.pdf").read_bytes() == first

    pdf = pikepdf.open(folder / "report.pdf")
    assert pdf.check_pdf_syntax() == []
    with pdf.open_metadata(set_pikepdf_as_editor=False) as xmp:
        assert (xmp["pdfaid:part"], xmp["pdfaid:conformance"]) == ("3", "B")
        assert "Survey Wave 2007" in xmp["dc:title"]
    assert str(pdf.Root.Lang) == "en" and "/StructTreeRoot" in pdf.Root and bool(pdf.Root.MarkInfo.Marked)
    german = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary) and o.get("/Lang") == "de"]
    assert len(german) == 1 and german[0].S == "/Art"
    attachments = pdf.attachments
    assert set(attachments) == {"firm_indices.csv", "results.json", "validation.json"}
    for name, spec in attachments.items():
        assert spec.obj.AFRelationship == "/Data"
        assert spec.get_file().read_bytes() == (folder / name).read_bytes()
    descriptors = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary) and o.get("/Type") == "/FontDescriptor"]
    assert descriptors and all("/FontFile2" in d or "/FontFile3" in d or "/FontFile" in d for d in descriptors)
    assert pdf.docinfo.Keywords and pdf.docinfo.Subject and pdf.docinfo.Author

    text = " ".join(" ".join(page.extract_text() for page in PdfReader(folder / "report.pdf").pages).split())
    results = json.loads((folder / "results.json").read_text())
    # Table 5 as a journal prints it, against refits independent of the production code.
    import statsmodels.api as sm
    from tests.test_referee_waves import indices_2007
    firms = indices_2007()
    logit = sm.Logit(firms["envtech"], sm.add_constant(firms[["empl", "years", "expt_vnd", "cluster_code", "emp"]]
                                                       .astype(float))).fit(disp=0)
    ols = sm.OLS(firms["envexp_vnd"], sm.add_constant(firms[["empl", "expt_vnd", "cluster_code", "loan", "cp"]]
                                                      .astype(float))).fit()
    minus = "\u2212"
    assert f"Log likelihood {logit.llf:.3f}".replace("-", minus) in text
    assert f"R² {ols.rsquared:.3f}" in text and f"Adjusted R² {ols.rsquared_adj:.3f}" in text
    # Each row's coefficients, then their statistics beneath, the paper's column first.
    assert re.search(rf"YEARS {logit.params['years']:.2f}\*\* [^(]*\({logit.tvalues['years']:.2f}\)", text)
    assert re.search(rf"LOAN {ols.params['loan'] / 1e6:.2f}\*\* [^(]*\({ols.tvalues['loan']:.2f}\)", text)
    assert results["models"]["envtech_logit"]["llf"] == pytest.approx(logit.llf, rel=1e-9)
    assert "e+0" not in text and "e-0" not in text
    # Appendix B: what truly matched, the paper's figures as printed.
    assert "Reproduced: 100 of 102 required figures (not reproduced: ENVEXP (OLS): EXPT, sign, stars and t" in text
    assert "8526835 (1.95)" in text and "8.52684e+06" not in text
    assert "Bát Tràng" in text and "Đông Kỵ" in text and "Vạn Phúc" in text and "Bat Tràng" not in text
    assert "Zusammenfassung" in text and "Schlagwörter" in text


def test_german_takes_the_dative_after_gefolgt_von_and_no_label_doubles_its_brackets():
    changed = results_like()
    changed["knowledge_sources"] = [{"source": "buyers", "count": 9}, {"source": "other", "count": 4}]
    german = " ".join(narrative.abstract(changed, "de"))
    english = " ".join(narrative.abstract(changed, "en"))
    assert "gefolgt von sonstigen Quellen (vor allem Medien) mit 4" in german
    assert "followed by other sources (mostly media), with 4" in english
    assert ") (" not in german and ") (" not in english
