"""The DuckDB warehouse: the resource, staging, SQL models, documents, publication."""
