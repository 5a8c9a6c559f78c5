"""Scoring a policy against the paper's TWAPs: paired differences, their interval, the held-out starts."""

from __future__ import annotations

import numpy as np
import pytest

from mars_core.data import LobsterDay
from mars_core.rl.evaluate import (
    AGENT,
    BASELINE,
    PAPER_TWAPS,
    fixed,
    held_out_starts,
    run_start,
    summarize,
    trace_start,
)

TASK = {"volume": 1000, "duration_s": 60, "interval_s": 30}


def test_held_out_starts_fill_the_afternoon_and_end_by_the_close() -> None:
    starts = held_out_starts()
    assert starts[0] == "14:30" and starts[-1] == "15:54" and len(starts) == 15


def rows(agent_minus_baseline: list[float]) -> list[dict]:
    """Two seeds per start; the agent is `d` better than L1-P0.9 at start k, the other TWAPs as L1-P0.9."""
    out = []
    for k, d in enumerate(agent_minus_baseline):
        for seed, base in ((0, -3.0), (1, -5.0)):
            for name in (AGENT, *PAPER_TWAPS):
                adv = base + d if name == AGENT else base
                fill = 0.99 if name == AGENT else 0.97
                out.append(
                    {
                        "symbol": "GOOG",
                        "start": f"s{k}",
                        "seed": seed,
                        "policy": name,
                        "fulfillment": fill,
                        "advantage_bps": adv,
                    }
                )
    return out


def test_summary_pairs_by_start_and_seed() -> None:
    s = summarize(rows([2.0, 2.0, 2.0]), "noise")
    assert s["advantage_bps"] == pytest.approx(2.0) and s["ci"] == pytest.approx([2.0, 2.0])
    assert s["fulfillment"] == pytest.approx(0.99) and s["baseline_fulfillment"] == pytest.approx(0.97)
    assert s["episodes"] == 6 and s["starts"] == 3 and s["baseline"] == BASELINE
    assert set(s["versus"]) == set(PAPER_TWAPS)
    s = summarize(rows([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), "lmm")
    lo, hi = s["ci"]
    assert s["advantage_bps"] == pytest.approx(4.5) and lo < 4.5 < hi and hi - lo < 4.5


@pytest.mark.parametrize("background", ["noise", "lmm"])
def test_a_policy_playing_the_baseline_ties_it_in_the_same_futures(goog_day: LobsterDay, background: str) -> None:
    policies = {
        AGENT: fixed(PAPER_TWAPS[BASELINE]),
        BASELINE: fixed(PAPER_TWAPS[BASELINE]),
        "L5-P0.9": fixed(PAPER_TWAPS["L5-P0.9"]),
    }
    out = run_start(goog_day, "14:30", [3], background, policies, TASK)
    by = {r["policy"]: r for r in out}
    assert by[AGENT]["advantage_bps"] == by[BASELINE]["advantage_bps"]  # common seeds: the very same episode
    assert by["L5-P0.9"]["advantage_bps"] != by[BASELINE]["advantage_bps"]
    assert all(0 < r["fulfillment"] <= 1 and np.isfinite(r["advantage_bps"]) for r in out)


def test_a_trace_follows_each_policy_interval_by_interval(goog_day: LobsterDay) -> None:
    policies = {AGENT: fixed(PAPER_TWAPS["L5-P0.1"]), BASELINE: fixed(PAPER_TWAPS[BASELINE])}
    steps, fills = trace_start(goog_day, "14:30", 1, "noise", policies, TASK)
    assert list(steps.policy) == [AGENT, BASELINE, AGENT, BASELINE] and list(steps.interval) == [1, 1, 2, 2]
    assert list(steps.pvr) == [0.1, 0.9, 0.1, 0.9] and list(steps.ap) == [5, 1, 5, 1]
    for name, g in steps.groupby("policy"):
        assert g.executed.is_monotonic_increasing and g.executed.iloc[-1] == fills[fills.policy == name].qty.sum()
    assert steps.groupby("policy").executed.last()[AGENT] == 1000  # AP 5 catches up to the schedule
