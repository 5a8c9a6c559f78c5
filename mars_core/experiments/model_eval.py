"""Realism of the generated order flow: `mars evaluate-model` (issue: LMM part 1, item 7).

From start points spread over the held-out afternoon (the model's validation
window), the generative model and the noise baseline each continue the market
after the same warm-up. Their order flow and books are compared with the real
flow of the same minutes, metric by metric, as the overlap coefficient of the
two distributions (the paper's "distribution similarity"):

  order_type     share of bid / ask / cancel orders (categorical overlap)
  price_offset   submitted price minus the mid before the order, in ticks, signed so that
                 positive is passive (away from the opposite side)
  size           shares per submitted order (log scale)
  interarrival   time between consecutive orders (log scale)
  spread         ask1 - bid1 in ticks, sampled once a second
  depth          visible size on the best 5 levels of both sides, sampled once a second

The noise baseline is fitted on the order model's training split (the orders before
14:30), as the NLL baselines are: a baseline fitted on the held-out afternoon itself
would have seen the flow it is scored against. The same traders fitted on the whole
day (the simulator's default calibration) are reported too, as `noise_whole_day`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.similarity import overlap_coefficient
from mars_core.data import DatasetInfo, LobsterDay, discover, find_dataset, load_day, resolve_data_dir
from mars_core.data.orderflow import Action, order_flow
from mars_core.data.schema import NS_PER_MINUTE, NS_PER_SECOND
from mars_core.engine import OrderKind, format_clock, parse_clock
from mars_core.errors import DatasetNotFoundError
from mars_core.model.checkpoint import cached_order_model
from mars_core.model.dataset import VAL_START_NS
from mars_core.sim.agent import AgentId
from mars_core.sim.arms import Progress, report_progress
from mars_core.sim.backgrounds import background as background_of
from mars_core.sim.config import SimConfig
from mars_core.sim.executor import LOCAL, Executor
from mars_core.sim.runner import run_simulation
from mars_core.store import RunDir, claim_directory, write_json

METRICS = ("order_type", "price_offset", "size", "interarrival", "spread", "depth")
BACKGROUNDS = ("lmm", "noise", "noise_whole_day")  # the generative model, and the noise traders fitted two ways
DEPTH_LEVELS = 5


def flow_features(
    ts: np.ndarray,
    kind: np.ndarray,
    side: np.ndarray,
    price: np.ndarray,
    qty: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    tick: int,
) -> pd.DataFrame:
    """Per-order features; `kind` is 0 bid, 1 ask, 2 cancel; bid/ask are the quotes before each order."""
    mid2 = bid + ask
    offset = np.where(kind < 2, side * (mid2 - 2 * price) / (2 * tick), np.nan)
    gaps = np.diff(ts, prepend=ts[:1]).astype(float)
    return pd.DataFrame(
        {
            "order_type": kind,
            "price_offset": offset,
            "size": np.where(kind < 2, np.log10(np.maximum(qty, 1)), np.nan),
            "interarrival": np.log10(np.maximum(gaps, 1.0) / NS_PER_SECOND),
        }
    )


def book_features(rows: np.ndarray, tick: int) -> pd.DataFrame:
    """Spread (ticks) and depth of LOBSTER-layout rows, two-sided rows only."""
    ask, bid = rows[:, 0], rows[:, 2]
    ok = (rows[:, 1] > 0) & (rows[:, 3] > 0)
    depth = rows[:, 1 : 4 * DEPTH_LEVELS : 4].sum(axis=1) + rows[:, 3 : 4 * DEPTH_LEVELS : 4].sum(axis=1)
    return pd.DataFrame({"spread": (ask - bid)[ok] / tick, "depth": np.log10(np.maximum(depth[ok], 1))})


def real_window(day: LobsterDay, t0: int, t1: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order and book features of the real day in [t0, t1)."""
    flow = order_flow(day)
    keep = (flow.ts >= t0) & (flow.ts < t1)
    f = flow[keep]
    before = day.book[np.maximum(f.first_msg - 1, 0)]
    kind = np.where(f.action != Action.SUBMIT, 2, np.where(f.side > 0, 0, 1))
    orders = flow_features(f.ts, kind, f.side, f.price, f.qty, before[:, 2], before[:, 0], day.info.tick_size)
    grid = np.arange(t0, t1, NS_PER_SECOND)
    rows = day.book[np.maximum(np.searchsorted(day.events.ts, grid, side="right") - 1, 0)]
    return orders, book_features(rows, day.info.tick_size)


