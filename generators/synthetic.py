"""Seeded generators of synthetic survey waves, valid under the input contract.

`generate_wave` draws any number of firms from cluster profiles modelled on the paper's
Table 2, for tests; `generate_large_wave` draws census-size waves column by column, for
benchmarks (`python -m generators.synthetic 1000000 wave.csv`). The shipped 2007 wave is
reconstructed to the paper's published figures by `generators.reconstruction`.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from schemas import codebook
from schemas.questionnaire import QUESTIONS, shipped


@dataclass(frozen=True)
class ClusterProfile:
    years: float
    employees: float
    turnover_kvnd: float
    exporter_share: float
    export_pct: float
    adoption: float
    noise: float
    air: float
    water: float
    resources: float


# Means and shares after the paper's Table 2 and Figure 1.
PROFILES = {
    "bat_trang": ClusterProfile(15.1, 39.7, 4_655_670, 0.93, 88.9, 13 / 15, 6.2, 6.6, 5.1, 8.4),
    "dong_ky": ClusterProfile(11.1, 49.7, 3_156_250, 0.60, 61.7, 3 / 16, 5.5, 5.6, 6.0, 6.9),
    "van_phuc": ClusterProfile(16.6, 6.9, 2_168_450, 0.05, 2.0, 1 / 20, 8.5, 6.0, 9.15, 7.3),
}


def generate_wave(sizes: dict[str, int], seed: int, interview_start: date = date(2007, 9, 3)) -> list[dict]:
    """Firms drawn from the cluster profiles: `sizes` maps cluster code to number of firms."""
    rng = np.random.default_rng(seed)
    rows = []
    for cluster, size in sizes.items():
        profile = PROFILES[cluster]
        prefix = {"bat_trang": "BT", "dong_ky": "DK", "van_phuc": "VP"}[cluster]
        for i in range(1, size + 1):
            rows.append(_firm(rng, f"{prefix}-{i:04d}", cluster, profile, interview_start))
    return rows


def _firm(rng: np.random.Generator, firm_id: str, cluster: str, p: ClusterProfile, start: date) -> dict:
    def rating(mean: float) -> str:
        return str(int(np.clip(round(rng.normal(mean, 1.3)), 1, 10)))

    adopted = rng.random() < p.adoption
    exports = rng.random() < p.exporter_share
    q3 = rng.random() < 0.22
    q4 = q3 and rng.random() < 0.45
    sources = list(rng.choice(codebook.Q18_SOURCES, size=int(rng.integers(0, 4)), replace=False))
    constraints = list(rng.choice(codebook.Q10_CONSTRAINTS, size=int(rng.integers(0, 4)), replace=False))
    spends = adopted or rng.random() < 0.05
    row = {
        "firm_id": firm_id,
        "interview_date": (start + timedelta(days=int(rng.integers(0, 25)))).isoformat(),
        "cluster": cluster,
        "ownership": str(rng.choice(codebook.OWNERSHIP, p=[0.94, 0.03, 0.03, 0.0])),
        "years_in_operation": str(int(np.clip(rng.gamma(4, p.years / 4), 1, 80))),
        "employees": str(int(np.clip(rng.gamma(2, p.employees / 2), 1, 400))),
        "turnover_kvnd": str(int(rng.gamma(3, p.turnover_kvnd / 3))),
        "export_share_pct": str(int(np.clip(rng.normal(p.export_pct, 8), 2, 98))) if exports else "0",
        "q1_noise": rating(p.noise),
        "q1_air": rating(p.air),
        "q1_water": rating(p.water),
        "q2_resources": rating(p.resources),
        "q3_complaints_village": _yes(q3),
        "q4_complaint_own": _yes(q4),
        "q5_control_agreement": _yes(rng.random() < 0.2),
        "q6_equipment_installed": _yes(adopted),
        "q7_capital_cost_mvnd": f"{rng.gamma(2, 8):.1f}" if spends else "0",
        "q8_om_cost_mvnd": f"{rng.gamma(2, 3):.1f}" if spends else "0",
        "q9_introduced_by": str(rng.choice(codebook.Q9_INTRODUCERS[:4])) if adopted else "",
        "q10_constraint_1": constraints[0] if len(constraints) > 0 else "",
        "q10_constraint_2": constraints[1] if len(constraints) > 1 else "",
        "q10_constraint_3": constraints[2] if len(constraints) > 2 else "",
        "q10_other_text": "shortage of land" if "other" in constraints else "",
        "q11_buyers_asked_compliance": _yes(rng.random() < 0.2),
        "q12_buyers_considered_performance": _yes(exports and rng.random() < 0.5),
        "q13_buyers_offered_help": _yes(rng.random() < 0.1),
        "q14_subsidised_loan": _yes(adopted and rng.random() < 0.25),
        "q15_monitoring_visits": str(int(rng.choice([0, 1, 2], p=[0.73, 0.19, 0.08]))),
        "q16_warnings_donre": str(int(rng.random() < 0.02)),
        "q16_warnings_commune": str(int(rng.random() < 0.06)),
        "q17_aware_clean_tech": _yes(rng.random() < 0.35),
        "q18_sources": " ".join(sources),
        "q18_other_text": "television" if "other" in sources else "",
        "q19_partner_importance": str(int(np.clip(round(rng.normal(8.3, 1.2)), 1, 10))) if sources else "",
        "q20_initiator": str(rng.choice(codebook.Q20_INITIATORS, p=[0.65, 0.28, 0.07])) if sources else "",
        "q21_partner_locations": " ".join(
            rng.choice(codebook.Q21_LOCATIONS, size=int(rng.integers(0, 3)), replace=False)) if sources else "",
        "q22_help_equipment": str(rng.choice(codebook.Q22_FREQUENCIES, p=[0.05, 0.2, 0.75])),
        "q22_help_compliance": str(rng.choice(codebook.Q22_FREQUENCIES, p=[0.1, 0.35, 0.55])),
        "q22_help_banks": str(rng.choice(codebook.Q22_FREQUENCIES, p=[0.03, 0.12, 0.85])),
        "q22_help_senior_gov": str(rng.choice(codebook.Q22_FREQUENCIES, p=[0.02, 0.1, 0.88])),
        "respondent_name": "",
        "respondent_phone": "",
        "notes": "",
    }
    # A question this generator does not know yet gets the answer its declaration says passes.
    return {question.name: row.get(question.name, question.example) for question in QUESTIONS}


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# The columns the shipped waves were written with: the 2007 form's, before interviewer_id and the
# interview times joined the contract. Kept as they were, so that the same seed gives the same bytes.
_FIRST_FORM = shipped()[0].columns
SHIPPED_COLUMNS = _FIRST_FORM[:_FIRST_FORM.index("notes") + 1]


def to_csv(rows: list[dict], columns: tuple[str, ...] = SHIPPED_COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def generate_large_wave(n: int, seed: int) -> bytes:
    """A valid wave of any size, drawn column by column (vectorised), as CSV bytes.

    For benchmarks: the same questionnaire and rules as `generate_wave`, at census scale.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    clusters = rng.choice(codebook.CLUSTERS, n, p=[0.3, 0.3, 0.4])
    adopted = rng.random(n) < np.select([clusters == "bat_trang", clusters == "dong_ky"], [0.8, 0.2], 0.05)
    exports = rng.random(n) < 0.5
    n_sources = rng.integers(0, 4, n)
    named = n_sources > 0
    ranks = rng.integers(0, 4, n)
    constraint = np.array(codebook.Q10_CONSTRAINTS[:-1])  # "other" would need its text

    def pick(codes, size=n, p=None):
        return rng.choice(np.array(codes), size, p=p)

    def yes(mask):
        return np.where(mask, "yes", "no")

    first, second, third = (rng.permuted(np.tile(np.arange(len(constraint)), (n, 1)), axis=1)[:, :3].T)
    spend = adopted | (rng.random(n) < 0.05)
    frame = pd.DataFrame({
        "firm_id": [f"F{i:07d}" for i in range(1, n + 1)],
        "interview_date": (np.datetime64("2011-09-01") + rng.integers(0, 28, n)).astype(str),
        "cluster": clusters,
        "ownership": pick(codebook.OWNERSHIP, p=[0.94, 0.03, 0.03, 0.0]),
        "years_in_operation": rng.integers(1, 60, n),
        "employees": rng.integers(2, 200, n),
        "turnover_kvnd": rng.integers(200_000, 9_000_000, n),
        "export_share_pct": np.where(exports, rng.integers(2, 99, n), 0),
        **{c: rng.integers(1, 11, n) for c in ("q1_noise", "q1_air", "q1_water", "q2_resources")},
        "q3_complaints_village": yes(rng.random(n) < 0.2),
        "q4_complaint_own": "no",
        "q5_control_agreement": yes(rng.random(n) < 0.2),
        "q6_equipment_installed": yes(adopted),
        "q7_capital_cost_mvnd": np.where(spend, np.round(rng.gamma(2, 8, n), 1), 0),
        "q8_om_cost_mvnd": np.where(spend, np.round(rng.gamma(2, 3, n), 1), 0),
        "q9_introduced_by": np.where(adopted, pick(codebook.Q9_INTRODUCERS[:4]), ""),
        "q10_constraint_1": np.where(ranks >= 1, constraint[first], ""),
        "q10_constraint_2": np.where(ranks >= 2, constraint[second], ""),
        "q10_constraint_3": np.where(ranks >= 3, constraint[third], ""),
        "q10_other_text": "",
        "q11_buyers_asked_compliance": yes(rng.random(n) < 0.2),
        "q12_buyers_considered_performance": yes(exports & (rng.random(n) < 0.5)),
        "q13_buyers_offered_help": yes(rng.random(n) < 0.1),
        "q14_subsidised_loan": yes(adopted & (rng.random(n) < 0.25)),
        "q15_monitoring_visits": rng.choice([0, 1, 2], n, p=[0.73, 0.19, 0.08]),
        "q16_warnings_donre": (rng.random(n) < 0.02).astype(int),
        "q16_warnings_commune": (rng.random(n) < 0.06).astype(int),
        "q17_aware_clean_tech": yes(rng.random(n) < 0.35),
        "q18_sources": np.select([n_sources == 1, n_sources == 2, n_sources == 3],
                                 ["buyers", "buyers government", "buyers government suppliers"], ""),
        "q18_other_text": "",
        "q19_partner_importance": np.where(named, rng.integers(5, 11, n).astype(str), ""),
        "q20_initiator": np.where(named, pick(codebook.Q20_INITIATORS), ""),
        "q21_partner_locations": np.where(named, pick(("vietnam", "abroad", "vietnam abroad", "village")), ""),
        **{c: pick(codebook.Q22_FREQUENCIES, p=[0.05, 0.25, 0.7]) for c in
           ("q22_help_equipment", "q22_help_compliance", "q22_help_banks", "q22_help_senior_gov")},
        "respondent_name": "",
        "respondent_phone": "",
        "notes": "",
    })
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def main(arguments: list[str] | None = None) -> None:
    """`python -m generators.synthetic FIRMS FILE [--seed S]`: write a valid synthetic wave of any size."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m generators.synthetic", description=main.__doc__)
    parser.add_argument("firms", type=int, help="how many firms (rows)")
    parser.add_argument("file", type=Path, help="the CSV file to write")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same bytes (default 1)")
    options = parser.parse_args(arguments)
    if options.firms < 1:
        parser.error("firms must be at least 1")
    options.file.write_bytes(generate_large_wave(options.firms, options.seed))
    print(f"{options.firms:,} synthetic firms written to {options.file}")


if __name__ == "__main__":
    main()
