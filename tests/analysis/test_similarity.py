"""Overlap coefficient, 3-class accuracy, window metrics and the Table 7 assembly, on known answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import similarity as sim
from analysis.realism_reference import TABLE7, table6_frame, table7_frame
from mars_core.data.schema import NS_PER_MINUTE

T0 = (9 * 60 + 30) * NS_PER_MINUTE


# --- overlap coefficient ---------------------------------------------------------------------


def test_overlap_of_identical_samples_is_one_and_of_disjoint_samples_zero() -> None:
    a = np.random.default_rng(0).normal(size=5000)
    assert sim.overlap_coefficient(a, a.copy()) == pytest.approx(1.0)
    assert sim.overlap_coefficient(a, a + 100) == 0.0


def test_overlap_of_unit_normals_one_apart_is_two_phi_minus_half() -> None:
    # OVL of N(0,1) and N(1,1) = 2 Phi(-1/2) = 0.617; with 20,000 draws each the histogram estimate is within 0.02.
    rng = np.random.default_rng(1)
    ovl = sim.overlap_coefficient(rng.normal(0, 1, 20_000), rng.normal(1, 1, 20_000))
    assert ovl == pytest.approx(2 * stats.norm.cdf(-0.5), abs=0.02)


def test_overlap_ignores_nans_and_handles_constant_and_empty_samples() -> None:
    assert sim.overlap_coefficient([1.0, np.nan, 2.0, np.inf], [1.0, 2.0]) == pytest.approx(1.0)
    assert sim.overlap_coefficient([3.0] * 5, [3.0] * 2) == 1.0
    assert sim.overlap_coefficient([3.0] * 5, [4.0] * 2) == 0.0
    assert math.isnan(sim.overlap_coefficient([], [1.0])) and math.isnan(sim.overlap_coefficient([np.nan], [1.0]))


def test_overlap_takes_explicit_bins_on_the_reference() -> None:
    a, b = [0, 0, 1, 1], [0, 1, 1, 1]  # two bins: p = (1/2, 1/2), q = (1/4, 3/4) -> 1/4 + 1/2
    assert sim.overlap_coefficient(a, b, bins=2) == sim.overlap_coefficient(b, a, bins=2) == pytest.approx(0.75)


def test_a_samples_outliers_do_not_coarsen_the_reference_ruler() -> None:
    rng = np.random.default_rng(2)
    reference = rng.normal(0, 1, 20_000)
    shifted = rng.normal(0.5, 1, 20_000)
    with_tail = np.r_[shifted, np.full(200, 60.0)]  # 1% far away: beyond the reference's bins, in the open bin
    plain = sim.overlap_coefficient(reference, shifted, bins=60)
    assert plain == pytest.approx(2 * stats.norm.cdf(-0.25), abs=0.02)
    assert sim.overlap_coefficient(reference, with_tail, bins=60) == pytest.approx(plain / 1.01, abs=0.005)
    assert sim.overlap_coefficient(reference, reference + 100, bins=60) == 0.0  # all of it beyond the ruler


# --- 3-class accuracy ------------------------------------------------------------------------


def test_tertile_classes_are_balanced_on_the_replay_values() -> None:
    x = np.arange(300.0)
    classes = sim.classify(x, sim.tertile_edges(x))
    assert np.bincount(classes).tolist() == [100, 100, 100]
    assert sim.classify([np.nan], sim.tertile_edges(x)).tolist() == [-1]


def test_accuracy_of_identical_values_is_one_and_of_independent_values_a_third() -> None:
    rng = np.random.default_rng(2)
    replay = rng.uniform(size=30_000)
    assert sim.three_class_accuracy(replay, replay) == 1.0
    # independent: P(same class) = 3 * (1/3)^2; sd sqrt(2/9 / 30000) = 0.0027
    assert sim.three_class_accuracy(replay, rng.uniform(size=30_000)) == pytest.approx(1 / 3, abs=0.011)


def test_accuracy_skips_unpaired_nans_and_rejects_unequal_lengths() -> None:
    replay = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    assert sim.three_class_accuracy(replay, [0.0, 1.0, 2.0, np.nan, 4.0, 0.0]) == pytest.approx(4 / 5)
    with pytest.raises(ValueError, match="paired"):
        sim.three_class_accuracy(replay, replay[:-1])


def test_rollout_accuracy_predicts_the_majority_class() -> None:
    replay = np.arange(9.0)  # tertile edges 8/3 and 16/3: classes 0,0,0,1,1,1,2,2,2
    exact = np.repeat(replay[:, None], 4, axis=1)
    assert sim.three_class_accuracy_from_rollouts(replay, exact) == 1.0
    # rollout classes (0, 0, 1, 2, 2): votes tie 0 and 2, the median is class 1 -> majority picks 0, median 1
    split = np.tile([0.0, 1.0, 4.0, 7.0, 8.0], (9, 1))
    assert sim.three_class_accuracy_from_rollouts(replay, split) == pytest.approx(3 / 9)  # predicts 0 everywhere
    assert sim.three_class_accuracy_from_rollouts(replay, split, method="median") == pytest.approx(3 / 9)
    majority_two = np.tile([7.0, 8.0, 0.0], (9, 1))  # two of three rollouts high
    assert sim.three_class_accuracy_from_rollouts(replay, majority_two) == pytest.approx(3 / 9)
    assert sim.classify(np.median(majority_two[0]), sim.tertile_edges(replay)) == 2


def test_rollout_accuracy_handles_ragged_rollouts_and_independent_noise() -> None:
    replay = np.arange(6.0)
    ragged = np.array([[0.0, np.nan], [1.0, 9.0], [np.nan, np.nan], [3.0, np.nan], [4.0, 5.0], [5.0, 5.0]])
    # row 2 has no rollout; row 1 ties (0 vs 2) and its median 5 is class 2 -> wrong; 4 of 5 right
    assert sim.three_class_accuracy_from_rollouts(replay, ragged) == pytest.approx(4 / 5)
    rng = np.random.default_rng(3)
    assert sim.three_class_accuracy_from_rollouts(rng.uniform(size=6000), rng.uniform(size=(6000, 15))) == (
        pytest.approx(1 / 3, abs=0.025)
    )
    with pytest.raises(ValueError, match="method"):
        sim.three_class_accuracy_from_rollouts(replay, ragged, method="mean")


# --- window metrics and Table 7 --------------------------------------------------------------


def window_bars() -> pd.DataFrame:
    """Four minutes; mid opens at 100 and closes 101, 102, (no bar), 100."""
    return pd.DataFrame(
        {
            "minute": T0 + np.array([0, 1, 3]) * NS_PER_MINUTE,
            "mid_open": [100.0, 101.0, 102.0],
            "mid_close": [101.0, 102.0, 100.0],
            "last_open": [np.nan, 101.5, 101.0],
            "last_close": [np.nan, 101.5, 100.5],
            "spread": [1.0, 2.0, 3.0],
        }
    )


def test_window_metrics_from_a_known_mid_path() -> None:
    metrics = sim.window_metrics(window_bars())
    path = np.log([100.0, 101.0, 102.0, 102.0, 100.0])  # minute 2 carries 102 forward
    assert list(metrics) == list(sim.METRICS)
    assert metrics["volatility"] == pytest.approx(np.std(np.diff(path), ddof=1))
    assert metrics["spread"] == pytest.approx(2.0)
    assert [metrics[f"return_{k}min"] for k in (1, 2, 3, 4)] == pytest.approx(path[1:] - path[0])
    assert math.isnan(metrics["return_5min"]) and math.isnan(metrics["buy_order_ratio"])
    assert math.isnan(sim.window_metrics(window_bars(), price="last")["return_1min"])  # no trade in the first minute


def test_window_order_metrics_count_submissions_only() -> None:
    orders = pd.DataFrame(
        {
            "side": [1, 1, 1, -1, 1, -1, -1],
            "qty": [100, 200, 300, 400, 999, 999, 999],
            "aggressive": [True, False, False, True, True, True, True],
            "event": [1, 1, 1, 1, 2, 3, 3],
        }
    )
    metrics = sim.window_metrics(window_bars(), orders)
    assert metrics["mean_order_volume"] == pytest.approx(250.0)
    assert metrics["aggressive_order_ratio"] == pytest.approx(0.5)
    assert metrics["buy_order_ratio"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['aggressive'\]"):
        sim.window_metrics(window_bars(), orders.drop(columns="aggressive"))


def random_metrics(rng: np.random.Generator, n: int) -> list[dict[str, float]]:
    return [{name: float(rng.normal()) for name in sim.METRICS} for _ in range(n)]


def test_table7_scores_a_perfect_simulation_one_and_an_independent_one_low() -> None:
    rng = np.random.default_rng(4)
    replay = random_metrics(rng, 600)
    table = sim.table7(
        replay,
        {"perfect": replay, "independent": random_metrics(rng, 600), "rollouts": [[m, m, m] for m in replay]},
    )
    json.dumps(table, allow_nan=False)
    assert list(table) == list(sim.METRICS)
    for metric in sim.METRICS:
        assert table[metric]["perfect"] == {"similarity": 1.0, "accuracy": 1.0, "n": 600, "n_rollouts": 1}
        assert table[metric]["rollouts"]["accuracy"] == 1.0 and table[metric]["rollouts"]["n_rollouts"] == 3
        independent = table[metric]["independent"]
        assert independent["similarity"] > 0.8 and independent["accuracy"] == pytest.approx(1 / 3, abs=0.08)


def test_table7_marks_undefined_metrics_and_rejects_misaligned_start_points() -> None:
    replay = [dict.fromkeys(sim.METRICS, float("nan")) | {"spread": float(i)} for i in range(9)]
    table = sim.table7(replay, {"sim": replay})
    assert table["volatility"]["sim"] == {"similarity": None, "accuracy": None, "n": 0, "n_rollouts": 1}
    assert table["spread"]["sim"]["accuracy"] == 1.0
    with pytest.raises(ValueError, match="'sim': 8 start points, replay has 9"):
        sim.table7(replay, {"sim": replay[:-1]})


def test_reference_tables_use_our_keys_and_the_papers_values() -> None:
    assert list(TABLE7) == list(sim.METRICS)
    assert table7_frame().loc["volatility"].tolist() == [0.872, 0.516]
    assert table7_frame().loc["return_5min"].tolist() == [0.908, 0.531]
    assert table6_frame()["historical"].sum() == 9
    assert not table6_frame().loc["leverage_effect", "simulated"]
