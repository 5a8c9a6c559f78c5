"""Flow context: what the order model sees of the market beyond its attention window.

The attention window holds the last 128 orders, 10-20 seconds of GOOG. After each order the
model also gets N_CTX small integers (`vocab.CTX_SIZES`), each embedded by its own table:

  0  mid change over the last minute       (`vocab.mid_bucket` of ticks)
  1  mid change over the last 5 minutes    (`vocab.mid_bucket` of ticks)
  2  orders in the last 5 minutes           (`vocab.rate_bucket`)
  3  mean log2 size of the last 5 minutes' submissions (`vocab.size_bucket`)

All four come from the stream itself, so a rollout's context comes from its own history: the
real one before its start, then its own orders and book. They replace the mid change since the
open of the paper's eq. (1): on two stock-days, the price level since the open tells the model
the time of the morning, and a model that learns the day's path by heart pulls every rollout
back toward it.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from mars_core.model.vocab import mid_bucket, rate_bucket, size_bucket

MID_HORIZONS_NS = (60_000_000_000, 300_000_000_000)  # mid change over the last 1 and 5 minutes
FLOW_NS = 300_000_000_000  # activity over the last 5 minutes


def mid_changes(mid2: np.ndarray, mid2_then: list[np.ndarray], tick: int) -> list[np.ndarray]:
    """Bucket of the mid change (ticks, towards zero) from each `mid2_then` to `mid2` (both bid + ask)."""
    now = np.asarray(mid2, dtype=np.int64)
    return [mid_bucket(np.fix((now - np.asarray(t, dtype=np.int64)) / (2 * tick)).astype(np.int64)) for t in mid2_then]


def stream_context(
    ts: np.ndarray,
    is_submit: np.ndarray,
    qty: np.ndarray,
    mid2_after: np.ndarray,
    mid_ts: np.ndarray,
    mid2: np.ndarray,
    tick: int,
) -> np.ndarray:
    """(N, N_CTX) flow context after each order of a stream.

    Args:
        ts, is_submit, qty: time, kind and size of each order, in time order.
        mid2_after: bid + ask after each order.
        mid_ts, mid2: the mid log (bid + ask from each time on), to look up the mid 1 and 5 minutes ago.
        tick: price units per tick.
    """
    ts = np.asarray(ts, dtype=np.int64)
    then = [mid2[np.maximum(np.searchsorted(mid_ts, ts - h, side="right") - 1, 0)] for h in MID_HORIZONS_NS]
    first = np.searchsorted(ts, ts - FLOW_NS, side="right")  # the orders in (t - 5 min, t]
    end = np.arange(1, len(ts) + 1)
    log_size = np.r_[0.0, np.cumsum(np.where(is_submit, np.log2(np.maximum(qty, 1)), 0.0))]
    submits = np.r_[0, np.cumsum(np.asarray(is_submit, dtype=np.int64))]
    n_submits = submits[end] - submits[first]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_submits > 0, (log_size[end] - log_size[first]) / n_submits, np.nan)
    return np.column_stack([*mid_changes(mid2_after, then, tick), rate_bucket(end - first), size_bucket(mean)])


class FlowHistory:
    """One rollout's stream for its flow context, appended after every order (O(log n) per order)."""

    def __init__(
        self, ts: list[int], is_submit: list[bool], qty: list[int], mid_ts: list[int], mid2: list[int]
    ) -> None:
        self.ts: list[int] = []
        self.submits = [0]  # running count of submissions
        self.log_size = [0.0]  # running sum of their log2 sizes
        for t, s, q in zip(ts, is_submit, qty):
            self._add(t, s, q)
        self.mid_ts, self.mid2 = list(mid_ts), list(mid2)

    def _add(self, ts: int, is_submit: bool, qty: int) -> None:
        self.ts.append(ts)
        self.submits.append(self.submits[-1] + int(is_submit))
        self.log_size.append(self.log_size[-1] + (math.log2(max(qty, 1)) if is_submit else 0.0))

    def copy(self) -> FlowHistory:
        """An independent copy (its lists copied; a deepcopy walks every number and costs ~15 ms a rollout)."""
        other = FlowHistory.__new__(FlowHistory)
        other.ts, other.submits, other.log_size = list(self.ts), list(self.submits), list(self.log_size)
        other.mid_ts, other.mid2 = list(self.mid_ts), list(self.mid2)
        return other

    def push(self, ts: int, is_submit: bool, qty: int, mid2: int) -> None:
        """An order at `ts` (a submission of `qty` shares, or a cancel) and bid + ask after it."""
        self._add(ts, is_submit, qty)
        self.mid_ts.append(ts)
        self.mid2.append(mid2)

    def measures(self, tick: int) -> tuple[int, int, int, float]:
        """The unbucketed flow context after the latest order: mid changes over 1 and 5 minutes (ticks, towards
        zero), orders and mean log2 submission size over 5 minutes (NaN: none); `context_of` buckets them."""
        ts, n, now = self.ts[-1], len(self.ts), self.mid2[-1]
        then = [self.mid2[max(bisect.bisect_right(self.mid_ts, ts - h) - 1, 0)] for h in MID_HORIZONS_NS]
        first = bisect.bisect_right(self.ts, ts - FLOW_NS)
        n_submits = self.submits[n] - self.submits[first]
        mean = (self.log_size[n] - self.log_size[first]) / n_submits if n_submits else math.nan
        m1, m5 = (math.trunc((now - t) / (2 * tick)) for t in then)  # as np.fix of the same float division
        return m1, m5, n - first, mean

    def context(self, tick: int) -> list[int]:
        """The flow context after the latest order (the same values as `stream_context` of the whole stream)."""
        return context_of([self.measures(tick)])[0].tolist()


def context_of(measures: list[tuple[int, int, int, float]]) -> np.ndarray:
    """(N, N_CTX) flow context of N rows of `FlowHistory.measures`, bucketed in one pass."""
    m1, m5, count, mean = zip(*measures)
    return np.column_stack([mid_bucket(m1), mid_bucket(m5), rate_bucket(count), size_bucket(mean)])
