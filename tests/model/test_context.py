"""The flow context: known values, and the rollout's running history equals the whole-stream computation."""

from __future__ import annotations

import numpy as np

from mars_core.data import LobsterDay
from mars_core.data.orderflow import Action, order_flow
from mars_core.model.context import FLOW_NS, FlowHistory, context_of, stream_context
from mars_core.model.dataset import flow_context
from mars_core.model.tokenizer import mid2_series
from mars_core.model.vocab import CTX_SIZES, MID_BUCKETS, mid_bucket, rate_bucket, size_bucket

S = 1_000_000_000
TICK = 100


def test_buckets_of_mid_changes_order_counts_and_sizes() -> None:
    assert (mid_bucket(np.array([-5, -1, 0, 1, 2, 3, 4, 5000])) - MID_BUCKETS // 2).tolist() == [
        -3,
        -1,
        0,
        1,
        2,
        2,
        3,
        12,
    ]
    assert rate_bucket(np.array([0, 128, 182, 256, 1024, 10**9])).tolist() == [0, 0, 1, 2, 6, 15]
    assert size_bucket(np.array([np.log2(4), np.log2(10), np.log2(100), np.nan, 99])).tolist() == [0, 5, 18, 12, 23]


def test_stream_context_counts_the_last_five_minutes_and_the_mid_one_and_five_minutes_ago() -> None:
    ts = np.array([0, 100 * S, 200 * S, 400 * S])
    is_submit = np.array([True, False, True, True])
    qty = np.array([16, 5, 64, 4])
    mid_ts = np.array([0, 350 * S])
    mid2 = np.array([2_000_000, 2_000_000 + 2 * 8 * TICK])  # the mid rises 8 ticks at 350 s
    after = mid2[np.searchsorted(mid_ts, ts, side="right") - 1]
    ctx = stream_context(ts, is_submit, qty, after, mid_ts, mid2, TICK)
    mid = MID_BUCKETS // 2
    assert ctx[:, 0].tolist() == [mid, mid, mid, mid + 4]  # +8 ticks since a minute ago (340 s), at 400 s only
    assert ctx[:, 1].tolist() == [mid, mid, mid, mid + 4]  # and since 100 s (5 minutes before 400 s)
    assert ctx[:, 2].tolist() == rate_bucket(np.array([1, 2, 3, 2])).tolist()  # at 400 s: the orders of 200 and 400 s
    expected = [4, 4, (4 + 6) / 2, (6 + 2) / 2]  # mean log2 size of the submissions in (t - 5 min, t]
    assert ctx[:, 3].tolist() == size_bucket(np.array(expected)).tolist()
    assert (ctx < np.array(CTX_SIZES)).all()


def test_a_rollouts_running_history_gives_the_whole_stream_context(goog_day: LobsterDay) -> None:
    flow = order_flow(goog_day)
    tick = goog_day.info.tick_size
    mid2 = mid2_series(goog_day.book, tick)
    lo, hi = np.searchsorted(flow.ts, [(12 * 60) * 60 * S, (12 * 60 + 8) * 60 * S])
    whole = flow_context(goog_day, flow)
    start = flow.ts[lo]
    first = np.searchsorted(flow.ts, start - FLOW_NS, side="right")
    part = flow[first:lo]
    a, b = np.searchsorted(goog_day.events.ts, [start - FLOW_NS, start], side="right")
    history = FlowHistory(
        part.ts.tolist(),
        (part.action == Action.SUBMIT).tolist(),
        part.qty.tolist(),
        goog_day.events.ts[a - 1 : b].tolist(),
        mid2[a - 1 : b].tolist(),
    )
    twin, measures = history.copy(), []  # a rollout's copy goes on on its own
    for i in range(lo, hi):  # push each order with the mid after it: the same context as the whole day's
        history.push(
            int(flow.ts[i]), bool(flow.action[i] == Action.SUBMIT), int(flow.qty[i]), int(mid2[flow.last_msg[i]])
        )
        assert history.context(tick) == whole[i].tolist(), i
        measures.append(history.measures(tick))
    np.testing.assert_array_equal(context_of(measures), whole[lo:hi])  # bucketed in one pass: the same rows
    assert len(twin.ts) == len(part) and twin.context(tick) == whole[lo - 1].tolist()
