"""The paper's regression models, fitted per wave on the firm indices."""

import dagster as dg
import duckdb
import pandas as pd

from workflows.analysis import model_specs, regression
from workflows.warehouse import documents
from workflows.warehouse.json_values import clean
from workflows.defs.partitions import WAREHOUSE_POOL, wave_partitions
from workflows.versions import code_version
from workflows.warehouse.resource import Warehouse


@dg.asset(
    partitions_def=wave_partitions,
    pool=WAREHOUSE_POOL,
    deps=["firm_indices"],
    kinds={"statsmodels", "duckdb"},
    group_name="analysis",
    code_version=code_version(__name__),
)
def regression_models(context: dg.AssetExecutionContext, warehouse: dg.ResourceParam[Warehouse]) -> dg.MaterializeResult:
    """The paper's logit and OLS on the wave's firms, with the robustness models and diagnostics beside them."""
    with warehouse.publishing(context) as conn:
        fits = fit_wave(conn, context.partition_key)
    summary_keys = ("n", "converged", "covariance", "statistic", "llf", "prsquared", "rsquared", "rsquared_adj")
    metadata = {
        key: dg.MetadataValue.json(clean({k: fit[k] for k in summary_keys if k in fit}
                                         | _not_estimated(fit) | _separation(fit)))
        for key, fit in fits.items()
    }
    metadata["not_estimated"] = dg.MetadataValue.json(
        {key: fit["notes"][0] for key, fit in fits.items() if fit.get("not_estimated") and fit.get("notes")})
    metadata["coefficients"] = dg.MetadataValue.md(_coefficient_table(fits))
    return dg.MaterializeResult(metadata=metadata)


# What DuckDB may hold while numpy fits the models (`fit_wave`).
WHILE_FITTING = "128MB"


def fit_wave(conn: duckdb.DuckDBPyConnection, wave: str) -> dict[str, dict]:
    """Every declared model fitted on the wave's firm indices and stored as the wave's model fits."""
    firms = model_columns(conn, wave)
    # While numpy fits the models, DuckDB gives back the memory it keeps for speed (its buffers go to its temporary
    # files): at ten million firms the designs need it, and the run stays within its bound.
    limit = conn.execute("select current_setting('memory_limit')").fetchall()[0][0]
    conn.execute(f"set memory_limit = '{WHILE_FITTING}'")
    try:
        fits = regression.fit_all(firms)
    finally:
        conn.execute(f"set memory_limit = '{limit}'")
    documents.replace(conn, documents.MODEL_FITS, wave, fits)
    return fits


def model_columns(conn: duckdb.DuckDBPyConnection, wave: str) -> pd.DataFrame:
    """The columns the models read, of the wave's firms, in numeric types: a text column (the cluster)
    arrives as a categorical of its few values, coded in SQL, so that no string per firm reaches Python.

    The firms come in firm_id order: a table's order is whatever the statements that wrote it, run on
    several threads, left, and the same wave must give the same digits on every machine (a sort of ten
    million ids costs DuckDB about two seconds)."""
    columns = model_specs.columns_used()
    listed = ", ".join(columns)
    types = {row[0]: row[1] for row in conn.execute(f"describe select {listed} from firm_indices").fetchall()}
    levels = {column: [row[0] for row in conn.execute(
        f"select distinct {column} from firm_indices where wave = $wave and {column} is not null order by 1",
        {"wave": wave}).fetchall()] for column in columns if types[column] == "VARCHAR"}
    selected = ", ".join(
        f"cast(coalesce(list_position(${column}_levels, {column}), 0) - 1 as integer) as {column}"
        if column in levels else column for column in columns)
    firms = conn.execute(f"select {selected} from firm_indices where wave = $wave order by firm_id",
                         {"wave": wave} | {f"{column}_levels": values for column, values in levels.items()}).df()
    for column, values in levels.items():
        firms[column] = pd.Categorical.from_codes(firms[column].to_numpy(), categories=values)
    return firms


def _not_estimated(fit: dict) -> dict:
    """Why a model was not estimated (its reason and sentence), for the asset's metadata."""
    reason = fit.get("not_estimated")
    if not reason:
        return {}
    return {"not_estimated": reason.get("reason"), "why": (fit.get("notes") or [""])[0]}


def _separation(fit: dict) -> dict:
    checks = fit.get("diagnostics") or {}
    if checks.get("separation") in (None, "none"):
        return {}
    return {"separation": checks["separation"], "separated_by": (checks.get("separated_by") or {}).get("terms")}


def _coefficient_table(fits: dict) -> str:
    """Coefficients (z or t, as each model's `statistic` says) of every model as a markdown table, for the
    asset's page in the UI; "not estimated" where a model has no estimates, "–" where a statistic is undefined."""
    terms = list(dict.fromkeys(term for fit in fits.values() for term in fit["params"]))
    header = "| term | " + " | ".join(f"{key} ({fit.get('statistic', 't')})" for key, fit in fits.items()) \
        + " |\n|---|" + "---|" * len(fits) + "\n"
    rows = []
    for term in terms:
        cells = []
        for fit in fits.values():
            if term not in fit["params"]:
                cells.append("")
                continue
            coef, t = fit["params"].get(term), fit["tvalues"].get(term)
            cells.append("not estimated" if coef is None else f"{coef:.4g} ({'–' if t is None else f'{t:.2f}'})")
        rows.append(f"| {term} | " + " | ".join(cells) + " |")
    return header + "\n".join(rows)