def background_orders(orders: pd.DataFrame, trades: pd.DataFrame, agent: int) -> pd.DataFrame:
    """One background's accepted orders of a run without agents, measured as LOBSTER shows the real flow.

    The order log names a cancel by the resting order's owner, so the background's cancels of
    historical orders (agent 0) are its own too: nobody else sends orders in such a run. An
    order that does not rest (IOC, market) appears in LOBSTER only through its executions, so,
    as in `order_flow`, its size is what it executed, its price the worst one it executed at,
    and it is left out if it executed nothing.
    """
    ok = orders[(orders.status == 0) & ((orders.agent == agent) | ((orders.agent == 0) & (orders.event != 1)))]
    ok = ok.sort_values("ts", kind="stable").reset_index(drop=True)
    taking = ok.index[(ok.event == 1) & (ok.kind != OrderKind.LIMIT)]
    if len(taking) == 0:
        return ok
    fills = trades.groupby("taker_id").agg(executed=("qty", "sum"), high=("price", "max"), low=("price", "min"))
    fills = fills.reindex(ok.loc[taking, "order_id"]).fillna(0)
    ok.loc[taking, "qty"] = fills["executed"].to_numpy().astype(np.int64)
    worst = np.where(ok.loc[taking, "side"].to_numpy() > 0, fills["high"], fills["low"])
    ok.loc[taking, "price"] = worst.astype(np.int64)
    return ok[ok.qty > 0].reset_index(drop=True)


