"""Dagster definitions, one module per stage; `workflows/definitions.py` loads them all."""
