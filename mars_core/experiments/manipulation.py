"""Injected market manipulation: a real LOBSTER day with labelled episodes, written as a replayable day.

There are no labelled manipulation cases in the LOBSTER samples, so detection (paper Sec. 4.2) is measured on
episodes injected into a real day. Four kinds (`KINDS`), each a handful of LOBSTER messages from one manipulator:

* spoofing: a large limit order `ticks` behind its side's best, cancelled unexecuted after the episode, while the
  manipulator sells into (or buys from) the other side with small aggressive orders;
* layering: the same with `levels` orders on consecutive prices behind the best;
* quote stuffing: a burst of small orders at the best every `burst_ms`, each cancelled a few milliseconds later;
* momentum ignition: an aggressive burst that sweeps the far side's best orders, then the reverse sweep.

`intensity` scales the size relative to the book at the episode's start (a spoof is `intensity` times the mean
visible level size of its side; a sweep takes `intensity` times the far side's best-level size; a stuffing burst
has `10 * intensity` orders). Resting injected orders never execute: a real execution names a real order, and an
injected order is cancelled early if the real best of its own side reaches its price (it would stop being away
from the touch). An aggressive injected order is written as LOBSTER writes one, executions (type 4) of real
resting orders with known ids; the real messages that later reduce those orders are clipped by what the
manipulator took (dropped when nothing is left), so the message file stays consistent.

The orderbook file is rebuilt from the clearing house: the real day is replayed message by message
(`engine.LobsterReplay`, corrected from LOBSTER's own rows like `mars replay --verify`) and, where the
manipulation changed the book, each row is the real full-depth book plus the injected resting orders minus what the
manipulator took from real orders still resting, cut to the file's levels. Elsewhere the real rows are copied.
A level the manipulation brings into view can change in the real day where LOBSTER sends no message; that change
becomes a reconciling message (`_Rebuild`). `mars replay --verify` of the written day then matches every best
level; checked with every kind at intensities 2 and 8, an episode every 8 minutes over 10:00-11:30 and 14:30-16:00
of both sample days (32 copies, 360 episodes), 28 copies had no in-view difference and 4 (AMZN, three of them
with sweeps) had 1-22 rows of 156k with one beyond the best level, where the replay draws unknown liquidity from a
level differently. The rows are rebuilt to the end of the day: reconciling messages can be needed long after an
episode, until the replay of the manipulated day holds what the real one does.

Written next to the two LOBSTER files: `<stem>_labels.json`, the episodes (kind, side, intensity, start and end
in ns, the injected order ids, the number of messages).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from mars_core.data.schema import (
    DUMMY_ASK_PRICE,
    DUMMY_BID_PRICE,
    EVENT_DTYPES,
    EVENT_FIELDS,
    NS_PER_SECOND,
    Events,
    EventType,
    LobsterDay,
)
from mars_core.engine import LobsterReplay, format_clock, parse_clock
from mars_core.errors import ConfigError
from mars_core.settings import Settings

Kind = Literal["spoofing", "layering", "quote_stuffing", "momentum_ignition"]
KINDS: tuple[str, ...] = ("spoofing", "layering", "quote_stuffing", "momentum_ignition")
LABELS_SUFFIX = "_labels.json"
NS_PER_MS = 1_000_000
STUFF_SIZE = 100  # shares of one quote-stuffing order
# an aggressive injected order takes only real orders that the real day removes within this time: what the
# manipulator took is then soon gone from the real book too, and the rebuilt rows return to the real ones
TAKEN_WITHIN_NS = 60 * NS_PER_SECOND
SWEEP_ORDERS, SWEEP_GAP_MS = 5, 200  # a momentum-ignition sweep: five aggressive orders 200 ms apart
SWEEP_WITHIN_NS = 300 * NS_PER_SECOND  # the same for a momentum-ignition sweep, which needs whole levels
DEEP = 20  # levels beyond the file's read from the replayed book, for rows where the manipulator emptied levels


class EpisodeSpec(Settings):
    """One episode to inject."""

    kind: Kind
    start: str = Field(description="HH:MM[:SS] on the trading day")
    seconds: float = Field(40.0, ge=1, le=600, description="duration")
    intensity: float = Field(1.0, gt=0, le=50, description="size relative to the book at the start")
    side: Literal[1, -1] = Field(1, description="1: the manipulation pushes the price up (fake demand), -1 down")
    ticks: int = Field(2, ge=1, le=20, description="spoofing and layering: ticks behind the best")
    levels: int = Field(3, ge=1, le=10, description="layering: orders on consecutive prices")
    trades: int = Field(3, ge=0, le=100, description="spoofing and layering: the manipulator's aggressive orders")
    burst_ms: int = Field(1000, ge=10, le=60_000, description="quote stuffing: time between bursts")

    @field_validator("start")
    @classmethod
    def _clock(cls, value: str) -> str:
        parse_clock(value)  # a clock it cannot read is named in the error
        return value

    @property
    def start_ns(self) -> int:
        return parse_clock(self.start)

    @property
    def end_ns(self) -> int:
        return self.start_ns + int(round(self.seconds * NS_PER_SECOND))


@dataclass
class Episode:
    """A labelled episode as injected: the label stored next to the files."""

    kind: str
    side: int
    intensity: float
    start_ns: int
    end_ns: int  # the last injected message (inclusive)
    order_ids: list[int] = field(default_factory=list)  # resting orders the manipulator submitted
    executed_ids: list[int] = field(default_factory=list)  # real orders its aggressive orders executed
    messages: int = 0

    @property
    def clock(self) -> str:
        return f"{format_clock(self.start_ns)[:8]}-{format_clock(self.end_ns)[:8]}"


@dataclass
class ManipulatedDay:
    """A day with injected episodes: its message events, its rebuilt book and the labels."""

    day: LobsterDay  # events and book of the manipulated day (info of the real one)
    episodes: list[Episode]
    reconciling: int = 0  # messages for real changes of levels the manipulation brought into view (`_Rebuild`)


@dataclass
class _Plan:
    """Injected messages before merging: parallel lists, plus what was taken from which real order."""

    ts: list[int] = field(default_factory=list)
    type: list[int] = field(default_factory=list)
    order_id: list[int] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    price: list[int] = field(default_factory=list)
    side: list[int] = field(default_factory=list)
    # real id -> (ts, side, price, shares taken, its size then)
    taken: dict[int, tuple[int, int, int, int, int]] = field(default_factory=dict)

    def add(self, ts: int, kind: int, oid: int, size: int, price: int, side: int) -> None:
        for name, value in zip(EVENT_FIELDS, (ts, kind, oid, size, price, side)):
            getattr(self, name).append(value)


class _Planner:
    """Writes each episode's messages against the real book (a replay advanced in time order)."""

    def __init__(self, day: LobsterDay, rng: np.random.Generator) -> None:
        self.day = day
        self.rng = rng
        self.replay = LobsterReplay(day)
        self.plan = _Plan()
        self.next_id = int(max(day.events.order_id.max(), 0)) + 1_000_000
        ev = day.events
        self.ask, self.bid = day.book[:, 0], day.book[:, 2]
        self.ts = ev.ts
        self.tick = day.info.tick_size
        self.removed = _removal_times(ev)

    def at(self, ts: int) -> None:
        """Advance the real replay to the book just before `ts` (the real messages before it applied)."""
        position = self.replay.position
        if position and int(self.ts[position - 1]) >= ts:
            raise ConfigError(f"episodes overlap: one needs the book at {format_clock(ts)[:8]}, already passed")
        self.replay.advance_to(ts, verify=True)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def rest(self, ts: int, until: int, side: int, price: int, size: int, episode: Episode) -> None:
        """A resting order from `ts`, deleted at `until` or just before the real best of its side reaches it."""
        oid = self.new_id()
        self.plan.add(ts, EventType.SUBMIT, oid, size, price, side)
        lo, hi = np.searchsorted(self.ts, [ts, until], side="left")  # the real messages it rests through
        own = self.bid[lo:hi] if side > 0 else self.ask[lo:hi]
        reach = np.flatnonzero(own <= price if side > 0 else own >= price)
        if len(reach):  # cancelled at the real message that would bring the touch to it, just before it
            self.plan.add(int(self.ts[lo + reach[0]]), EventType.DELETE, oid, size, price, side)
        else:
            self.plan.add(until, EventType.DELETE, oid, size, price, side)
        episode.order_ids.append(oid)

    def take(self, ts: int, side: int, volume: int, episode: Episode, max_levels: int, within: int) -> int:
        """Execute up to `volume` shares of real resting orders of `side`, best prices first, among the orders with
        known ids that the real day removes within `within` ns."""
        self.at(ts)
        prices, _ = self.replay.book.depth(side, max_levels)
        left = volume
        for price in prices.tolist():
            for oid, qty, _agent in self.replay.book.queue(side, price):
                if left <= 0:
                    return volume
                if oid <= 0 or oid in self.plan.taken or self.removed.get(oid, np.inf) > ts + within:
                    continue
                size = min(qty, left)
                self.plan.add(ts, EventType.EXECUTE, oid, size, price, side)
                self.plan.taken[oid] = (ts, side, price, size, qty)
                episode.executed_ids.append(oid)
                left -= size
        return volume - left

    def mean_level(self, ts: int, side: int) -> float:
        self.at(ts)
        _, qtys = self.replay.book.depth(side, self.day.info.levels)
        return float(qtys.mean()) if len(qtys) else 100.0

    def best(self, ts: int, side: int) -> int:
        self.at(ts)
        return int(self.replay.book.best_bid() if side > 0 else self.replay.book.best_ask())


