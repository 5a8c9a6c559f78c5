"""pysindy sparse regression of the impact on the factors: known formula recovered, held-out scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import symbolic
from mars_core.errors import MarsInputError


def factor_frame(n: int = 400, noise: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """impact = 0.9 sigma sqrt(Q/V) + 0.3 pressure + noise (noise in units of the signal's std).

    Factor ranges are chosen so that both terms contribute comparably.
    """
    rng = np.random.default_rng(seed)
    q, sigma = rng.uniform(0.01, 0.3, n), rng.uniform(0.5, 2.0, n)
    pressure = rng.uniform(0.0, 0.6, n)
    signal = 0.9 * sigma * np.sqrt(q) + 0.3 * pressure
    return pd.DataFrame(
        {
            "traj_id": [f"t{i}" for i in range(n)],
            "q_over_v": q,
            "sqrt_q_over_v": np.sqrt(q),
            "sigma": sigma,
            "resiliency": rng.normal(7.0, 0.8, n),
            "lob_pressure": pressure,
            "lob_depth": rng.normal(10.0, 1.0, n),
            "impact_end": signal + rng.normal(0, noise * signal.std(), n),
        }
    )


@pytest.mark.parametrize("noise", [0.01, 0.05])
def test_the_generating_formula_is_recovered_and_other_terms_vanish(noise: float) -> None:
    fit = symbolic.fit_symbolic(factor_frame(noise=noise))
    assert set(fit.coefficients) == {"1", "sqrt_q_over_v*sigma", "lob_pressure"}
    assert fit.coefficients["sqrt_q_over_v*sigma"] == pytest.approx(0.9, abs=0.02)
    assert fit.coefficients["lob_pressure"] == pytest.approx(0.3, abs=0.02)
    assert abs(fit.coefficients["1"]) < 0.01
    assert fit.formula.startswith("impact = ") and "sqrt_q_over_v*sigma" in fit.formula
    assert fit.test_r2 > 0.99 and fit.test_r2 > fit.sqrt_law_test_r2
    assert fit.test_rmse < fit.sqrt_law_test_rmse
    assert (fit.n_train, fit.n_test) == (300, 100)


def test_predict_reproduces_the_held_out_score_and_the_summary_is_json() -> None:
    frame = factor_frame()
    fit = symbolic.fit_symbolic(frame, seed=3)
    pred = fit.predict(frame)
    assert np.sqrt(np.mean((pred - frame["impact_end"]) ** 2)) < 2 * fit.test_rmse
    summary = json.loads(json.dumps(fit.to_dict()))
    assert summary["formula"] == fit.formula and summary["factors"] == symbolic.SYMBOLIC_FACTORS


def test_a_pure_square_root_law_is_found_as_such() -> None:
    frame = factor_frame()
    frame["impact_end"] = 0.7 * frame["sigma"] * frame["sqrt_q_over_v"]
    fit = symbolic.fit_symbolic(frame)
    assert set(fit.coefficients) == {"1", "sqrt_q_over_v*sigma"}
    assert fit.sqrt_law_test_r2 == pytest.approx(1.0)


def test_rows_with_missing_factors_are_left_out_and_missing_columns_named() -> None:
    frame = factor_frame(n=100)
    frame.loc[:9, "resiliency"] = np.inf
    fit = symbolic.fit_symbolic(frame)
    assert fit.n_train + fit.n_test == 90
    with pytest.raises(MarsInputError, match="lob_depth"):
        symbolic.fit_symbolic(frame.drop(columns="lob_depth"))


def test_format_formula_reads_like_an_equation() -> None:
    assert symbolic.format_formula(["1", "a*b", "c"], [0.5, 2.0, -0.25]) == "impact = 0.5 + 2 a*b - 0.25 c"


def test_a_target_unrelated_to_the_factors_gives_an_intercept_only_formula() -> None:
    frame = factor_frame()
    frame["impact_end"] = np.random.default_rng(9).normal(1e-3, 1e-4, len(frame))
    fit = symbolic.fit_symbolic(frame)
    assert list(fit.coefficients) == ["1"] and fit.coefficients["1"] == pytest.approx(1e-3, rel=0.05)
    assert fit.threshold == max(symbolic.THRESHOLD_GRID)
