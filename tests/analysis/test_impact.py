"""Per-trajectory impact metrics, impact curves with bands, long-term curves and the impact-curve figures."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from scipy import stats

from analysis import impact
from analysis.charts import impact as impact_charts
from analysis.impact import PairedTrajectory
from mars_core.errors import MarsInputError


def make_traj(**overrides) -> PairedTrajectory:
    """A buy that lifts the mid by 20 cents at the end of a 300 s execution, then decays to 10 cents."""
    args = dict(
        traj_id="a",
        config="L1-P0.9",
        side=1,
        t_s=np.array([0.0, 150.0, 300.0, 600.0]),
        mid_treated=np.array([100.0, 100.1, 100.2, 100.1]),
        mid_baseline=np.full(4, 100.0),
        arrival_mid=100.0,
        target_qty=50.0,
        market_volume=10_000.0,
        pre_mid=np.array([100.0, 102.0, 101.0, 100.0]),
        pre_ask_volume=60.0,
        pre_bid_volume=160.0,
        fill_t_s=np.array([10.0, 200.0]),
        fill_price=np.array([100.05, 100.15]),
        fill_qty=np.array([30.0, 10.0]),
    )
    args.update(overrides)
    return PairedTrajectory(**args)


def test_impact_is_positive_when_the_price_moves_against_the_agent_on_either_side() -> None:
    buy = make_traj()
    sell = make_traj(side=-1, mid_treated=np.array([100.0, 99.9, 99.8, 99.9]))
    np.testing.assert_allclose(buy.impact, [0.0, 0.001, 0.002, 0.001])
    np.testing.assert_allclose(sell.impact, buy.impact)


def test_trajectory_metrics_match_hand_computed_values() -> None:
    m = impact.trajectory_metrics(make_traj(), window=30, alpha=0.5, beta=0.5)
    assert m["impact_end"] == pytest.approx(0.002)
    assert m["fulfillment"] == pytest.approx(0.8)
    assert m["vwap"] == pytest.approx(100.075)
    assert m["slippage_bps"] == pytest.approx(7.5)
    assert m["q_over_v"] == pytest.approx(0.005) and m["sqrt_q_over_v"] == pytest.approx(math.sqrt(0.005))
    returns = np.log([102 / 100, 101 / 102, 100 / 101])
    assert m["sigma"] == pytest.approx(np.std(returns, ddof=1))
    # eq. (8): mean(100, 102, 101) / 100 - 1 = 0.01; eq. (5): -log 0.01
    assert m["resiliency"] == pytest.approx(-math.log(0.01))
    # eqs. (6), (9)-(11): A=40, a=60, b=160 -> (0.5*0.4 + 0.5*0.2) * 100/220
    assert m["lob_pressure"] == pytest.approx(0.3 * 100 / 220)
    assert m["lob_depth"] == pytest.approx(math.log(110.0))
    assert m["agent_replay"] == pytest.approx(40 / 10_000)
    assert m["agent_rollout"] == pytest.approx(40 / 10_040)  # V + the agent's own fills
    assert m["mid_price"] == 100.0
    json.dumps(m)


def test_the_treated_volume_is_used_for_agent_rollout_when_given() -> None:
    m = impact.trajectory_metrics(make_traj(market_volume_treated=8_000.0))
    assert m["agent_rollout"] == pytest.approx(40 / 8_000)


def test_the_end_of_execution_impact_is_interpolated_between_grid_times() -> None:
    m = impact.trajectory_metrics(make_traj(execution_s=450.0))
    assert m["impact_end"] == pytest.approx(0.0015)


def test_sigma_uses_only_the_last_window_minutes() -> None:
    pre = np.array([50.0, 200.0, 100.0, 101.0, 100.0])
    expected = np.std(np.log([101 / 100, 100 / 101]), ddof=1)
    assert impact.pre_trade_sigma(pre, window=2) == pytest.approx(expected)


def test_a_trajectory_without_fills_has_no_vwap_and_zero_fulfillment() -> None:
    m = impact.trajectory_metrics(make_traj(fill_t_s=np.empty(0), fill_price=np.empty(0), fill_qty=np.empty(0)))
    assert m["fulfillment"] == 0.0 and math.isnan(m["slippage_bps"]) and m["lob_pressure"] == 0.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"side": 0}, "side"),
        ({"mid_baseline": np.ones(3)}, "mid_baseline"),
        ({"target_qty": 0.0}, "target_qty"),
        ({"pre_mid": np.array([100.0, 101.0])}, "pre_mid"),
        ({"t_s": np.array([0.0, 300.0, 200.0, 600.0])}, "t_s"),
        ({"fill_qty": np.ones(3)}, "fill_qty"),
    ],
)
def test_bad_trajectories_are_rejected_with_the_field_named(overrides: dict, message: str) -> None:
    with pytest.raises(MarsInputError, match=message):
        make_traj(**overrides)


def test_explicit_omega_weights_and_a_too_long_omega() -> None:
    m = impact.trajectory_metrics(make_traj(), omega=[0.5, 0.5])  # minutes 102, 101 relative to 100
    assert m["resiliency"] == pytest.approx(-math.log(0.015))
    with pytest.raises(MarsInputError, match="omega"):
        impact.trajectory_metrics(make_traj(), omega=[0.25, 0.25, 0.25, 0.25])


def test_metrics_frame_accepts_trajectories_or_metric_dicts() -> None:
    trajs = [make_traj(), make_traj(traj_id="b", config="L5-P0.1")]
    frame = impact.metrics_frame(trajs)
    again = impact.metrics_frame([impact.trajectory_metrics(t) for t in trajs])
    assert list(frame.columns) == impact.METRIC_COLUMNS and len(frame) == 2
    pd.testing.assert_frame_equal(frame, again)


def _curve_frame(values: np.ndarray, config: str = "A") -> pd.DataFrame:
    t = np.array([0.0, 300.0, 600.0])
    return pd.DataFrame(
        [
            {"traj_id": f"{config}{i}", "config": config, "t_s": t[j], "impact": values[i, j]}
            for i in range(values.shape[0])
            for j in range(values.shape[1])
        ]
    )


def test_impact_curves_give_the_mean_and_a_student_t_band_per_time() -> None:
    values = np.array([[0.0, 1.0, 2.0], [0.0, 2.0, 4.0], [0.0, 3.0, 3.0]])
    bands = impact.impact_curves(_curve_frame(values), method="t")
    assert list(bands.columns) == impact.BAND_COLUMNS
    np.testing.assert_allclose(bands["mean"], [0.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)  # std of (1, 2, 3) is 1
    assert bands["hi"].iloc[1] - bands["mean"].iloc[1] == pytest.approx(half)
    assert bands["phase"].tolist() == ["short", "short", "long"] and bands["n"].tolist() == [3, 3, 3]
    assert bands["minute"].tolist() == [0.0, 5.0, 10.0]


def test_bootstrap_bands_are_seeded_and_contain_the_mean() -> None:
    rng = np.random.default_rng(3)
    frame = pd.concat([_curve_frame(rng.normal(1, 1, (30, 3)), "A"), _curve_frame(rng.normal(2, 1, (30, 3)), "B")])
    a = impact.impact_curves(frame, method="bootstrap", n_boot=300, seed=1)
    b = impact.impact_curves(frame, method="bootstrap", n_boot=300, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert np.all((a["lo"] <= a["mean"]) & (a["mean"] <= a["hi"]))
    t_band = impact.impact_curves(frame, method="t")
    np.testing.assert_allclose(a["hi"] - a["lo"], t_band["hi"] - t_band["lo"], rtol=0.35)
    assert sorted(a["config"].unique()) == ["A", "B"]


def test_normalised_curves_peak_at_one() -> None:
    bands = impact.impact_curves([make_traj(), make_traj(traj_id="b")], normalize=True)
    assert bands["mean"].max() == pytest.approx(1.0)


def test_long_term_curves_start_at_the_end_of_execution_on_a_common_grid() -> None:
    trajs = [make_traj(), make_traj(traj_id="b", t_s=np.array([0.0, 100.0, 300.0, 700.0]))]
    t_min, curves = impact.long_term_curves(trajs, step_s=60.0)
    np.testing.assert_allclose(t_min, [0, 1, 2, 3, 4, 5])  # the shortest observation is 300 s
    np.testing.assert_allclose(curves[0], 0.002 - np.arange(6) * 0.001 / 5)
    assert curves[:, 0] == pytest.approx([0.002, 0.002])
    with pytest.raises(MarsInputError, match="horizon_s"):
        impact.long_term_curves(trajs, horizon_s=600.0)


def test_split_keeps_trajectories_together_and_is_seeded() -> None:
    ids = np.repeat(np.arange(20), 3)
    test = impact.split_trajectories(ids, 0.25, seed=4)
    assert np.array_equal(test, impact.split_trajectories(ids, 0.25, seed=4))
    assert len(np.unique(ids[test])) == 5 and not set(ids[test]) & set(ids[~test])


def test_impact_curves_figure_draws_a_band_and_a_mean_per_config() -> None:
    trajs = [make_traj(traj_id=str(i), config=c) for i, c in enumerate(["L1-P0.1", "L5-P0.9", "L1-P0.1"])]
    fig = impact_charts.impact_curves_figure(impact.impact_curves(trajs))
    assert isinstance(fig, go.Figure)
    means = [tr for tr in fig.data if tr.showlegend is not False]
    assert [tr.name for tr in means] == ["L1-P0.1", "L5-P0.9"]
    assert max(means[0].y) == pytest.approx(20.0)  # 0.002 in bps


def test_fulfillment_and_factor_scatter_figures() -> None:
    frame = impact.metrics_frame([make_traj(traj_id=str(i), target_qty=50.0 + i) for i in range(4)])
    fig = impact_charts.fulfillment_figure(frame)
    assert fig.data[1].name == "L1-P0.9" and len(fig.data[1].x) == 4
    scatter = impact_charts.factor_scatter_figure(frame, "resiliency")
    assert scatter.layout.xaxis.title.text == "resiliency" and len(scatter.data[0].y) == 4


def synthetic_study(n: int = 48, seed: int = 0) -> list[PairedTrajectory]:
    """Paired trajectories on a 10 s grid over 5 + 15 minutes, impact growing during execution then decaying."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 1201.0, 10.0)
    trajs = []
    for i in range(n):
        q_over_v = rng.choice([2e-4, 5e-4, 1e-3, 2e-3])
        peak = 0.5 * 1e-3 * np.sqrt(q_over_v / 1e-3) * rng.lognormal(0, 0.2)
        shape = np.where(t <= 300, t / 300, 0.4 + 0.6 * np.exp(-(t - 300) / 200))
        baseline = 50.0 * np.exp(np.cumsum(rng.normal(0, 1e-4, t.size)))
        side = 1 if i % 2 else -1
        trajs.append(
            make_traj(
                traj_id=f"s{i}",
                config=["L1-P0.1", "L5-P0.9"][i % 2 == 0 and i % 4 == 0],
                side=side,
                t_s=t,
                mid_baseline=baseline,
                mid_treated=baseline + side * 50.0 * peak * shape,
                arrival_mid=50.0,
                market_volume=1e5,
                target_qty=q_over_v * 1e5,
                pre_mid=50.0 * np.exp(np.cumsum(rng.normal(0, 1e-3, 31))),
                pre_ask_volume=rng.uniform(1e3, 3e4),
                pre_bid_volume=rng.uniform(1e3, 3e4),
                fill_t_s=np.array([100.0]),
                fill_price=np.array([50.0]),
                fill_qty=np.array([q_over_v * 1e5 * 0.95]),
            )
        )
    return trajs


