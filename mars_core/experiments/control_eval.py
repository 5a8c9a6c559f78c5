"""Measured controllability (paper Sec. 3.3, Fig. 6c): `mars control-eval`.

Target: replay curves. Start points are taken from the held-out part of each
catalogued day (14:30 to the close; no model was trained on it) where the real mid
moves by at least `min_move_bps` over the horizon (the paper picks 0.3-0.5% moves
over 5 minutes): the largest moves first, windows not overlapping, at most
`starts_per_day` per day. The target of a start is the real mid path after it.

For every start, four lockstep groups of `rollouts` rollouts run from the same real
history with the same rollout seeds (common random numbers):
  * no control / control (`ControlledLockstepGroup` with the replay curve);
  * no interaction / interaction with a TWAP agent trading `twap_share` of the real
    traded volume of the horizon, against the target's direction (buying into a falling
    target, selling into a rising one), so the agent's orders push the book the other
    way and the model reacts to them (the paper does not say how its TWAP was set).

Metric: per rollout, the Pearson correlation between the simulated and the target mid
at the H minute points after the start (minute 1..H; the common start point is left
out); a rollout whose mid never moves counts as 0. Each number is the mean over all
rollouts of all starts (n = starts x rollouts), with its standard error. Also
reported: the correlation of the rollouts' mean path with the target, the RMS
distance to the target (bps) and the share of rollouts ending on the target's side of
the start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from pydantic import Field

from analysis.similarity import path_correlation
from mars_core.control.controller import ControlSettings
from mars_core.control.run import run_controlled
from mars_core.control.signals import mid2_at, replay_curve
from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.data.schema import BPS, NS_PER_MINUTE, EventType, LobsterDay
from mars_core.engine import format_clock
from mars_core.errors import MarsInputError
from mars_core.model.dataset import VAL_START_NS, load_days
from mars_core.settings import Seed, Settings, Whole
from mars_core.sim.agents.twap import TWAPConfig
from mars_core.sim.executor import LOCAL, Executor, run_units

CONFIGS = ("no_control_no_interaction", "control_no_interaction", "no_control_interaction", "control_interaction")
SESSION_END_NS = 16 * 60 * NS_PER_MINUTE
T, U, R = TypeVar("T"), TypeVar("U"), TypeVar("R")


class EvalSettings(Settings):
    """`mars control-eval` settings."""

    symbols: tuple[str, ...] = ("GOOG", "AMZN")
    minutes: int = Field(10, ge=2, le=60, description="controlled horizon H")
    rollouts: Whole = Field(8, ge=1, le=256, description="rollouts per start and configuration")
    starts_per_day: int = Field(2, ge=1, le=20)
    min_move_bps: float = Field(15.0, ge=0, description="a start's real |return| over the horizon, at least")
    twap_share: float = Field(0.2, gt=0, le=1, description="TWAP volume as a share of the real volume of the horizon")
    seed: Seed = 0
    control: ControlSettings = ControlSettings()


@dataclass(frozen=True)
class Start:
    symbol: str
    date: str
    start_ts: int
    move_bps: float

    @property
    def label(self) -> str:
        return f"{self.symbol} {self.date} {format_clock(self.start_ts)[:5]}"


def pick_starts(
    day: LobsterDay, minutes: int, n: int, min_move_bps: float, first_ts: int = VAL_START_NS
) -> list[Start]:
    """Up to n non-overlapping starts on whole minutes from `first_ts` whose real mid moves at least
    `min_move_bps` over `minutes`, largest moves first."""
    last = min(SESSION_END_NS, day.events.ts[-1]) - minutes * NS_PER_MINUTE
    ts = np.arange(first_ts, last + 1, NS_PER_MINUTE, dtype=np.int64)
    if len(ts) == 0:
        return []
    mids = np.log(mid2_at(day, np.concatenate([ts, ts + minutes * NS_PER_MINUTE])).astype(np.float64))
    move = (mids[len(ts) :] - mids[: len(ts)]) * BPS
    chosen: list[Start] = []
    for i in np.argsort(-np.abs(move), kind="stable"):
        if abs(move[i]) < min_move_bps or len(chosen) >= n:
            break
        if all(abs(int(ts[i]) - s.start_ts) >= minutes * NS_PER_MINUTE for s in chosen):
            chosen.append(Start(day.info.symbol, day.info.date.isoformat(), int(ts[i]), round(float(move[i]), 2)))
    return sorted(chosen, key=lambda s: s.start_ts)


def real_volume(day: LobsterDay, start_ts: int, end_ts: int) -> int:
    """Shares executed (visible and hidden) in [start_ts, end_ts) of the real day."""
    ev = day.events
    lo, hi = np.searchsorted(ev.ts, [start_ts, end_ts], side="left")
    part = ev[lo:hi]
    return int(part.size[np.isin(part.type, (EventType.EXECUTE, EventType.EXECUTE_HIDDEN))].sum())


def run_group(start: Start, config: str, settings: EvalSettings, data_dir: str | None = None) -> dict[str, Any]:
    """One lockstep group of one start and configuration; returns paths and timings."""
    day = load_day(find_dataset(start.symbol, start.date, resolve_data_dir(data_dir)))
    H = settings.minutes
    twap = None
    if config.endswith("_interaction") and not config.endswith("no_interaction"):
        real = real_volume(day, start.start_ts, start.start_ts + H * NS_PER_MINUTE)
        volume = max(100, int(round(settings.twap_share * real / 100)) * 100)
        twap = TWAPConfig(side=-1 if start.move_bps > 0 else 1, volume=volume, duration_s=H * 60.0, interval_s=30.0)
    run = run_controlled(
        day,
        start.start_ts,
        replay_curve(day, start.start_ts, H),
        settings.rollouts,
        settings.seed,
        control=config.startswith("control"),
        twap=twap,
        settings=settings.control,
    )
    return {
        "start": start.label,
        "config": config,
        "paths": run.paths,
        "target": run.target,
        "seconds": run.seconds,
        "orders": run.orders,
        "candidate_seconds": run.candidate_seconds,
        "twap_volume": run.twap_volume,
    }


def _task(args: tuple) -> dict[str, Any]:
    return run_group(*args)


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The four correlations (and the rest of the module docstring's numbers) from the groups' paths."""
    out: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for config in CONFIGS:
        rows = [r for r in results if r["config"] == config]
        if not rows:
            continue
        corr = np.array([path_correlation(p, r["target"]) for r in rows for p in r["paths"]])
        mean_corr = [path_correlation(r["paths"].mean(0), r["target"]) for r in rows]
        rms = np.array([np.sqrt(((p - r["target"]) ** 2).mean()) * BPS for r in rows for p in r["paths"]])
        side = np.array([np.sign(p[-1]) == np.sign(r["target"][-1]) for r in rows for p in r["paths"]])
        out[config] = round(float(corr.mean()), 4)
        detail[config] = {
            "corr_mean": round(float(corr.mean()), 4),
            "corr_se": round(float(corr.std(ddof=1) / np.sqrt(len(corr))) if len(corr) > 1 else 0.0, 4),
            "corr_median": round(float(np.median(corr)), 4),
            "corr_of_mean_path": round(float(np.mean(mean_corr)), 4),
            "rms_bps": round(float(rms.mean()), 2),
            "end_on_target_side": round(float(side.mean()), 4),
            "n": int(len(corr)),
            "seconds": round(sum(r["seconds"] for r in rows), 1),
            "orders": int(sum(r["orders"] for r in rows)),
            "per_start": {
                r["start"]: round(float(np.mean([path_correlation(p, r["target"]) for p in r["paths"]])), 4)
                for r in rows
            },
        }
    out["n"] = min((d["n"] for d in detail.values()), default=0)
    for a, b in (("control", "no_control"),):
        for inter in ("no_interaction", "interaction"):
            ka, kb = f"{a}_{inter}", f"{b}_{inter}"
            if ka in detail and kb in detail:
                # cost of control: time for the same rollouts and minutes, and per generated order
                detail[f"cost_ratio_{inter}"] = round(detail[ka]["seconds"] / max(detail[kb]["seconds"], 1e-9), 3)
                ca = detail[ka]["seconds"] / max(detail[ka]["orders"], 1)
                cb = detail[kb]["seconds"] / max(detail[kb]["orders"], 1)
                detail[f"cost_ratio_per_order_{inter}"] = round(ca / cb, 3)
    out["detail"] = detail
    return out


