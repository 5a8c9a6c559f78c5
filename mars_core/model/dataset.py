"""Token streams for training: each LOBSTER day becomes tokens plus per-token context, split by time.

Split: orders sent at or after 14:30 (the last 90 minutes of the session) are the
validation targets; everything before is training. Validation targets keep their real
history as context (the model is conditioned on the market before 14:30 too), but no
training window ever has a target at or after 14:30. The tokenizer is fitted on the
training orders and training book rows only.

Depth augmentation (`get_batch(depth_sigma=...)`): each training window's volumes of
levels 2-10 are multiplied by one log-normal factor before binning (the best levels keep
theirs). On two stock-days the book's absolute depth is a proxy of the time of day, and a
model that learns "a deep book means a busy market" turns a book that thickens in a rollout
into ever more orders (1.3-1.7x the real rate within 30 minutes); the shape of the book
(which side and level is thicker) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from mars_core.data import discover_with_problems, load_day, resolve_data_dir, unusable
from mars_core.data.orderflow import Action, OrderFlow, order_flow
from mars_core.data.schema import NS_PER_MINUTE, LobsterDay
from mars_core.errors import MarsInputError
from mars_core.model.binning import Binner
from mars_core.model.context import stream_context
from mars_core.model.sampler import levels_mask
from mars_core.model.tokenizer import (
    OrderTokenizer,
    RawOrders,
    book_volumes,
    mid2_series,
    raw_orders,
)
from mars_core.model.vocab import MAX_LEVELS

VAL_START_NS = (14 * 60 + 30) * NS_PER_MINUTE  # 14:30, validation from here to the close
DEEP_COLUMNS = np.r_[1:MAX_LEVELS, MAX_LEVELS + 1 : 2 * MAX_LEVELS]  # volume columns of levels 2-10 (ask, bid)


@dataclass(frozen=True)
class DayStream:
    """One day's tokens and context features, ready for batching."""

    key: str  # "SYMBOL YYYY-MM-DD"
    tokens: torch.Tensor  # (N,) int64 one token per order
    lob: torch.Tensor  # (N, 21) uint8 binned volumes of the book after each order, then its spread bin
    ctx: torch.Tensor  # (N, N_CTX) int64 flow context after each order (`context.stream_context`)
    volumes: np.ndarray  # (N, 20) int64 raw volumes behind `lob` (for depth augmentation)
    binner: Binner  # the tokenizer's volume bins of the book context
    levels: int  # book depth of the data (levels beyond it are masked)
    val_start: int  # index of the first order at or after VAL_START_NS

    def __len__(self) -> int:
        return len(self.tokens)

    def window(self, start: int, length: int, depth_scale: float = 1.0) -> tuple[torch.Tensor, ...]:
        """Inputs (tokens, lob, mask, ctx) of positions start..start+length-1 and their targets (the
        next tokens), each with a leading batch dimension of 1; levels 2-10 scaled by `depth_scale`."""
        sl = slice(start, start + length)
        mask = levels_mask(torch.tensor([self.levels]))[:, None, :].expand(1, length, -1)
        lob = self.lob[sl].long()
        if depth_scale != 1.0:
            vols = self.volumes[sl].astype(np.float64)
            vols[:, DEEP_COLUMNS] *= depth_scale
            lob = lob.clone()
            lob[:, : 2 * MAX_LEVELS] = torch.from_numpy(self.binner.bin(vols.astype(np.int64)))
        return (
            self.tokens[sl][None],
            lob[None],
            mask,
            self.ctx[sl][None],
            self.tokens[start + 1 : start + length + 1][None],
        )


def load_days(symbols: list[str], data_dir: str | None = None) -> list[LobsterDay]:
    """Every catalogued day of the given symbols (deepest book when a day exists twice)."""
    infos, problems = discover_with_problems(resolve_data_dir(data_dir))
    wanted = {s.upper() for s in symbols}
    chosen: dict[str, object] = {}
    for info in infos:  # sorted with the most levels first
        if info.symbol.upper() in wanted and info.key not in chosen:
            chosen[info.key] = info
    missing = wanted - {i.symbol.upper() for i in chosen.values()}
    if missing:
        have = sorted({i.symbol for i in infos})
        raise MarsInputError(
            f"no LOBSTER data for {', '.join(sorted(missing))}; available symbols: {', '.join(have) or 'none'}"
            f"{unusable(problems, missing)}"
        )
    return [load_day(info) for info in chosen.values()]


def slice_day(day: LobsterDay, start_ns: int, end_ns: int) -> LobsterDay:
    """The messages of a day in [start_ns, end_ns) with their book rows (small data for tests)."""
    lo, hi = np.searchsorted(day.events.ts, [start_ns, end_ns], side="left")
    if hi - lo < 2:
        raise MarsInputError(f"{day.info.key}: fewer than 2 messages between {start_ns} and {end_ns} ns")
    return LobsterDay(replace(day.info, messages=int(hi - lo)), day.events[lo:hi], day.book[lo:hi])


def _split(day: LobsterDay) -> tuple[RawOrders, np.ndarray, int]:
    flow = order_flow(day)
    val_start = int(np.searchsorted(flow.ts, VAL_START_NS, side="left"))
    return raw_orders(day, flow), flow.last_msg, val_start


