"""The floor under a small wave's run: import the libraries the command uses, render a PDF of as many pages.

    .venv/bin/python bench/floor.py PAGES

No run can be faster than this: the same interpreter start, the same third-party packages
(those `workflows/` and `schemas/` import, and those Dagster loads for its instance's
storage and the project's configuration), and WeasyPrint laying out a text-and-table
document of the same number of pages. The benchmark times this process from outside, as it times
the command.
"""

import sys

import babel  # noqa: F401
import dagster  # noqa: F401
import dagster_duckdb  # noqa: F401
import duckdb  # noqa: F401
import jinja2
import numpy  # noqa: F401
import pandas  # noqa: F401
import pandera.pandas  # noqa: F401
import pydyf  # noqa: F401
import scipy.optimize  # noqa: F401
import scipy.stats  # noqa: F401
import statsmodels.discrete.discrete_model  # noqa: F401
import statsmodels.genmod.generalized_linear_model  # noqa: F401
import statsmodels.regression.linear_model  # noqa: F401
import statsmodels.stats.stattools  # noqa: F401
import weasyprint

# What Dagster itself loads in a run: its instance's SQLite storage and migrations, the dg
# project file, the structured logs.
import alembic  # noqa: F401,E402
import dagster._core.storage.event_log.sqlite.sqlite_event_log  # noqa: F401,E402
import dagster._core.storage.runs.sqlite.sqlite_run_storage  # noqa: F401,E402
import sqlalchemy  # noqa: F401,E402
import structlog  # noqa: F401,E402
import tabulate  # noqa: F401,E402
import tomlkit  # noqa: F401,E402

PAGE = jinja2.Template("""
<section>
  <h2>Section {{ page }}</h2>
  <p>{{ text }}</p>
  <table>
    <tr><th>Term</th><th>Estimate</th><th>Error</th><th>z</th><th>p</th></tr>
    {% for row in range(28) %}<tr><td>term {{ row }}</td><td>{{ 0.123 * row }}</td><td>{{ 0.05 * row }}</td>
    <td>{{ 1.5 + row }}</td><td>0.0{{ row }}</td></tr>{% endfor %}
  </table>
  <p>{{ text }}</p>
</section>
""")
STYLE = """
@page { size: A4; margin: 2cm; }
body { font-family: DejaVu Serif, serif; font-size: 10pt; }
section { page-break-after: always; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 0.5pt solid #999; padding: 2pt; }
"""
TEXT = ("Firms in the three craft villages report the seriousness of noise, air and water pollution, "
        "the pressure of their community and their buyers, and the monitoring they receive. ") * 4


def main(pages: int) -> None:
    body = "".join(PAGE.render(page=page, text=TEXT) for page in range(1, pages + 1))
    html = f"<html><head><style>{STYLE}</style></head><body>{body}</body></html>"
    document = weasyprint.HTML(string=html).render()
    assert len(document.pages) == pages, f"laid out {len(document.pages)} pages, not {pages}"
    document.write_pdf()


if __name__ == "__main__":
    main(int(sys.argv[1]))
