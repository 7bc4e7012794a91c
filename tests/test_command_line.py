"""The command's contract: its calls, exit statuses, files and figures.

The expected figures are computed here, from the CSV file alone, with pandas and the
definitions of `shared/spec/raw-wave-format.md`: independently of the SQL under test.
The shipped wave goes through the installed command, as `make report` runs it; every other
call is made in this process (`tests.conftest.command`), which answers alike in a fraction
of the time a new process takes to import Dagster.
"""

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from pypdf import PdfReader

from schemas import codebook
from tests.conftest import command, write_wave
from workflows.paths import RAW_DIR
from generators.synthetic import generate_wave

COMMAND = str(Path(sys.executable).with_name("cleantech-survey"))
FIRM_INDICES_HEADER = "firm_id,cluster,cluster_code,envtech,envexp_vnd,cp,emp,gms,loan,expt_vnd,empl,years,turn_kvnd"


def cli(*args: str) -> subprocess.CompletedProcess:
    """The installed command, in a process of its own, as a user starts it."""
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, timeout=300)


def expected_indices(raw: pd.DataFrame) -> pd.DataFrame:
    yes = lambda column: (raw[column] == "yes").astype(int)  # noqa: E731
    return pd.DataFrame({
        "firm_id": raw["firm_id"],
        "cluster": raw["cluster"],
        "cluster_code": raw["cluster"].map(codebook.CLUSTER_CODES),
        "envtech": yes("q6_equipment_installed"),
        "envexp_vnd": (raw["q7_capital_cost_mvnd"] + raw["q8_om_cost_mvnd"]) * 1_000_000,
        "cp": np.where(yes("q4_complaint_own") == 1, 2, yes("q3_complaints_village")),
        "emp": np.where(yes("q12_buyers_considered_performance") == 1, 2, yes("q11_buyers_asked_compliance")),
        "gms": raw["q15_monitoring_visits"] + 2 * (raw["q16_warnings_donre"] + raw["q16_warnings_commune"]),
        "loan": yes("q14_subsidised_loan"),
        "expt_vnd": raw["turnover_kvnd"] * 1000 * raw["export_share_pct"] / 100,
        "empl": raw["employees"],
        "years": raw["years_in_operation"],
        "turn_kvnd": raw["turnover_kvnd"],
    }).sort_values("firm_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def unseen_wave(tmp_path_factory):
    """A wave the other tests never use: 37 firms, shuffled columns, a BOM and an extra column."""
    folder = tmp_path_factory.mktemp("unseen")
    rows = generate_wave({"bat_trang": 9, "dong_ky": 13, "van_phuc": 15}, seed=4242)
    columns = list(rows[0])
    random.Random(7).shuffle(columns)
    return write_wave(folder / "field-export.csv", rows, columns=columns, bom=True, extra={"enumerator_code": "E7"})


@pytest.mark.integration
@pytest.mark.parametrize("which", ["unseen", "shipped"])
def test_run_writes_every_contract_file_with_the_defined_figures(which, unseen_wave, tmp_path):
    source, wave = (unseen_wave, "2011-pilot") if which == "unseen" else (RAW_DIR / "2007.csv", "2007")
    out = tmp_path / "out"
    call = command if which == "unseen" else cli  # the shipped wave through the installed command
    done = call("run", str(source), "--wave", wave, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    assert {p.name for p in out.iterdir()} == {"report.pdf", "results.json", "firm_indices.csv", "validation.json",
                                               "validation.html", "issues.xlsx"}
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")

    raw = pd.read_csv(source, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    expected = expected_indices(raw)
    written = pd.read_csv(out / "firm_indices.csv")
    assert (out / "firm_indices.csv").read_text(encoding="utf-8").splitlines()[0] == FIRM_INDICES_HEADER
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)

    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["wave"] == wave and results["n_firms"] == len(raw)
    assert results["raw_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    firms = expected.merge(raw[["firm_id", "export_share_pct", "q1_noise", "q1_air", "q1_water", "q2_resources"]])
    for group in (*codebook.CLUSTERS, "total"):
        subset = firms if group == "total" else firms[firms["cluster"] == group]
        got = results["characteristics"][group]
        assert got["n"] == len(subset)
        assert got["mean_years"] == pytest.approx(subset["years"].mean())
        assert got["mean_employees"] == pytest.approx(subset["empl"].mean())
        assert got["mean_turnover_kvnd"] == pytest.approx(subset["turn_kvnd"].mean())
        assert got["mean_export_share_pct"] == pytest.approx(subset["export_share_pct"].mean())
        exporters = subset[subset["export_share_pct"] > 0]
        assert got["exporters"] == len(exporters)
        if len(exporters):
            assert got["mean_export_share_exporters_pct"] == pytest.approx(exporters["export_share_pct"].mean())
        else:
            assert got["mean_export_share_exporters_pct"] is None
        assert got["adopters"] == subset["envtech"].sum()
        assert got["expenditure_pct_of_turnover"] == pytest.approx(
            100 * subset["envexp_vnd"].sum() / (subset["turn_kvnd"] * 1000).sum())
        seriousness = results["seriousness"][group]
        for key, column in (("noise", "q1_noise"), ("air", "q1_air"), ("water", "q1_water"), ("resources", "q2_resources")):
            assert seriousness[key] == pytest.approx(subset[column].mean())

    ranks = raw[["q10_constraint_1", "q10_constraint_2", "q10_constraint_3"]]
    assert set(results["constraints"]) == set(codebook.Q10_CONSTRAINTS)
    for code, got in results["constraints"].items():
        mentions = int((ranks == code).any(axis=1).sum())
        weighted = int(3 * (ranks.iloc[:, 0] == code).sum() + 2 * (ranks.iloc[:, 1] == code).sum()
                       + (ranks.iloc[:, 2] == code).sum())
        assert (got["mentions"], got["weighted_score"]) == (mentions, weighted)
        assert got["percent"] == pytest.approx(100 * mentions / len(raw))

    named = raw["q18_sources"].fillna("").str.split().explode().dropna()
    counts = {code: int((named == code).sum()) for code in codebook.Q18_SOURCES}
    expected_order = sorted(codebook.Q18_SOURCES, key=lambda c: (-counts[c], codebook.Q18_SOURCES.index(c)))
    assert results["knowledge_sources"] == [{"source": c, "count": counts[c]} for c in expected_order]

    ordered = expected.set_index("firm_id")
    logit = sm.Logit(ordered["envtech"], sm.add_constant(
        ordered[["empl", "years", "expt_vnd", "cluster_code", "emp"]].astype(float))).fit(disp=0)
    got = results["models"]["envtech_logit"]
    assert got["n"] == len(raw) and got["converged"] is True
    assert got["llf"] == pytest.approx(logit.llf, rel=1e-6)
    for term, value in logit.params.items():
        assert got["params"][term] == pytest.approx(value, rel=1e-4, abs=1e-12)
    ols = sm.OLS(ordered["envexp_vnd"], sm.add_constant(
        ordered[["empl", "expt_vnd", "cluster_code", "loan", "cp"]].astype(float))).fit()
    got = results["models"]["envexp_ols"]
    assert got["rsquared"] == pytest.approx(ols.rsquared) and got["rsquared_adj"] == pytest.approx(ols.rsquared_adj)
    for term, value in ols.tvalues.items():
        assert got["tvalues"][term] == pytest.approx(value, rel=1e-6)

    validation = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert validation["errors"] == [] and results["validation"]["warnings"] == validation["warnings"]
    if which == "unseen":
        assert validation["counts"]["unknown_column"] == 1
        assert {"rule": "unknown_column", "column": "enumerator_code", "row": 0, "firm_id": None, "value": None,
                "message": "The column 'enumerator_code' is not part of the questionnaire and is ignored."
                } in validation["warnings"]
    else:
        shipped_wave_reproduces_the_paper(out)


def shipped_wave_reproduces_the_paper(out):
    """The shipped reconstruction meets every self-consistent published figure but two of Table 5's t-values,
    and its report says it is synthetic and sets the published figures beside the reproduced ones."""
    from tests.test_reconstruction import EXPECTED_MISSES

    from workflows.warehouse.column_lineage import shipped_lineage, traced_lineage

    with duckdb.connect(os.environ["CLEANTECH_WAREHOUSE"], read_only=True) as conn:
        rows = json.loads(conn.execute("select rows from published_comparison").fetchall()[0][0])
        # The lineage shipped in sql/column_lineage.json is what a new warehouse's run traces, key for key (after a
        # change of a model: `python -m workflows.warehouse.column_lineage <this warehouse>`).
        assert traced_lineage(conn) == shipped_lineage()
    assert [row["label"] for row in rows if row["required"] and not row["within"]] == EXPECTED_MISSES
    assert sum(row["required"] for row in rows) >= 100
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(out / "report.pdf").pages).split())
    assert "synthetic reconstruction" in text and "Published and reproduced figures" in text


def test_an_invalid_wave_exits_1_names_the_cell_and_writes_no_report(tmp_path):
    rows = generate_wave({"bat_trang": 3, "dong_ky": 3, "van_phuc": 3}, seed=5)
    rows[4]["q1_noise"] = "11"
    source = write_wave(tmp_path / "broken.csv", rows)
    out = tmp_path / "out"
    done = command("run", str(source), "--out", str(out))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "row 5" in done.stderr and "q1_noise" in done.stderr
    validation = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert [(e["rule"], e["column"], e["row"], e["firm_id"], e["value"]) for e in validation["errors"]] == [
        ("range", "q1_noise", 5, rows[4]["firm_id"], "11")]
    assert validation["counts"] == {"range": 1} and validation["truncated"] is False
    assert not (out / "report.pdf").exists()
    assert {p.name for p in out.iterdir()} == {"validation.json", "validation.html", "issues.xlsx"}
    assert f"{out / 'validation.html'} (to read and sort in a browser), {out / 'issues.xlsx'}" in done.stderr


def test_a_failed_validation_points_to_the_page_and_the_workbook_and_never_speaks_of_a_report(tmp_path):
    rows = generate_wave({"bat_trang": 3, "dong_ky": 3}, seed=5)
    rows[2]["cluster"] = "dongky"
    out = tmp_path / "out"
    done = command("validate", str(write_wave(tmp_path / "typo.csv", rows)), "--out", str(out))
    assert done.returncode == 1
    assert "report" not in (done.stdout + done.stderr).lower()
    assert str(out / "validation.html") in done.stderr and str(out / "issues.xlsx") in done.stderr
    assert "Did you mean &#39;dong_ky&#39;?" in (out / "validation.html").read_text(encoding="utf-8")


@pytest.mark.integration
def test_a_wave_failing_on_every_row_lists_1000_findings_per_rule_unless_all_are_asked_for(tmp_path):
    from generators.synthetic import generate_large_wave

    lines = generate_large_wave(1_200, seed=8).decode().splitlines()
    column = lines[0].split(",").index("q1_noise")
    source = tmp_path / "everywhere.csv"
    source.write_text("\n".join([lines[0]] + [
        ",".join(cells[:column] + ["0"] + cells[column + 1:]) for cells in (line.split(",") for line in lines[1:])
    ]) + "\n")
    done = command("validate", str(source), "--out", str(tmp_path / "bounded"))
    assert done.returncode == 1 and "1,200 error(s)" in done.stderr and "--all-errors lists every one" in done.stderr
    bounded = json.loads((tmp_path / "bounded" / "validation.json").read_text(encoding="utf-8"))
    assert bounded["counts"]["range"] == 1_200 and len(bounded["errors"]) == 1_000 and bounded["truncated"] is True
    done = command("validate", str(source), "--out", str(tmp_path / "all"), "--all-errors")
    everything = json.loads((tmp_path / "all" / "validation.json").read_text(encoding="utf-8"))
    assert len(everything["errors"]) == 1_200 and everything["truncated"] is False
    assert "Every finding is listed" in done.stderr


@pytest.mark.parametrize("args", [
    ("run", "no-such-file.csv"),
    ("run", "{source}", "--wave", "../escape"),
    ("validate", "{source}", "--wave", "-starts-with-dash"),
    ("run", "{source}", "--no-such-option"),
])
def test_a_wrong_call_exits_2_and_writes_nothing(tmp_path, args, isolated_project):
    source = write_wave(tmp_path / "w.csv", generate_wave({"bat_trang": 2}, seed=1))
    done = command(*[a.format(source=source) for a in args])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.strip()
    assert not (isolated_project / "outputs").exists()


def test_out_never_replaces_the_outputs_of_another_wave(tmp_path, isolated_project):
    source = write_wave(tmp_path / "w.csv", generate_wave({"bat_trang": 2}, seed=1))
    other = tmp_path / "published-b"
    other.mkdir()
    (other / "validation.json").write_text('{"wave": "b", "errors": [], "warnings": []}', encoding="utf-8")
    done = command("run", str(source), "--out", str(other))
    assert done.returncode == 2 and "holds the outputs of wave b" in done.stderr
    assert [p.name for p in other.iterdir()] == ["validation.json"]


def test_validate_judges_without_touching_the_warehouse(tmp_path, isolated_project):
    source = write_wave(tmp_path / "w.csv", generate_wave({"dong_ky": 5}, seed=3))
    done = command("validate", str(source))
    assert done.returncode == 0, done.stderr
    assert (isolated_project / "outputs" / "w" / "validation.json").exists()
    assert not (isolated_project / "warehouse" / "survey.duckdb").exists()


def test_help_lists_every_call_the_exit_statuses_and_two_examples_and_the_version_is_said():
    done = command("--help")
    assert done.returncode == 0
    for call in ("run", "validate", "ui", "waves", "forget"):
        assert call in done.stdout
        helped = command(call, "--help")
        assert helped.returncode == 0 and helped.stdout.startswith(f"usage: cleantech-survey {call}")
    statuses = done.stdout[done.stdout.index("exit statuses:"):done.stdout.index("examples:")]
    assert [line.split()[0] for line in statuses.splitlines()[1:] if line[:3].strip().isdigit()] == list("01234")
    examples = done.stdout[done.stdout.index("examples:"):]
    assert examples.count("\n  cleantech-survey ") == 2
    version = command("--version")
    assert version.returncode == 0 and version.stdout.strip() == "cleantech-survey 0.1.0"


def stage_into_warehouse(isolated_project, path: Path, wave: str) -> None:
    """Stage a file as the wave's latest attempt in the project's warehouse, as `run` does before its checks."""
    import duckdb

    from tests.conftest import received_file
    from workflows.intake.wave_file import stage_attempt

    with duckdb.connect(str(isolated_project / "warehouse" / "survey.duckdb")) as conn:
        stage_attempt(conn, received_file(path), wave)


def test_waves_shows_a_failed_wave_as_failed_with_its_counts_wherever_its_file_was(tmp_path, isolated_project):
    rows = generate_wave({"bat_trang": 3, "dong_ky": 3}, seed=5)
    rows[1]["q1_noise"], rows[2]["cluster"] = "11", "dongky"
    stage_into_warehouse(isolated_project, write_wave(tmp_path / "elsewhere.csv", rows), "trial")
    write_wave(isolated_project / "raw" / "2011.csv", generate_wave({"van_phuc": 3}, seed=1))
    listed = command("waves")
    assert listed.returncode == 0
    line = next(line for line in listed.stdout.splitlines() if line.startswith("trial "))
    assert "failed validation" in line and "2 errors, 0 warnings" in line
    assert "not yet run" in next(line for line in listed.stdout.splitlines() if line.startswith("2011 "))


def test_validate_warns_of_a_file_with_the_bytes_of_a_wave_the_warehouse_holds(tmp_path, isolated_project):
    source = write_wave(tmp_path / "2009.csv", generate_wave({"bat_trang": 3, "dong_ky": 3}, seed=5))
    stage_into_warehouse(isolated_project, source, "2009")
    before = (isolated_project / "warehouse" / "survey.duckdb").read_bytes()
    done = command("validate", str(source), "--wave", "2011", "--out", str(tmp_path / "out"))
    assert done.returncode == 0 and "is valid, 1 warning(s)" in done.stdout, done.stderr
    validation = json.loads((tmp_path / "out" / "validation.json").read_text(encoding="utf-8"))
    assert [w["rule"] for w in validation["warnings"]] == ["same_file_as_other_wave"]
    assert (isolated_project / "warehouse" / "survey.duckdb").read_bytes() == before
