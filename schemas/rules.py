"""Every rule of the input contract, declared once as a record, grouped the way the survey manager fixes them.

A record holds a rule's name (what `validation.json` reports), its group (one blocking or
warning asset check in Dagster, one section of the validation report, its severity), the
columns it reads, its SQL predicate and the sentence a finding of it says. From the records
follow the pandera checks (`checks.py`, `raw_wave.py`), the SQL that judges a staged wave
(`findings.py`) and the groups' asset checks. A cell rule applies to the questions whose
kind calls for it (`questionnaire.Question.checks`); a row rule ties the cells of one record
together. Rules found by code rather than by a predicate (the file's grammar, outliers) are
declared here by name and group too, with the code that finds them named.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

from schemas.predicates import (
    IDENTIFIER_PATTERN,
    INTEGER_PATTERN,
    LARGEST_NUMBER,
    NUMBER_PATTERN,
    ORDER_COLUMN,
    codes_list,
    codes_pattern,
    date_of,
    datetime_of,
    is_value,
    no_code_twice,
    number_of,
    quoted,
)

ERROR = "error"
WARNING = "warning"
# How many characters of a cell a finding quotes; a longer cell is cut there and its length said.
VALUE_CHARACTERS = 200


def bounded(text: str | None, limit: int = VALUE_CHARACTERS) -> str | None:
    """The text if it has at most `limit` characters; else its first `limit` characters, an
    ellipsis and its full length: `'abc… (1,048,576 characters)'`."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


@dataclass(frozen=True)
class Case:
    """What a finding's sentence may use: the column, its cell's full text, the check's statistics, the record."""

    column: str
    cell: str | None
    statistics: Mapping = field(default_factory=dict)
    row: Mapping = field(default_factory=dict)
    # The question's label in the form, and its constraint message (said instead of the project's words).
    label: str = ""
    message: str = ""

    @property
    def value(self) -> str | None:
        return bounded(self.cell)

    @property
    def shown(self) -> str:
        return f"'{self.value}'"


@dataclass(frozen=True)
class CellRule:
    """A rule on one cell, registered with pandera as the check `check`; an empty cell passes all but `required`."""

    name: str
    group: str
    check: str
    predicate: Callable[..., str]  # (the cell's SQL, **statistics) -> SQL, true when the cell passes
    sentence: Callable[[Case], str]
    statistics: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowRule:
    """A rule tying cells of one record together; a finding names the dependent cell, `column`."""

    name: str
    group: str
    column: str
    reads: tuple[str, ...]
    predicate: str  # SQL over the record's text cells, true when the record passes
    sentence: Callable[[Case], str]
    # The pandera check's own name, when one rule is checked by several predicates.
    check: str = ""

    def __post_init__(self):
        if not self.check:
            object.__setattr__(self, "check", self.name)


@dataclass(frozen=True)
class FoundRule:
    """A rule found by code rather than by one predicate; `found_by` names where its sentences are."""

    name: str
    group: str
    found_by: str


@dataclass(frozen=True)
class RuleGroup:
    name: str
    description: str
    severity: str = ERROR
    rules: tuple[str, ...] = ()


def named(case: Case) -> str:
    """The column, with its question's label when the form gives one: `q1_noise (“Q1 How serious …”)`."""
    return f"{case.column} (“{case.label}”)" if case.label and case.label != case.column else case.column


def _too_large(case: Case) -> str:
    return (f"{named(case)} holds {case.shown}, a number too large for any answer of this survey "
            f"(at most {LARGEST_NUMBER:.0e}); check for a slipped digit or exponent.")


def _whole_number_sentence(case: Case) -> str:
    if re.fullmatch(INTEGER_PATTERN, case.cell or ""):
        return _too_large(case)
    return f"{named(case)} must be a whole number, but the cell holds {case.shown}."


def _number_sentence(case: Case) -> str:
    if re.fullmatch(NUMBER_PATTERN, case.cell or ""):
        return _too_large(case)
    return (f"{named(case)} must be a number written with a decimal point (e.g. 1250.5), "
            f"but the cell holds {case.shown}.")


