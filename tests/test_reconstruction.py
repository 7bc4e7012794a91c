"""The shipped 2007 wave: reproducing the paper, labelled by its bytes (generated alike everywhere: test_same_bytes)."""

import hashlib
import shutil

import dagster as dg
import pytest
from pypdf import PdfReader

from tests.conftest import materialize_wave, write_wave
from workflows.report import provenance
from workflows.paths import RAW_DIR
from workflows.analysis.published import compare_figure, published_figures
from generators.synthetic import generate_wave


def run_wave(root, source, wave="2007"):
    shutil.copy(source, root / "raw" / f"{wave}.csv")
    with dg.DagsterInstance.ephemeral() as instance:
        return materialize_wave(instance, root, wave)


# Judged honestly (Table 5's statistics within ±0.5 of the printed ones), two of the expenditure model's
# t-values are not met; the check warns and the report prints "NO" beside them. The shipped wave's end-to-end
# run through the installed command holds it to that (tests/test_command_line.py).
EXPECTED_MISSES = ["ENVEXP (OLS): EXPT, sign, stars and t", "ENVEXP (OLS): CP, sign, stars and t"]


@pytest.mark.integration
def test_a_real_wave_called_2007_is_not_labelled_synthetic(isolated_project):
    source = write_wave(isolated_project / "other.csv", generate_wave({"bat_trang": 5, "dong_ky": 5, "van_phuc": 5}, seed=3))
    result = run_wave(isolated_project, source)
    assert result.success
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "published_figures_reproduced")
    assert check.passed and check.metadata["applies"].value.startswith("no")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(isolated_project / "outputs" / "2007" / "report.pdf").pages).split())
    assert "synthetic" not in text.lower() and "Published and reproduced" not in text


def test_a_figure_counts_as_reproduced_only_within_its_printed_precision():
    figure = next(f for f in published_figures()["figures"] if f["path"] == "characteristics.bat_trang.mean_years")
    results = {"characteristics": {"bat_trang": {"mean_years": 15.149}}}
    assert compare_figure(figure, results, {})["within"]
    results["characteristics"]["bat_trang"]["mean_years"] = 15.151
    assert not compare_figure(figure, results, {})["within"]


def test_significance_is_judged_by_sign_and_stars():
    fit = {"params": {"years": 0.05}, "tvalues": {"years": 2.7}, "pvalues": {"years": 0.007}}
    results = {"models": {"envtech_logit": fit}}
    figure = next(f for f in published_figures()["figures"]
                  if f["path"] == "models.envtech_logit.years" and f["kind"] == "significance")
    assert compare_figure(figure, results, {})["within"]
    fit["pvalues"]["years"] = 0.02
    assert not compare_figure(figure, results, {})["within"]
    fit["pvalues"]["years"], fit["params"]["years"] = 0.007, -0.05
    assert not compare_figure(figure, results, {})["within"]


def test_the_synthetic_label_follows_the_bytes():
    assert provenance.is_synthetic(hashlib.sha256((RAW_DIR / "2007.csv").read_bytes()).hexdigest())
    assert not provenance.is_synthetic(hashlib.sha256(b"firm_id\n").hexdigest())
