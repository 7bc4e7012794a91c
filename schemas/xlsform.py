"""Read a survey team's XLSForm and compile it into the project's declarations.

pyxform reads the form (its `survey`, `choices` and `settings` sheets) and checks what
XLSForm itself requires; this module turns each question into a `Question` (kind, codes,
range, labels per language, constraint message) and each `relevant` and `constraint`
into a row rule with its SQL predicate (`form_expressions.py`). A bounds-only constraint
(`. >= 0 and . <= 200`) becomes the question's range, `count-selected(.) <= 3` its most
selections, so that those are judged by the project's range and multi-select rules. Any
form it cannot compile stops with one sentence naming the form, the sheet, the row and
the expression (`FormError`).
"""

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from schemas.form_expressions import UnsupportedExpression, condition
from workflows.atomic import write_atomically
from workflows.paths import CACHE_DIR

# XLSForm's question types (as pyxform names them) and the project's kinds.
KINDS = {
    "text": "text", "integer": "integer", "decimal": "decimal", "date": "date",
    "start": "datetime", "end": "datetime", "select one": "select_one", "select all that apply": "select_multiple",
}
# Types that hold no answer column of their own in an export.
WITHOUT_ANSWER = {"note", "calculate"}
CHOICE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NUMBER = r"-?\d+(?:\.\d+)?"
_BOUNDS = re.compile(rf"^\.\s*>=\s*({_NUMBER})(?:\s+and\s+\.\s*<=\s*({_NUMBER}))?$")
_UPPER = re.compile(rf"^\.\s*<=\s*({_NUMBER})$")
_MOST = re.compile(r"^count-selected\(\s*\.\s*\)\s*<=\s*(\d+)$")


class FormError(ValueError):
    """A form the project cannot use, said in one sentence."""


@dataclass(frozen=True)
class FormQuestion:
    """One question as the form states it, before the project adds what a form cannot say."""

    name: str
    kind: str
    row: int
    labels: dict[str, str]
    required: bool
    codes: tuple[str, ...] = ()
    choice_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    low: float | None = None
    high: float | None = None
    most: int | None = None
    constraint: str = ""
    constraint_messages: dict[str, str] = field(default_factory=dict)
    relevant: str = ""


@dataclass(frozen=True)
class Form:
    path: Path
    version: str
    title: str
    questions: tuple[FormQuestion, ...]


def language_code(column_language: str) -> str:
    """`English (en)` -> `en`; a language without a code in brackets keeps its name."""
    match = re.search(r"\(([A-Za-z-]+)\)\s*$", column_language)
    return match.group(1) if match else column_language


def read_form(path: Path) -> Form:
    """The form's questions, each with the row of the `survey` sheet that declares it.

    A form read before (the same bytes, by this same reader and pyxform release) comes from the cache in
    `FORM_CACHE`, sparing every run the import of pyxform and the reading of the workbook.
    """
    path = Path(path)
    key = _cache_key(path)
    if (kept := _kept_form(path, key)) is not None:
        return kept
    form = _read_with_pyxform(path)
    _keep_form(form, key)
    return form


# Forms read by pyxform, as JSON named by the digest of the workbook's bytes and of their reader.
FORM_CACHE = CACHE_DIR / "forms"


