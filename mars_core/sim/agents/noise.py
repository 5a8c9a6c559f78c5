"""Zero-intelligence noise traders calibrated on the stock's own day: the agent-based baseline.

Orders arrive as a Poisson process whose rate follows the day's order rate per
30-minute bucket. Each order is, with the day's frequencies, a buy or sell
limit order, a buy or sell aggressive (market) order, or a cancel. A limit
order's price is drawn as a distance in ticks from the mid (passive side; a
draw that would cross is placed one tick inside the opposite best), a cancel's
target as a distance from the mid on a side drawn with the day's cancel mix,
then a random market-maker order at the nearest level holding one. Distances
from the mid (not from the same-side best) make the spread mean-revert: when it
is wide, new orders land inside it, as in the data. Sizes are drawn from the
day's limit and aggressive sizes. All distributions are the empirical ones of
the day's order flow (`calibrate`); the fitted parameters are stored per
symbol/date as JSON in `assets/calibration/`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mars_core.data.orderflow import IOC, Action, order_flow
from mars_core.data.schema import NS_PER_SECOND, LobsterDay
from mars_core.engine import OrderKind, format_clock
from mars_core.errors import ConfigError
from mars_core.paths import CALIBRATION_DIR
from mars_core.sim.agent import AgentId

CALIBRATION_VERSION = 1
BUCKET_NS = 30 * 60 * NS_PER_SECOND
MAX_DEPTH_TICKS = 200  # limit/cancel distances from the mid beyond this are pooled into the last value
DRAWS = 4096  # random numbers drawn per batch

# order types, in the order of NoiseParams.mix
LIMIT_BUY, LIMIT_SELL, MARKET_BUY, MARKET_SELL, CANCEL_BID, CANCEL_ASK = range(6)


@dataclass(frozen=True)
class NoiseParams:
    """Fitted parameters; every distribution is an empirical pmf (values, probabilities)."""

    symbol: str
    date: str
    tick_size: int
    bucket_start_ns: list[int]  # start of each 30-minute bucket
    rate_per_s: list[float]  # orders per second in each bucket
    mix: list[float]  # P(limit buy, limit sell, market buy, market sell, cancel bid, cancel ask)
    limit_depth: tuple[list[int], list[float]]  # ticks from the mid, on the order's passive side
    cancel_depth: tuple[list[int], list[float]]  # ticks from the mid of cancelled orders
    limit_size: tuple[list[int], list[float]]
    market_size: tuple[list[int], list[float]]
    version: int = CALIBRATION_VERSION

    def rate_at(self, ts: int) -> float:
        k = int(np.searchsorted(self.bucket_start_ns, ts, side="right")) - 1
        return self.rate_per_s[min(max(k, 0), len(self.rate_per_s) - 1)]


def _pmf(values: np.ndarray) -> tuple[list[int], list[float]]:
    uniq, counts = np.unique(values, return_counts=True)
    return uniq.astype(int).tolist(), (counts / counts.sum()).tolist()


def calibrate(day: LobsterDay, until_ts: int | None = None) -> NoiseParams:
    """Fit the noise traders on a day's order flow and LOBSTER's book before each order; with
    `until_ts`, on the orders before it only (later times get the last half hour's rate)."""
    flow = order_flow(day)
    if until_ts is not None:
        flow = flow[flow.ts < until_ts]
        if len(flow) == 0:
            raise ConfigError(f"no order of {day.info.key} before {format_clock(until_ts)} to fit the noise traders on")
    tick = day.info.tick_size
    before = day.book[np.maximum(flow.first_msg - 1, 0)]
    mid2 = before[:, 0] + before[:, 2]  # 2 x mid
    depth = np.clip(
        np.rint(flow.side * (mid2 - 2 * flow.price) / (2 * tick)), -MAX_DEPTH_TICKS, MAX_DEPTH_TICKS
    ).astype(np.int64)
    submit = flow.action == Action.SUBMIT
    aggressive = submit & ((flow.kind == IOC) | (flow.first_msg < flow.last_msg))
    limit = submit & ~aggressive
    cancel = ~submit
    kinds = np.select(
        [
            limit & (flow.side > 0),
            limit & (flow.side < 0),
            aggressive & (flow.side > 0),
            aggressive & (flow.side < 0),
            cancel & (flow.side > 0),
        ],
        [LIMIT_BUY, LIMIT_SELL, MARKET_BUY, MARKET_SELL, CANCEL_BID],
        CANCEL_ASK,
    )
    mix = np.bincount(kinds, minlength=6) / len(kinds)
    first_bucket = int(flow.ts[0] // BUCKET_NS * BUCKET_NS)
    edges = np.arange(first_bucket, int(flow.ts[-1]) + 1, BUCKET_NS)  # every bucket holding an order
    counts = np.histogram(flow.ts, bins=np.r_[edges, edges[-1] + BUCKET_NS])[0][: len(edges)]
    spans = np.minimum(edges + BUCKET_NS, flow.ts[-1]) - np.maximum(edges, flow.ts[0])
    rates = counts / np.maximum(spans / NS_PER_SECOND, 1.0)
    return NoiseParams(
        symbol=day.info.symbol,
        date=day.info.date.isoformat(),
        tick_size=tick,
        bucket_start_ns=edges.tolist(),
        rate_per_s=rates.tolist(),
        mix=mix.tolist(),
        limit_depth=_pmf(depth[limit]),
        cancel_depth=_pmf(depth[cancel]),
        limit_size=_pmf(flow.qty[limit]),
        market_size=_pmf(flow.qty[aggressive]),
    )


def calibration_path(symbol: str, date: str, directory: Path = CALIBRATION_DIR) -> Path:
    return directory / f"noise_{symbol}_{date}.json"


_PARTIAL_FITS: dict[tuple[str, int], NoiseParams] = {}  # fits on the orders before a time, per (day, time)


def noise_params(
    day: LobsterDay, directory: Path = CALIBRATION_DIR, refit: bool = False, until_ts: int | None = None
) -> NoiseParams:
    """The stored parameters of a day, fitted (and stored, when the folder is writable) if missing;
    with `until_ts`, fitted on the orders before it once per process (the stored fit is the whole day's)."""
    if until_ts is not None:
        key = (day.info.key, until_ts)
        if refit or key not in _PARTIAL_FITS:
            _PARTIAL_FITS[key] = calibrate(day, until_ts)
        return _PARTIAL_FITS[key]
    path = calibration_path(day.info.symbol, day.info.date.isoformat(), directory)
    if path.exists() and not refit:
        data = json.loads(path.read_text())
        if data.get("version") == CALIBRATION_VERSION:
            return NoiseParams(
                **{k: tuple(v) if k.endswith(("_depth", "_size")) and k != "tick_size" else v for k, v in data.items()}
            )
    params = calibrate(day)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(params), out, indent=1)
        os.replace(tmp, path)
    except OSError:
        pass  # read-only install: use the fit without storing it
    return params


class NoiseBackground:
    """Zero-intelligence traders (agent 1) drawing from `NoiseParams`; see the module docstring."""

    name = "noise"
    agent_id = AgentId.BACKGROUND
    visible_only = False

    def __init__(self, params: NoiseParams) -> None:
        p = params
        self.params = p
        self._mix_cdf = np.cumsum(p.mix)
        self._tick = p.tick_size
        self._limit_depth = (np.asarray(p.limit_depth[0]), np.cumsum(p.limit_depth[1]))
        self._cancel_depth = (np.asarray(p.cancel_depth[0]), np.cumsum(p.cancel_depth[1]))
        self._limit_size = (np.asarray(p.limit_size[0]), np.cumsum(p.limit_size[1]))
        self._market_size = (np.asarray(p.market_size[0]), np.cumsum(p.market_size[1]))
        self._next = 0
        self._bucket_start = self._bucket_end = 0

    def start(self, sim, rng: np.random.Generator) -> None:
        self.rng = rng
        self._i = DRAWS
        self._last_bid = sim.book.best_bid() or sim.book.best_ask() - self._tick
        self._last_ask = sim.book.best_ask() or sim.book.best_bid() + self._tick
        self._next = sim.start_ts + self._gap(sim.start_ts, float(rng.standard_exponential()))

    def _gap(self, ts: int, exp: float) -> int:
        """Waiting time to the next order: a unit exponential draw scaled by the rate at `ts`."""
        if not self._bucket_start <= ts < self._bucket_end:
            self._bucket_start = ts // BUCKET_NS * BUCKET_NS
            self._bucket_end = self._bucket_start + BUCKET_NS
            self._mean_gap = NS_PER_SECOND / max(self.params.rate_at(ts), 1e-9)
        return max(1, int(exp * self._mean_gap))

    def _refill(self) -> None:
        """Draw the next batch of random numbers (always the same amount per order: CRN-friendly)."""
        u = self.rng.random((DRAWS, 5))
        self._kind = np.searchsorted(self._mix_cdf, u[:, 0] * self._mix_cdf[-1], side="right").tolist()
        self._ldepth = self._limit_depth[0][
            np.searchsorted(self._limit_depth[1], u[:, 1] * self._limit_depth[1][-1], side="right")
        ].tolist()
        self._cdepth = self._cancel_depth[0][
            np.searchsorted(self._cancel_depth[1], u[:, 1] * self._cancel_depth[1][-1], side="right")
        ].tolist()
        self._lsize = self._limit_size[0][
            np.searchsorted(self._limit_size[1], u[:, 2] * self._limit_size[1][-1], side="right")
        ].tolist()
        self._msize = self._market_size[0][
            np.searchsorted(self._market_size[1], u[:, 2] * self._market_size[1][-1], side="right")
        ].tolist()
        self._pick = u[:, 3].tolist()
        self._exp = (-np.log1p(-u[:, 4])).tolist()
        self._i = 0

    def next_ts(self) -> int:
        return self._next

    def act(self, sim) -> None:
        ts = self._next
        if self._i == DRAWS:
            self._refill()
        i = self._i
        self._i += 1
        self._next = ts + self._gap(ts, self._exp[i])
        book, ex = sim.book, sim.exchange
        bid, ask = book.best_bid(), book.best_ask()
        bid = bid or self._last_bid
        ask = ask or self._last_ask
        self._last_bid, self._last_ask = bid, ask
        kind, tick = self._kind[i], self._tick
        mid_ticks = (bid + ask) // (2 * tick)  # the tick at or just below the mid
        if kind == LIMIT_BUY:
            price = min((mid_ticks - self._ldepth[i]) * tick, ask - tick)
            ex.submit(
                ts,
                1,
                max(price, tick),
                self._lsize[i],
                AgentId.BACKGROUND,
                OrderKind.LIMIT,
                sim.new_order_id(AgentId.BACKGROUND),
            )
        elif kind == LIMIT_SELL:
            price = max((mid_ticks + (bid + ask) % (2 * tick) // tick + self._ldepth[i]) * tick, bid + tick)
            ex.submit(
                ts, -1, price, self._lsize[i], AgentId.BACKGROUND, OrderKind.LIMIT, sim.new_order_id(AgentId.BACKGROUND)
            )
        elif kind == MARKET_BUY:
            ex.submit(
                ts, 1, 0, self._msize[i], AgentId.BACKGROUND, OrderKind.MARKET, sim.new_order_id(AgentId.BACKGROUND)
            )
        elif kind == MARKET_SELL:
            ex.submit(
                ts, -1, 0, self._msize[i], AgentId.BACKGROUND, OrderKind.MARKET, sim.new_order_id(AgentId.BACKGROUND)
            )
        else:
            side = 1 if kind == CANCEL_BID else -1
            self._cancel(sim, ts, side, (bid + ask) // 2 - side * self._cdepth[i] * tick, self._pick[i])

    def _cancel(self, sim, ts: int, side: int, target: int, pick: float) -> None:
        """Cancel one market-maker order (historical or own) at the level nearest to `target`."""
        order_id = sim.book.pick_order(side, target, AgentId.BACKGROUND, pick)
        if order_id:
            sim.exchange.cancel(ts, order_id)
