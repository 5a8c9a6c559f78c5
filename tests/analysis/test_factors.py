"""App. K factors, eqs. (5)-(13), on tiny hand-computed inputs, and the factor correlation figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import factors
from analysis.charts import impact as impact_charts
from mars_core.errors import MarsInputError


def test_pre_trading_moment_is_the_weighted_mean_relative_to_the_last_minute() -> None:
    # eq. (8): (0.25 * 98 + 0.75 * 102) / 100 - 1 = 0.01
    assert factors.pre_trading_moment(np.array([98.0, 102.0, 100.0]), [0.25, 0.75]) == pytest.approx(0.01)
    assert factors.pre_trading_moment(np.array([98.0, 102.0, 100.0])) == pytest.approx(0.0)  # uniform weights


def test_resiliency_is_minus_log_of_the_absolute_moment() -> None:
    # eq. (5) with m = (0.25 * 102 + 0.75 * 98) / 100 - 1 = -0.01
    assert factors.resiliency(np.array([102.0, 98.0, 100.0]), [0.25, 0.75]) == pytest.approx(-math.log(0.01))


def test_resiliency_of_a_flat_window_is_finite() -> None:
    assert factors.resiliency(np.full(5, 10.0)) == pytest.approx(-math.log(factors.MOMENT_FLOOR))


def test_resiliency_is_vectorised_over_trajectories() -> None:
    mids = np.array([[102.0, 98.0, 100.0], [101.0, 101.0, 100.0]])
    np.testing.assert_allclose(factors.resiliency(mids, [0.25, 0.75]), [-math.log(0.01), -math.log(0.01)])


def test_agent_trans_and_imbalance() -> None:
    assert factors.agent_trans(40, 60) == pytest.approx(0.4)  # eq. (9)
    assert factors.agent_trans(40, 160) == pytest.approx(0.2)  # eq. (10)
    assert factors.lob_imbalance(60, 160) == pytest.approx(100 / 220)  # eq. (11)
    assert factors.lob_imbalance(160, 60) == pytest.approx(100 / 220)


def test_lob_pressure_weights_the_two_sides_with_alpha() -> None:
    # eq. (6): (0.25 * 0.4 + 0.75 * 0.2) * 100/220
    assert factors.lob_pressure(40, 60, 160, alpha=0.25) == pytest.approx(0.25 * 100 / 220)
    assert factors.lob_pressure(0, 60, 160) == 0.0
    assert factors.lob_pressure(40, 100, 100) == 0.0  # a balanced book exerts no pressure


def test_lob_depth_is_the_log_of_the_beta_weighted_volume() -> None:
    assert factors.lob_depth(100, 300, beta=0.25) == pytest.approx(math.log(250))  # eq. (7)


def test_agent_rollout_and_replay_shares() -> None:
    assert factors.agent_rollout(50, 1_000) == pytest.approx(0.05)  # eq. (12)
    assert factors.agent_replay(50, 800) == pytest.approx(0.0625)  # eq. (13)


@pytest.mark.parametrize("value", [0.0, 1.0, -0.2, 1.5])
def test_alpha_and_beta_must_lie_strictly_between_zero_and_one(value: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        factors.lob_pressure(40, 60, 160, alpha=value)
    with pytest.raises(ValueError, match="beta"):
        factors.lob_depth(60, 160, beta=value)


@pytest.mark.parametrize("omega", [[1.0], [0.5, 0.6], [0.0, 1.0], [1.2, -0.2]])
def test_omega_must_be_weights_in_the_unit_interval_summing_to_one(omega: list[float]) -> None:
    with pytest.raises(ValueError, match="omega"):
        factors.pre_trading_moment(np.linspace(100, 101, len(omega) + 1), omega)


def test_omega_length_must_match_the_pre_trade_minutes() -> None:
    with pytest.raises(MarsInputError, match="omega has 2 weights"):
        factors.pre_trading_moment(np.array([100.0, 101.0, 102.0, 100.0]), [0.5, 0.5])


def test_correlation_matrix_over_finite_rows() -> None:
    x = np.arange(6, dtype=float)
    frame = pd.DataFrame(
        {
            "sqrt_q_over_v": x,
            "sigma": -2 * x,
            "resiliency": [1, 0, 1, 0, 1, np.inf],
            "lob_depth": x**2,
            "lob_pressure": x + 1,
        }
    )
    corr = factors.correlation_matrix(frame)
    assert list(corr.columns) == factors.FACTOR_COLUMNS
    assert corr.loc["sqrt_q_over_v", "sigma"] == pytest.approx(-1.0)
    assert corr.loc["sqrt_q_over_v", "lob_pressure"] == pytest.approx(1.0)
    assert corr.loc["resiliency", "sqrt_q_over_v"] == pytest.approx(np.corrcoef([1, 0, 1, 0, 1], x[:5])[0, 1])
    with pytest.raises(MarsInputError, match="lob_depth"):
        factors.correlation_matrix(frame.drop(columns="lob_depth"))


def test_correlation_heatmap_labels_the_factors_as_in_the_paper() -> None:
    corr = pd.DataFrame(np.eye(5), index=factors.FACTOR_COLUMNS, columns=factors.FACTOR_COLUMNS)
    fig = impact_charts.correlation_heatmap(corr)
    assert list(fig.data[0].x) == ["sqrt(Q/V)", "volatility", "resiliency", "LOB_depth", "LOB_pressure"]
    assert fig.data[0].zmin == -1 and fig.data[0].zmax == 1
