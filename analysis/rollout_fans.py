"""Reductions of simulated runs: every rollout on one time grid, summarised as quantile fans; paired differences,
minute statistics and the execution of agents. Pure functions over the run store's tables.

Inputs are book snapshots (`ts, ask_price_1, ask_size_1, bid_price_1, bid_size_1, ...`), minute bars, the
agents' fills and the starting book, in the project's units (time: int ns since midnight; prices: int dollars
x 10000; sizes: int shares). Arms: "main" (an unpaired run), or "treated" (with the user's orders and agents)
and "baseline" (the same seed without them) in paired mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE

FAN_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


BPS = 10_000


@dataclass(frozen=True, slots=True)
class Fan:
    """Quantiles across rollouts of a path on a time grid."""

    quantiles: tuple[float, ...]  # (Q,) e.g. (0.1, 0.25, 0.5, 0.75, 0.9)
    values: np.ndarray  # (Q, T) float, NaN where no rollout has a value
    rollouts: int  # number of paths summarised

    def q(self, quantile: float) -> np.ndarray:
        """The (T,) path of one of `quantiles`."""
        return self.values[self.quantiles.index(quantile)]


def book_mid(book: pd.DataFrame) -> np.ndarray:
    """Mid price per snapshot row (price units, float); NaN where either side of the book is empty."""
    ask, bid = book["ask_price_1"].to_numpy(), book["bid_price_1"].to_numpy()
    ok = (
        (ask != DUMMY_ASK_PRICE)
        & (bid != DUMMY_BID_PRICE)
        & (book["ask_size_1"].to_numpy() > 0)
        & (book["bid_size_1"].to_numpy() > 0)
    )
    return np.where(ok, (ask + bid) / 2.0, np.nan)


def mid_on_grid(book: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """The mid as of each grid time (last snapshot at or before it); NaN before the first snapshot."""
    if book.empty:
        return np.full(len(grid), np.nan)
    ts = book["ts"].to_numpy()
    rows = np.searchsorted(ts, grid, side="right") - 1
    mid = book_mid(book)
    return np.where(rows >= 0, mid[np.clip(rows, 0, None)], np.nan)


def arrival_mid(start_book: pd.DataFrame) -> float:
    """Mid of the starting book (best bid and ask of its resting orders); NaN if a side is empty."""
    if start_book.empty:
        return float("nan")
    bids = start_book.loc[start_book["side"] == 1, "price"]
    asks = start_book.loc[start_book["side"] == -1, "price"]
    if bids.empty or asks.empty:
        return float("nan")
    return (float(bids.max()) + float(asks.min())) / 2


def fan(paths: np.ndarray, quantiles: tuple[float, ...] = FAN_QUANTILES) -> Fan:
    """Quantiles over rollouts (axis 0) of (R, T) paths, ignoring NaN (numpy's default linear interpolation)."""
    paths = np.atleast_2d(np.asarray(paths, dtype=float))
    return Fan(quantiles, _nanquantile(paths, quantiles), paths.shape[0])


def _nanquantile(paths: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    """np.nanquantile(paths, quantiles, axis=0), vectorised: numpy's loops over columns once any NaN is present."""
    n_rows, n_cols = paths.shape
    if n_rows and not np.isnan(paths).any():
        return np.quantile(paths, quantiles, axis=0)
    ordered = np.sort(paths, axis=0)  # NaN sort last
    count = (~np.isnan(paths)).sum(axis=0)  # (T,)
    position = np.asarray(quantiles)[:, None] * np.maximum(count - 1, 0)[None, :]  # (Q, T)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(count - 1, 0)[None, :])
    columns = np.arange(n_cols)[None, :]
    if n_rows == 0:
        return np.full((len(quantiles), n_cols), np.nan)
    low, high = ordered[below, columns], ordered[above, columns]
    values = low + (high - low) * (position - below)
    values[:, count == 0] = np.nan
    return values


def paired_difference_bps(treated: np.ndarray, baseline: np.ndarray, arrival: np.ndarray) -> np.ndarray:
    """(R, T) treated-minus-baseline mid in bps of each rollout's arrival mid (R,)."""
    arrival = np.asarray(arrival, dtype=float)[:, None]
    return (np.asarray(treated, dtype=float) - np.asarray(baseline, dtype=float)) / arrival * BPS


def minute_stats(bars: pd.DataFrame, quantiles: tuple[float, float, float] = (0.1, 0.5, 0.9)) -> pd.DataFrame:
    """Per arm and minute, quantiles across rollouts of the mean spread and the traded volume.

    `bars` holds minute bars with `rollout`, `arm`, `minute`, `spread`, `volume`.
    Returns columns arm, minute, spread_q10/q50/q90, volume_q10/q50/q90, rollouts.
    """
    columns = [
        "arm",
        "minute",
        *(f"{c}_q{round(q * 100)}" for c in ("spread", "volume") for q in quantiles),
        "rollouts",
    ]
    if bars.empty:
        return pd.DataFrame(columns=columns)
    grouped = bars.groupby(["arm", "minute"])
    out = grouped.size().rename("rollouts").to_frame()
    for column in ("spread", "volume"):
        for q in quantiles:
            out[f"{column}_q{round(q * 100)}"] = grouped[column].quantile(q)
    return out.reset_index()[columns]


@dataclass(frozen=True, slots=True)
class ExecutionTarget:
    """An execution agent's order: who, which side, how much."""

    agent: int  # the agent id in the run's tables
    name: str  # e.g. "TWAP 1 · L1-P0.9"
    side: int  # 1 buy, -1 sell
    volume: int  # target shares


def execution_summary(
    fills: pd.DataFrame, targets: list[ExecutionTarget], arrival: pd.Series, rollouts: list[int]
) -> pd.DataFrame:
    """Per execution agent: how much of its order filled and at what price, over the given rollouts.

    Args:
        fills: the treated arms' agent fills (rollout, agent, price, qty).
        targets: the agents to summarise.
        arrival: arrival mid (price units) indexed by rollout.
        rollouts: the rollouts to include (finished ones); a rollout without fills counts as 0 filled.

    Returns one row per agent: agent, name, side, volume, rollouts, filled_mean, fulfillment_mean,
    fulfillment_min, vwap_mean (price units), slippage_bps_mean, slippage_bps_sd. Slippage is
    side x (VWAP - arrival mid) / arrival mid in bps: positive means the agent paid more (bought
    higher, sold lower) than the mid when it started.
    """
    rows = []
    for target in targets:
        mine = fills[fills["agent"] == target.agent] if not fills.empty else fills
        per_rollout = pd.DataFrame(index=pd.Index(rollouts, name="rollout"))
        if not mine.empty:
            grouped = mine.assign(notional=mine["price"] * mine["qty"]).groupby("rollout")[["qty", "notional"]].sum()
            per_rollout = per_rollout.join(grouped)
        filled = per_rollout.get("qty", pd.Series(0.0, index=per_rollout.index)).fillna(0.0)
        notional = per_rollout.get("notional", pd.Series(np.nan, index=per_rollout.index))
        vwap = notional / filled.replace(0, np.nan)
        slippage = target.side * (vwap - arrival.reindex(per_rollout.index)) / arrival.reindex(per_rollout.index) * BPS
        fulfillment = filled / target.volume
        rows.append(
            {
                "agent": target.agent,
                "name": target.name,
                "side": target.side,
                "volume": target.volume,
                "rollouts": len(rollouts),
                "filled_mean": float(filled.mean()) if len(filled) else float("nan"),
                "fulfillment_mean": float(fulfillment.mean()) if len(fulfillment) else float("nan"),
                "fulfillment_min": float(fulfillment.min()) if len(fulfillment) else float("nan"),
                "vwap_mean": float(vwap.mean()),
                "slippage_bps_mean": float(slippage.mean()),
                "slippage_bps_sd": float(slippage.std()) if slippage.count() > 1 else float("nan"),
            }
        )
    return pd.DataFrame(rows)
