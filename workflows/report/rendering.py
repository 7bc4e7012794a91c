"""Render the report: Jinja templates to HTML, WeasyPrint to PDF, fetching nothing from outside.

Templates autoescape every value (their names end in `.j2`, which Jinja's default
autoescape would miss), and the PDF renderer may read only the template folder's own
files: a data value that names a local file or a server is never fetched. It may also use
only the fonts shipped in `reports/fonts/`, whatever fonts or font configuration the
machine has, so the same inputs give the same bytes everywhere.
"""

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlparse
from urllib.request import url2pathname

import jinja2
import pydyf
from weasyprint import HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from workflows.report import narrative
from workflows.paths import FONTS_DIR, TEMPLATES_DIR

SHIPPED_FONT_CONFIGURATION = FONTS_DIR / "fonts.conf"


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


def grouped_counts(value):
    """Every whole number printed from 1,000 up gets its thousands grouped: a census has 1,000,000 firms."""
    if type(value) is int and abs(value) >= 1000:
        return narrative.count(value, "en")
    return value


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=grouped_counts,
    )


# The report's one passage in another language (the German abstract) is its only <article>.
SECOND_LANGUAGE = "de"


def mark_articles_as(language: str):
    """A WeasyPrint finisher giving every tagged article (/Art) the language's /Lang entry.

    WeasyPrint tags the document's language on the catalog only; screen readers and PDF/A
    validators read a passage's own language from its structure element.
    """

    def finish(_document, pdf) -> None:
        for obj in pdf.objects:
            if isinstance(obj, dict) and obj.get("Type") == "/StructElem" and obj.get("S") == "/Art":
                obj["Lang"] = pydyf.String(language)

    return finish


def render_html(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


class RenderedPdf(NamedTuple):
    pdf: bytes
    pages: int


@contextmanager
def environment_variables(**values: str | None) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for a block, then put back what was there.

    The environment is the whole process's: the report renders in one step at a time.
    """
    previous = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def shipped_fonts() -> FontConfiguration:
    """A font configuration that knows only the project's fonts.

    Fontconfig reads `FONTCONFIG_FILE` each time a configuration is loaded, and WeasyPrint
    loads one per `FontConfiguration`: pointing it at the project's file for that moment
    keeps the system's fonts and rules (aliases, preferences) out of the PDF.
    """
    with environment_variables(FONTCONFIG_FILE=str(SHIPPED_FONT_CONFIGURATION), FONTCONFIG_PATH=None,
                               FONTCONFIG_SYSROOT=None):
        return FontConfiguration()


def render_pdf(html: str, source_date_epoch: int, attachments: dict[str, tuple[bytes, str]] | None = None) -> RenderedPdf:
    """A tagged PDF/A-3b carrying the given files; the same HTML, date and files give the same bytes.

    `attachments` maps a file name to its bytes and description; each is attached as the
    report's data (AFRelationship /Data), dated like the report.
    """
    when = datetime.fromtimestamp(source_date_epoch, tz=timezone.utc)
    with environment_variables(SOURCE_DATE_EPOCH=str(source_date_epoch)):
        fetcher = TemplateFolderFetcher()
        fonts = shipped_fonts()
        document = HTML(string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=fetcher)
        files = [
            Attachment(file_obj=io.BytesIO(content), name=name, description=description, relationship="Data",
                       created=when, modified=when, url_fetcher=fetcher)
            # PDF name trees must list their keys in order.
            for name, (content, description) in sorted((attachments or {}).items())
        ]
        laid_out = document.render(font_config=fonts, pdf_variant="pdf/a-3b", pdf_tags=True)
        pdf = laid_out.write_pdf(pdf_variant="pdf/a-3b", pdf_tags=True, attachments=files,
                                 finisher=mark_articles_as(SECOND_LANGUAGE))
        return RenderedPdf(pdf, len(laid_out.pages))
