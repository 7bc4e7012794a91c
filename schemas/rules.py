"""The rules of the input contract, grouped the way the survey manager fixes them.

Each group becomes one blocking asset check in Dagster and one section of the validation
report; each rule name is what `validation.json` reports.
"""

from dataclasses import dataclass

from schemas.findings import ERROR, WARNING


@dataclass(frozen=True)
class RuleGroup:
    name: str
    description: str
    rules: tuple[str, ...]
    severity: str = ERROR


RULE_GROUPS = (
    RuleGroup(
        "file_is_readable_csv",
        "The file is UTF-8 text, separated by commas and quoted as RFC 4180 says, with one header row naming "
        "each column once (at most 10,000), at least one row of answers, as many fields in every record as in "
        "the header, and no cell longer than 4 MiB.",
        ("encoding", "empty_file", "delimiter", "header", "too_many_columns", "duplicate_column", "ragged_row",
         "unclosed_quote", "misplaced_quote", "cell_too_long", "carriage_return", "no_rows"),
    ),
    RuleGroup(
        "required_columns_present",
        "Every column of the questionnaire is in the header (only the respondent's name and phone and "
        "the interviewer's notes may be left out).",
        ("missing_column",),
    ),
    RuleGroup(
        "required_answers_given",
        "Every question that every firm must answer has an answer.",
        ("required",),
    ),
    RuleGroup(
        "answers_well_formed",
        "Whole numbers, numbers, dates, firm ids and codes are written the way the codebook says.",
        ("integer", "number", "date", "firm_id_format", "allowed_codes", "multi_select"),
    ),
    RuleGroup(
        "answers_in_range",
        "Numbers lie within the ranges the questionnaire allows (1-10 scales, counts, percentages).",
        ("range",),
    ),
    RuleGroup(
        "firm_ids_unique",
        "Each firm appears once in the wave.",
        ("duplicate_firm_id",),
    ),
    RuleGroup(
        "skip_logic_followed",
        "Q9 is answered exactly when Q6 is yes; Q19 and Q20 exactly when Q18 names a source.",
        ("q9_skip", "q19_skip", "q20_skip"),
    ),
    RuleGroup(
        "constraint_ranking_consistent",
        "The Q10 constraints are ranked without gaps and without naming one twice.",
        ("q10_ranking",),
    ),
    RuleGroup(
        "other_answers_specified",
        "An 'other' answer in Q10 or Q18 comes with its text.",
        ("other_text",),
    ),
    RuleGroup(
        "no_outliers_within_clusters",
        "Employees, turnover, costs and turnover per employee lie within Q1 - 3 IQR .. Q3 + 3 IQR of "
        "the firm's cluster (a warning: large firms exist, but a slipped digit is likelier).",
        ("outlier",),
        WARNING,
    ),
    RuleGroup(
        "interview_dates_within_the_wave",
        "Every interview lies within 90 days of the wave's median interview date (a warning: a date "
        "far away is usually a typing error or a firm from another wave).",
        ("interview_date_far",),
        WARNING,
    ),
    RuleGroup(
        "no_duplicate_answers",
        "No two firm ids carry exactly the same answers (a warning: one firm entered twice).",
        ("duplicate_answers",),
        WARNING,
    ),
    RuleGroup(
        "complaint_answers_consistent",
        "A firm whose own plant drew a complaint (Q4) also knows of complaints in the village (Q3).",
        ("q4_without_q3",),
        WARNING,
    ),
    RuleGroup(
        "no_blank_records",
        "No record of the file is blank (a warning: a blank line is skipped, never read as a firm).",
        ("blank_record",),
        WARNING,
    ),
    RuleGroup(
        "no_unknown_columns",
        "The file has no columns outside the questionnaire (they are ignored, not read).",
        ("unknown_column",),
        WARNING,
    ),
)

BLOCKING_RULES = frozenset(rule for group in RULE_GROUPS if group.severity == ERROR for rule in group.rules)


def error_count(counts: dict[str, int]) -> int:
    """How many of a wave's counted failures block it (the rest are warnings)."""
    return sum(n for rule, n in counts.items() if rule in BLOCKING_RULES)
