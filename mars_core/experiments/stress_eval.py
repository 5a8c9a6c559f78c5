"""Stress scenarios that reach their move (issue 15): `mars control-eval --stress`.

A fixed suite of prompts (`SUITE`: the issue's six by default, a steady decline over 10 minutes on request) goes
through the built-in parser (`control.scenarios.parse_prompt`); each spec's best historical window
(`control.retrieval.retrieve`, rescaled to the prompt's size) is the target path. Every scenario runs from the same
start points: `starts_per_day` whole minutes spread evenly over the held-out afternoon of each catalogued day
(14:30 to the close, less the longest scenario), or over the training window (10:00 to 14:30) to choose settings.
For every (scenario, start), four lockstep groups of `rollouts` rollouts on common seeds: controlled or not, each
with or without a TWAP agent trading `twap_share` of the start's real volume over the scenario against the target's
direction (`twap_for`).

Figures per scenario and arm (n = starts x rollouts; the interval is a bootstrap over start points):
  * ratio: the rollout's realised move over the target's: the net move at the end for drops and rises, the move
    at the target's turn (its first leg) for reversals; for a volatility spike the root mean square of the 1-minute
    mid returns over the target's;
  * target_side: share of rollouts whose move has the target's sign (volatility spike: whose ratio is at least
    `VOL_SIDE`);
  * corr: mean Pearson correlation of the rollout's mid path with the target path at minutes 1..D;
  * rms_bps: mean root mean square distance to the target path;
  * fidelity (controlled arm without agent): sim over real ratios of the per-minute traded volume, spread,
    submissions and mean order size (`analysis.minute_metrics`), against the real window the target was
    retrieved from, so that a scenario is reached by a plausible flow, not by one giant order or an empty book;
  * cost_bps and fulfillment (arms with the agent): the TWAP's implementation shortfall, side x (average fill
    price - arrival mid) / arrival mid in bps (positive: it paid more than the mid at its start), over the rollouts
    where it traded, and the share of its order it filled; per scenario, `twap_cost_bps` sets the controlled
    against the uncontrolled cost with their difference paired by start and rollout seed.

Every group's result is kept in the evaluation directory (`units/`) as it finishes, so a stopped or interrupted
evaluation resumes where it stopped; `summary.json` holds the figures once every group has run.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from analysis.bootstrap import block_bootstrap
from analysis.minute_metrics import minute_table
from analysis.similarity import path_correlation
from mars_core.control.controller import ControlSettings
from mars_core.control.retrieval import Retrieved, retrieve
from mars_core.control.run import ControlledRun, run_controlled
from mars_core.control.scenarios import parse_prompt
from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.data.schema import BPS, NS_PER_MINUTE, LobsterDay
from mars_core.engine import format_clock
from mars_core.errors import MarsInputError
from mars_core.experiments.control_eval import SESSION_END_NS, day_starts, real_volume, run_groups
from mars_core.experiments.realism_windows import RealDay, real_window, tables_window
from mars_core.model.dataset import VAL_START_NS
from mars_core.paths import runs_root
from mars_core.settings import Seed, Settings, Whole, once
from mars_core.sim.agents.twap import TWAPConfig
from mars_core.sim.executor import LOCAL, Executor
from mars_core.store import RunDir, claim_directory, named_dir, write_json
from mars_core.store.rundir import SUMMARY, finite

SUITE = {
    "sharp_drop_1pct_3min": "sharp drop of 1% over 3 minutes",
    "sharp_drop_2pct_10min": "sharp drop of 2% over 10 minutes",
    "rally_1.5pct_5min": "rally of 1.5% over 5 minutes",
    "steady_decline_0.5pct_30min": "steady decline of 0.5% over 30 minutes",
    "trend_reversal_0.5pct_6min": "trend reversal of 0.5% over 6 minutes",
    "volatility_spike_1pct_5min": "volatility spike of 1% over 5 minutes",
    "steady_decline_0.5pct_10min": "steady decline of 0.5% over 10 minutes",
}
DEFAULT_SUITE = tuple(SUITE)[:6]  # the six (59 minutes per start and arm); the 10-minute decline when asked
FIDELITY = ("traded_volume", "spread", "submissions", "mean_size")
MINUTE_COLUMNS = ("minute", *FIDELITY, "rollout")
EVALUATIONS_DIR = "stress"
MARKER = "stress.json"  # an evaluation directory holds its settings in this file
FIDELITY_BAND = (0.67, 1.5)  # the band of a stress flow against the real one
ARMS = {
    "control": (True, False),
    "no_control": (False, False),
    "control_twap": (True, True),
    "no_control_twap": (False, True),
}
TRAINING_FIRST_NS = 10 * 60 * NS_PER_MINUTE  # training-window starts from 10:00 (the book has filled)
VOL_SIDE = 0.75  # a volatility spike's rollout "reaches" when its volatility ratio is at least this


class StressSettings(Settings):
    """`mars control-eval --stress` settings."""

    scenarios: tuple[str, ...] = Field(DEFAULT_SUITE, description="names of `SUITE` to run")
    symbols: tuple[str, ...] = ("GOOG", "AMZN")
    window: Literal["held_out", "training"] = Field("held_out", description="where the start points lie")
    starts_per_day: int = Field(2, ge=1, le=20)
    rollouts: Whole = Field(8, ge=1, le=256, description="rollouts per start and arm")
    twap: bool = Field(True, description="also run every arm with a TWAP agent")
    twap_share: float = Field(0.2, gt=0, le=1, description="TWAP volume as a share of the real volume of the horizon")
    seed: Seed = 0
    control: ControlSettings = ControlSettings()

    @field_validator("scenarios")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in SUITE]
        if unknown or not value:
            raise ValueError(
                f"unknown scenario {', '.join(unknown) or '(none given)'}; the suite has {', '.join(SUITE)}"
            )
        return once(value)


@dataclass(frozen=True)
class StressUnit:
    """One lockstep group: a scenario's target from one start, one arm."""

    scenario: str
    symbol: str
    date: str
    start_ts: int
    arm: str
    settings: StressSettings
    data_dir: str | None = None

    @property
    def start_label(self) -> str:
        return f"{self.symbol} {self.date} {format_clock(self.start_ts)[:5]}"


