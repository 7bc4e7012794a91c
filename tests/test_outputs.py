"""The contract's output documents: limits per rule, null for undefined numbers."""

import json
import math

import numpy as np
import pandas as pd

from schemas.findings import ITEMS_PER_RULE
from workflows.report.outputs import validation_document, write_json


def findings(rule: str, n: int, severity: str = "error") -> pd.DataFrame:
    return pd.DataFrame({"severity": severity, "rule": rule, "column": "q1_noise", "row": range(1, n + 1),
                         "firm_id": [f"F{i}" for i in range(n)], "value": "11", "message": "m"})


def test_at_most_1000_items_per_rule_are_listed_but_every_one_is_counted():
    frame = pd.concat([findings("range", ITEMS_PER_RULE + 5), findings("required", 3),
                       findings("outlier", 2, "warning")])
    counts = frame["rule"].value_counts().to_dict()
    document = validation_document("w", frame, counts)
    assert document["counts"] == {"outlier": 2, "range": ITEMS_PER_RULE + 5, "required": 3}
    assert len(document["errors"]) == ITEMS_PER_RULE + 3 and len(document["warnings"]) == 2
    assert document["truncated"] is True
    everything = validation_document("w", frame, counts, all_items=True)
    assert len(everything["errors"]) == ITEMS_PER_RULE + 8 and everything["truncated"] is False


def test_undefined_numbers_are_written_as_null(tmp_path):
    write_json(tmp_path / "r.json", {"a": float("nan"), "b": [np.float64("inf"), np.int64(3)], "c": None,
                                      "d": math.nan, "e": pd.NA})
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": None, "b": [None, 3], "c": None, "d": None, "e": None}