def sim_window(run: RunDir, rollout: int, agent: int, tick: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order features of one background's orders (`background_orders`; quotes from the last snapshot
    before each), and its book."""
    orders = background_orders(run.table("orders", rollout, "main"), run.table("trades", rollout, "main"), agent)
    book = run.table("book", rollout, "main").sort_values("ts", kind="stable")
    idx = np.maximum(np.searchsorted(book["ts"].to_numpy(), orders["ts"].to_numpy(), side="left") - 1, 0)
    bid, ask = book["bid_price_1"].to_numpy()[idx], book["ask_price_1"].to_numpy()[idx]
    event = orders["event"].to_numpy()
    kind = np.where(event != 1, 2, np.where(orders["side"].to_numpy() > 0, 0, 1))
    feats = flow_features(
        orders["ts"].to_numpy(),
        kind,
        orders["side"].to_numpy(),
        orders["price"].to_numpy(),
        orders["qty"].to_numpy(),
        bid,
        ask,
        tick,
    )
    seconds = book.groupby(book["ts"] // NS_PER_SECOND).tail(1)  # the book at each second's end
    rows = seconds.drop(columns=["ts", "rollout", "arm"]).to_numpy()
    return feats, book_features(rows, tick)


def categorical_overlap(a: np.ndarray, b: np.ndarray, k: int = 3) -> float:
    pa = np.bincount(a.astype(int), minlength=k) / max(len(a), 1)
    pb = np.bincount(b.astype(int), minlength=k) / max(len(b), 1)
    return float(np.minimum(pa, pb).sum())


def similarity(real: tuple[pd.DataFrame, pd.DataFrame], sim: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, float]:
    """Overlap coefficient per metric of the pooled real and simulated features."""
    out = {"order_type": categorical_overlap(real[0]["order_type"].to_numpy(), sim[0]["order_type"].to_numpy())}
    for metric in ("price_offset", "size", "interarrival"):
        out[metric] = overlap_coefficient(real[0][metric], sim[0][metric], bins=60)
    for metric in ("spread", "depth"):
        out[metric] = overlap_coefficient(real[1][metric], sim[1][metric], bins=60)
    return {k: round(float(v), 4) for k, v in out.items()}


def evaluate_model(
    symbols: list[str],
    out: str | Path,
    minutes: int = 5,
    every: int = 10,
    rollouts: int = 4,
    window: tuple[str, str] = ("14:30", "16:00"),
    seed: int = 0,
    data_dir: str | None = None,
    workers: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    progress: Progress | None = None,
    executor: Executor = LOCAL,
) -> dict[str, Any]:
    """Simulate both backgrounds from every start point (on `executor`) and compare their flow with the real one;
    the generative one decodes with `temperature` and `top_p` (None: `SimConfig`'s defaults).

    `progress(done, total, arm summary)` is called as each simulated rollout finishes (or is found finished)."""
    started = time.perf_counter()
    out = Path(out)
    decoding = lmm_decoding(temperature, top_p)
    setup = {
        "symbols": symbols,
        "minutes": minutes,
        "every": every,
        "rollouts": rollouts,
        "window": list(window),
        "seed": seed,
        "decoding": decoding,
    }
    claim_directory(out, "evaluation.json", setup, "model evaluation")
    first, last = (parse_clock(t) for t in window)
    starts = [format_clock(t)[:5] for t in range(first, last - minutes * NS_PER_MINUTE + 1, every * NS_PER_MINUTE)]
    pooled: dict[str, list[list[pd.DataFrame]]] = {bg: [[], []] for bg in ("real", *BACKGROUNDS)}
    total, done = len(symbols) * len(starts) * len(BACKGROUNDS) * rollouts, [0]

    def count(_done: int, _total: int, summary: dict[str, Any]) -> None:
        done[0] += 1
        report_progress(progress, done[0], total, summary)

    fields = {
        "lmm": {"background": "lmm", **decoding},
        "noise": {"background": "noise", "noise_fit_until": format_clock(VAL_START_NS)},
        "noise_whole_day": {"background": "noise"},
    }
    planned: list[tuple[str, SimConfig, Path, LobsterDay]] = []  # (background, run config, run directory, day)
    for symbol in symbols:
        day = load_day(_only_day(symbol, data_dir))
        for start in starts:
            t0 = parse_clock(start)
            for part, frame in zip(pooled["real"], real_window(day, t0, t0 + minutes * NS_PER_MINUTE)):
                part.append(frame)
            for background in BACKGROUNDS:
                config = SimConfig(
                    symbol=symbol,
                    date=day.info.date.isoformat(),
                    start=start,
                    minutes=minutes,
                    rollouts=rollouts,
                    seed=seed,
                    snapshot_interval_ms=0,
                    **fields[background],
                )
                path = out / background / f"{symbol}_{start.replace(':', '')}"
                if path.exists():  # arms finished before count now
                    for rollout, arm in RunDir(path).finished():
                        count(0, total, RunDir(path).arm_summary(rollout, arm))
                planned.append((background, config, path, day))
    grouped = []  # the generative runs' groups go to the executor together (one run at a time would use one core)
    for _, config, path, _ in planned:
        if background_of(config.background).lockstep:
            run = RunDir.create(path, config.model_dump(mode="json"))
            run.clean_stale()
            grouped.append((config, run))
        else:
            run_simulation(config, path, data_dir, workers, count, executor=executor)
    if grouped:
        background_of(grouped[0][0].background).drive(grouped, data_dir, workers, count, executor=executor)
    for background, _, path, day in planned:
        for r in range(rollouts):
            for part, frame in zip(
                pooled[background], sim_window(RunDir(path), r, AgentId.BACKGROUND, day.info.tick_size)
            ):
                part.append(frame)
    frames = {bg: (pd.concat(parts[0]), pd.concat(parts[1])) for bg, parts in pooled.items()}
    sims = {bg: similarity(frames["real"], frames[bg]) for bg in BACKGROUNDS}
    summary = cached_order_model().summary
    result = {
        "val_nll": summary.get("val_nll"),
        "unigram_nll": summary.get("unigram_nll"),
        "bigram_nll": summary.get("bigram_nll"),
        "similarity": {metric: {bg: sims[bg][metric] for bg in sims} for metric in METRICS},
        "lmm_wins": sum(sims["lmm"][m] > sims["noise"][m] for m in METRICS),
        "lmm_wins_vs_whole_day": sum(sims["lmm"][m] > sims["noise_whole_day"][m] for m in METRICS),
        "metrics": len(METRICS),
        "orders": {bg: int(len(frames[bg][0])) for bg in frames},
        "starts": len(starts) * len(symbols),
        "rollouts": rollouts,
        "minutes": minutes,
        "window": list(window),
        "decoding": decoding,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_json(out / "result.json", result)
    return result


def lmm_decoding(temperature: float | None, top_p: float | None) -> dict[str, float]:
    """The generative background's decoding fields of `SimConfig`: the given values (validated there), else its defaults."""
    given = {k: v for k, v in (("lmm_temperature", temperature), ("lmm_top_p", top_p)) if v is not None}
    config = SimConfig.from_dict({"symbol": "-", "date": "2000-01-01", **given}, where="decoding")
    return {"lmm_temperature": config.lmm_temperature, "lmm_top_p": config.lmm_top_p}


def _only_day(symbol: str, data_dir: str | None) -> DatasetInfo:
    """The symbol's catalogued day (the sample data has one per symbol)."""
    infos = [i for i in discover(resolve_data_dir(data_dir)) if i.symbol == symbol.upper()]
    if not infos:
        raise DatasetNotFoundError(f"no catalogued day of {symbol}")
    return infos[-1]


def evaluation_frames(path: str | Path, data_dir: str | None = None) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Pooled per-order and per-second features of an evaluation: "real" and one entry per background.

    The real flow is that of every (symbol, date, start) window the backgrounds simulated; an evaluation
    directory holds one folder of run directories per background (see `evaluate_model`).
    Raises MarsInputError when a run's day is not in the data folder.
    """
    pooled: dict[str, tuple[list, list]] = {}
    windows: set[tuple[str, str, str, float]] = set()
    for background_dir in sorted(p for p in Path(path).iterdir() if p.is_dir()):
        for run_dir in sorted(p for p in background_dir.iterdir() if (p / "config.json").is_file()):
            run = RunDir(run_dir)
            config = run.config
            day = load_day(find_dataset(config["symbol"], config["date"], resolve_data_dir(data_dir)))
            windows.add((config["symbol"], config["date"], config["start"], float(config["minutes"])))
            parts = pooled.setdefault(background_dir.name, ([], []))
            for rollout, arm in run.finished():
                if arm == "main":
                    orders, book = sim_window(run, rollout, AgentId.BACKGROUND, day.info.tick_size)
                    parts[0].append(orders)
                    parts[1].append(book)
    real: tuple[list, list] = ([], [])
    for symbol, date, start, minutes in sorted(windows):
        t0 = parse_clock(start)
        orders, book = real_window(
            load_day(find_dataset(symbol, date, resolve_data_dir(data_dir))), t0, t0 + int(minutes * NS_PER_MINUTE)
        )
        real[0].append(orders)
        real[1].append(book)
    frames = {"real": real, **pooled}
    return {
        k: (pd.concat(v[0], ignore_index=True), pd.concat(v[1], ignore_index=True)) for k, v in frames.items() if v[0]
    }