def _range_sentence(case: Case) -> str:
    if case.message:
        return f"{named(case)}: {case.message} The cell holds {case.value}."
    low, high = case.statistics.get("low"), case.statistics.get("high")
    if low is not None and high is not None:
        bounds = f"between {low:g} and {high:g}"
    else:
        bounds = f"at least {low:g}" if low is not None else f"at most {high:g}"
    return f"{named(case)} must be {bounds}, but the cell holds {case.value}."


def _multi_select_sentence(case: Case) -> str:
    codes = ", ".join(case.statistics["codes"])
    if case.message:
        return (f"{named(case)}: {case.message} Each code must be one of {codes}, written once, separated by spaces; "
                f"the cell holds {case.shown}.")
    return (f"{named(case)} must hold at most {case.statistics['most']} different codes separated by spaces, "
            f"each one of {codes}, but the cell holds {case.shown}.")


def _within_bounds(cell: str, low: float | None, high: float | None) -> str:
    # An unparsable cell is the `integer` or `number` rule's business, not the range's.
    number = number_of(cell)
    if low is not None and high is not None:
        return f"coalesce({number} between {low} and {high}, true)"
    return f"coalesce({number} {'>=' if low is not None else '<='} {low if low is not None else high}, true)"


CELL_RULES = (
    CellRule("required", "required_answers_given", "not_nullable", lambda cell: f"({cell} is not null)",
             lambda case: f"{named(case)} is required but the cell is empty."),
    # A whole number of a usable size: 99999999999999999999 would overflow every integer cast.
    CellRule("integer", "answers_well_formed", "is_integer",
             lambda cell: (f"({cell} is null or (regexp_full_match({cell}, '{INTEGER_PATTERN}') "
                           f"and {number_of(cell)} is not null))"),
             _whole_number_sentence),
    # Written as a number and finite and of a usable size: '1e400' is a number only to a parser.
    CellRule("number", "answers_well_formed", "is_number",
             lambda cell: f"({cell} is null or {number_of(cell)} is not null)", _number_sentence),
    CellRule("date", "answers_well_formed", "is_iso_date",
             lambda cell: f"({cell} is null or {date_of(cell)} is not null)",
             lambda case: f"{named(case)} must be a real date written YYYY-MM-DD, but the cell holds {case.shown}."),
    CellRule("datetime", "answers_well_formed", "is_iso_datetime",
             lambda cell: f"({cell} is null or {datetime_of(cell)} is not null)",
             lambda case: (f"{named(case)} must be a real date and time with its offset from UTC, written like "
                           f"2007-09-03T08:15:00+07:00, but the cell holds {case.shown}.")),
    CellRule("firm_id_format", "answers_well_formed", "is_identifier",
             lambda cell: f"({cell} is null or regexp_full_match({cell}, '{IDENTIFIER_PATTERN}'))",
             lambda case: (f"{case.column} must be 1 to 32 letters, digits, '_' or '-', starting with a letter or "
                           f"digit, but the cell holds {case.shown}.")),
    CellRule("interviewer_id_format", "answers_well_formed", "is_interviewer_id",
             lambda cell: f"({cell} is null or regexp_full_match({cell}, '{IDENTIFIER_PATTERN}'))",
             lambda case: (f"{case.column} must be 1 to 32 letters, digits, '_' or '-', starting with a letter or "
                           f"digit, but the cell holds {case.shown}.")),
    CellRule("allowed_codes", "answers_well_formed", "allowed_codes",
             lambda cell, codes: f"({cell} is null or list_contains({codes_list(codes)}, {cell}))",
             lambda case: (f"{named(case)} must be one of {', '.join(case.statistics['codes'])}, "
                           f"but the cell holds {case.shown}."),
             ("codes",)),
    # Known codes, at most `most` of them, by one regular expression; then no code twice.
    CellRule("multi_select", "answers_well_formed", "multi_select",
             lambda cell, codes, most: (f"({cell} is null or (regexp_full_match({cell}, '{codes_pattern(codes, most)}') "
                                        f"and {no_code_twice(cell)}))"),
             _multi_select_sentence,
             ("codes", "most")),
    CellRule("range", "answers_in_range", "within_bounds", _within_bounds, _range_sentence, ("low", "high")),
    # The first occurrence is the one kept; every later one is the mistake to report.
    CellRule("duplicate_firm_id", "firm_ids_unique", "unique_firm_id",
             lambda cell: f"({cell} is null or row_number() over (partition by {cell} order by {ORDER_COLUMN}) = 1)",
             lambda case: f"{case.column} {case.shown} was already used by an earlier row; each firm must appear once."),
)

