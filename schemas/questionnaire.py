"""Every question of the raw wave, declared once, in the order of the input contract.

A question's declaration is its whole truth: from it follow the pandera field that judges
its cells (`raw_wave.py`), the column's cast in the published `survey_responses`
(`staged_answer`, spliced into `sql/stg_survey_responses.sql`), whether the file may leave
the column out, and the answer a test fixture gives when it says nothing about the
question (`example`). Kinds are XLSForm's types: text, integer, decimal, date, select_one,
select_multiple.
"""

from dataclasses import dataclass

import pandera.pandas as pa

from schemas import codebook

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
    # Every firm must answer it; a skip rule or an "other" rule may still demand an optional one.
    required: bool = True
    # The file may leave the whole column out.
    may_be_absent: bool = False
    # Cell rules beyond those of its kind, by check name (`rules.CELL_RULES`): the firm id's format and uniqueness.
    also_checked_by: tuple[str, ...] = ()
    # Never copied into the warehouse's published tables or any output.
    personal: bool = False

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


def _yes_no(name: str, label: str) -> Question:
    return Question(name, label, "select_one", codebook.YES_NO)


def _rating(name: str, label: str, *, required: bool = True) -> Question:
    """A 1-10 scale answer."""
    return Question(name, label, "integer", low=1, high=10, required=required)


def _optional_text(name: str, label: str) -> Question:
    return Question(name, label, required=False)


QUESTIONS = (
    Question("firm_id", "Stable enterprise id; the same firm keeps it across waves.",
             also_checked_by=("is_identifier", "unique_firm_id")),
    Question("interview_date", "Day of the interview (YYYY-MM-DD).", "date"),
    Question("cluster", "Village cluster.", "select_one", codebook.CLUSTERS),
    Question("ownership", "Legal form.", "select_one", codebook.OWNERSHIP),
    Question("years_in_operation", "Years in operation (YEARS).", "integer", low=0, high=200),
    Question("employees", "Full-time employees (EMPL).", "integer", low=0, high=100000),
    Question("turnover_kvnd", "Annual turnover, thousand VND (TURN).", "decimal", low=0),
    Question("export_share_pct", "Share of turnover exported, %.", "decimal", low=0, high=100),
    _rating("q1_noise", "Q1 seriousness of noise pollution (10 = very serious)."),
    _rating("q1_air", "Q1 seriousness of air pollution."),
    _rating("q1_water", "Q1 seriousness of water pollution (river/pond)."),
    _rating("q2_resources", "Q2 sustainability of local resources (10 = totally)."),
    _yes_no("q3_complaints_village", "Q3 aware of complaints in the village."),
    _yes_no("q4_complaint_own", "Q4 complaint made about the firm's own plant."),
    _yes_no("q5_control_agreement", "Q5 pollution-control agreement with local leaders."),
    _yes_no("q6_equipment_installed", "Q6 installed pollution-control equipment 2001-2006."),
    Question("q7_capital_cost_mvnd", "Q7 average annual capital cost of pollution control, million VND.",
             "decimal", low=0),
    Question("q8_om_cost_mvnd", "Q8 average annual operation and maintenance cost, million VND.", "decimal", low=0),
    Question("q9_introduced_by", "Q9 who introduced the equipment.", "select_one", codebook.Q9_INTRODUCERS,
             required=False),
    *(Question(f"q10_constraint_{rank}", f"Q10 constraint ranked {ordinal}.", "select_one", codebook.Q10_CONSTRAINTS,
               required=False)
      for rank, ordinal in ((1, "first"), (2, "second"), (3, "third"))),
    _optional_text("q10_other_text", "Q10 the 'other' constraint, in words."),
    _yes_no("q11_buyers_asked_compliance", "Q11 buyers asked whether local plants comply."),
    _yes_no("q12_buyers_considered_performance", "Q12 buyers considered the plant's environmental performance."),
    _yes_no("q13_buyers_offered_help", "Q13 buyers offered help to reduce emissions."),
    _yes_no("q14_subsidised_loan", "Q14 received a low-interest loan for pollution control."),
    Question("q15_monitoring_visits", "Q15 government monitoring visits in the past year.", "integer", low=0, high=365),
    Question("q16_warnings_donre", "Q16 warning letters from the provincial DoNRE.", "integer", low=0, high=100),
    Question("q16_warnings_commune", "Q16 warning letters from the local commune.", "integer", low=0, high=100),
    _yes_no("q17_aware_clean_tech", "Q17 knows of environmentally friendly products or processes."),
    Question("q18_sources", "Q18 up to three sources of knowledge on clean technology.", "select_multiple",
             codebook.Q18_SOURCES, most=3, required=False),
    _optional_text("q18_other_text", "Q18 the 'other' source, in words."),
    _rating("q19_partner_importance", "Q19 importance of the main interaction.", required=False),
    Question("q20_initiator", "Q20 who initiates the interaction.", "select_one", codebook.Q20_INITIATORS,
             required=False),
    Question("q21_partner_locations", "Q21 where the innovation partners are.", "select_multiple",
             codebook.Q21_LOCATIONS, most=4, required=False),
    Question("q22_help_equipment", "Q22 sought help acquiring equipment.", "select_one", codebook.Q22_FREQUENCIES),
    Question("q22_help_compliance", "Q22 sought information on compliance.", "select_one", codebook.Q22_FREQUENCIES),
    Question("q22_help_banks", "Q22 sought help dealing with banks.", "select_one", codebook.Q22_FREQUENCIES),
    Question("q22_help_senior_gov", "Q22 sought help with senior government.", "select_one", codebook.Q22_FREQUENCIES),
    Question("respondent_name", "The respondent's name.", required=False, may_be_absent=True, personal=True),
    Question("respondent_phone", "The respondent's phone number.", required=False, may_be_absent=True, personal=True),
    Question("notes", "Interviewer's free-text notes.", required=False, may_be_absent=True),
    Question("interviewer_id", "Who interviewed the firm (for per-interviewer checks).", required=False,
             may_be_absent=True, also_checked_by=("is_interviewer_id",)),
    Question("interview_start", "When the interview began (ISO 8601 with offset).", "datetime", required=False,
             may_be_absent=True),
    Question("interview_end", "When the interview ended: after its start, on the day of the interview.", "datetime",
             required=False, may_be_absent=True),
)

QUESTION = {question.name: question for question in QUESTIONS}
CONTRACT_COLUMNS = tuple(QUESTION)
REQUIRED_COLUMNS = tuple(q.name for q in QUESTIONS if not q.may_be_absent)
PERSONAL_COLUMNS = tuple(q.name for q in QUESTIONS if q.personal)


def staged_answers() -> str:
    """The typed select list of `survey_responses`: every question but the personal ones."""
    return ",\n        ".join(answer for q in QUESTIONS if (answer := q.staged_answer()) is not None)
