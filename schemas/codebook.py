"""The codes the project relies on beyond what a form says, and the forms' choice lists by their old names.

The choice lists themselves (clusters, constraints, sources, ...) are declared once, in the
survey team's XLSForms (`schemas/forms/`); `CLUSTERS`, `Q10_CONSTRAINTS` and the others
are read from the newest form that asks each question, in its order.
"""

import re

# Firm ids and wave ids: 1-32 of A-Za-z0-9_-, the first a letter or digit.
IDENTIFIER = r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}"
# The one compiled wave-id rule: the command line, the assets, the sensor and the UI's gateway check by it.
WAVE_ID = re.compile(IDENTIFIER)

# A question answered yes or no is published as a boolean.
YES_NO = ("yes", "no")
# The paper's single ordinal CLUSTER variable (the contract's cluster_code).
CLUSTER_CODES = {"bat_trang": 1, "dong_ky": 2, "van_phuc": 3}

# Each choice list the project's code names, by the question whose choices it is.
CHOICE_LISTS = {
    "CLUSTERS": "cluster",
    "OWNERSHIP": "ownership",
    "Q9_INTRODUCERS": "q9_introduced_by",
    "Q10_CONSTRAINTS": "q10_constraint_1",
    "Q18_SOURCES": "q18_sources",
    "Q20_INITIATORS": "q20_initiator",
    "Q21_LOCATIONS": "q21_partner_locations",
    "Q22_FREQUENCIES": "q22_help_equipment",
}


def __getattr__(name: str):
    if name in CHOICE_LISTS:
        from schemas.questionnaire import project

        return project().question[CHOICE_LISTS[name]].codes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