_q = quoted
_RANKS = [f"q10_constraint_{rank}" for rank in (1, 2, 3)]


def _ranking_sentence(case: Case) -> str:
    rank = int(case.column[-1])
    if pd.isna(case.row.get(f"q10_constraint_{rank - 1}")):
        return (f"{case.column} is filled, but the constraint ranked {rank - 1} is empty; "
                "ranks must be filled in order.")
    return f"{case.column} repeats a constraint already ranked higher; the three ranked constraints must differ."


_START, _END = _q("interview_start"), _q("interview_end")
# Judged only when both times are real ones (else the datetime rule speaks): ordered, and ending on the interview's
# day as its own offset writes it.
_INTERVIEW_TIMES = (
    f"(({_START} is null) = ({_END} is null)) and ({_START} is null or {datetime_of(_START)} is null "
    f"or {datetime_of(_END)} is null or ({datetime_of(_END)} > {datetime_of(_START)} "
    f"and left({_END}, 10) is not distinct from {_q('interview_date')}))"
)


def _interview_times_sentence(case: Case) -> str:
    start, day = case.row.get("interview_start"), case.row.get("interview_date")
    if pd.isna(start):
        return f"interview_end holds {case.shown}, but interview_start is empty; give both times or neither."
    if case.value is None:
        return f"interview_start holds '{start}', but interview_end is empty; give both times or neither."
    if case.cell[:10] != day:
        return f"interview_end holds {case.shown}, which is not on the interview's day ({day})."
    return f"interview_end holds {case.shown}, which is not after interview_start ('{start}')."


ROW_RULES = (
    RowRule("q10_ranking", "constraint_ranking_consistent", "q10_constraint_2", tuple(_RANKS[:2]),
            f"({_q(_RANKS[1])} is null or ({_q(_RANKS[0])} is not null and {_q(_RANKS[1])} <> {_q(_RANKS[0])}))",
            _ranking_sentence, check="q10_rank_2"),
    RowRule("q10_ranking", "constraint_ranking_consistent", "q10_constraint_3", tuple(_RANKS),
            f"({_q(_RANKS[2])} is null or ({_q(_RANKS[1])} is not null and {_q(_RANKS[2])} is distinct from "
            f"{_q(_RANKS[0])} and {_q(_RANKS[2])} <> {_q(_RANKS[1])}))",
            _ranking_sentence, check="q10_rank_3"),
    RowRule("interview_times", "interview_times_consistent", "interview_end",
            ("interview_date", "interview_start", "interview_end"), _INTERVIEW_TIMES, _interview_times_sentence),
    RowRule("q4_without_q3", "complaint_answers_consistent", "q4_complaint_own",
            ("q3_complaints_village", "q4_complaint_own"),
            f"not ({is_value(_q('q4_complaint_own'), 'yes')} and {is_value(_q('q3_complaints_village'), 'no')})",
            lambda case: ("A complaint was made about the firm's own plant (q4 yes), yet the respondent knows of no "
                          "complaints in the village (q3 no); one of the two answers may be wrong.")),
)

# The forms' rules (`questionnaire.py` compiles each `relevant` and `constraint`), named as the contract names them
# where it does, by question; any other relevance is `skip_logic`, any other constraint `constraint`.
FORM_RULE_NAMES = {
    "q9_introduced_by": "q9_skip", "q19_partner_importance": "q19_skip", "q20_initiator": "q20_skip",
    "q10_other_text": "other_text", "q18_other_text": "other_text",
}
FORM_RULE_GROUP = {"q9_skip": "skip_logic_followed", "q19_skip": "skip_logic_followed",
                   "q20_skip": "skip_logic_followed", "skip_logic": "skip_logic_followed",
                   "other_text": "other_answers_specified", "constraint": "form_constraints_met"}

