"""Learned decay ODE (eq. 2) and base ODE (eq. 14): known weights recovered, held-out comparison, autocorrelation."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from analysis import decay_ode
from analysis.charts import impact as impact_charts
from analysis.decay_ode import DECAY_FACTORS, DECAY_FUNCTIONS
from mars_core.errors import MarsInputError

T_MIN = np.arange(16.0)  # 15 minutes of observation after execution, one point per minute
SHIFT = 1.0
# columns: integral of 1/(t+s) and of 1/sqrt(t+s) from 0 to t
GROWTH = np.stack([np.log((T_MIN + SHIFT) / SHIFT), 2 * (np.sqrt(T_MIN + SHIFT) - np.sqrt(SHIFT))], axis=1)
RAW_MEAN = np.array([0.03, 45.0, 0.05, 0.05, 10.0, 0.2, 7.0])
RAW_STD = np.array([0.01, 5.0, 0.02, 0.02, 1.0, 0.1, 0.8])
TRUE_W = np.zeros((7, 2))
TRUE_W[DECAY_FACTORS.index("sqrt_q_over_v"), 1] = -4e-4
TRUE_W[DECAY_FACTORS.index("lob_pressure"), 0] = 6e-4
TRUE_W[DECAY_FACTORS.index("resiliency"), 0] = -3e-4
TRUE_B = np.array([-2e-4, -5e-4])


def known_w_study(n: int = 200, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Curves that follow eq. (2) exactly with TRUE_W on z-scored factors (closed-form solution) plus small noise."""
    rng = np.random.default_rng(seed)
    x = RAW_MEAN + RAW_STD * rng.standard_normal((n, 7))
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    y0 = 3e-3 + 1e-3 * rng.standard_normal(n)
    curves = y0[:, None] + (z @ TRUE_W + TRUE_B) @ GROWTH.T + rng.normal(0, 2e-5, (n, T_MIN.size))
    frame = pd.DataFrame(x, columns=DECAY_FACTORS)
    frame["sigma"], frame["q_over_v"] = rng.uniform(1e-3, 2e-3, n), frame["sqrt_q_over_v"] ** 2
    return curves, frame


@pytest.fixture(scope="module")
def comparison() -> decay_ode.DecayComparison:
    curves, frame = known_w_study()
    return decay_ode.compare_decay_models(T_MIN, curves, frame, epochs=300, lr=0.05, l1=1e-3)


def test_learned_weights_recover_the_dominant_entries(comparison: decay_ode.DecayComparison) -> None:
    W = comparison.learned.W
    assert W.shape == (7, 2)
    dominant = np.abs(TRUE_W) > 0
    assert np.all(np.sign(W[dominant]) == np.sign(TRUE_W[dominant]))
    np.testing.assert_allclose(W[dominant], TRUE_W[dominant], rtol=0.15)
    assert np.max(np.abs(W[~dominant])) < 0.1 * np.max(np.abs(TRUE_W))
    np.testing.assert_allclose(comparison.learned.b, TRUE_B, rtol=0.15)


def test_the_learned_ode_beats_the_base_ode_on_non_square_root_decay(comparison: decay_ode.DecayComparison) -> None:
    assert comparison.test_mse_learned < 0.1 * comparison.test_mse_base
    assert (comparison.n_train, comparison.n_test) == (150, 50)
    acf = comparison.acf
    assert acf["lag_min"].tolist() == [1, 2, 3, 4, 5]
    assert np.all(np.diff(acf["ground_truth"]) < 0)  # impact decorrelates with the lag
    np.testing.assert_allclose(acf["learned"], acf["ground_truth"], atol=0.005)


def test_weights_are_labelled_and_serialisable(comparison: decay_ode.DecayComparison) -> None:
    table = comparison.learned.weights_frame()
    assert list(table.index) == DECAY_FACTORS and list(table.columns) == DECAY_FUNCTIONS
    summary = json.loads(json.dumps(comparison.to_dict()))
    assert np.array(summary["learned"]["W"]).shape == (7, 2) and len(summary["acf"]["base"]) == 5