def day_starts(symbols: Sequence[str], data_dir: str | None, pick: Callable[[LobsterDay], list[T]]) -> list[T]:
    """The start points `pick` chooses on every catalogued day of each symbol, symbol by symbol."""
    return [start for symbol in symbols for day in load_days([symbol], data_dir) for start in pick(day)]


def run_groups(
    task: Callable[[U], R],
    units: Sequence[U],
    executor: Executor = LOCAL,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep: Callable[[R], None] | None = None,
    done: int = 0,
) -> list[R]:
    """Run the lockstep groups on `executor`; `keep` each result as it finishes and report (groups finished,
    groups in all) to `progress`, counting `done` groups finished before (by an earlier, resumed session)."""
    total, count = done + len(units), [done]

    def finished(result: R) -> None:
        count[0] += 1
        if keep:
            keep(result)
        if progress:
            progress(count[0], total)

    if progress:
        progress(done, total)
    return run_units(task, units, executor, workers, finished)


def run_eval(
    settings: EvalSettings,
    data_dir: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor = LOCAL,
) -> dict[str, Any]:
    """Pick the starts, run every (start, configuration) group (on `executor`), summarize."""
    started = time.perf_counter()
    starts = day_starts(
        settings.symbols,
        data_dir,
        lambda day: pick_starts(day, settings.minutes, settings.starts_per_day, settings.min_move_bps),
    )
    if not starts:
        raise MarsInputError(
            f"no start from 14:30 moves {settings.min_move_bps:g} bps over {settings.minutes} minutes; "
            "lower --min-move-bps"
        )
    tasks = [(s, c, settings, data_dir) for s in starts for c in CONFIGS]
    results = run_groups(_task, tasks, executor, workers, progress)
    summary = summarize(results)
    summary["starts"] = [{"start": s.label, "move_bps": s.move_bps} for s in starts]
    summary["minutes"] = settings.minutes
    summary["rollouts_per_start"] = settings.rollouts
    summary["control"] = settings.control.model_dump()
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["metric"] = (
        "mean over rollouts of the Pearson correlation between simulated and target mid at minute points "
        f"1..{settings.minutes} after each start (replay curves from 14:30 on, held out)"
    )
    return summary


__all__ = ["CONFIGS", "EvalSettings", "Start", "day_starts", "pick_starts", "run_eval", "run_groups", "summarize"]