def target_of(name: str, data_dir: str | None = None) -> Retrieved:
    """The suite scenario's best retrieved window (its signal is the target path).

    Raises:
        MarsInputError: an unknown name, or no window passes the scenario's filter.
    """
    if name not in SUITE:
        raise MarsInputError(f"no stress scenario {name!r}; the suite has {', '.join(SUITE)}")
    return retrieve(parse_prompt(SUITE[name]), data_dir, k=1)[0]


def stress_starts(day: LobsterDay, n: int, window: str, longest: int) -> list[int]:
    """n whole-minute starts spread evenly over the window, each leaving `longest` minutes before its end."""
    first, end = (VAL_START_NS, SESSION_END_NS) if window == "held_out" else (TRAINING_FIRST_NS, VAL_START_NS)
    last = min(end, int(day.events.ts[-1])) - longest * NS_PER_MINUTE
    if last < first:
        raise MarsInputError(f"{day.info.key}: no {longest}-minute scenario fits in the {window} window")
    points = (
        np.linspace(first // NS_PER_MINUTE, last // NS_PER_MINUTE, n + 2)[1:-1]
        if n > 1
        else [(first + last) / 2 // NS_PER_MINUTE]
    )
    return sorted({int(round(p)) * NS_PER_MINUTE for p in points})


def twap_for(day: LobsterDay, start_ts: int, target: np.ndarray, minutes: int, share: float) -> TWAPConfig:
    """A TWAP agent against the target's direction (selling into a rise, buying into a fall; a spike: selling)."""
    real = real_volume(day, start_ts, start_ts + minutes * NS_PER_MINUTE)
    volume = max(100, int(round(share * real / 100)) * 100)
    side = -1 if target[np.abs(target).argmax()] >= 0 else 1
    return TWAPConfig(side=side, volume=volume, duration_s=minutes * 60.0, interval_s=30.0)


def evaluate_unit(unit: StressUnit) -> dict[str, Any]:
    """Run one unit; its mid paths, the TWAP's shortfall per rollout, and the controlled arm's per-minute flow."""
    target = target_of(unit.scenario, unit.data_dir)
    day = load_day(find_dataset(unit.symbol, unit.date, resolve_data_dir(unit.data_dir)))
    control, with_twap = ARMS[unit.arm]
    D = target.minutes
    s = unit.settings
    twap = twap_for(day, unit.start_ts, target.signal.logret, D, s.twap_share) if with_twap else None
    flow = unit.arm == "control"
    run = run_controlled(
        day, unit.start_ts, target.signal, s.rollouts, s.seed, control=control, twap=twap, settings=s.control, flow=flow
    )
    return {
        "unit": unit,
        "paths": run.paths,
        "target": run.target,
        "seconds": run.seconds,
        "orders": run.orders,
        "fulfillment": run.fills / twap.volume if twap else np.full(s.rollouts, np.nan),
        "cost_bps": shortfall_bps(run, twap.side) if twap else np.full(s.rollouts, np.nan),
        "minutes": rollout_minutes(run, day, unit.start_ts) if flow else None,
    }


def shortfall_bps(run: ControlledRun, side: int) -> np.ndarray:
    """Per rollout (R,): side x (average fill price - arrival mid) / arrival mid in bps; NaN where nothing filled."""
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = np.where(run.fills > 0, run.notional / run.fills, np.nan)
    return side * (vwap - run.arrival_mid) / run.arrival_mid * BPS


# ------------------------------------------------------------------ the evaluation directory
def unit_file(out: Path, unit: StressUnit) -> Path:
    return out / "units" / f"{unit.scenario}_{unit.symbol}_{unit.date}_{unit.start_ts // NS_PER_MINUTE}_{unit.arm}.npz"


def keep_unit(out: Path, result: dict[str, Any]) -> None:
    """Write a unit's result into `out` atomically (its flow table as a plain array of `MINUTE_COLUMNS`)."""
    path = unit_file(out, result["unit"])
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: v for k, v in result.items() if k not in ("unit", "minutes")}
    if result["minutes"] is not None:
        arrays["minutes"] = result["minutes"][list(MINUTE_COLUMNS)].to_numpy(np.float64)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_unit(out: Path, unit: StressUnit) -> dict[str, Any]:
    """A kept unit's result, labelled for `summarize`."""
    with np.load(unit_file(out, unit)) as kept:
        result = {k: kept[k] for k in kept.files}
    minutes = result.pop("minutes", None)
    return {
        **result,
        "scenario": unit.scenario,
        "start": unit.start_label,
        "arm": unit.arm,
        "seconds": float(result["seconds"]),
        "orders": int(result["orders"]),
        "minutes": None if minutes is None else pd.DataFrame(minutes, columns=list(MINUTE_COLUMNS)),
    }


def evaluation_dir(settings: StressSettings, root: Path | None = None) -> Path:
    """`<runs root>/stress/<window>-<settings hash>`: the same settings reopen (and resume) the same directory."""
    return named_dir((root or runs_root()) / EVALUATIONS_DIR, settings.window, settings.model_dump(mode="json"))


def rollout_minutes(run: ControlledRun, day: LobsterDay, start_ts: int) -> pd.DataFrame:
    """Per-minute `FIDELITY` flow of every rollout of a run made with `flow` (a `rollout` column), on the day's levels."""
    tables = [
        minute_table(tables_window(t["book"], t["orders"], t["trades"], start_ts, len(run.target), day.info.levels))[
            ["minute", *FIDELITY]
        ].assign(rollout=r)
        for r, t in enumerate(run.tables or [])
    ]
    return pd.concat(tables, ignore_index=True)


# ------------------------------------------------------------------ figures
def turn_index(target: np.ndarray, kind: str) -> int:
    """Index (into minutes 1..D) where a scenario's move is measured: the end, or a reversal's turn."""
    return int(np.abs(target).argmax()) if kind == "trend_reversal" else len(target) - 1


def one_minute_vol(paths: np.ndarray) -> np.ndarray:
    """Root mean square (...,) of the 1-minute log returns of paths (..., D) from 0."""
    steps = np.diff(np.concatenate([np.zeros((*paths.shape[:-1], 1)), paths], -1), axis=-1)
    return np.sqrt((steps**2).mean(-1))


def reach(paths: np.ndarray, target: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per rollout (R,): the realised/target ratio and whether it lies on the target's side (module docstring)."""
    if kind == "volatility_spike":
        ratio = one_minute_vol(paths) / max(float(one_minute_vol(target)), 1e-12)
        return ratio, ratio >= VOL_SIDE
    i = turn_index(target, kind)
    ratio = paths[:, i] / target[i]
    return ratio, ratio > 0


def interval(per_start: np.ndarray, digits: int = 4) -> dict[str, Any]:
    """Mean over start points with its 95% bootstrap interval (starts resampled); NaN starts left out."""
    values = per_start[np.isfinite(per_start)]
    if len(values) == 0:
        return {"mean": float("nan"), "ci": [float("nan"), float("nan")], "starts": 0}
    mean, ci, _ = block_bootstrap(lambda idx: float(values[idx].mean()), len(values), block=1)
    return {"mean": round(mean, digits), "ci": [round(ci[0], digits), round(ci[1], digits)], "starts": len(values)}


def start_means(groups: list[dict[str, Any]], key: str) -> np.ndarray:
    """Per group (start), the mean of a per-rollout figure over its rollouts with one (NaN when none has)."""
    return np.array([np.nanmean(g[key]) if np.isfinite(g[key]).any() else np.nan for g in groups])


def arm_figures(groups: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The figures of one scenario and arm over its groups (one per start); with an agent, its cost and fulfillment."""
    ratios, sides = zip(*(reach(g["paths"], g["target"], kind) for g in groups))
    ratio = interval(np.array([r.mean() for r in ratios]))
    corr = [path_correlation(p, g["target"]) for g in groups for p in g["paths"]]
    rms = [np.sqrt(((p - g["target"]) ** 2).mean()) * BPS for g in groups for p in g["paths"]]
    figures = {
        "ratio": {"mean": ratio["mean"], "ci": ratio["ci"]},
        "target_side": round(float(np.concatenate(sides).mean()), 4),
        "corr": round(float(np.mean(corr)), 4),
        "rms_bps": round(float(np.mean(rms)), 2),
        "seconds": round(sum(g["seconds"] for g in groups), 1),
        "orders": int(sum(g["orders"] for g in groups)),
    }
    if all(np.isfinite(g.get("fulfillment", np.nan)).any() for g in groups):
        figures["cost_bps"] = interval(start_means(groups, "cost_bps"), 2)
        figures["fulfillment"] = round(float(np.mean([g["fulfillment"].mean() for g in groups])), 4)
    return figures


def twap_cost(mine: list[dict[str, Any]]) -> dict[str, Any]:
    """The TWAP's shortfall (bps) controlled, uncontrolled and their difference paired by start and rollout seed."""
    by_arm = {arm: {r["start"]: r for r in mine if r["arm"] == arm} for arm in ("control_twap", "no_control_twap")}
    if not all(by_arm.values()):
        return {}
    both = [s for s in by_arm["control_twap"] if s in by_arm["no_control_twap"]]
    paired = np.array(
        [
            np.nanmean(diff) if np.isfinite(diff := c["cost_bps"] - u["cost_bps"]).any() else np.nan
            for c, u in ((by_arm["control_twap"][s], by_arm["no_control_twap"][s]) for s in both)
        ]
    )
    return {
        "control": interval(start_means(list(by_arm["control_twap"].values()), "cost_bps"), 2),
        "no_control": interval(start_means(list(by_arm["no_control_twap"].values()), "cost_bps"), 2),
        "control_minus_no_control": interval(paired, 2),
    }


def flow_fidelity(real: pd.DataFrame, sim: pd.DataFrame) -> dict[str, float]:
    """Sim over real mean of every `FIDELITY` column (NaN minutes skipped)."""
    out = {}
    for column in FIDELITY:
        r, s = real[column].mean(), sim[column].mean()
        out[column] = round(float(s / r), 4) if np.isfinite(r) and r != 0 and np.isfinite(s) else float("nan")
    return out


def real_minutes(target: Retrieved, data_dir: str | None = None) -> pd.DataFrame:
    """Per-minute flow of the real window a target was retrieved from."""
    day = load_day(find_dataset(target.symbol, target.date, resolve_data_dir(data_dir)))
    return real_flow(day, target.start_ts, target.minutes)


def real_flow(day: LobsterDay, start_ts: int, minutes: int) -> pd.DataFrame:
    """Per-minute flow of the real market over `minutes` from `start_ts`."""
    return minute_table(real_window(RealDay.load(day), start_ts, minutes))


def summarize(results: list[dict[str, Any]], targets: dict[str, Retrieved], data_dir: str | None = None) -> dict:
    """The issue's JSON figures per scenario (the controlled arm without agent at the top, every arm under `arms`, the
    agent's cost controlled and not under `twap_cost_bps`)."""
    out: dict[str, Any] = {}
    for name, target in targets.items():
        kind = parse_prompt(SUITE[name]).kind
        mine = [r for r in results if r["scenario"] == name]
        arms = {
            arm: arm_figures([r for r in mine if r["arm"] == arm], kind)
            for arm in ARMS
            if any(r["arm"] == arm for r in mine)
        }
        tables = [r["minutes"] for r in mine if r["arm"] == "control" and r["minutes"] is not None]
        fidelity = flow_fidelity(real_minutes(target, data_dir), pd.concat(tables)) if tables else {}
        i = turn_index(target.signal.logret[1:], kind)
        target_bps = (
            float(one_minute_vol(target.signal.logret[1:]))
            if kind == "volatility_spike"
            else float(target.signal.logret[1:][i])
        ) * BPS
        head = arms.get("control", arms.get("no_control", {}))
        out[name] = {
            "prompt": SUITE[name],
            "window": target.label,
            "target_bps": round(target_bps, 2),
            **{k: head[k] for k in ("ratio", "target_side", "corr", "rms_bps") if k in head},
            "fidelity": fidelity,
            "arms": arms,
        }
        if cost := twap_cost(mine):
            out[name]["twap_cost_bps"] = cost
    return out


def run_stress(
    settings: StressSettings,
    data_dir: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor = LOCAL,
    out: str | Path | None = None,
) -> dict[str, Any]:
    """Retrieve the targets, run (or resume, in `out`) every (scenario, start, arm) unit on `executor`, summarize
    into out/summary.json (`out` defaults to `evaluation_dir`)."""
    started = time.perf_counter()
    targets = {name: target_of(name, data_dir) for name in settings.scenarios}
    longest = max(t.minutes for t in targets.values())
    starts = day_starts(
        settings.symbols,
        data_dir,
        lambda day: [
            (day.info.symbol, day.info.date.isoformat(), ts)
            for ts in stress_starts(day, settings.starts_per_day, settings.window, longest)
        ],
    )
    arms = [a for a, (_, twap) in ARMS.items() if settings.twap or not twap]
    units = [
        StressUnit(name, symbol, date, ts, arm, settings, data_dir)
        for name in settings.scenarios
        for symbol, date, ts in starts
        for arm in arms
    ]
    out = Path(out) if out else evaluation_dir(settings)
    claim_directory(out, MARKER, settings.model_dump(mode="json"), "stress evaluation")
    with RunDir(out).lock():
        todo = [u for u in units if not unit_file(out, u).exists()]
        keep = functools.partial(keep_unit, out)
        run_groups(evaluate_unit, todo, executor, workers, progress, keep, done=len(units) - len(todo))
        results = [load_unit(out, u) for u in units]
        summary = {
            "scenarios": summarize(results, targets, data_dir),
            "rollouts": settings.rollouts,
            "starts": len(starts),
            "start_points": [f"{s} {d} {format_clock(ts)[:5]}" for s, d, ts in starts],
            "window": settings.window,
            "twap": settings.twap,
            "control": settings.control.model_dump(),
            "unit_seconds": round(sum(r["seconds"] for r in results), 1),
            "seconds": round(time.perf_counter() - started, 1),
            "dir": str(out),
        }
        summary = finite(summary)
        write_json(out / SUMMARY, summary)
    return summary


__all__ = [
    "DEFAULT_SUITE",
    "SUITE",
    "StressSettings",
    "StressUnit",
    "evaluate_unit",
    "evaluation_dir",
    "run_stress",
    "stress_starts",
    "summarize",
]
