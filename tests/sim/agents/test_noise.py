"""The noise background is calibrated on the stock's own day and looks like it in the first minutes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mars_core.data import LobsterDay, minute_bars
from mars_core.engine import parse_clock
from mars_core.errors import ConfigError
from mars_core.sim.agents.noise import NoiseBackground, calibrate, noise_params
from mars_core.sim.bars import BarBuilder
from mars_core.sim.config import SimConfig
from mars_core.sim.simulator import Simulator


def test_calibration_matches_the_days_own_counts(goog_day: LobsterDay) -> None:
    p = calibrate(goog_day)
    assert sum(p.mix) == pytest.approx(1.0)
    assert 0.3 < p.mix[4] + p.mix[5] < 0.6  # cancels are about half of GOOG's order flow
    assert sum(p.limit_depth[1]) == pytest.approx(1.0) and max(p.limit_size[0]) > 100
    # the rate over the day averages the day's flow: ~142k orders over 6.5 hours
    assert np.mean(p.rate_per_s) == pytest.approx(142_000 / 23_400, rel=0.25)


def test_a_fit_until_a_time_sees_only_the_orders_before_it(goog_day: LobsterDay) -> None:
    morning = calibrate(goog_day, parse_clock("12:00"))
    assert (
        morning.bucket_start_ns[-1] < parse_clock("12:00")
        and morning.rate_at(parse_clock("15:00")) == morning.rate_per_s[-1]
    )
    assert morning.limit_size != calibrate(goog_day).limit_size and sum(morning.mix) == pytest.approx(1.0)
    kept = noise_params(goog_day, until_ts=parse_clock("12:00"))
    assert kept == morning and noise_params(goog_day, until_ts=parse_clock("12:00")) is kept  # fitted once per process
    with pytest.raises(ConfigError, match="no order of GOOG.* before 04:00:00 to fit the noise traders on"):
        calibrate(goog_day, parse_clock("04:00"))
    config = SimConfig(symbol="GOOG", date="2012-06-21", noise_fit_until="14:30")
    assert config.noise_fit_until_ts == parse_clock("14:30")
    with pytest.raises(ConfigError, match="noise_fit_until"):
        SimConfig.from_dict({"symbol": "GOOG", "date": "2012-06-21", "noise_fit_until": "25:99"}, where="config")


def test_parameters_are_stored_per_symbol_and_date(goog_day: LobsterDay, tmp_path: Path) -> None:
    fitted = noise_params(goog_day, tmp_path)
    stored = json.loads((tmp_path / "noise_GOOG_2012-06-21.json").read_text())
    assert stored["symbol"] == "GOOG" and stored["rate_per_s"] == fitted.rate_per_s
    assert noise_params(goog_day, tmp_path) == fitted  # read back, not refitted


@pytest.mark.parametrize("fixture", ["goog_day", "amzn_day"])
def test_first_minutes_look_like_the_stock(fixture: str, request: pytest.FixtureRequest) -> None:
    """Spread and order rate of the first five minutes in the range of the replayed day."""
    day: LobsterDay = request.getfixturevalue(fixture)
    start = parse_clock("11:00")
    end = start + 5 * 60 * 10**9
    real = minute_bars(day, start, end)
    spreads, rates = [], []
    for seed in range(4):
        bars = BarBuilder(day.info.date)
        Simulator(day, start, end, NoiseBackground(noise_params(day)), seed=seed, sink=bars.add).run()
        b = bars.bars()
        spreads.append(b["spread"].mean())
        rates.append((b["submits"] + b["cancels"]).mean())
    real_rate = (real["submits"] + real["cancels"]).mean()
    assert 0.4 < np.mean(spreads) / real["spread"].mean() < 2.5
    assert 0.6 < np.mean(rates) / real_rate < 1.6


def test_bars_of_a_run_without_trades_count_zero_volume(goog_day: LobsterDay) -> None:
    start = parse_clock("11:00")
    bars = BarBuilder(goog_day.info.date)
    book = goog_day.book[:3]
    chunk = pd.DataFrame(
        book[:, :8],
        columns=[
            "ask_price_1",
            "ask_size_1",
            "bid_price_1",
            "bid_size_1",
            "ask_price_2",
            "ask_size_2",
            "bid_price_2",
            "bid_size_2",
        ],
    )
    chunk.insert(0, "ts", start + np.arange(3) * 1_000_000_000)
    bars.add("book", chunk)
    b = bars.bars()
    assert len(b) == 1 and b["volume"].tolist() == [0] and b["trades"].tolist() == [0] and b["submits"].tolist() == [0]
    assert b["spread"].iloc[0] == pytest.approx(float(np.mean(book[:, 0] - book[:, 2])))