def test_a_synthetic_study_runs_through_every_analysis() -> None:
    from analysis import decay_ode, factors, sqrt_law, symbolic

    trajs = synthetic_study()
    frame = impact.metrics_frame(trajs)
    assert frame["impact_end"].gt(0).all() and frame["fulfillment"].eq(0.95).all()
    fits = sqrt_law.fit_by_config(frame, n_boot=100)
    assert fits[sqrt_law.POOLED].delta == pytest.approx(0.5, abs=0.1)
    sym = symbolic.fit_symbolic(frame)
    assert sym.test_r2 > 0.5
    t_min, curves = impact.long_term_curves(trajs)
    assert t_min[-1] == 15.0 and curves[:, 0] == pytest.approx(frame["impact_end"])
    comparison = decay_ode.compare_decay_models(t_min, curves, frame, epochs=5)
    figures = [
        impact_charts.impact_curves_figure(impact.impact_curves(trajs)),
        impact_charts.fulfillment_figure(frame),
        impact_charts.sqrt_law_figure(frame, fits),
        impact_charts.correlation_heatmap(factors.correlation_matrix(frame)),
        impact_charts.factor_scatter_figure(frame, "lob_pressure"),
        impact_charts.weights_heatmap(comparison.learned),
        impact_charts.decay_acf_figure(comparison.acf),
    ]
    assert all(isinstance(f, go.Figure) and f.data for f in figures)
    json.dumps(
        {
            "fits": sqrt_law.fits_frame(fits).to_dict(orient="records"),
            "symbolic": sym.to_dict(),
            "decay": comparison.to_dict(),
        }
    )
