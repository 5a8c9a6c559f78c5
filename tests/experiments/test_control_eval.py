"""Measured controllability: held-out starts, and the metric over the four configurations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.similarity import path_correlation
from mars_core.control.signals import mid2_at
from mars_core.data import LobsterDay
from mars_core.data.schema import BPS, NS_PER_MINUTE
from mars_core.engine import parse_clock
from mars_core.experiments.control_eval import CONFIGS, day_starts, pick_starts, run_groups, summarize


def test_held_out_starts_move_enough_and_do_not_overlap(goog_day: LobsterDay) -> None:
    starts = pick_starts(goog_day, 10, 3, 10.0)
    assert starts and len(starts) <= 3
    ts = [s.start_ts for s in starts]
    assert ts == sorted(ts) and min(ts) >= parse_clock("14:30") and np.all(np.diff(ts) >= 10 * NS_PER_MINUTE)
    for s in starts:
        a, b = mid2_at(goog_day, [s.start_ts, s.start_ts + 10 * NS_PER_MINUTE]).astype(float)
        assert abs(s.move_bps) >= 10 and s.move_bps == pytest.approx(np.log(b / a) * BPS, abs=0.01)
    assert pick_starts(goog_day, 10, 3, 10_000.0) == []


def test_the_metric_is_the_mean_path_correlation() -> None:
    target = np.array([0.0, 1.0, 2.0, 3.0])
    assert path_correlation(target * 2 + 1, target) == pytest.approx(1.0)
    assert path_correlation(-target, target) == pytest.approx(-1.0) and path_correlation(np.ones(4), target) == 0.0
    results = [
        {
            "config": c,
            "start": "s",
            "paths": np.stack([target, -target]) if c.startswith("no") else np.stack([target, target]),
            "target": target,
            "seconds": 1.0 if c.startswith("no") else 1.5,
            "orders": 100 if c.startswith("no") else 50,
        }
        for c in CONFIGS
    ]
    s = summarize(results)
    assert s["no_control_no_interaction"] == 0.0 and s["control_interaction"] == 1.0 and s["n"] == 2
    assert s["detail"]["cost_ratio_interaction"] == 1.5 and s["detail"]["cost_ratio_per_order_interaction"] == 3.0
    assert s["detail"]["control_no_interaction"]["end_on_target_side"] == 1.0


def test_groups_report_their_progress_counting_those_finished_before() -> None:
    kept, seen = [], []
    results = run_groups(
        abs, [-3, 4, -5], workers=1, progress=lambda d, t: seen.append((d, t)), keep=kept.append, done=2
    )
    assert results == [3, 4, 5] and kept == [3, 4, 5]
    assert seen == [(2, 5), (3, 5), (4, 5), (5, 5)]  # a resumed run starts from the groups already on disk


def test_both_evaluations_pick_their_starts_symbol_by_symbol(data_dir: Path) -> None:
    days = day_starts(("AMZN", "GOOG"), str(data_dir), lambda day: [day.info.symbol, day.info.symbol.lower()])
    assert days == ["AMZN", "amzn", "GOOG", "goog"]
