"""The raw survey wave as it arrives: one row per firm, every cell still text.

One declarative model holds every rule of the input contract, the cross-field rules
included. Its rows are indexed by CSV record number. pandera validates a frame with it;
the warehouse judges a staged wave by the same model, compiled to SQL (`findings.py`).
"""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas import codebook
from schemas.predicates import ROW_PREDICATES, holds
from schemas.checks import (
    field,
    free_text,
    non_negative,
    optional_codes,
    rating,
    required_codes,
    whole_number,
)

YES_NO = codebook.YES_NO


class RawWave(pa.DataFrameModel):
    """One interviewed enterprise per row, as exported by the survey tool."""

    firm_id: Series[str] = field(
        "Stable enterprise id; the same firm keeps it across waves.",
        is_identifier=(), unique_firm_id=(),
    )
    interview_date: Series[str] = field("Day of the interview (YYYY-MM-DD).", is_iso_date=())
    cluster: Series[str] = required_codes(codebook.CLUSTERS, "Village cluster.")
    ownership: Series[str] = required_codes(codebook.OWNERSHIP, "Legal form.")
    years_in_operation: Series[str] = whole_number(0, 200, "Years in operation (YEARS).")
    employees: Series[str] = whole_number(0, 100000, "Full-time employees (EMPL).")
    turnover_kvnd: Series[str] = non_negative("Annual turnover, thousand VND (TURN).")
    export_share_pct: Series[str] = non_negative("Share of turnover exported, %.", high=100)
    q1_noise: Series[str] = rating("Q1 seriousness of noise pollution (10 = very serious).")
    q1_air: Series[str] = rating("Q1 seriousness of air pollution.")
    q1_water: Series[str] = rating("Q1 seriousness of water pollution (river/pond).")
    q2_resources: Series[str] = rating("Q2 sustainability of local resources (10 = totally).")
    q3_complaints_village: Series[str] = required_codes(YES_NO, "Q3 aware of complaints in the village.")
    q4_complaint_own: Series[str] = required_codes(YES_NO, "Q4 complaint made about the firm's own plant.")
    q5_control_agreement: Series[str] = required_codes(YES_NO, "Q5 pollution-control agreement with local leaders.")
    q6_equipment_installed: Series[str] = required_codes(YES_NO, "Q6 installed pollution-control equipment 2001-2006.")
    q7_capital_cost_mvnd: Series[str] = non_negative("Q7 average annual capital cost of pollution control, million VND.")
    q8_om_cost_mvnd: Series[str] = non_negative("Q8 average annual operation and maintenance cost, million VND.")
    q9_introduced_by: Series[str] = optional_codes(codebook.Q9_INTRODUCERS, "Q9 who introduced the equipment.")
    q10_constraint_1: Series[str] = optional_codes(codebook.Q10_CONSTRAINTS, "Q10 constraint ranked first.")
    q10_constraint_2: Series[str] = optional_codes(codebook.Q10_CONSTRAINTS, "Q10 constraint ranked second.")
    q10_constraint_3: Series[str] = optional_codes(codebook.Q10_CONSTRAINTS, "Q10 constraint ranked third.")
    q10_other_text: Series[str] = free_text("Q10 the 'other' constraint, in words.")
    q11_buyers_asked_compliance: Series[str] = required_codes(YES_NO, "Q11 buyers asked whether local plants comply.")
    q12_buyers_considered_performance: Series[str] = required_codes(YES_NO, "Q12 buyers considered the plant's environmental performance.")
    q13_buyers_offered_help: Series[str] = required_codes(YES_NO, "Q13 buyers offered help to reduce emissions.")
    q14_subsidised_loan: Series[str] = required_codes(YES_NO, "Q14 received a low-interest loan for pollution control.")
    q15_monitoring_visits: Series[str] = whole_number(0, 365, "Q15 government monitoring visits in the past year.")
    q16_warnings_donre: Series[str] = whole_number(0, 100, "Q16 warning letters from the provincial DoNRE.")
    q16_warnings_commune: Series[str] = whole_number(0, 100, "Q16 warning letters from the local commune.")
    q17_aware_clean_tech: Series[str] = required_codes(YES_NO, "Q17 knows of environmentally friendly products or processes.")
    q18_sources: Series[str] = field(
        "Q18 up to three sources of knowledge on clean technology.",
        required=False, multi_select={"codes": codebook.Q18_SOURCES, "most": 3},
    )
    q18_other_text: Series[str] = free_text("Q18 the 'other' source, in words.")
    q19_partner_importance: Series[str] = rating("Q19 importance of the main interaction.", required=False)
    q20_initiator: Series[str] = optional_codes(codebook.Q20_INITIATORS, "Q20 who initiates the interaction.")
    q21_partner_locations: Series[str] = field(
        "Q21 where the innovation partners are.",
        required=False, multi_select={"codes": codebook.Q21_LOCATIONS, "most": 4},
    )
    q22_help_equipment: Series[str] = required_codes(codebook.Q22_FREQUENCIES, "Q22 sought help acquiring equipment.")
    q22_help_compliance: Series[str] = required_codes(codebook.Q22_FREQUENCIES, "Q22 sought information on compliance.")
    q22_help_banks: Series[str] = required_codes(codebook.Q22_FREQUENCIES, "Q22 sought help dealing with banks.")
    q22_help_senior_gov: Series[str] = required_codes(codebook.Q22_FREQUENCIES, "Q22 sought help with senior government.")
    respondent_name: Series[str] = pa.Field(nullable=True, description="Personal data: never copied into any output.")
    respondent_phone: Series[str] = pa.Field(nullable=True, description="Personal data: never copied into any output.")
    notes: Series[str] = free_text("Interviewer's free-text notes.")

    class Config:
        # Unknown extra columns are a warning, reported apart; they never fail the wave.
        strict = False

    # Cross-field rules, each a predicate of `predicates.ROW_PREDICATES`. Each names the dependent
    # column in CROSS_FIELD_COLUMNS below; the warehouse skips one whose input column is missing,
    # which the missing-column rule reports instead.

    @pa.dataframe_check(name="q9_skip")
    def _q9_follows_q6(cls, df: pd.DataFrame) -> Series[bool]:
        return holds(df, ROW_PREDICATES["q9_skip"])

    @pa.dataframe_check(name="q10_rank_2")
    def _q10_second_follows_first(cls, df: pd.DataFrame) -> Series[bool]:
        return holds(df, ROW_PREDICATES["q10_rank_2"])

    @pa.dataframe_check(name="q10_rank_3")
    def _q10_third_follows_second(cls, df: pd.DataFrame) -> Series[bool]:
        return holds(df, ROW_PREDICATES["q10_rank_3"])

    @pa.dataframe_check(name="q10_other_text")
    def _q10_other_is_specified(cls, df: pd.DataFrame) -> Series[bool]:
        return holds(df, ROW_PREDICATES["q10_other_text"])

    @pa.dataframe_check(name="q18_other_text")
    def _q18_other_is_specified(cls, df: pd.DataFrame) -> Series[bool]:
        return holds(df, ROW_PREDICATES["q18_other_text"])

    @pa.dataframe_check(name="q19_skip")
    def _q19_follows_q18(cls, df: pd.DataFrame) -> Series[bool]:
        return holds(df, ROW_PREDICATES["q19_skip"])

    @pa.dataframe_check(name="q20_skip")
    def _q20_follows_q18(cls, df: pd.DataFrame) -> Series[bool]:
        return holds(df, ROW_PREDICATES["q20_skip"])


