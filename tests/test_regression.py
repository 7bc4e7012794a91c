"""The model fitting, against published reference results and on degenerate waves."""

import pandas as pd
import pytest
import statsmodels.api as sm

from workflows.analysis.model_specs import REPLICATION, ModelSpec
from workflows.analysis.regression import fit


def test_logit_reproduces_the_spector_and_mazzeo_reference_fit():
    data = sm.datasets.spector.load_pandas().data
    spec = ModelSpec("spector", "logit", "GRADE", ("GPA", "TUCE", "PSI"), "reference")
    result = fit(spec, data)
    # Greene, Econometric Analysis, Table 21.1 (as in statsmodels' own test suite).
    assert result["llf"] == pytest.approx(-12.8896334, abs=1e-6)
    assert result["params"]["GPA"] == pytest.approx(2.82611297, rel=1e-6)
    assert result["params"]["const"] == pytest.approx(-13.02134686, rel=1e-6)
    assert result["converged"] is True


def test_ols_reproduces_the_longley_reference_fit():
    data = sm.datasets.longley.load_pandas().data
    spec = ModelSpec("longley", "ols", "TOTEMP", ("GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"), "reference")
    result = fit(spec, data)
    # NIST StRD certified values for the Longley data.
    assert result["rsquared"] == pytest.approx(0.995479004577296, rel=1e-9)
    assert result["params"]["YEAR"] == pytest.approx(1829.15146461355, rel=1e-6)
    assert result["bse"]["const"] == pytest.approx(890420.383607373, rel=1e-6)


def firms(n=30, adopters=10):
    return pd.DataFrame({
        "envtech": [1] * adopters + [0] * (n - adopters),
        "envexp_vnd": [float(i % 7) * 1e6 for i in range(n)],
        "empl": [5 + (i * 7) % 40 for i in range(n)],
        "years": [3 + (i * 5) % 30 for i in range(n)],
        "expt_vnd": [float((i * 13) % 11) * 1e8 for i in range(n)],
        "cluster_code": [1 + i % 3 for i in range(n)],
        "emp": [(i * 2 + i // 3) % 3 for i in range(n)],
        "loan": [int(i % 9 == 0) for i in range(n)],
        "cp": [(i * 2) % 3 for i in range(n)],
    })


def test_a_wave_without_adopters_is_reported_not_fitted():
    result = fit(REPLICATION[0], firms(adopters=0))
    assert result["converged"] is False and result["params"]["years"] is None
    assert "same envtech" in result["notes"][0]


def test_a_wave_with_one_cluster_only_is_reported_not_fitted():
    data = firms().assign(cluster_code=2)
    for spec in REPLICATION:
        result = fit(spec, data)
        assert result["converged"] is False
        assert "cluster_code does not vary" in result["notes"][0]


def test_a_wave_with_too_few_firms_is_reported_not_fitted():
    result = fit(REPLICATION[1], firms(n=5, adopters=2))
    assert result["converged"] is False and result["rsquared"] is None
