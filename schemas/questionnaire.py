"""The questionnaire: the survey team's XLSForms, compiled into questions and rules.

The forms in `schemas/forms/` are the declaration of every question, code, range, label
and skip rule (`xlsform.py` reads them). A `Questionnaire` is one form compiled: its
`Question`s, the row rules of its `relevant` and `constraint` columns, and what a form
cannot say, declared here once by question name (which cells are personal, which columns
a file may leave out, the firm id's format) or in `rules.py` (ranked answers, interview
times, consistency warnings). From a question follow its pandera field (`raw_wave.py`),
its cast in `survey_responses` (`staged_answer`), its column there, and the answer a test
fixture gives when it says nothing about it (`example`).

Which form judges a wave: the one named on the command line; else the form whose
`settings` version the file's version column names; else the one assigned to the wave id
(`WAVE_FORMS`); else the newest shipped form that the file's header fits.
"""

from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path

import pandera.pandas as pa

from schemas import codebook
from schemas.predicates import has_text, quoted
from schemas.rules import FORM_RULE_GROUP, FORM_RULE_NAMES, ROW_RULES, Case, RowRule, named
from schemas.xlsform import Form, FormError, FormQuestion, compile_expression, read_form

FORMS_DIR = Path(__file__).resolve().parent / "forms"
# The files this module reads, for the code versions of the assets that import it (`workflows/versions.py`).
READS = ("schemas/forms/*.xlsx",)
# The shipped form each wave id is judged by when its file names no version.
WAVE_FORMS = {"2007": "2007.xlsx", "2009": "2009.xlsx"}

# What a form cannot say, by question name.
ALSO_CHECKED_BY = {"firm_id": ("is_identifier", "unique_firm_id"), "interviewer_id": ("is_interviewer_id",)}
PERSONAL = ("respondent_name", "respondent_phone")
MAY_BE_ABSENT = ("respondent_name", "respondent_phone", "notes", "interviewer_id", "interview_start", "interview_end")

KINDS = ("text", "integer", "decimal", "date", "datetime", "select_one", "select_multiple")


@dataclass(frozen=True)
class Question:
    name: str
    label: str
    kind: str = "text"
    codes: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    # A select_multiple answer names at most this many codes.
    most: int | None = None
    # Every firm must answer it; a skip rule may still demand an optional one.
    required: bool = True
    # The file may leave the whole column out.
    may_be_absent: bool = False
    # Cell rules beyond those of its kind, by check name (`rules.CELL_RULES`): the firm id's format and uniqueness.
    also_checked_by: tuple[str, ...] = ()
    # Never copied into the warehouse's published tables or any output.
    personal: bool = False
    # The form's words: the question and each choice per language, the constraint's message.
    labels: dict = field(default_factory=dict, compare=False)
    choice_labels: dict = field(default_factory=dict, compare=False)
    constraint_message: str = ""
    relevant: str = ""
    constraint: str = ""
    # Required whenever `relevant` holds (its relevance rule says so; `required` is then False).
    required_when_asked: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"question {self.name}: unknown kind {self.kind!r}")
        if self.kind in ("select_one", "select_multiple") and not self.codes:
            raise ValueError(f"question {self.name}: a {self.kind} needs its codes")

    @property
    def checks(self) -> dict:
        """The registered pandera checks (`rules.CELL_RULES`) of its cells, with their statistics."""
        if self.personal:
            return {}
        checks: dict = {check: () for check in self.also_checked_by}
        if self.kind == "integer":
            checks["is_integer"] = ()
        elif self.kind == "decimal":
            checks["is_number"] = ()
        elif self.kind == "date":
            checks["is_iso_date"] = ()
        elif self.kind == "datetime":
            checks["is_iso_datetime"] = ()
        elif self.kind == "select_one":
            checks["allowed_codes"] = {"codes": self.codes}
        elif self.kind == "select_multiple":
            checks["multi_select"] = {"codes": self.codes, "most": self.most or len(self.codes)}
        if self.kind in ("integer", "decimal") and (self.low is not None or self.high is not None):
            checks["within_bounds"] = {"low": self.low, "high": self.high}
        return checks

    def field(self) -> object:
        """The question as a column of the pandera model: its label, whether it may be empty, its checks."""
        description = self.label + (" Personal data: never copied into any output." if self.personal else "")
        return pa.Field(nullable=not self.required, description=description, **self.checks)

    def staged_answer(self) -> str | None:
        """The SQL that types the question's text cell in `survey_responses`; None for a personal one."""
        if self.personal:
            return None
        cell = self.name
        if self.kind == "integer":
            typed = f"cast({cell} as integer)"
        elif self.kind == "decimal":
            typed = f"cast({cell} as double)"
        elif self.kind == "date":
            typed = f"cast({cell} as date)"
        elif self.kind == "datetime":
            typed = f"cast({cell} as timestamptz)"
        elif self.kind == "select_one" and self.codes == codebook.YES_NO:
            typed = f"{cell} = 'yes'"
        elif self.kind == "select_multiple":
            typed = (f"list_filter(coalesce(string_split(trim(regexp_replace({cell}, '\\s+', ' ', 'g')), ' '), []),\n"
                     f"                    lambda code: code <> '')")
        else:
            return cell
        return f"{typed} as {cell}"

    @property
    def example(self) -> str:
        """An answer that passes every rule of the question alone: a test fixture's default."""
        if not self.required:
            return ""
        if self.kind in ("integer", "decimal"):
            return f"{self.low if self.low is not None else 0:g}"
        if self.kind == "date":
            return "2007-09-03"
        if self.kind == "datetime":
            return "2007-09-03T08:00:00+07:00"
        if self.kind in ("select_one", "select_multiple"):
            return self.codes[0]
        return "x"

    def choice_label(self, code: str, language: str = "en") -> str:
        """A choice's label in the language, else in English, else the code itself."""
        labels = self.choice_labels.get(code, {})
        return labels.get(language) or labels.get("en") or code


