"""Every rule of a run lives in its configuration: the CLI, the page and the experiments refuse the same things."""

from __future__ import annotations

import pytest

from mars_core.data import find_dataset
from mars_core.errors import ConfigError
from mars_core.sim.agents.twap import TWAPConfig
from mars_core.sim.config import SimConfig, check_execution_fits, check_order_time


def config(**changes: object) -> SimConfig:
    return SimConfig.from_dict({"symbol": "goog", "date": "2012-06-21", "start": "10:00", "minutes": 2} | changes)


def test_a_twap_agent_must_finish_within_the_run() -> None:
    fits = TWAPConfig(volume=500, duration_s=120, interval_s=30)
    assert config(twap=[fits]).twap == (fits,)
    with pytest.raises(ConfigError, match=r"twap 2: execution time 5 min is longer than the run \(2 min\)"):
        config(twap=[fits, TWAPConfig(volume=500)])  # the default execution time is 300 s
    with pytest.raises(ConfigError, match="TWAP 1: execution time 3 min is longer than the run"):
        check_execution_fits(3.0, 2.0, "TWAP 1")


def test_injected_orders_must_fall_inside_the_window(data_dir) -> None:
    info = find_dataset("GOOG", "2012-06-21", data_dir)
    inside = "time,action,side,price,qty\n10:00:30,limit,buy,575.10,100\n10:01:59,market,sell,,100\n"
    config(inject_csv=inside).check_day(info)
    before = inside.replace("10:00:30", "09:59:59")
    with pytest.raises(ConfigError, match=r"injected orders, row 2: time 09:59:59 is before the run starts"):
        config(inject_csv=before).check_day(info)
    with pytest.raises(ConfigError, match="Injected orders, row 4: time 10:02:00 is not before the run ends"):
        check_order_time(config().end_ts, 4, config().start_ts, config().end_ts, "Injected orders")


def test_the_window_must_lie_in_continuous_trading_and_the_data(data_dir) -> None:
    info = find_dataset("GOOG", "2012-06-21", data_dir)
    with pytest.raises(ConfigError, match="outside GOOG 2012-06-21's trading window 09:30:00-16:00:00"):
        config(start="16:10").check_day(info)
    with pytest.raises(ConfigError, match="ends at 16:09:00, after the end of GOOG 2012-06-21's data at 16:00:00"):
        config(start="15:59", minutes=10).check_day(info)


def test_a_configuration_describes_itself_and_its_arms() -> None:
    paired = config(twap=[TWAPConfig(volume=500, duration_s=60, interval_s=30)])
    assert paired.arms == ("treated", "baseline") and config().arms == ("main",)
    assert (
        paired.describe()
        == "GOOG 2012-06-21 10:00 +2 min · noise · 8 rollouts · seed 0 · TWAP buy 500 L1-P0.9 · paired"
    )