def fit_tokenizer(days: list[LobsterDay], max_rows: int = 200_000, seed: int = 0) -> OrderTokenizer:
    """Fit the tokenizer on the training split of the days (book volumes from a seeded subsample of rows)."""
    rng = np.random.default_rng(seed)
    raws, vols = [], []
    for day in days:
        raw, last_msg, val_start = _split(day)
        raws.append(raw[:val_start])
        rows = day.book[last_msg[:val_start]]
        rows = rows[rng.choice(len(rows), min(len(rows), max_rows // len(days)), replace=False)]
        n_lv = min(day.info.levels, MAX_LEVELS)
        vols.append(np.concatenate([rows[:, 1 : 4 * n_lv : 4].ravel(), rows[:, 3 : 4 * n_lv : 4].ravel()]))
    return OrderTokenizer.fit(raws, np.concatenate(vols))


def flow_context(day: LobsterDay, flow: OrderFlow) -> np.ndarray:
    """(N, N_CTX) flow context after each order of `flow` (a day's order flow, or a slice of it)."""
    tick = day.info.tick_size
    mid2 = mid2_series(day.book, tick)
    return stream_context(
        flow.ts, flow.action == Action.SUBMIT, flow.qty, mid2[flow.last_msg], day.events.ts, mid2, tick
    )


def build_stream(day: LobsterDay, tokenizer: OrderTokenizer) -> DayStream:
    """Encode a day: tokens of its orders and the context after each order."""
    flow = order_flow(day)
    raw, last_msg, val_start = _split(day)
    rows = day.book[last_msg]
    lob, _ = tokenizer.lob_features(rows, day.info.levels, day.info.tick_size)
    return DayStream(
        key=day.info.key,
        tokens=torch.from_numpy(tokenizer.encode(raw)),
        lob=torch.from_numpy(lob.astype(np.uint8)),
        ctx=torch.from_numpy(np.ascontiguousarray(flow_context(day, flow))),
        volumes=book_volumes(rows, day.info.levels),
        binner=tokenizer.lob,
        levels=day.info.levels,
        val_start=val_start,
    )


def coverage_by_day(days: list[LobsterDay], tokenizer: OrderTokenizer) -> dict[str, dict[str, dict[str, float]]]:
    """{day: {"train"|"val": share of orders outside the price/volume/interval slot ranges}}."""
    result = {}
    for day in days:
        raw, _, val_start = _split(day)
        parts = {"train": slice(0, val_start), "val": slice(val_start, len(raw))}
        result[day.info.key] = {name: tokenizer.coverage(raw[sl]) for name, sl in parts.items()}
    return result


def get_batch(
    streams: list[DayStream], batch: int, length: int, rng: np.random.Generator, depth_sigma: float = 0.0
) -> tuple[torch.Tensor, ...]:
    """Random training windows: (tokens, lob, mask, ctx, targets), targets all before 14:30; with
    `depth_sigma` > 0 each window's levels 2-10 are scaled by exp(N(0, depth_sigma^2)) (module docstring)."""
    room = np.array([max(s.val_start - length - 1, 0) for s in streams], dtype=np.float64)
    if room.sum() == 0:
        raise MarsInputError(
            f"no training window of {length + 1} orders fits before 14:30 in {', '.join(s.key for s in streams)}"
        )
    which = rng.choice(len(streams), size=batch, p=room / room.sum())
    starts = [int(rng.integers(room[i] + 1)) for i in which]
    scales = np.exp(rng.normal(0.0, depth_sigma, size=batch)) if depth_sigma > 0 else np.ones(batch)
    parts = [streams[i].window(start, length, float(k)) for i, start, k in zip(which, starts, scales)]
    return tuple(torch.cat(p) for p in zip(*parts))


@dataclass(frozen=True)
class EvalWindows:
    """Validation windows: every validation target scored exactly once."""

    inputs: tuple[torch.Tensor, ...]  # (tokens, lob, mask, ctx) each (W, length, ...)
    targets: torch.Tensor  # (W, length)
    scored: torch.Tensor  # (W, length) bool, the positions whose target counts


def eval_windows(streams: list[DayStream], length: int) -> EvalWindows:
    """Windows that score each validation target once, with at least length/2 orders of context
    (except at the very start of a day): the second half of each window is scored, windows
    advance by half a window, and the last one is aligned to the end of the day."""
    half = length // 2
    parts, masks = [], []
    for s in streams:
        if len(s) < length + 1:
            raise MarsInputError(f"{s.key}: {len(s)} orders, fewer than a window of {length + 1}")
        first, end = s.val_start, len(s) - 1  # targets are positions first..end (target j predicted at input j-1)
        if first > end:
            continue
        t = first
        while t <= end:
            start = max(min(t - half - 1, end - length), 0)  # input positions start..start+length-1
            scored = torch.zeros(length, dtype=torch.bool)
            lo, hi = t - 1 - start, min(start + length, end) - start  # input indices whose target is in [t, end]
            scored[lo:hi] = True
            parts.append(s.window(start, length))
            masks.append(scored)
            t = start + hi + 1
    if not parts:
        raise MarsInputError("no validation orders (none at or after 14:30)")
    cat = [torch.cat(p) for p in zip(*parts)]
    return EvalWindows(tuple(cat[:4]), cat[4], torch.stack(masks))


def val_pairs(streams: list[DayStream]) -> tuple[np.ndarray, np.ndarray]:
    """(previous token, target token) of every validation target, for the baselines."""
    prev = np.concatenate([s.tokens[s.val_start - 1 : -1].numpy() for s in streams])
    nxt = np.concatenate([s.tokens[s.val_start :].numpy() for s in streams])
    return prev, nxt


def train_tokens(streams: list[DayStream]) -> list[np.ndarray]:
    """The training token sequence of each day (orders before 14:30)."""
    return [s.tokens[: s.val_start].numpy() for s in streams]
