"""The per-minute realism scores: the ceiling, the replay as a background, paired differences, valid JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import realism_scores as scores
from analysis.minute_metrics import FLOW
from analysis.similarity import METRICS
from mars_core.store.rundir import finite

MINUTES = 10


def _windows(values: np.ndarray, rollout: bool = False) -> list[pd.DataFrame]:
    """(S, MINUTES) values -> per start window a per-minute table with every column (returns too)."""
    out = []
    for s, row in enumerate(values):
        frame = pd.DataFrame({"start": s, "minute": np.arange(MINUTES)})
        if rollout:
            frame.insert(1, "rollout", 0)
        for column in dict.fromkeys((*METRICS, *FLOW)):
            frame[column] = row
        out.append(frame)
    return out


def _score(sides: dict, backgrounds: tuple[str, ...] = ()) -> dict:
    n = len(sides["real"])
    return scores.score(sides, backgrounds, MINUTES, np.linspace(14.5, 15.5, n), n_boot=200, block=5, seed=0)


def test_ceiling_of_identical_real_windows_is_one_and_of_disjoint_ones_zero() -> None:
    real = np.random.default_rng(0).normal(size=(20, MINUTES))
    same = _score({"real": _windows(real), "ceiling": _windows(real)})["ceiling"]
    assert same["mean"] == 1.0 and same["ci"][1] == 1.0 and same["ci"][0] > 0.8
    far = _score({"real": _windows(real), "ceiling": _windows(real + 100)})["ceiling"]
    assert far["mean"] == 0.0 and far["ci"] == [0.0, 0.0]


def test_replay_scored_as_a_background_is_perfect_and_a_real_period_scores_the_ceiling() -> None:
    rng = np.random.default_rng(1)
    real, other = rng.normal(size=(20, MINUTES)), rng.normal(size=(20, MINUTES))
    got = _score(
        {"real": _windows(real), "ceiling": _windows(other), "other": _windows(other, rollout=True)}, ("other",)
    )
    replay = got["backgrounds"]["replay"]
    assert replay["similarity"]["mean"] == 1.0 >= got["ceiling"]["mean"]
    assert all(r == [1.0] * 2 for k, r in replay["fidelity"].items() if k in FLOW)
    assert replay["fidelity"]["volatility"] == 1.0 and replay["fidelity"]["variance_ratio"] == 1.0
    assert all(a["accuracy"] == 1.0 for a in replay["accuracy"].values())
    # real windows of another period, scored as a background, get exactly the ceiling
    assert got["backgrounds"]["other"]["similarity"]["mean"] == pytest.approx(got["ceiling"]["mean"])
    assert got["backgrounds"]["other"]["similarity"]["share_of_ceiling"] == pytest.approx(1.0)


def test_paired_difference_uses_the_same_resampled_windows() -> None:
    rng = np.random.default_rng(2)
    real = rng.normal(size=(30, MINUTES))
    sides = {
        "real": _windows(real),
        "ceiling": _windows(rng.normal(size=(30, MINUTES))),
        "lmm": _windows(real + 0.1, rollout=True),
        "noise": _windows(real + 3, rollout=True),
    }
    got = _score(sides, ("noise", "lmm"))
    diff = got["paired"]["lmm-noise"]
    lmm, noise = (got["backgrounds"][b]["similarity"]["mean"] for b in ("lmm", "noise"))
    assert diff["mean"] == pytest.approx(lmm - noise) and diff["mean"] > 0.5
    assert diff["ci"][0] > 0 and diff["ci_excludes_zero"]
    with pytest.raises(ValueError, match="'lmm': 29 start windows, the real side has 30"):
        _score({**sides, "lmm": sides["lmm"][:-1]}, ("lmm",))


def test_the_result_written_as_json_leaves_no_nan() -> None:
    real = np.random.default_rng(3).normal(size=(6, MINUTES))
    real[:, 3] = np.nan
    got = finite({"x": _score({"real": _windows(real), "ceiling": _windows(real)}), "t": (np.float32(1),)})
    text = json.dumps(got, allow_nan=False)  # raises on NaN
    assert json.loads(text)["t"] == [1.0]
    assert finite({"a": float("nan"), "b": [np.inf, np.int64(2), np.bool_(True)]}) == {
        "a": None,
        "b": [None, 2, True],
    }


def test_fact_summary_reads_the_statistic_and_its_interval() -> None:
    heavy = {"kurtosis": [1.5, 0.2], "ci_low": [0.5, -1], "ci_high": [2.5, 1], "present": True, "n": 90}
    assert scores.fact_summary("heavy_tails", heavy) == {
        "statistic": "excess kurtosis of 1-min returns",
        "value": 1.5,
        "ci": [0.5, 2.5],
        "present": True,
        "n": 90,
    }
    lev = {"mean_corr": -0.1, "mean_ci_low": -0.2, "mean_ci_high": 0.0, "present": False, "n": 10}
    assert scores.fact_summary("leverage_effect", lev)["ci"] == [-0.2, 0.0]
    assert scores.fact_summary("slow_decay_of_absolute_autocorrelation", {"acf": [], "present": False})["value"] is None
