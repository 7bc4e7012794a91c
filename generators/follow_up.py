"""The shipped 2009 wave: a synthetic follow-up of the 2007 reconstruction.

Most firms are interviewed again two years later (some have gone, some are new), they
have grown, and adoption has spread, fastest where it was rarest. The questionnaire also
changed a little, as real ones do: the respondent's phone is no longer asked, and a
question on the kiln's or loom's energy source was added outside the contract (a
warning, not an error). Run `python -m generators.follow_up` after the 2007 file exists;
the same seed always gives the same bytes, registered in `data/raw/synthetic.json`.
"""

from datetime import date

import numpy as np

from schemas import codebook
from workflows.paths import RAW_DIR
from workflows.report.provenance import write_synthetic
from generators.reconstruction import reconstruct
from generators.synthetic import SHIPPED_COLUMNS, generate_wave, to_csv

SEED = 20090901
LEFT = {"bat_trang": 2, "dong_ky": 2, "van_phuc": 3}
NEW = {"bat_trang": 3, "dong_ky": 3, "van_phuc": 3}
ADOPTION_SINCE = {"bat_trang": 0.5, "dong_ky": 0.3, "van_phuc": 0.15}
ENERGY = ("coal", "gas", "electricity", "wood")
COLUMNS = tuple(c for c in SHIPPED_COLUMNS if c != "respondent_phone") + ("q23_energy_source",)


def follow_up(seed: int = SEED, earlier: list[dict] | None = None) -> list[dict]:
    """The firms of the 2009 wave, two years on from `earlier` (by default the 2007 reconstruction)."""
    rng = np.random.default_rng(seed)
    earlier = reconstruct() if earlier is None else earlier
    rows = []
    for cluster in codebook.CLUSTERS:
        members = [row for row in earlier if row["cluster"] == cluster]
        gone = set(rng.choice(len(members), LEFT[cluster], replace=False))
        rows += [_two_years_on(rng, row) for i, row in enumerate(members) if i not in gone]
        last = max(int(row["firm_id"].split("-")[1]) for row in members)
        for offset, row in enumerate(generate_wave({cluster: NEW[cluster]}, seed=seed + len(rows),
                                                   interview_start=date(2009, 9, 7)), start=1):
            row["firm_id"] = f"{row['firm_id'].split('-')[0]}-{last + offset:02d}"
            rows.append(row)
    for row in rows:
        row.pop("respondent_phone", None)
        row["q23_energy_source"] = "gas" if row["q6_equipment_installed"] == "yes" and row["cluster"] == "bat_trang" \
            else str(rng.choice(ENERGY))
    return rows


def _two_years_on(rng: np.random.Generator, row: dict) -> dict:
    row = dict(row)
    row["interview_date"] = date(2009, 9, int(rng.integers(7, 26))).isoformat()
    row["years_in_operation"] = str(int(row["years_in_operation"]) + 2)
    row["employees"] = str(max(1, int(round(int(row["employees"]) * rng.lognormal(0.06, 0.15)))))
    row["turnover_kvnd"] = str(int(int(row["turnover_kvnd"]) * rng.lognormal(0.15, 0.2)))
    for column in ("q1_noise", "q1_air", "q1_water", "q2_resources"):
        row[column] = str(int(np.clip(int(row[column]) + rng.integers(-1, 2), 1, 10)))
    if row["q6_equipment_installed"] == "no" and rng.random() < ADOPTION_SINCE[row["cluster"]]:
        row["q6_equipment_installed"] = "yes"
        row["q9_introduced_by"] = str(rng.choice(["own_initiative", "customer", "government", "cluster_firm"]))
        row["q7_capital_cost_mvnd"] = f"{rng.gamma(2.0, 6.0):.1f}"
        row["q8_om_cost_mvnd"] = f"{rng.gamma(2.0, 2.0):.1f}"
        row["q14_subsidised_loan"] = "yes" if rng.random() < 0.2 else "no"
    return row


def follow_up_csv(seed: int = SEED, earlier: list[dict] | None = None) -> bytes:
    return to_csv(follow_up(seed, earlier), COLUMNS)


def write_2009(seed: int = SEED) -> dict:
    """Write data/raw/2009.csv and register its sha256 as a synthetic file."""
    return write_synthetic("2009.csv", follow_up_csv(seed), "follow-up", "python -m generators.follow_up",
                           seed, "Synthetic follow-up of the 2007 reconstruction; not survey responses.")


if __name__ == "__main__":
    written = write_2009()
    print(f"wrote {RAW_DIR / written['file']} ({written['sha256']})")