_FILE_FAULTS = ("encoding", "empty_file", "delimiter", "header", "too_many_columns", "duplicate_column", "ragged_row",
                "unclosed_quote", "misplaced_quote", "cell_too_long", "carriage_return", "no_rows",
                # An export named and not read (.xls, .ods, .dta, ...); a workbook or SPSS file that cannot be opened.
                "unsupported_file_type", "damaged_file",
                # Numbers like 1250,5 in a file refused for its encoding or separator, said in the same round.
                "decimal_comma")
FOUND_RULES = (
    *(FoundRule(name, "file_is_readable_csv", "workflows/intake/wave_file.py") for name in _FILE_FAULTS),
    FoundRule("missing_column", "required_columns_present", "schemas/findings.py"),
    FoundRule("form_version", "form_is_known", "workflows/intake/wave_file.py"),
    # The wave's corrections file (`data/corrections/<wave>.csv`): its own faults, and a correction that does not fit.
    FoundRule("corrections_file", "corrections_apply", "workflows/intake/corrections.py"),
    FoundRule("correction_refused", "corrections_apply", "workflows/intake/corrections.py"),
    FoundRule("corrections_file_removed", "corrections_still_in_place", "workflows/intake/corrections.py"),
    # A select_multiple exported as split choice columns: a cell that is not 1 or 0, a split that disagrees with
    # the question's own column.
    FoundRule("split_choice_value", "answers_well_formed", "workflows/intake/layout.py"),
    FoundRule("split_choices_disagree", "answers_well_formed", "workflows/intake/layout.py"),
    *(FoundRule(name, group, "the forms' relevant and constraint columns (schemas/questionnaire.py)")
      for name, group in FORM_RULE_GROUP.items()),
    FoundRule("outlier", "no_outliers_within_clusters", "schemas/quality.py"),
    FoundRule("interview_date_far", "interview_dates_within_the_wave", "schemas/quality.py"),
    FoundRule("duplicate_answers", "no_duplicate_answers", "schemas/quality.py"),
    FoundRule("interview_duration", "interview_durations_usual", "schemas/quality.py"),
    # Per interviewer: the share of records with a finding, of 'other' answers, of optional questions left empty.
    FoundRule("interviewer_findings", "interviewer_patterns", "schemas/quality.py"),
    FoundRule("interviewer_other_answers", "interviewer_patterns", "schemas/quality.py"),
    FoundRule("interviewer_skipped_optional", "interviewer_patterns", "schemas/quality.py"),
    FoundRule("blank_record", "no_blank_records", "workflows/intake/wave_file.py"),
    FoundRule("unknown_column", "no_unknown_columns", "workflows/intake/wave_file.py"),
    FoundRule("same_file_as_other_wave", "file_differs_from_other_waves", "workflows/warehouse/staging.py"),
)

