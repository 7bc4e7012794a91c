"""The README's "Changing the survey", done on a copy of the project: one question, three files.

A question with a range rule and its mean in Table 2 is added to a temporary copy of the
project exactly as the README shows (a row of the new wave's form, two lines of SQL, one
column declaration); the copy's command then judges a wave by the new rule and publishes
the mean in `results.json` and in the report's Table 2.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from pypdf import PdfReader

from tests.conftest import write_wave
from workflows.paths import PROJECT_ROOT
from generators.synthetic import generate_wave

# The form's new row, by the survey sheet's columns, as the README shows it.
FORM_ROW = {
    "type": "integer", "name": "q24_workers_trained",
    "label::English (en)": "Q24 Workers trained in pollution control in the past year",
    "label::Deutsch (de)": "F24 Im vergangenen Jahr in Emissionsminderung geschulte Beschäftigte",
    "label::Tiếng Việt (vi)": "C24 Số lao động được đào tạo về xử lý ô nhiễm trong năm qua",
    "required": "yes", "constraint": ". >= 0 and . <= 500",
    "constraint_message::English (en)": "At most 500 workers can have been trained.",
    "constraint_message::Deutsch (de)": "Höchstens 500 Beschäftigte können geschult worden sein.",
}
# The README's two other edits, each (file, the line it goes after or replaces, the new text).
EDITS = (
    ("sql/tbl_enterprise_characteristics.sql", "        responses.export_share_pct\n",
     "        responses.export_share_pct,\n        responses.q24_workers_trained\n", "replace"),
    ("sql/tbl_enterprise_characteristics.sql", "        avg(firms.empl) as mean_employees,\n",
     "        avg(firms.q24_workers_trained) as mean_workers_trained,\n", "after"),
    ("sql/tbl_enterprise_characteristics.sql", "        mean_employees,\n", "        mean_workers_trained,\n", "after"),
    ("workflows/warehouse/tables.py", '"Average full-time employees", 1),\n',
     '         Column("mean_workers_trained", "DOUBLE", "Mean workers trained in pollution control.",\n'
     '                "Average workers trained in pollution control", 1),\n', "after"),
)


def new_wave_form(root):
    """The 2011 form: the 2009 one with its version changed and the new question's row before the personal ones."""
    import openpyxl

    book = openpyxl.load_workbook(root / "schemas" / "forms" / "2009.xlsx")
    survey, settings = book["survey"], book["settings"]
    header = [cell.value for cell in survey[1]]
    at = next(row[0].row for row in survey.iter_rows(min_row=2) if row[header.index("name")].value == "respondent_name")
    survey.insert_rows(at)
    for column, value in FORM_ROW.items():
        survey.cell(at, header.index(column) + 1, value)
    settings.cell(2, [cell.value for cell in settings[1]].index("version") + 1, "2011")
    book.save(root / "schemas" / "forms" / "2011.xlsx")


def edited_copy(root):
    for folder in ("workflows", "schemas", "sql", "reports", "data/published", "generators"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root)
    new_wave_form(root)
    for name, anchor, text, where in EDITS:
        path = root / name
        source = path.read_text(encoding="utf-8")
        assert source.count(anchor) == 1, f"{name}: the README's anchor {anchor!r} is not found once"
        new = {"before": text + anchor, "after": anchor + text, "replace": text}[where]
        path.write_text(source.replace(anchor, new), encoding="utf-8")
    assert {name for name, *_ in EDITS} == {"sql/tbl_enterprise_characteristics.sql", "workflows/warehouse/tables.py"}
    return root


def python(root, tmp_path, *arguments):
    env = {**os.environ, "PYTHONPATH": str(root), "CLEANTECH_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
           "DAGSTER_HOME": str(tmp_path / "dagster_home"), "CLEANTECH_OUTPUTS_DIR": str(tmp_path / "outputs")}
    return subprocess.run([sys.executable, *arguments], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def command(root, *arguments, tmp_path):
    return python(root, tmp_path, "-m", "workflows.command.cli", *arguments)


@pytest.mark.integration
def test_a_question_with_a_range_rule_and_its_mean_in_table_2_is_three_edits(tmp_path):
    root = edited_copy(tmp_path / "project")
    # The copy's test fixtures answer the new question by its declaration, unasked.
    fixture = python(root, tmp_path, "-c", "from generators.synthetic import generate_wave; "
                     "print(generate_wave({'dong_ky': 1}, seed=1)[0]['q24_workers_trained'])")
    assert fixture.stdout.strip() == "0", fixture.stderr
    rows = generate_wave({"bat_trang": 4, "dong_ky": 4, "van_phuc": 4}, seed=11)
    for number, row in enumerate(rows):
        row["q24_workers_trained"] = str(number)
    columns = [*rows[0]]

    rows[4]["q24_workers_trained"] = "900"
    broken = command(root, "validate", str(write_wave(tmp_path / "2011.csv", rows, columns)),
                     "--out", str(tmp_path / "judged"), tmp_path=tmp_path)
    assert broken.returncode == 1, broken.stderr
    assert ("q24_workers_trained (“Q24 Workers trained in pollution control in the past year”): At most 500 workers "
            "can have been trained. The cell holds 900. [rule range]") in broken.stderr

    rows[4]["q24_workers_trained"] = "4"
    published = command(root, "run", str(write_wave(tmp_path / "2011.csv", rows, columns)),
                        "--out", str(tmp_path / "report"), tmp_path=tmp_path)
    assert published.returncode == 0, published.stdout + published.stderr
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    assert results["characteristics"]["total"]["mean_workers_trained"] == pytest.approx(5.5)
    assert results["characteristics"]["bat_trang"]["mean_workers_trained"] == pytest.approx(1.5)
    text = " ".join(page.extract_text() for page in PdfReader(tmp_path / "report" / "report.pdf").pages)
    assert "Average workers trained in pollution control" in " ".join(text.split())
