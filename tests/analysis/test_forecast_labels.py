"""Known answers of the trend labels, their classes and the forecast scores."""

import numpy as np
import pytest

from analysis import forecast_labels as fl

S = 1_000_000_000


def test_mean_mid_return_known_answer():
    ts = np.array([0, 10, 20, 30, 40]) * S
    mid = np.array([100.0, 101.0, 103.0, np.nan, 96.0])
    out = fl.mean_mid_returns(ts, mid, np.array([5 * S, 0]), np.array([20 * S, 40 * S]))
    # from t=5 s: m0 = 100; (5, 25] holds 101, 103 -> 102/100 - 1; (5, 45] holds 101, 103, 96 (NaN skipped) -> 100
    assert out[0] == pytest.approx([0.02, 0.0])
    # from t=0: m0 = 100 (the sample at t itself is the start, not in the horizon); (0, 20] -> 102; (0, 40] -> 100
    assert out[1] == pytest.approx([0.02, 0.0])


def test_mean_mid_return_nan_without_samples():
    ts = np.array([10, 20]) * S
    out = fl.mean_mid_returns(ts, np.array([1.0, 2.0]), np.array([5 * S, 20 * S]), np.array([1 * S]))
    assert np.isnan(out).all()  # before the first sample: no m0; after the last: no sample in the horizon


def test_tertiles_make_equal_classes():
    rng = np.random.default_rng(0)
    labels = rng.normal(size=(3000, 2)) * [1.0, 5.0]
    th = fl.tertile_thresholds(labels)
    classes = fl.classify(labels, th)
    for j in range(2):
        counts = np.bincount(classes[:, j], minlength=3)
        assert counts == pytest.approx([1000, 1000, 1000], abs=1)
    assert th[:, 1] == pytest.approx(5 * th[:, 0], rel=0.2)


def test_classify_and_votes():
    th = np.array([[-0.1], [0.1]])
    assert fl.classify(np.array([[-0.2], [0.0], [0.1], [0.3], [np.nan]]), th).ravel().tolist() == [0, 1, 1, 2, -1]
    shares = fl.vote_shares(np.array([[0, 0, 2, 1], [2, 2, 0, 0], [-1, -1, -1, -1]]))
    assert shares[0] == pytest.approx([0.5, 0.25, 0.25])
    assert fl.majority(shares).tolist() == [0, 0, -1]  # a DOWN/UP tie goes to DOWN; no vote: -1
    assert fl.majority(np.array([1 / 3, 1 / 3, 1 / 3])) == 1  # a three-way tie goes to FLAT


def test_realised_vol_and_mean():
    ts = np.array([0, 1, 2]) * S
    mid = np.array([100.0, 110.0, 100.0])
    assert fl.realised_vol(ts, mid, 0, 3 * S) == pytest.approx(np.sqrt(2) * np.log(1.1))
    assert fl.mean_in(ts, np.array([1.0, 2.0, 4.0]), 0, 2 * S) == 3.0
    assert np.isnan(fl.mean_in(ts, mid, 5 * S, 6 * S))


def test_scores_known_answer():
    truth = np.array([0, 1, 2, 2, 1, 0, -1])
    pred = np.array([0, 1, 2, 1, 1, 2, 0])
    s = fl.score_horizon(truth, pred, n_boot=200)
    assert s["n"] == 6  # the start without a label is left out
    assert s["accuracy"] == pytest.approx(4 / 6)
    # F1 per class: down 2/3 (1 tp, 1 fn), flat 4/5 (2 tp, 1 fp), up 1/2 (1 tp, 1 fp, 1 fn) -> mean
    assert s["macro_f1"] == pytest.approx((2 / 3 + 4 / 5 + 1 / 2) / 3)
    assert s["confusion"] == [[1, 0, 1], [0, 2, 0], [0, 1, 1]]
    lo, hi = s["accuracy_ci"]
    assert lo <= s["accuracy"] <= hi
    e = fl.regression_error(np.array([1.0, 2.0, np.nan]), np.array([2.0, 4.0, 1.0]), n_boot=50)
    assert e["n"] == 2 and e["mae"] == pytest.approx(1.5)


def test_top_path_keeps_the_last_sample_of_a_time_and_drops_one_sided_books():
    from mars_core.data.schema import DUMMY_ASK_PRICE

    top = np.array([[102, 5, 98, 5], [104, 5, 98, 5], [DUMMY_ASK_PRICE, 0, 98, 5], [103, 1, 101, 1]])
    ts, mid, spread = fl.top_path(np.array([1, 1, 2, 3]), top)
    assert ts.tolist() == [1, 2, 3]
    assert mid[[0, 2]].tolist() == [101.0, 102.0] and np.isnan(mid[1])
    assert spread[[0, 2]].tolist() == [6.0, 2.0]


def test_mean_accuracy_and_paired_difference_known_answers():
    truth = np.array([[0, 1], [1, 1], [2, -1], [2, 0]])
    a = np.array([[0, 1], [1, 0], [2, 2], [0, 0]])  # horizon 1: 3/4, horizon 2: 2/3
    b = np.array([[0, 0], [0, 0], [0, 0], [0, 0]])  # horizon 1: 1/4, horizon 2: 1/3
    m = fl.mean_accuracy(truth, a, n_boot=50)
    assert m["accuracy"] == pytest.approx((3 / 4 + 2 / 3) / 2) and m["ci"][0] <= m["ci"][1]
    d = fl.paired_difference(truth, a, b, n_boot=50)
    assert d["difference"] == pytest.approx([0.5, 1 / 3]) and d["mean"] == pytest.approx((0.5 + 1 / 3) / 2)
    same = fl.paired_difference(truth, a, a, n_boot=50)
    assert same["mean"] == 0 and same["mean_ci"] == [0, 0]  # a forecast against itself: no difference in any resample