@dataclass(frozen=True, eq=False)
class Questionnaire:
    """One form compiled: its questions and the row rules it and the project give."""

    name: str
    version: str
    title: str
    questions: tuple[Question, ...]
    form_rules: tuple[RowRule, ...] = ()
    path: Path | None = None

    @cached_property
    def question(self) -> dict[str, Question]:
        return {question.name: question for question in self.questions}

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.question)

    @cached_property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.questions if not q.may_be_absent)

    @cached_property
    def personal_columns(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.questions if q.personal)

    @cached_property
    def row_rules(self) -> tuple[RowRule, ...]:
        """The form's rules, then the project's rules whose questions the form has."""
        return self.form_rules + tuple(rule for rule in ROW_RULES if set(rule.reads) <= set(self.columns))

    @cached_property
    def row_rule_of_check(self) -> dict[str, RowRule]:
        return {rule.check: rule for rule in self.row_rules}

    @cached_property
    def model(self):
        """The pandera model of a wave judged by this questionnaire."""
        from schemas.raw_wave import model_of

        return model_of(self)

    def staged_answers(self) -> str:
        """The typed select list of `survey_responses`: every question but the personal ones."""
        return ",\n        ".join(answer for q in self.questions if (answer := q.staged_answer()) is not None)

    def fits(self, header: list[str]) -> bool:
        """Whether a file with this header has every column this questionnaire requires."""
        return set(self.required_columns) <= set(header)


def compile_form(form: Form) -> Questionnaire:
    """The form's questions with what the project adds by name, and the rules of its expressions."""
    kinds = {question.name: question.kind for question in form.questions}
    questions, rules = [], []
    for stated in form.questions:
        question = Question(
            name=stated.name, label=stated.labels.get("en") or stated.name, kind=stated.kind, codes=stated.codes,
            # A question asked under a condition is required only when it holds: its relevance rule says so.
            low=stated.low, high=stated.high, most=stated.most, required=stated.required and not stated.relevant,
            may_be_absent=stated.name in MAY_BE_ABSENT, also_checked_by=ALSO_CHECKED_BY.get(stated.name, ()),
            personal=stated.name in PERSONAL, labels=stated.labels, choice_labels=stated.choice_labels,
            constraint_message=stated.constraint_messages.get("en", ""), relevant=stated.relevant,
            constraint=stated.constraint, required_when_asked=stated.required and bool(stated.relevant),
        )
        if question.personal and (stated.relevant or stated.constraint):
            raise FormError(f"The form {form.path.name}, sheet survey, row {stated.row}: {stated.name} holds personal "
                            "data, which no rule may quote; give it no relevant or constraint.")
        questions.append(question)
        if stated.relevant:
            rules.append(_relevance_rule(form, stated, question, kinds))
        if stated.constraint:
            rules.append(_constraint_rule(form, stated, question, kinds))
    return Questionnaire(form.path.name, form.version, form.title, tuple(questions), tuple(rules), form.path)


