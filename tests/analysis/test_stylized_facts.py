"""Cont's stylized facts on return series whose answer is known, and on the real sample days.

Synthetic bars come from a return series: prices = exp(cumsum(r)), split into
390-minute "days" opening at 09:30. Series have 19,500 one-minute returns
(50 days) unless said otherwise, so a correlation's standard error is about
1/sqrt(n) = 0.007 and an i.i.d. Gaussian kurtosis's about sqrt(24/n) = 0.035.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import signal

from analysis import stylized_facts as sf
from analysis.realism_reference import TABLE6
from mars_core.data import LobsterDay, minute_bars
from mars_core.data.schema import NS_PER_MINUTE

DAY = 390
N = DAY * 50
OPEN_MINUTE = 9 * 60 + 30


def bars_from_returns(
    r: np.ndarray, volume: np.ndarray | None = None, vwap: np.ndarray | None = None, day: int = DAY
) -> list[pd.DataFrame]:
    """Minute bars of `r` cut into days of `day` returns; bar i + 1 of a day closes return i with volume[i], vwap[i]."""
    days = []
    for start in range(0, len(r), day):
        rr = r[start : start + day]
        price = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(rr)]))
        bars = pd.DataFrame(
            {
                "minute": (OPEN_MINUTE + np.arange(len(price))) * NS_PER_MINUTE,
                "last_close": price,
                "volume": np.concatenate([[0.0], np.ones(len(rr)) if volume is None else volume[start : start + day]]),
            }
        )
        if vwap is not None:
            bars["vwap"] = np.concatenate([[price[0]], vwap[start : start + day]])
        days.append(bars)
    return days


def garch(n: int, rng: np.random.Generator, omega: float = 0.05, a: float = 0.1, b: float = 0.88) -> np.ndarray:
    """GARCH(1,1) returns, Gaussian innovations; persistence a + b = 0.98."""
    z = rng.standard_normal(n)
    r, var = np.empty(n), omega / (1 - a - b)
    for t in range(n):
        r[t] = math.sqrt(var) * z[t]
        var = omega + a * r[t] ** 2 + b * var
    return 1e-3 * r


def harch(n: int, rng: np.random.Generator, tau: int = 8) -> np.ndarray:
    """HARCH (Mueller et al. 1997): variance driven by the squared return over the past tau minutes."""
    z = rng.standard_normal(n)
    r = np.zeros(n + tau)
    for t in range(tau, n + tau):
        r[t] = math.sqrt(0.3 + 0.05 * r[t - 1] ** 2 + 0.5 * r[t - tau : t].sum() ** 2 / tau) * z[t - tau]
    return 1e-3 * r[tau:]


def stochastic_volatility(n: int, rng: np.random.Generator, phi: float, scale: float = 0.5) -> np.ndarray:
    """Log-volatility AR(1) with coefficient phi: the ACF of |r| decays like phi^k."""
    h = signal.lfilter([1.0], [1.0, -phi], scale * rng.standard_normal(n))
    return 1e-3 * np.exp(h) * rng.standard_normal(n)


def leverage_series(n: int, rng: np.random.Generator, gamma: float = 0.2, phi: float = 0.9) -> np.ndarray:
    """Log-volatility driven by minus past shocks: a fall raises later volatility."""
    e = rng.standard_normal(n)
    h = np.concatenate([[0.0], signal.lfilter([1.0], [1.0, -phi], -gamma * e)[:-1]])
    return 1e-3 * np.exp(h) * e


@pytest.fixture(scope="module")
def gaussian() -> list[pd.DataFrame]:
    rng = np.random.default_rng(11)
    return bars_from_returns(1e-3 * rng.standard_normal(N), volume=rng.uniform(100, 200, N))


@pytest.fixture(scope="module")
def garch_bars() -> sf.Trajectories:
    return sf.prepare(bars_from_returns(garch(N, np.random.default_rng(12))))


# --- input handling ----------------------------------------------------------------------------


def test_trajectories_are_pooled_without_returns_across_their_boundaries() -> None:
    rng = np.random.default_rng(1)
    low, high = (bars_from_returns(1e-3 * rng.standard_normal(DAY))[0] for _ in range(2))
    high["last_close"] *= 10.0  # a log(10) jump if a return spanned the two
    result = sf.heavy_tails([low, high], max_period=3)
    assert result["n_by_period"] == [2 * DAY, 2 * DAY - 2, 2 * DAY - 4]
    assert abs(result["kurtosis"][0]) < 0.6  # one log(10) return among 780 would give kurtosis ~ 775


def test_minutes_without_bars_or_trades_carry_the_last_price_and_zero_volume() -> None:
    bars = pd.DataFrame(
        {
            "minute": np.array([0, 1, 3, 4]) * NS_PER_MINUTE + OPEN_MINUTE * NS_PER_MINUTE,
            "last_close": [100.0, np.nan, 102.0, 101.0],
            "volume": [5, 0, 7, 3],
        }
    )
    tr = sf.prepare(bars)
    assert np.allclose(np.exp(tr.log_last), [100, 100, 100, 102, 101])
    assert tr.volume.tolist() == [5, 0, 0, 7, 3]
    assert sf.heavy_tails(bars, max_period=1)["n"] == 4


def test_bad_input_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="no trajectories"):
        sf.prepare([])
    with pytest.raises(ValueError, match=r"trajectory 0: missing bar column\(s\) \['volume'\]"):
        sf.prepare(pd.DataFrame({"minute": [0], "last_close": [1.0]}))
    with pytest.raises(ValueError, match="repeated minutes"):
        sf.prepare(pd.DataFrame({"minute": [0, 0], "last_close": [1.0, 2.0], "volume": [1, 1]}))


def test_mean_trade_price_uses_vwap_when_present() -> None:
    bars = pd.DataFrame({"last_close": [1.0, 2.0], "vwap": [1.5, 2.5]})
    assert sf.mean_trade_price(bars).tolist() == [1.5, 2.5]
    assert sf.mean_trade_price(bars.drop(columns="vwap")).tolist() == [1.0, 2.0]


# --- facts on series with known answers ------------------------------------------------------


def test_iid_gaussian_returns_show_only_absence_of_autocorrelation(gaussian: list[pd.DataFrame]) -> None:
    results = sf.evaluate_facts(gaussian)
    present = {name: r["present"] for name, r in results.items()}
    assert present == {name: name == "absence_of_autocorrelations" for name in sf.FACTS}
    band = 4 / math.sqrt(N)
    assert np.max(np.abs(results["absence_of_autocorrelations"]["last"]["acf"])) < band
    assert np.max(np.abs(results["volatility_clustering"]["acf"])) < band
    assert np.max(np.abs(results["heavy_tails"]["kurtosis"][:5])) < 4 * math.sqrt(24 / N) * math.sqrt(5)
    assert abs(results["intermittency"]["fano_factor"] - 1) < 0.3
    assert abs(results["leverage_effect"]["mean_corr"]) < band
    assert abs(results["volume_volatility_correlation"]["corr"][0]) < band


def test_autocorrelated_returns_break_absence_of_autocorrelations() -> None:
    rng = np.random.default_rng(2)
    r = signal.lfilter([1.0], [1.0, -0.3], 1e-3 * rng.standard_normal(N))  # AR(1): acf(k) = 0.3^k
    result = sf.absence_of_autocorrelations(bars_from_returns(r))
    assert result["last"]["acf"][:3] == pytest.approx([0.3, 0.09, 0.027], abs=0.03)
    assert not result["present"]


def test_lag_one_bid_ask_bounce_is_exempt_only_by_default() -> None:
    rng = np.random.default_rng(3)
    e = 1e-3 * rng.standard_normal(N + 1)
    r = e[1:] - 0.5 * e[:-1]  # MA(1): acf(1) = -0.5 / 1.25 = -0.4, zero beyond
    bars = bars_from_returns(r)
    result = sf.absence_of_autocorrelations(bars)
    assert result["last"]["acf"][0] == pytest.approx(-0.4, abs=0.03)
    assert result["present"]
    assert not sf.absence_of_autocorrelations(bars, skip_lags=0)["present"]


def test_mean_trade_price_returns_show_the_averaging_effect() -> None:
    # Working (1960): averaging a random walk over m steps per minute gives acf(1) = (m^2 - 1) / (2 (2 m^2 + 1)).
    m, rng = 20, np.random.default_rng(4)
    path = np.cumsum(1e-3 * rng.standard_normal(N * m)).reshape(N, m)  # (minute, step) log prices
    close, vwap = 100.0 * np.exp(path[:, -1]), 100.0 * np.exp(path.mean(axis=1))
    minute = (OPEN_MINUTE + np.arange(DAY)) * NS_PER_MINUTE
    days = [
        pd.DataFrame({"minute": minute, "last_close": close[s : s + DAY], "vwap": vwap[s : s + DAY], "volume": 1.0})
        for s in range(0, N, DAY)
    ]
    result = sf.absence_of_autocorrelations(days)
    assert result["mean_price"] == "vwap"
    assert result["mean"]["acf"][0] == pytest.approx((m * m - 1) / (2 * (2 * m * m + 1)), abs=0.03)
    assert abs(result["last"]["acf"][0]) < 0.03
    assert result["present"]


def test_student_t_returns_have_heavy_tails() -> None:
    result = sf.heavy_tails(bars_from_returns(1e-3 * np.random.default_rng(5).standard_t(3, N)), max_period=1)
    assert result["present"] and result["kurtosis"][0] > 3 and result["ci_low"][0] > 0


def test_aggregated_t_returns_approach_gaussian_as_kurtosis_over_k() -> None:
    # Sums of k i.i.d. returns of excess kurtosis K have excess kurtosis K / k; t(10) has K = 6 / (10 - 4) = 1.
    result = sf.aggregational_gaussianity(bars_from_returns(1e-3 * np.random.default_rng(6).standard_t(10, N)))
    kurtosis = np.array(result["kurtosis"])
    assert kurtosis[0] == pytest.approx(1.0, abs=0.3)
    assert kurtosis[[1, 3, 9, 19]] == pytest.approx(1.0 / np.array([2, 4, 10, 20]), abs=0.25)
    assert result["present"] and result["longest_period"] == 20 and result["drop_ci_low"] > 0


def test_big_drawdowns_make_gain_loss_asymmetry() -> None:
    rng = np.random.default_rng(7)
    r = 1e-3 * (rng.standard_normal(N) - 6.0 * (rng.uniform(size=N) < 0.01))
    result = sf.gain_loss_asymmetry(bars_from_returns(r))
    assert result["skewness"][0] < -1 and result["mean_ci_high"] < 0 and result["present"]


def test_garch_shows_clustering_slow_decay_and_conditional_heavy_tails(garch_bars: sf.Trajectories) -> None:
    clustering = sf.volatility_clustering(garch_bars)
    decay = sf.slow_decay_of_absolute_autocorrelation(garch_bars)
    conditional = sf.conditional_heavy_tails(garch_bars)
    assert clustering["present"] and decay["present"] and conditional["present"]
    assert 0.15 < clustering["acf"][0] < 0.35 and decay["acf"][-1] > 0.1  # persistence 0.98: slow decay
    assert sf.absence_of_autocorrelations(garch_bars)["present"]  # clustering without linear correlation
    assert sf.intermittency(garch_bars)["present"]
    assert not sf.asymmetry_in_timescales(garch_bars)["present"]  # GARCH reacts to 1-min returns only


def test_short_memory_volatility_clusters_but_decays_fast() -> None:
    result_bars = sf.prepare(bars_from_returns(stochastic_volatility(N, np.random.default_rng(8), phi=0.5)))
    assert sf.volatility_clustering(result_bars)["present"]
    decay = sf.slow_decay_of_absolute_autocorrelation(result_bars)
    assert abs(decay["acf"][-1]) < 4 / math.sqrt(N) and not decay["present"]


def test_time_of_day_volatility_is_removed_by_conditioning() -> None:
    rng = np.random.default_rng(9)
    bucket = np.tile(np.arange(DAY) // 30, N // DAY)  # 13 half-hour buckets, U-shaped volatility
    sigma = 1e-3 * (1 + 2 * (np.abs(bucket - 6) / 6) ** 2)
    gaussian = sf.conditional_heavy_tails(bars_from_returns(sigma * rng.standard_normal(N)), max_period=1)
    assert gaussian["unconditional_kurtosis"] > 0.5  # a scale mixture of Gaussians is heavy-tailed...
    assert abs(gaussian["kurtosis"][0]) < 0.15 and not gaussian["present"]  # ...but not once conditioned
    t6 = sf.conditional_heavy_tails(bars_from_returns(sigma * rng.standard_t(6, N)), max_period=1)
    assert t6["present"] and t6["less_heavy_than_unconditional"]
    assert t6["kurtosis"][0] == pytest.approx(3.0, abs=1.2)  # t(6) excess kurtosis 6 / (6 - 4)


def test_intermittency_fano_factor_of_extremes_in_one_window() -> None:
    # 100 windows of 15 returns; the 15 largest all in the first: counts (15, 0, ..., 0), F = 2.25 / 0.15 = 15.
    r = 1e-3 * np.random.default_rng(10).uniform(-1, 1, 1500)
    r[:15] = 0.01
    bars = pd.DataFrame(
        {
            "minute": np.arange(1501) * NS_PER_MINUTE,
            "last_close": np.exp(np.concatenate([[0], np.cumsum(r)])),
            "volume": np.ones(1501),
        }
    )
    result = sf.intermittency(bars)
    assert result["n_windows"] == 100 and result["n_extreme"] == 15
    assert result["fano_factor"] == pytest.approx(15.0)
    assert result["p_value"] == pytest.approx(1 / 201) and result["present"]


def test_negative_returns_raising_later_volatility_is_leverage() -> None:
    result = sf.leverage_effect(bars_from_returns(leverage_series(N, np.random.default_rng(13))))
    assert result["corr"][0] < -0.05 and result["mean_ci_high"] < 0 and result["present"]


def test_volume_proportional_to_absolute_return_correlates_with_volatility() -> None:
    r = 1e-3 * np.random.default_rng(14).standard_normal(N)
    result = sf.volume_volatility_correlation(bars_from_returns(r, volume=1e6 * np.abs(r)))
    assert result["corr"][0] == pytest.approx(1.0, abs=1e-9) and result["present"]
    assert np.max(np.abs(result["corr"][1:])) < 4 / math.sqrt(N)


def test_coarse_volatility_feedback_gives_negative_timescale_asymmetry() -> None:
    result = sf.asymmetry_in_timescales(bars_from_returns(harch(N, np.random.default_rng(15))))
    assert result["mean_asymmetry"] < -0.05 and result["mean_ci_high"] < 0 and result["present"]
    assert result["corr"][result["lags"].index(0)] == max(result["corr"])


def test_short_trajectories_pool_and_leave_impossible_periods_empty() -> None:
    # 600 rollouts of 15 minutes: no 16..20-minute return exists, and aggregation stops at 15 minutes.
    r = 1e-3 * np.random.default_rng(16).standard_t(5, 600 * 15)
    results = sf.evaluate_facts(bars_from_returns(r, day=15))
    json.dumps(results, allow_nan=False)
    heavy = results["heavy_tails"]
    assert heavy["n_by_period"][:2] == [600 * 15, 600 * 14] and heavy["n_by_period"][14:] == [600] + [0] * 5
    assert heavy["kurtosis"][15:] == [None] * 5 and heavy["present"]
    assert results["aggregational_gaussianity"]["longest_period"] == 15
    assert results["aggregational_gaussianity"]["present"]
    assert results["intermittency"]["n_windows"] == 600
    # 5-min volatilities exist at minutes 5..15 of each rollout: one pair 10 minutes apart, eleven at lag 0
    assert results["asymmetry_in_timescales"]["n_by_lag"][0] == 600 and results["asymmetry_in_timescales"]["n"] == 6600


# --- results for tables and pages ------------------------------------------------------------


def test_results_are_json_safe_and_deterministic(gaussian: list[pd.DataFrame]) -> None:
    first = sf.evaluate_facts(gaussian[:3], n_boot=50, seed=3)
    assert list(first) == list(sf.FACTS)
    assert json.dumps(first, allow_nan=False) == json.dumps(sf.evaluate_facts(gaussian[:3], n_boot=50, seed=3))


def test_facts_table_lists_presence_per_background() -> None:
    yes = {name: {"present": True} for name in sf.FACTS}
    no = {name: {"present": False} for name in sf.FACTS if name != "intermittency"}
    table = sf.facts_table({"replay": yes, "simulation": no})
    assert list(table.index) == list(sf.FACTS) and list(table.columns) == ["name", "replay", "simulation", "test"]
    assert table["replay"].tolist() == [True] * 11
    assert table.loc["intermittency", "simulation"] is None and table.loc["heavy_tails", "simulation"] is False
    assert table.loc["leverage_effect", "name"] == "Leverage effect"
    assert set(TABLE6) == set(sf.FACTS)


@pytest.mark.parametrize("day_fixture", ["goog_day", "amzn_day"])
def test_real_days_give_well_formed_results(day_fixture: str, request: pytest.FixtureRequest) -> None:
    day: LobsterDay = request.getfixturevalue(day_fixture)
    results = sf.evaluate_facts(minute_bars(day))
    json.dumps(results, allow_nan=False)
    for name, result in results.items():
        assert result["n"] > 300, name
        assert isinstance(result["present"], bool) and result["test"] == sf.FACT_TESTS[name]
        for key in ("acf", "kurtosis", "skewness", "corr", "ci_low", "ci_high"):
            if isinstance(result.get(key), list):
                assert all(v is not None and math.isfinite(v) for v in result[key]), (name, key)
    assert results["absence_of_autocorrelations"]["mean_price"] == "vwap"  # minute_bars carries the mean trade price
    # Effects strong enough in one day of 389 returns to be significant:
    assert results["heavy_tails"]["present"] and results["volume_volatility_correlation"]["present"]