def _spoof(p: _Planner, spec: EpisodeSpec, episode: Episode, levels: int) -> None:
    t0, t1, side = spec.start_ns, spec.end_ns, spec.side
    size = max(100, int(round(spec.intensity * p.mean_level(t0, side) / 100.0)) * 100)
    best = p.best(t0, side)
    for k in range(levels):
        p.rest(t0 + k * NS_PER_MS, t1, side, best - side * (spec.ticks + k) * p.tick, size, episode)
    # the manipulator trades on the other side while the fake interest rests: it takes the real orders of its own
    # (the spoofed) side, selling into fake demand when side = 1
    for k in range(spec.trades):
        ts = t0 + (k + 1) * (t1 - t0) // (spec.trades + 1)
        p.take(ts, side, 100, episode, 1, TAKEN_WITHIN_NS)


def _stuff(p: _Planner, spec: EpisodeSpec, episode: Episode) -> None:
    burst = max(1, int(round(10 * spec.intensity)))
    for ts in range(spec.start_ns, spec.end_ns, spec.burst_ms * NS_PER_MS):
        for k in range(burst):
            side = spec.side if k % 2 == 0 else -spec.side
            at = ts + k * 100_000  # 0.1 ms apart
            price = p.best(at, side)
            if price <= 0 or price >= DUMMY_ASK_PRICE:
                continue
            life = int(p.rng.integers(1, 20)) * NS_PER_MS
            p.rest(at, at + life, side, price - side * p.tick, STUFF_SIZE, episode)


