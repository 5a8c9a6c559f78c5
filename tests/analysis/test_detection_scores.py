"""Detection scores: the window distributions, similarity and anomaly, AUC and recall, known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analysis.detection_scores import (
    METRICS,
    anomaly,
    detection_bootstrap,
    pooled,
    recall_at,
    roc_auc,
    similarity,
    window_values,
)
from analysis.minute_metrics import Window
from mars_core.data.schema import NS_PER_SECOND

START = 36_000 * NS_PER_SECOND


def _window(orders: pd.DataFrame) -> Window:
    book = np.array([[10_200, 300, 10_000, 100, 10_300, 50, 9_900, 70]], dtype=np.int64)  # spread 200, depth 520
    return Window(START, 1, 2, np.array([START - 1]), book, orders, pd.DataFrame(columns=["ts", "price", "qty"]))


def test_window_values_are_the_known_distributions() -> None:
    ts = START + np.array([1, 2, 6, 7, 8, 59]) * NS_PER_SECOND
    orders = pd.DataFrame(
        {"ts": ts, "side": 1, "price": 10_000, "qty": [100, 200, 300, 400, 500, 600], "aggressive": False}
    )
    cancels = START + np.array([3, 9, 10, 11]) * NS_PER_SECOND  # buckets 0-5 s: 2 submits 1 cancel; 5-10 s: 3 and 1
    values = window_values(_window(orders), cancels)
    assert set(values) == set(METRICS)
    assert np.array_equal(values["spread"], np.full(60, 200.0))
    assert np.array_equal(values["depth"], np.full(60, 520.0))
    assert np.array_equal(values["order_size"], [100, 200, 300, 400, 500, 600])
    ratio = values["cancel_ratio"]
    assert len(ratio) == 12
    assert ratio[0] == pytest.approx(1 / 3) and ratio[1] == pytest.approx(1 / 4) and ratio[2] == 1.0
    assert np.isnan(ratio[3]) and ratio[11] == 0.0  # no order in 15-20 s; one submission in 55-60 s


def test_similarity_of_a_window_with_itself_is_one_and_with_a_disjoint_one_zero() -> None:
    rng = np.random.default_rng(0)
    a = {row: rng.normal(size=200) for row in METRICS}
    b = {row: v + 100 for row, v in a.items()}
    assert anomaly(similarity(a, a)) == 0.0
    assert anomaly(similarity(a, b)) == 1.0
    assert pooled([a, b])["spread"].shape == (400,)
    assert anomaly({"spread": float("nan"), "depth": 0.25}) == 0.75


def test_roc_auc_matches_sklearn_and_counts_ties_half() -> None:
    rng = np.random.default_rng(1)
    clean, flagged = rng.normal(size=300), rng.normal(0.7, size=120).round(1)
    expected = roc_auc_score(np.r_[np.zeros(300), np.ones(120)], np.r_[clean, flagged])
    assert roc_auc(clean, flagged) == pytest.approx(expected)
    assert roc_auc([1.0, 1.0], [1.0]) == 0.5
    assert roc_auc([0, 1, 2], [3, 4]) == 1.0
    assert np.isnan(roc_auc([], [1.0]))


def test_recall_at_five_percent_false_alarms() -> None:
    clean = np.arange(100.0)  # the 95% quantile is 94.05
    assert recall_at(clean, [96, 50, 99, 200]) == 0.75


def test_bootstrap_of_a_perfect_detector_is_certain() -> None:
    out = detection_bootstrap(np.arange(50.0), np.arange(100.0, 120.0), n_boot=50, seed=0, block=5)
    assert out["auc"] == 1.0 and out["auc_ci"] == [1.0, 1.0]
    assert out["recall"] == 1.0
    noisy = detection_bootstrap(np.arange(50.0), np.arange(25.0, 75.0), n_boot=200, seed=0, block=5)
    low, high = noisy["auc_ci"]
    assert low < noisy["auc"] < high