def test_odeint_prediction_matches_the_closed_form_solution() -> None:
    rng = np.random.default_rng(1)
    x = RAW_MEAN + RAW_STD * rng.standard_normal((5, 7))
    fit = decay_ode.DecayODEFit(
        W=TRUE_W, b=TRUE_B, x_mean=RAW_MEAN, x_std=RAW_STD, shift=SHIFT, train_mse=0.0, method="rk4"
    )
    y0 = np.full(5, 2e-3)
    exact = y0[:, None] + (((x - RAW_MEAN) / RAW_STD) @ TRUE_W + TRUE_B) @ GROWTH.T
    np.testing.assert_allclose(fit.predict(x, y0, T_MIN), exact, atol=1e-6)  # rk4 on the 1-minute grid
    fine = dataclasses.replace(fit, step_size=0.125)
    np.testing.assert_allclose(fine.predict(x, y0, T_MIN), exact, atol=1e-9)


def test_base_ode_scale_is_fitted_in_closed_form() -> None:
    rng = np.random.default_rng(2)
    sigma, q = rng.uniform(1e-3, 2e-3, 50), rng.uniform(1e-4, 2e-3, 50)
    y0 = rng.uniform(1e-3, 3e-3, 50)
    truth = decay_ode.BaseODEFit(scale=-3.0, shift=SHIFT).predict(sigma, q, y0, T_MIN)
    fit = decay_ode.fit_base_ode(T_MIN, truth, sigma, q, shift=SHIFT)
    assert fit.scale == pytest.approx(-3.0)
    expected = y0 - 3.0 * sigma * np.sqrt(q) * 2 * (np.sqrt(T_MIN[-1] + 1) - 1)
    np.testing.assert_allclose(truth[:, -1], expected)


def test_decay_autocorrelation_pools_lagged_pairs_over_curves() -> None:
    curves = np.array([[1.0, 2.0, 3.0, 5.0], [2.0, 1.0, 0.0, 1.0]])
    acf = decay_ode.decay_autocorrelation(np.arange(4.0), curves, lags=[1, 2])
    expected1 = np.corrcoef([1, 2, 3, 2, 1, 0], [2, 3, 5, 1, 0, 1])[0, 1]
    expected2 = np.corrcoef([1, 2, 2, 1], [3, 5, 0, 1])[0, 1]
    np.testing.assert_allclose(acf, [expected1, expected2])
    with pytest.raises(MarsInputError, match="lag 1.5"):
        decay_ode.decay_autocorrelation(np.arange(4.0), curves, lags=[1.5])


def test_bad_inputs_are_named() -> None:
    curves, frame = known_w_study(n=10)
    with pytest.raises(MarsInputError, match="t_min"):
        decay_ode.fit_decay_ode(T_MIN + 1, curves, frame[DECAY_FACTORS].to_numpy(), epochs=1)
    with pytest.raises(MarsInputError, match="resiliency"):
        decay_ode.compare_decay_models(T_MIN, curves, frame.drop(columns="resiliency"))
    with pytest.raises(MarsInputError, match="shift"):
        decay_ode.fit_decay_ode(T_MIN, curves, frame[DECAY_FACTORS].to_numpy(), epochs=1, shift=0.0)


def test_decay_figures(comparison: decay_ode.DecayComparison) -> None:
    heat = impact_charts.weights_heatmap(comparison.learned)
    assert np.asarray(heat.data[0].z).shape == (2, 7) and list(heat.data[0].y) == DECAY_FUNCTIONS
    assert heat.data[0].zmin == -heat.data[0].zmax
    acf = impact_charts.decay_acf_figure(comparison.acf)
    assert [tr.name for tr in acf.data] == ["Ground truth", "Learned ODE", "Base ODE"]