def _readable(expression: str) -> str:
    return " ".join(expression.replace("${", "").replace("}", "").split())


def _relevance_rule(form: Form, stated: FormQuestion, question: Question, kinds: dict) -> RowRule:
    """Asked only when `relevant` holds: then answered if required, else left empty."""
    compiled = compile_expression(form, stated, "relevant", kinds)
    # A cell of blanks is no answer, as the required rule has it.
    answered = has_text(quoted(stated.name))
    predicate = (f"(({compiled.sql}) = {answered})" if stated.required else f"(({compiled.sql}) or not {answered})")
    condition = _readable(stated.relevant)

    def sentence(case: Case) -> str:
        if case.value is None or not case.value.strip():
            return f"{named(case)} is asked when {condition}, which holds here, but the cell is empty."
        return (f"{named(case)} is asked only when {condition}, which does not hold here, so the cell must be empty; "
                f"it holds {case.shown}.")

    name = FORM_RULE_NAMES.get(stated.name, "skip_logic")
    return RowRule(name, FORM_RULE_GROUP[name], stated.name, tuple(sorted(compiled.reads | {stated.name})), predicate,
                   sentence, check=f"{stated.name}__relevant")


def _constraint_rule(form: Form, stated: FormQuestion, question: Question, kinds: dict) -> RowRule:
    compiled = compile_expression(form, stated, "constraint", kinds)
    message = question.constraint_message
    condition = _readable(stated.constraint)

    def sentence(case: Case) -> str:
        if message:
            return f"{named(case)}: {message} The cell holds {case.shown}."
        return f"{named(case)} must meet the constraint {condition}, but the cell holds {case.shown}."

    return RowRule("constraint", FORM_RULE_GROUP["constraint"], stated.name,
                   tuple(sorted(compiled.reads | {stated.name})),
                   f"({quoted(stated.name)} is null or {compiled.sql})", sentence, check=f"{stated.name}__constraint")


@cache
def load(path: Path) -> Questionnaire:
    """A form file compiled (once per process and file)."""
    return compile_form(read_form(path))


@cache
def shipped() -> tuple[Questionnaire, ...]:
    """The project's forms, oldest first by their settings version."""
    forms = [load(path) for path in sorted(FORMS_DIR.glob("*.xlsx"))]
    if not forms:
        raise FormError(f"No form is shipped in {FORMS_DIR}.")
    return tuple(sorted(forms, key=lambda form: _version_key(form.version)))


def _version_key(version: str) -> tuple:
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in version.replace("-", ".").split("."))


def by_version(version: str) -> Questionnaire | None:
    return next((form for form in shipped() if form.version == version), None)


def form_for(wave: str, header: list[str], version: str | None = None, path: Path | None = None) -> Questionnaire:
    """The questionnaire a wave is judged by (see the module's docstring); `version` is the file's own."""
    if path is not None:
        return load(Path(path).resolve())
    if version:
        found = by_version(version)
        if found is not None:
            return found
    if wave in WAVE_FORMS:
        return load((FORMS_DIR / WAVE_FORMS[wave]).resolve())
    newest_first = list(reversed(shipped()))
    return next((form for form in newest_first if form.fits(header)), newest_first[0])


