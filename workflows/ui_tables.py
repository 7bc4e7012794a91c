"""Frames shown in the Dagster UI as table metadata: every cell is text to the UI, never Markdown.

A cell may hold `![x](/graphql?query=mutation...)`; rendered as Markdown the UI would fetch
it. A table value shows it as the characters it is.
"""

import math

import dagster as dg
import pandas as pd

SHOWN_ROWS = 20


def table_value(frame: pd.DataFrame, rows: int = SHOWN_ROWS) -> dg.TableMetadataValue:
    """The frame's first rows as a table value: numbers stay numbers, everything else is text."""
    shown = frame.head(rows)
    columns = [dg.TableColumn(str(name), _kind(shown[name])) for name in shown.columns]
    records = [dg.TableRecord({str(name): _cell(value) for name, value in row.items()})
               for row in shown.to_dict("records")]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "string"


def _cell(value):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return str(value)