_GROUPS = (
    RuleGroup(
        "file_is_readable_csv",
        "The file is an export the project reads (CSV, or an XLSX workbook or SPSS .sav that opens, converted to "
        "CSV first) and is UTF-8 text, separated by commas and quoted as RFC 4180 says, with one header row naming "
        "each column once (at most 10,000), at least one row of answers, as many fields in every record as in "
        "the header, and no cell longer than 4 MiB.",
    ),
    RuleGroup(
        "required_columns_present",
        "Every column of the questionnaire is in the header (only the respondent's name and phone and "
        "the interviewer's notes may be left out).",
    ),
    RuleGroup("form_is_known",
              "The form version the file's records name (`__version__`, `formdef_version`) is one of the project's "
              "forms, one version for the whole file."),
    RuleGroup("corrections_apply",
              "The wave's corrections file, when there is one, is readable and each of its corrections fits the raw "
              "file: the firm's record exists once (or its row is given) and its cell holds the old value."),
    RuleGroup("corrections_still_in_place",
              "A wave published with corrections still has its corrections file (a warning: without it, the next run "
              "publishes the raw file's uncorrected cells).", WARNING),
    RuleGroup("required_answers_given", "Every question that every firm must answer has an answer."),
    RuleGroup("answers_well_formed",
              "Whole numbers, numbers, dates, firm ids and codes are written the way the codebook says."),
    RuleGroup("answers_in_range",
              "Numbers lie within the ranges the questionnaire allows (1-10 scales, counts, percentages)."),
    RuleGroup("firm_ids_unique", "Each firm appears once in the wave."),
    RuleGroup("skip_logic_followed",
              "A question the form asks only under a condition is answered exactly when the condition holds "
              "(Q9 when Q6 is yes; Q19 and Q20 when Q18 names a source)."),
    RuleGroup("constraint_ranking_consistent",
              "The Q10 constraints are ranked without gaps and without naming one twice."),
    RuleGroup("other_answers_specified", "An 'other' answer in Q10 or Q18 comes with its text, and only then."),
    RuleGroup("form_constraints_met", "Every answer meets the constraint its question has in the form."),
    RuleGroup("interview_times_consistent",
              "An interview's start and end are given together, the end after the start and on the interview's day."),
    RuleGroup(
        "no_outliers_within_clusters",
        "Employees, turnover, costs and turnover per employee lie within Q1 - 3 IQR .. Q3 + 3 IQR of "
        "the firm's cluster (a warning: large firms exist, but a slipped digit is likelier).",
        WARNING,
    ),
    RuleGroup(
        "interview_dates_within_the_wave",
        "Every interview lies within 90 days of the wave's median interview date (a warning: a date "
        "far away is usually a typing error or a firm from another wave).",
        WARNING,
    ),
    RuleGroup("interview_durations_usual",
              "Every interview's length (interview_end - interview_start) lies within Q1 - 3 IQR .. Q3 + 3 IQR of the "
              "wave's (a warning: a five-minute interview was likelier rushed or never held).", WARNING),
    RuleGroup("interviewer_patterns",
              "No interviewer's share of records with a finding, of 'other' answers or of optional questions left "
              "empty lies above Q3 + 3 IQR of the other interviewers' shares and more than 10 points above their "
              "median (a warning, said when at least 4 interviewers have 5 interviews or more: one far off may be "
              "rushing, not reading out the choices or skipping questions).", WARNING),
    RuleGroup("no_duplicate_answers",
              "No two firm ids carry exactly the same answers (a warning: one firm entered twice).", WARNING),
    RuleGroup("complaint_answers_consistent",
              "A firm whose own plant drew a complaint (Q4) also knows of complaints in the village (Q3).", WARNING),
    RuleGroup("no_blank_records",
              "No record of the file is blank (a warning: a blank line is skipped, never read as a firm).", WARNING),
    RuleGroup("no_unknown_columns",
              "The file has no columns outside the questionnaire (they are ignored, not read).", WARNING),
    RuleGroup("file_differs_from_other_waves",
              "The file is not byte for byte the file of another wave (a warning: a copy saved under a new "
              "name would publish the same firms again as a new wave).", WARNING),
)

RULES = (*FOUND_RULES[:len(_FILE_FAULTS) + 1], *CELL_RULES, *ROW_RULES, *FOUND_RULES[len(_FILE_FAULTS) + 1:])
RULE_GROUPS = tuple(
    replace(group, rules=tuple(dict.fromkeys(rule.name for rule in RULES if rule.group == group.name)))
    for group in _GROUPS
)
_SEVERITY_OF_GROUP = {group.name: group.severity for group in RULE_GROUPS}
SEVERITY = {rule.name: _SEVERITY_OF_GROUP[rule.group] for rule in RULES}
CELL_RULE_OF_CHECK = {rule.check: rule for rule in CELL_RULES}
ROW_RULE_OF_CHECK = {rule.check: rule for rule in ROW_RULES}
BLOCKING_RULES = frozenset(rule for rule, severity in SEVERITY.items() if severity == ERROR)


def _every_rule_in_a_declared_group() -> None:
    unknown = {rule.name: rule.group for rule in RULES if rule.group not in _SEVERITY_OF_GROUP}
    if unknown:
        raise ValueError(f"rules in no declared group: {unknown}")


_every_rule_in_a_declared_group()


def error_count(counts: dict[str, int]) -> int:
    """How many of a wave's counted failures block it (the rest are warnings)."""
    return sum(n for rule, n in counts.items() if rule in BLOCKING_RULES)