@cache
def project() -> Questionnaire:
    """Every question of the shipped forms, the newest form's declaration of each: the warehouse's columns."""
    questions: dict[str, Question] = {}
    for form in reversed(shipped()):
        for question in form.questions:
            older = questions.setdefault(question.name, question)
            if older.kind != question.kind:
                raise FormError(f"The question {question.name} is a {question.kind} in the form {form.name} but a "
                                f"{older.kind} in a newer one; a question that changes its kind needs a new name.")
    newest = shipped()[-1]
    # The union asks nothing of a file: a column only some forms have is optional to it.
    everyone = set.intersection(*(set(form.required_columns) for form in shipped()))
    union = tuple(q if q.name in everyone else replace(q, may_be_absent=True) for q in questions.values())
    return Questionnaire("all shipped forms", newest.version, newest.title, union)


def __getattr__(name: str):
    # The project's questions, for the modules that shape the warehouse and the test fixtures.
    if name == "QUESTIONS":
        return project().questions
    if name == "QUESTION":
        return project().question
    if name == "CONTRACT_COLUMNS":
        return project().columns
    if name == "PERSONAL_COLUMNS":
        return project().personal_columns
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def staged_answers() -> str:
    """The typed select list of `survey_responses`, over every question of the shipped forms."""
    return project().staged_answers()


def differences(before: Questionnaire, after: Questionnaire) -> list[dict]:
    """What changed from one wave's form to the next: each question added, removed or changed, and how.

    Each item is `{"question", "change", "details"}`; `details` says what changed in words
    (choices added or removed, range, kind, whether required, condition, constraint, label).
    """
    changes = [{"question": name, "change": "added", "details": [after.question[name].label]}
               for name in after.columns if name not in before.question]
    changes += [{"question": name, "change": "removed", "details": [before.question[name].label]}
                for name in before.columns if name not in after.question]
    for name in after.columns:
        if name in before.question and (details := _changed(before.question[name], after.question[name])):
            changes.append({"question": name, "change": "changed", "details": details})
    return changes


def _changed(old: Question, new: Question) -> list[str]:
    details = []
    if old.kind != new.kind:
        details.append(f"type {old.kind} → {new.kind}")
    if added := [code for code in new.codes if code not in old.codes]:
        details.append("choices added: " + ", ".join(added))
    if removed := [code for code in old.codes if code not in new.codes]:
        details.append("choices removed: " + ", ".join(removed))
    if (old.low, old.high) != (new.low, new.high):
        details.append(f"range {_range(old)} → {_range(new)}")
    if old.most != new.most:
        details.append(f"at most {old.most or 'any'} → {new.most or 'any'} choices")
    if (old.required, old.required_when_asked) != (new.required, new.required_when_asked):
        details.append("now required" if new.required or new.required_when_asked else "no longer required")
    for what, before_text, after_text in (("condition", old.relevant, new.relevant),
                                         ("constraint", old.constraint, new.constraint)):
        if before_text != after_text:
            details.append(f"{what} {_readable(before_text) or 'none'} → {_readable(after_text) or 'none'}")
    if old.label != new.label:
        details.append("label reworded")
    return details


def _range(question: Question) -> str:
    if question.low is None and question.high is None:
        return "none"
    return f"{'' if question.low is None else f'{question.low:g}'}–{'' if question.high is None else f'{question.high:g}'}"


def rule_of(question: Question) -> str:
    """The question's rules in words, as the codebook appendix prints them."""
    parts = []
    if question.required:
        parts.append("required")
    if question.low is not None or question.high is not None:
        parts.append(f"range {_range(question)}")
    if question.most:
        parts.append(f"at most {question.most} choices")
    if question.relevant:
        parts.append(f"{'required' if question.required_when_asked else 'asked'} when {_readable(question.relevant)}")
    if question.constraint:
        parts.append(f"constraint {_readable(question.constraint)}")
    if question.personal:
        parts.append("personal: never in any output")
    if question.may_be_absent:
        parts.append("column may be left out")
    return "; ".join(parts) or "optional"


def of_wave(form: dict | None, wave: str, columns: list[str]) -> Questionnaire:
    """The questionnaire a published wave was judged by, from the `form` its register recorded."""
    if form:
        path = Path(form.get("path") or "")
        if path.is_file():
            return load(path.resolve())
        if (found := by_version(str(form.get("version")))) is not None:
            return found
    return form_for(wave, columns)
