"""The questionnaire's codes, in the order of the input contract (`shared/spec/raw-wave-format.md`).

Every list of codes the project uses (validation, SQL tables, the report) comes from here.
"""

import re

# Firm ids and wave ids: 1-32 of A-Za-z0-9_-, the first a letter or digit.
IDENTIFIER = r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}"
# The one compiled wave-id rule: the command line, the assets, the sensor and the UI's gateway check by it.
WAVE_ID = re.compile(IDENTIFIER)

CLUSTERS = ("bat_trang", "dong_ky", "van_phuc")
# The paper's single ordinal CLUSTER variable.
CLUSTER_CODES = {"bat_trang": 1, "dong_ky": 2, "van_phuc": 3}
CLUSTER_NAMES = {"bat_trang": "Bat Tràng", "dong_ky": "Đông Kỵ", "van_phuc": "Vạn Phúc"}

OWNERSHIP = ("private", "household", "cooperative", "state")
YES_NO = ("yes", "no")
Q9_INTRODUCERS = (
    "own_initiative", "university", "cluster_firm", "government",
    "customer", "supplier", "consultant", "other",
)
Q10_CONSTRAINTS = (
    "capital", "trained_workers", "knowledge", "incentives", "managers", "market", "other",
)
Q18_SOURCES = (
    "buyers", "suppliers", "similar_firms", "other_industry_firms", "foreign_partners",
    "government", "trade_association", "research_university", "consultants",
    "training_institutions", "other",
)
Q20_INITIATORS = ("my_company", "partner", "both")
Q21_LOCATIONS = ("village", "province", "vietnam", "abroad")
Q22_FREQUENCIES = ("often", "occasionally", "never")
