"""Render the report: Jinja templates to HTML, WeasyPrint to PDF, fetching nothing from outside.

Templates autoescape every value (their names end in `.j2`, which Jinja's default
autoescape would miss), and the PDF renderer may read only the template folder's own
files: a data value that names a local file or a server is never fetched.
"""

import os
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import jinja2
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from workflows.paths import TEMPLATES_DIR


class TemplateFolderFetcher(URLFetcher):
    """Serves `file://` URLs inside the template folder; refuses every other URL."""

    def __init__(self, root: Path = TEMPLATES_DIR):
        super().__init__(allowed_protocols=["file"], allow_redirects=False)
        self._root = root.resolve()

    def fetch(self, url, headers=None):
        parsed = urlparse(url)
        if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
            raise ValueError(f"refused to fetch {url!r}: the report reads only its own template files")
        path = Path(url2pathname(parsed.path)).resolve()
        if not path.is_file() or not path.is_relative_to(self._root):
            raise ValueError(f"refused to fetch {url!r}: outside the template folder")
        return super().fetch(url, headers)


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def render_pdf(html: str, source_date_epoch: int) -> bytes:
    """The PDF bytes; the same HTML and date give the same bytes."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
    try:
        document = HTML(string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=TemplateFolderFetcher())
        return document.write_pdf()
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