def _ignite(p: _Planner, spec: EpisodeSpec, episode: Episode) -> None:
    t0, t1, side = spec.start_ns, spec.end_ns, spec.side
    p.at(t0)
    _, far = p.replay.book.depth(-side, 1)
    volume = max(100, int(round(spec.intensity * (far[0] if len(far) else 100))))
    # the push takes the far side (buying, side 1, takes the asks), the reversal four fifths in takes the near side
    for start, taken_side in ((t0, -side), (t0 + (t1 - t0) * 4 // 5, side)):
        for k in range(SWEEP_ORDERS):
            at = start + k * SWEEP_GAP_MS * NS_PER_MS
            p.take(at, taken_side, volume // SWEEP_ORDERS, episode, p.day.info.levels, SWEEP_WITHIN_NS)


def plan_episodes(day: LobsterDay, specs: list[EpisodeSpec], seed: int = 0) -> tuple[_Plan, list[Episode]]:
    """The injected messages of every episode (in time order) against the real day."""
    planner = _Planner(day, np.random.default_rng(seed))
    first, last = int(day.events.ts[0]), int(day.events.ts[-1])
    episodes = []
    for spec in sorted(specs, key=lambda s: s.start_ns):
        if not (first < spec.start_ns and spec.end_ns < last):
            raise ConfigError(f"episode {spec.kind} at {spec.start} does not lie inside the day's messages")
        episode = Episode(spec.kind, spec.side, spec.intensity, spec.start_ns, spec.end_ns)
        before = len(planner.plan.ts)
        if spec.kind in ("spoofing", "layering"):
            _spoof(planner, spec, episode, spec.levels if spec.kind == "layering" else 1)
        elif spec.kind == "quote_stuffing":
            _stuff(planner, spec, episode)
        else:
            _ignite(planner, spec, episode)
        mine = planner.plan.ts[before:]
        episode.messages = len(mine)
        if mine:
            episode.start_ns, episode.end_ns = min(mine), max(mine)
        episodes.append(episode)
    return planner.plan, episodes


def _removal_times(ev: Events) -> dict[int, int]:
    """Time of the message that removes each order the day removes completely (a deletion, or the cancel or
    execution that brings its messages' sizes to its submitted size)."""
    frame = pd.DataFrame({"id": ev.order_id, "ts": ev.ts, "type": ev.type, "size": ev.size})
    submitted = frame[frame["type"] == EventType.SUBMIT].groupby("id")["size"].first()
    reducing = frame[frame["type"].isin((EventType.CANCEL, EventType.DELETE, EventType.EXECUTE))]
    last = reducing.groupby("id").agg(ts=("ts", "last"), type=("type", "last"), size=("size", "sum"))
    last = last.join(submitted.rename("submitted"), how="inner")
    gone = (last["type"] == EventType.DELETE) | (last["size"] >= last["submitted"])
    return dict(zip(last.index[gone].tolist(), last["ts"][gone].tolist()))


def _clip_taken(ev: Events, taken: dict[int, tuple[int, int, int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """New sizes of the real messages (0 = dropped) once the manipulator took shares of some orders, and their
    types (a partial cancel that now empties the order becomes a deletion). `taken`: id -> (ts, side, price,
    shares taken, the order's size then)."""
    size, kind = ev.size.copy(), ev.type.copy()
    reducing = np.isin(ev.type, (EventType.CANCEL, EventType.DELETE, EventType.EXECUTE))
    for oid, (ts, _side, _price, took, remaining) in taken.items():
        for r in np.flatnonzero(reducing & (ev.order_id == oid) & (ev.ts >= ts)):
            after = 0 if ev.type[r] == EventType.DELETE else max(remaining - int(ev.size[r]), 0)
            mine, mine_after = max(remaining - took, 0), max(after - took, 0)
            size[r] = mine - mine_after
            if mine_after == 0 and size[r] > 0:
                kind[r] = EventType.DELETE
            remaining = after
    return size, kind


def inject(day: LobsterDay, specs: list[EpisodeSpec], seed: int = 0) -> ManipulatedDay:
    """The manipulated day: real messages (clipped where the manipulator took liquidity) merged with the injected
    ones, and its book rebuilt by the clearing house (see the module docstring)."""
    plan, episodes = plan_episodes(day, specs, seed)
    ev = day.events
    size, kind = _clip_taken(ev, plan.taken)
    keep = size > 0
    inj = {name: np.asarray(getattr(plan, name), dtype=getattr(ev, name).dtype) for name in EVENT_FIELDS}
    ts = np.r_[ev.ts[keep], inj["ts"]]
    # in time order; at one ns the injected messages first (the planner saw the book before that ns), each
    # source in its own order
    rank = np.r_[np.ones(keep.sum(), np.int8), np.zeros(len(plan.ts), np.int8)]
    order = np.lexsort((np.arange(len(ts)), rank, ts))
    source = np.r_[np.flatnonzero(keep), -1 - np.arange(len(plan.ts))][order]  # real index, or -1 - injected index
    merged = Events(
        ts=ts[order],
        type=np.r_[kind[keep], inj["type"]][order],
        order_id=np.r_[ev.order_id[keep], inj["order_id"]][order],
        size=np.r_[size[keep], inj["size"]][order],
        price=np.r_[ev.price[keep], inj["price"]][order],
        side=np.r_[ev.side[keep], inj["side"]][order],
    )
    events, book, reconciling = _Rebuild(day, merged, source, plan).run()
    return ManipulatedDay(LobsterDay(day.info, events, book), episodes, reconciling)


class _Rebuild:
    """The visible book after each merged message (see the module docstring), and the reconciling messages.

    After each real message the manipulated book should differ from the one before it by what that message does.
    Where it differs by more, the real day changed a level without a message naming it (LOBSTER's row revealed or
    corrected a level out of its view, or the replay drew a cancel of unknown liquidity from an order the
    manipulator had taken from). When that level is in the manipulated day's view (the manipulation brought it
    there), the difference becomes a message of its own just before the real one: a submission of the shares that
    appeared, or a cancel of those that left, on an id the file never added, as the exchange would have reported it.
    """

    def __init__(self, day: LobsterDay, merged: Events, source: np.ndarray, plan: _Plan) -> None:
        self.day, self.merged, self.source, self.plan = day, merged, source, plan
        self.levels = day.info.levels
        self.next_id = int(max(merged.order_id.max(), 0)) + 1
        self.out: dict[str, list[int]] = {name: [] for name in EVENT_FIELDS}
        self.rows: list[np.ndarray] = []

    def emit(self, message: tuple[int, ...], row: np.ndarray) -> None:
        for name, value in zip(EVENT_FIELDS, message):
            self.out[name].append(value)
        self.rows.append(row)

    def run(self) -> tuple[Events, np.ndarray, int]:
        merged, source, day, levels = self.merged, self.source, self.day, self.levels
        injected = source < 0
        # by default the row of the last real message at or before each one (the real book, untouched)
        last_real = np.maximum.accumulate(np.where(injected, -1, np.arange(len(source))))
        if not injected.any():
            return merged, day.book[source].copy(), 0
        first, final = np.flatnonzero(injected)[[0, -1]]
        replay = LobsterReplay(day)
        replay.advance(int(source[last_real[first]]) + 1 if last_real[first] >= 0 else 0, verify=True)
        resting: dict[int, tuple[int, int, int]] = {}  # injected id -> (side, price, qty)
        active: dict[int, tuple[int, int, int]] = {}  # real orders taken from that the real day still holds
        previous = day.book[source[last_real[first - 1]]] if first else day.book[0]
        reconciling = 0
        for i in range(first, len(merged)):
            message = tuple(int(getattr(merged, name)[i]) for name in EVENT_FIELDS)
            if injected[i]:
                oid, kind = message[2], message[1]
                if kind == EventType.SUBMIT:
                    resting[oid] = (message[5], message[4], message[3])
                elif kind == EventType.DELETE:
                    resting.pop(oid, None)
                elif kind == EventType.EXECUTE:
                    active[oid] = self.plan.taken[oid][1:4]
            else:
                before = _state(replay, self.delta(replay, resting, active), levels)
                expected = _after_message(before, message)
                replay.advance(int(source[i]) + 1, verify=True)
                after = _state(replay, self.delta(replay, resting, active), levels)
                residual = {k: after.get(k, 0) - expected.get(k, 0) for k in after.keys() | expected.keys()}
                shown = {k: v for k, v in residual.items() if v and _in_view(previous, k[0], k[1], levels)}
                state = {k: q + residual.get(k, 0) - shown.get(k, 0) for k, q in before.items()}
                for k, v in residual.items():  # levels the real day revealed out of view appear in the rows as they do
                    if k not in before and k not in shown:
                        state[k] = v
                for (side, price), change in sorted(shown.items()):
                    state[(side, price)] = state.get((side, price), 0) + change
                    kind = EventType.SUBMIT if change > 0 else EventType.CANCEL
                    self.emit((message[0], kind, self.next_id, abs(change), price, side), _row_of(state, levels))
                    self.next_id += 1
                    reconciling += 1
            delta = self.delta(replay, resting, active)
            previous = _row(replay, delta, levels) if delta else day.book[source[last_real[i]]]
            self.emit(message, previous)
        events = Events(
            *(
                np.r_[getattr(merged, name)[:first], np.asarray(self.out[name], EVENT_DTYPES[name])]
                for name in EVENT_FIELDS
            )
        )
        rows = np.asarray(self.rows, dtype=np.int64).reshape(-1, 4 * levels)
        book = np.r_[day.book[source[np.maximum(last_real[:first], 0)]], rows]
        return events, book, reconciling

    def delta(
        self, replay: LobsterReplay, resting: dict[int, tuple[int, int, int]], active: dict[int, tuple[int, int, int]]
    ) -> dict[tuple[int, int], int]:
        """Shares per (side, price) that the manipulated book holds beyond the real one."""
        delta: dict[tuple[int, int], int] = {}
        for side, price, qty in resting.values():
            delta[(side, price)] = delta.get((side, price), 0) + qty
        for oid, (side, price, took) in list(active.items()):
            real = replay.book.order(oid)
            if real is None or real[2] <= 0:
                del active[oid]
                continue
            delta[(side, price)] = delta.get((side, price), 0) - min(real[2], took)
        return {k: v for k, v in delta.items() if v}


def _in_view(row: np.ndarray, side: int, price: int, levels: int) -> bool:
    """Whether `price` lies within the visible window of `side` in a LOBSTER row (a side not full shows all)."""
    col = 4 * (levels - 1) + (0 if side < 0 else 2)
    if row[col + 1] <= 0:
        return True
    return price <= row[col] if side < 0 else price >= row[col]


def _state(replay: LobsterReplay, delta: dict[tuple[int, int], int], levels: int) -> dict[tuple[int, int], int]:
    """{(side, price): shares} of the replayed book's best `levels + DEEP` levels of each side plus `delta`."""
    state: dict[tuple[int, int], int] = {}
    for side in (-1, 1):
        prices, qtys = replay.book.depth(side, levels + DEEP)
        state.update({(side, p): q for p, q in zip(prices.tolist(), qtys.tolist())})
    for key, d in delta.items():
        state[key] = state.get(key, 0) + d
    return state


def _after_message(state: dict[tuple[int, int], int], message: tuple[int, ...]) -> dict[tuple[int, int], int]:
    """`state` once a real message did what the replay does with it (`engine.replay`): a submission adds its
    shares, and a cancel, deletion or execution takes exactly its size from its level (at most what it holds)."""
    _ts, kind, _oid, size, price, side = message
    key, out = (side, price), dict(state)
    if kind == EventType.SUBMIT:
        out[key] = out.get(key, 0) + size
    elif kind in (EventType.CANCEL, EventType.EXECUTE, EventType.DELETE):
        out[key] = out.get(key, 0) - min(size, out.get(key, 0))
    return out


def _row(replay: LobsterReplay, delta: dict[tuple[int, int], int], levels: int) -> np.ndarray:
    """The visible LOBSTER row of the replayed book plus `delta` shares per (side, price)."""
    return _row_of(_state(replay, delta, levels), levels)


def _row_of(state: dict[tuple[int, int], int], levels: int) -> np.ndarray:
    """The visible LOBSTER row of a book given as {(side, price): shares}."""
    row = np.empty(4 * levels, dtype=np.int64)
    for side, col, dummy in ((-1, 0, DUMMY_ASK_PRICE), (1, 2, DUMMY_BID_PRICE)):
        ordered = sorted((p for (s, p), q in state.items() if s == side and q > 0), reverse=side > 0)[:levels]
        row[col::4] = [*ordered, *[dummy] * (levels - len(ordered))]
        row[col + 1 :: 4] = [*(state[(side, p)] for p in ordered), *[0] * (levels - len(ordered))]
    return row


def write_day(manipulated: ManipulatedDay, out: str | Path) -> list[Path]:
    """Write the LOBSTER message and orderbook files and the labels into the folder `out`; returns the paths."""
    day = manipulated.day
    info, ev = day.info, day.events
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{info.symbol}_{info.date.isoformat()}_{int(ev.ts[0]) // 1_000_000}_{int(ev.ts[-1]) // 1_000_000 + 1}"
    message = out / f"{stem}_message_{info.levels}.csv"
    orderbook = out / f"{stem}_orderbook_{info.levels}.csv"
    labels = out / f"{stem}{LABELS_SUFFIX}"
    seconds, nanos = np.divmod(ev.ts, NS_PER_SECOND)
    frame = pd.DataFrame({name: getattr(ev, name) for name in EVENT_FIELDS[1:]})
    frame.insert(0, "time", [f"{s}.{n:09d}" for s, n in zip(seconds.tolist(), nanos.tolist())])
    for path, table in ((message, frame), (orderbook, pd.DataFrame(day.book))):
        partial = path.with_name(f".{path.name}.partial")
        try:
            table.to_csv(partial, header=False, index=False)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    labels.write_text(
        json.dumps(
            {"episodes": [asdict(e) for e in manipulated.episodes], "reconciling_messages": manipulated.reconciling},
            indent=1,
        )
    )
    return [message, orderbook, labels]


def read_labels(path: str | Path) -> list[Episode]:
    """The episodes of a labels file written by `write_day`."""
    return [Episode(**e) for e in json.loads(Path(path).read_text())["episodes"]]
