"""Values made ready for JSON: numpy scalars as Python numbers, NaN and infinities as null.

Kept apart from the output files, so that an asset storing a document does not run (and is
not versioned with) the code that renders reports.
"""

import math

import pandas as pd


def clean(value):
    """JSON-ready values: numpy scalars as Python numbers, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