def _cache_key(path: Path) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256(path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(version("pyxform").encode())
    return digest.hexdigest()


def _kept_form(path: Path, key: str) -> Form | None:
    try:
        kept = json.loads((FORM_CACHE / f"{key}.json").read_text(encoding="utf-8"))
        return Form(path, kept["version"], kept["title"], tuple(
            FormQuestion(**{**question, "codes": tuple(question["codes"])}) for question in kept["questions"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not kept yet, or kept by another reader: read the workbook


def _keep_form(form: Form, key: str) -> None:
    """Write the form to the cache, atomically; a folder that cannot be written only costs the next run time."""
    document = {"version": form.version, "title": form.title,
                "questions": [asdict(question) for question in form.questions]}
    try:
        write_atomically(FORM_CACHE / f"{key}.json", json.dumps(document, ensure_ascii=False, sort_keys=True))
    except OSError:
        pass


def _read_with_pyxform(path: Path) -> Form:
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import parse_file_to_json

    rows, cells = _survey_rows(path)
    try:
        definition = parse_file_to_json(str(path))
    except PyXFormError as error:
        raise FormError(_pyxform_sentence(path, error, cells)) from None
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise FormError(f"The form {path.name} cannot be read as an XLSForm workbook: {_one_line(error)}") from None
    questions = []
    for child in _answers(definition.get("children", [])):
        name = child["name"]
        row = rows.get(name, 0)
        kind = KINDS.get(child["type"])
        if kind is None:
            raise FormError(f"The form {path.name}, sheet survey, row {row}: the question {name} has the type "
                            f"'{child['type']}', which the project cannot judge (it reads "
                            f"{', '.join(sorted(KINDS))}).")
        bind = child.get("bind", {})
        choices = child.get("choices") or []
        if kind.startswith("select"):
            _check_choices(path, row, name, child.get("list_name") or child.get("itemset") or "", choices)
        questions.append(FormQuestion(
            name=name, kind=kind, row=row,
            labels=_by_language(child.get("label")),
            required=str(bind.get("required", "")).strip().lower() in ("yes", "true", "true()", "1"),
            codes=tuple(choice["name"] for choice in choices),
            choice_labels={choice["name"]: _by_language(choice.get("label")) for choice in choices},
            constraint=str(bind.get("constraint", "")).strip(),
            constraint_messages=_by_language(bind.get("jr:constraintMsg")),
            relevant=str(bind.get("relevant", "")).strip(),
        ))
    if not questions:
        raise FormError(f"The form {path.name} has no question the project can read.")
    return Form(path, str(definition.get("version") or path.stem), str(definition.get("title") or path.stem),
                tuple(_with_ranges(path, question) for question in questions))


def compile_expression(form: Form, question: FormQuestion, column: str, kinds: dict[str, str]):
    """The question's `relevant` or `constraint` as a SQL condition; a `FormError` naming where if it cannot be."""
    text = getattr(question, column)
    try:
        return condition(text, kinds, own=question.name)
    except UnsupportedExpression as error:
        raise FormError(f"The form {form.path.name}, sheet survey, row {question.row} ({question.name}), "
                        f"column {column}: {error} in the expression {text!r}.") from None


def _answers(children: list[dict]) -> list[dict]:
    """Every question with an answer column, groups flattened (an export names a grouped one by its own name)."""
    found = []
    for child in children:
        if child.get("type") in ("group", "repeat") or "children" in child:
            if child.get("name") == "meta" and child.get("control", {}).get("bodyless"):
                continue
            found += _answers(child.get("children", []))
        elif child.get("type") not in WITHOUT_ANSWER:
            found.append(child)
    return found


def _with_ranges(path: Path, question: FormQuestion) -> FormQuestion:
    """A bounds-only constraint becomes the question's range, a count of selections its most."""
    text = " ".join(question.constraint.split())
    if question.kind in ("integer", "decimal"):
        if match := _BOUNDS.match(text):
            low, high = (float(value) if value is not None else None for value in match.groups())
            return replace(question, low=_plain(low), high=_plain(high), constraint="")
        if match := _UPPER.match(text):
            return replace(question, high=_plain(float(match.group(1))), constraint="")
    if question.kind == "select_multiple" and (match := _MOST.match(text)):
        return replace(question, most=int(match.group(1)), constraint="")
    return question


def _plain(value: float | None) -> float | int | None:
    return int(value) if value is not None and value == int(value) else value


def _check_choices(path: Path, row: int, name: str, list_name: str, choices: list[dict]) -> None:
    where = f"The form {path.name}, sheet choices, list {list_name or '(none)'} of {name} (survey row {row})"
    if not choices:
        raise FormError(f"{where}: the list has no choices.")
    names = [str(choice.get("name", "")) for choice in choices]
    bad = [n for n in names if not CHOICE_NAME.fullmatch(n)]
    if bad:
        raise FormError(f"{where}: the choice name {bad[0]!r} is not a code a cell can hold "
                        "(letters, digits, '_', '-', '.', starting with a letter or '_').")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise FormError(f"{where}: the choice {twice[0]!r} is listed twice.")


def _by_language(value) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"en": value}
    return {language_code(language): str(text) for language, text in value.items() if text}


def _pyxform_sentence(path: Path, error: Exception, cells: dict[int, dict[str, str]]) -> str:
    """pyxform's complaint, with the sheet and row first and the row's expressions quoted."""
    text = _one_line(error)
    match = re.match(r"\[row : (\d+)\]\s*(.*)", text)
    if not match:
        return f"The form {path.name} cannot be read as an XLSForm: {text}"
    row, said = int(match.group(1)), match.group(2)
    sheet = re.search(r"On the '(\w+)' sheet", said)
    expressions = [f"{column} {value!r}" for column, value in cells.get(row, {}).items()
                   if column in ("relevant", "constraint", "calculation", "choice_filter") and value]
    quoted = f" (the row's {', '.join(expressions)})" if expressions and (not sheet or sheet.group(1) == "survey") else ""
    said = re.sub(r"^On the '\w+' sheet, ", "", said)
    return f"The form {path.name}, sheet {sheet.group(1) if sheet else 'survey'}, row {row}: {said}{quoted}"


def _survey_rows(path: Path) -> tuple[dict[str, int], dict[int, dict[str, str]]]:
    """Each question name's row number on the `survey` sheet, as a spreadsheet program shows it, and each
    row's cells by column."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise FormError(f"The form {path.name} cannot be opened as a workbook: {_one_line(error)}") from None
    try:
        if "survey" not in book.sheetnames:
            raise FormError(f"The form {path.name} has no sheet named survey.")
        rows = book["survey"].iter_rows(values_only=True)
        header = [str(cell or "").strip().lower() for cell in next(rows, ())]
        if "name" not in header:
            raise FormError(f"The form {path.name}, sheet survey, row 1: there is no column named name.")
        at = header.index("name")
        names, cells = {}, {}
        for number, row in enumerate(rows, start=2):
            cells[number] = {column: str(value).strip() for column, value in zip(header, row) if value is not None}
            if at < len(row) and row[at] is not None:
                names[str(row[at]).strip()] = number
        return names, cells
    finally:
        book.close()


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
