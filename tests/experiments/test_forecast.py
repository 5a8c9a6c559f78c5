"""Forecasting by simulation: labels of the real day, rollouts batched over start points, forecasts, the scoreboard."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import forecast_labels as fl
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.engine import format_clock, parse_clock
from mars_core.errors import ConfigError
from mars_core.experiments import forecast as fc
from mars_core.experiments.forecast_eval import ForecastConfig, evaluate
from mars_core.experiments.reports import build_report

GOOG = (("GOOG", "2012-06-21"),)


def test_training_thresholds_split_the_training_moments_in_thirds(data_dir) -> None:
    th = fc.thresholds(GOOG, str(data_dir))
    labels = fc.real_path("GOOG", "2012-06-21", str(data_dir)).labels(fc.training_starts())
    for j in range(len(fc.HORIZONS)):
        assert np.bincount(fl.classify(labels[:, j], th[:, j]), minlength=3) == pytest.approx([1741 / 3] * 3, abs=1)
    assert (th[0] < 0).all() and (th[1] > 0).all()
    assert fc.training_starts()[-1] == parse_clock("14:25")  # the longest horizon ends at the training cut


def test_forecast_of_known_rollout_labels() -> None:
    th = np.array([[-1.0, -1.0], [1.0, 1.0]])
    labels = np.array([[-2.0, 0.0], [-3.0, 2.0], [0.5, 2.0], [np.nan, 3.0]])
    f = fc.forecast(labels, np.array([1.0, 3.0, np.nan, 2.0]), np.array([4.0, 4.0, 4.0, 4.0]), th)
    assert f.shares[0] == pytest.approx([2 / 3, 1 / 3, 0]) and f.shares[1] == pytest.approx([0, 1 / 4, 3 / 4])
    assert f.majority.tolist() == [0, 2]
    assert f.mean_class.tolist() == [0, 2]  # means -1.5 and 1.75
    assert (f.vol, f.spread) == (2.0, 4.0)


@pytest.mark.slow
def test_batched_start_points_match_each_start_alone_and_repeat_by_seed(data_dir) -> None:
    """Rollouts of two moments in one lockstep batch are those of each moment simulated alone (each rollout's random
    numbers depend on its seed only), and a unit repeats itself exactly."""
    starts = (parse_clock("14:40"), parse_clock("15:10"))
    both = fc.simulate_unit(fc.Unit("GOOG", "2012-06-21", starts, "lmm", 2, 3, str(data_dir)))
    alone = fc.simulate_unit(fc.Unit("GOOG", "2012-06-21", starts[1:], "lmm", 2, 3, str(data_dir)))
    assert np.array_equal(both.labels[starts[1]], alone.labels[starts[1]], equal_nan=True)
    assert np.array_equal(both.vol[starts[1]], alone.vol[starts[1]])
    assert not np.array_equal(both.labels[starts[0]], both.labels[starts[1]])
    assert both.labels[starts[0]].shape == (2, 5) and np.isfinite(both.labels[starts[0]]).all()
    assert not np.array_equal(both.labels[starts[0]][0], both.labels[starts[0]][1])  # rollouts differ


def test_evaluation_scores_every_forecaster_on_the_held_out_starts(data_dir, tmp_path) -> None:
    config = ForecastConfig(symbols=("GOOG",), backgrounds=("noise",), rollouts=3, every_minutes=20, bootstrap=20)
    result = evaluate(config, tmp_path / "eval", str(data_dir), 1, deeplob_path=str(tmp_path / "none"))
    assert result["horizons"] == [1, 2, 3, 4, 5] and result["rollouts"] == 3
    assert result["start_times"] == ["14:30", "14:50", "15:10", "15:30", "15:50"] and result["starts"] == 5
    assert set(result["accuracy"]) == {"noise", "noise_mean", "persistence", "majority"}
    assert "DeepLOB left out" in result["notes"][0]
    real = fc.real_path("GOOG", "2012-06-21", str(data_dir))
    starts = np.array([parse_clock(t) for t in result["start_times"]])
    truth = fl.classify(real.labels(starts), np.array(result["thresholds"]))
    past = np.stack(
        [
            fl.mean_mid_returns(real.ts, real.mid, starts - k * NS_PER_MINUTE, [k * NS_PER_MINUTE])[:, 0]
            for k in range(1, 6)
        ],
        1,
    )
    expected = (fl.classify(past, np.array(result["thresholds"])) == truth).mean(0)
    assert result["accuracy"]["persistence"] == pytest.approx(expected.tolist())
    assert [sum(map(sum, m)) for m in result["confusion"]["noise"]] == [5] * 5
    assert result["regression"]["realised_vol"]["naive"]["n"] == 5
    again = evaluate(config, tmp_path / "eval", str(data_dir), 1, deeplob_path=str(tmp_path / "none"))  # resumed
    assert again["accuracy"] == result["accuracy"] and again["timings"]["simulate_seconds"] < 1
    report = build_report(tmp_path / "eval", str(data_dir))
    assert report.title == "Forecasting by simulation" and "5 held-out start points × 3 rollouts" in report.subtitle
    assert [s.heading for s in report.sections] == ["Held-out accuracy", "Confusion matrices", "Volatility and spread"]
    assert {m[0] for m in report.sections[0].metrics} >= {
        "Noise traders (majority vote)",
        "Persistence",
        "Majority class",
    }


@pytest.mark.slow
def test_mars_own_thresholds_come_from_its_training_period_futures(data_dir, tmp_path) -> None:
    config = ForecastConfig(
        symbols=("GOOG",), backgrounds=("lmm",), rollouts=2, every_minutes=30, calibrate_every=120, bootstrap=20
    )
    (unit,) = config.calibration_units(str(data_dir))
    assert [format_clock(s)[:5] for s in unit.starts] == ["09:35", "11:35", "13:35"]  # all before 14:30
    result = evaluate(config, tmp_path / "eval", str(data_dir), 1, deeplob_path=str(tmp_path / "none"))
    labels = np.load(next((tmp_path / "eval" / "units").glob("lmm_GOOG_2012-06-21_575.npz")))["labels"]
    own = fl.tertile_thresholds(labels.reshape(-1, 5))
    assert str(np.round(own, 6).tolist()) in result["notes"][-1]
    assert set(result["accuracy"]) >= {"mars", "mars_calibrated"} and result["starts"] == 3


def test_one_moment_uses_the_evaluations_pooled_thresholds(data_dir) -> None:
    m = fc.forecast_moment("GOOG", "2012-06-21", "15:00", 2, "noise", data_dir=str(data_dir))
    days = (("GOOG", "2012-06-21"), ("AMZN", "2012-06-21"))
    assert np.array_equal(m.thresholds, fc.thresholds(days, str(data_dir)))
    assert len(m.paths) == 2 and m.forecast.shares.shape == (5, 3)
    assert m.real.ts[0] > parse_clock("14:55") and m.real.ts[-1] <= parse_clock("15:05")


def test_a_moment_that_is_not_a_time_is_refused_by_name(data_dir) -> None:
    with pytest.raises(ConfigError, match=r"^moment: time '25:99' has minutes or seconds above 59$"):
        fc.forecast_moment("GOOG", "2012-06-21", "25:99", rollouts=1, background="noise", data_dir=str(data_dir))