# The column each cross-field rule reports: the dependent one, as the output contract says.
CROSS_FIELD_COLUMNS = {
    "q9_skip": "q9_introduced_by",
    "q10_rank_2": "q10_constraint_2",
    "q10_rank_3": "q10_constraint_3",
    "q10_other_text": "q10_other_text",
    "q18_other_text": "q18_other_text",
    "q19_skip": "q19_partner_importance",
    "q20_skip": "q20_initiator",
}
CROSS_FIELD_INPUTS = {
    "q9_skip": ("q6_equipment_installed", "q9_introduced_by"),
    "q10_rank_2": ("q10_constraint_1", "q10_constraint_2"),
    "q10_rank_3": ("q10_constraint_1", "q10_constraint_2", "q10_constraint_3"),
    "q10_other_text": ("q10_constraint_1", "q10_constraint_2", "q10_constraint_3", "q10_other_text"),
    "q18_other_text": ("q18_sources", "q18_other_text"),
    "q19_skip": ("q18_sources", "q19_partner_importance"),
    "q20_skip": ("q18_sources", "q20_initiator"),
}

CONTRACT_COLUMNS = tuple(RawWave.to_schema().columns)
REQUIRED_COLUMNS = tuple(c for c in CONTRACT_COLUMNS if c not in codebook.OPTIONAL_COLUMNS)

