"""Detection by simulation (paper Sec. 4.2, App. G): score a day's windows, and evaluate on injected manipulation.

`score_day` (`mars detect`): every `minutes`-minute window of a span of a day, the generative background
simulates `rollouts` futures from the real state just before it (a run of `minutes` minutes starting at the
window); the real window's distributions (`analysis.detection_scores.METRICS`: spread, depth and its imbalance, mid change, order size, cancel ratio)
are scored against the pooled rollouts (MarS) and against the real window just before it (the baseline,
"Diff(market now, market past)"); anomaly = 1 - mean similarity. A window is flagged when one row's MarS
similarity lies more than `FLAG_MADS` median absolute deviations below that row's median over the span (the
rows that did are named).

`evaluate` (`mars detect evaluate`): on the held-out afternoon (14:30-16:00) of every catalogued day of each
symbol, every window is scored clean; then for each kind of `manipulation.KINDS` and each intensity, a copy of
the day gets an episode in every `spacing`-th scored window (windows every `every_minutes`) (starting `offset_s` into it, `seconds` long, side drawn
at random), each window of a copy offset by one from the previous copy's, so the episodes cover the afternoon.
Episodes `spacing` windows apart leave nothing of one in the book when the next begins, so the state before an
episode's window is the real one and the clean window's simulations serve it (checked: `same_start_state`).
ROC-AUC and recall at 5% false alarms per kind and pooled, MarS vs baseline, with block-bootstrap intervals.

The simulations are independent units (`SimUnit`, `simulate_window`) mapped by the executor; a unit returns the
measured distributions of its rollouts (its run directory stays under the output folder, so a rerun resumes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from analysis import detection_scores as scoring
from mars_core.data import LobsterDay, discover_with_problems, find_dataset, load_day, resolve_data_dir, unusable
from mars_core.data.orderflow import Action
from mars_core.data.schema import NS_PER_MINUTE, NS_PER_SECOND
from mars_core.engine import OrderEvent, Status, format_clock, parse_clock
from mars_core.errors import ConfigError
from mars_core.experiments.executor import LOCAL, Executor, run_units
from mars_core.experiments.manipulation import KINDS, EpisodeSpec, inject, write_day
from mars_core.experiments.realism_windows import RealDay, real_window, sim_window
from mars_core.settings import Seed, Settings, Whole, once
from mars_core.sim.arms import Progress
from mars_core.sim.config import SimConfig
from mars_core.sim.runner import run_simulation
from mars_core.store import RunDir, write_json
from mars_core.store.rundir import write_summary

HELD_OUT = ("14:30", "16:00")
FLAG_MADS = 3.0
MIN_MAD = 0.05  # a floor under the spread of a row's similarity, so that a span of near-equal windows flags none
DETECTORS = ("mars", "baseline")
EVALUATION_DIR = "detect/evaluate"  # `mars detect evaluate` writes to <runs root>/<this> unless told otherwise


def _known_background(value: str) -> str:
    if value not in ("noise", "lmm", "replay"):  # replay is the check: it simulates the real day back
        raise ValueError(f"background {value!r} is not one of lmm, noise, replay")
    return value


def _span_in_order(value: tuple[str, str]) -> tuple[str, str]:
    first, last = (parse_clock(t) for t in value)
    if first >= last:
        raise ValueError(f"{value[0]}-{value[1]} does not end after it starts")
    return value


class DetectConfig(Settings):
    """The windows of one day to score and how to simulate them."""

    symbol: str
    date: str
    span: tuple[str, str] = HELD_OUT
    minutes: Whole = Field(1, ge=1, le=30, description="window length")
    every_minutes: Whole = Field(1, ge=1, le=60, description="spacing of the scored windows")
    rollouts: Whole = Field(4, ge=1, le=256)
    background: str = "lmm"
    seed: Seed = 0

    _span = field_validator("span")(lambda value: _span_in_order(value))
    _background = field_validator("background")(lambda value: _known_background(value))

    def starts(self) -> list[int]:
        """Window starts (ns): every `every_minutes` from the second window of the span (the first is only the
        baseline's reference) to the last that ends inside it."""
        first, last = (parse_clock(t) for t in self.span)
        step = self.minutes * NS_PER_MINUTE
        starts = list(range(first + step, last - step + 1, self.every_minutes * NS_PER_MINUTE))
        if not starts:
            raise ConfigError(f"span {self.span[0]}-{self.span[1]} holds fewer than two {self.minutes}-minute windows")
        return starts

    def sim_config(self, start_ns: int) -> SimConfig:
        return SimConfig(
            symbol=self.symbol,
            date=self.date,
            start=format_clock(start_ns)[:8],
            minutes=self.minutes,
            rollouts=self.rollouts,
            background=self.background,
            seed=self.seed,
        )


@dataclass(frozen=True)
class SimUnit:
    """One window's simulation: run `config` into `path` and measure its rollouts on `levels` levels."""

    config: SimConfig
    path: str
    data_dir: str | None
    levels: int


def simulate_window(unit: SimUnit) -> list[scoring.Values]:
    """The distributions of each rollout of one window (runs or resumes its simulation in this process)."""
    run_simulation(unit.config, unit.path, unit.data_dir, workers=1)
    run = RunDir.open(unit.path)
    start, minutes = unit.config.start_ts, int(unit.config.minutes)
    return [sim_values(run, r, start, minutes, unit.levels) for r in range(unit.config.rollouts)]


def sim_values(run: RunDir, rollout: int, start_ns: int, minutes: int, levels: int) -> scoring.Values:
    orders = run.table("orders", rollout, "main")
    ok = (orders["status"] == Status.OK) & orders["event"].isin((OrderEvent.CANCEL, OrderEvent.DELETE))
    return scoring.window_values(sim_window(run, rollout, start_ns, minutes, levels), orders["ts"][ok].to_numpy())


def real_values(real: RealDay, start_ns: int, minutes: int) -> scoring.Values:
    flow = real.flow
    end = start_ns + minutes * NS_PER_MINUTE
    cancels = (flow.ts >= start_ns) & (flow.ts < end) & (flow.action != Action.SUBMIT)
    return scoring.window_values(real_window(real, start_ns, minutes), flow.ts[cancels])


def score_window(sims: list[scoring.Values], window: scoring.Values, before: scoring.Values) -> dict[str, float]:
    """MarS and baseline anomaly of a window, and each row's similarity, as one flat record."""
    mars = scoring.similarity(scoring.pooled(sims), window)
    base = scoring.similarity(before, window)
    return {
        "mars": scoring.anomaly(mars),
        "baseline": scoring.anomaly(base),
        **{f"mars_{k}": v for k, v in mars.items()},
        **{f"baseline_{k}": v for k, v in base.items()},
    }


def simulate_all(
    units: list[SimUnit], executor: Executor, workers: int | None, progress: Progress | None
) -> list[list[scoring.Values]]:
    done = [0]

    def step(_result: Any) -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], len(units), {})

    return run_units(simulate_window, units, executor, workers, on_result=step)


def flagged(table: pd.DataFrame, mads: float = FLAG_MADS) -> pd.Series:
    """The rows of `analysis.detection_scores.METRICS` whose MarS similarity lies more than `mads` median absolute
    deviations (at least `MIN_MAD`) below that row's median over the windows, per window ("" when none)."""
    low = {}
    for row in scoring.METRICS:
        values = table[f"mars_{row}"].to_numpy(float)
        median = np.nanmedian(values)
        mad = max(float(np.nanmedian(np.abs(values - median))), MIN_MAD)
        low[row] = values < median - mads * mad
    return pd.Series([", ".join(r for r in low if low[r][i]) for i in range(len(table))], index=table.index)


@dataclass
class DayScores:
    """A scored day: one row per window (start, clock, mars, baseline, per-row similarities, flagged) and the
    spread distributions of each window (real, simulated) for Fig. 8."""

    config: DetectConfig
    table: pd.DataFrame
    spreads: dict[int, tuple[np.ndarray, np.ndarray]]


def score_day(
    config: DetectConfig,
    out: str | Path,
    data_dir: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    executor: Executor = LOCAL,
) -> DayScores:
    """Score every window of the span of one day (see the module docstring); run directories go under `out`."""
    day = load_day(find_dataset(config.symbol, config.date, resolve_data_dir(data_dir)))
    real = RealDay.load(day)
    starts = config.starts()
    for s in starts:
        config.sim_config(s).check_window(day.info)
    units = [_unit(config, s, Path(out), data_dir, real.levels) for s in starts]
    sims = simulate_all(units, executor, workers, progress)
    rows, spreads = [], {}
    for start, sim in zip(starts, sims):
        window = real_values(real, start, config.minutes)
        before = real_values(real, start - config.minutes * NS_PER_MINUTE, config.minutes)
        rows.append({"start": start, "clock": format_clock(start)[:8], **score_window(sim, window, before)})
        spreads[start] = (window["spread"], scoring.pooled(sim)["spread"])
    table = pd.DataFrame(rows)
    table["flagged_by"] = flagged(table)
    table["flagged"] = table["flagged_by"] != ""
    return DayScores(config, table, spreads)


def _unit(config: DetectConfig, start: int, out: Path, data_dir: str | None, levels: int) -> SimUnit:
    name = f"{config.symbol}_{config.date}_{format_clock(start)[:8].replace(':', '')}"
    return SimUnit(config.sim_config(start), str(out / "runs" / name), data_dir, levels)


class EvaluationConfig(Settings):
    """What `mars detect evaluate` measures (defaults: the held-out afternoons, within 30 minutes on 2 cores)."""

    symbols: tuple[str, ...] = ("GOOG", "AMZN")
    span: tuple[str, str] = HELD_OUT
    minutes: Whole = Field(1, ge=1, le=30)
    every_minutes: Whole = Field(2, ge=1, le=60, description="spacing of the scored windows")
    rollouts: Whole = Field(4, ge=1, le=256)
    background: str = "lmm"
    kinds: tuple[str, ...] = KINDS
    intensities: tuple[float, ...] = (2.0, 4.0, 8.0)
    seconds: float = Field(40.0, ge=1, le=600, description="episode length")
    offset_s: float = Field(5.0, ge=0, le=600, description="episode start after its window's start")
    spacing: Whole = Field(4, ge=2, le=100, description="scored windows between two episodes of one manipulated copy")
    bootstrap: Whole = Field(1000, ge=10, le=100_000)
    block: Whole = Field(5, ge=1, le=100, description="consecutive windows per bootstrap block")
    seed: Seed = 0

    _span = field_validator("span")(lambda value: _span_in_order(value))
    _background = field_validator("background")(lambda value: _known_background(value))

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for v in values:
            if v not in KINDS:
                raise ValueError(f"kind {v!r} is not one of {', '.join(KINDS)}")
        return once(values)

    _distinct = field_validator("symbols", "intensities")(lambda values: once(values))

    def day_config(self, symbol: str, date: str) -> DetectConfig:
        return DetectConfig(
            symbol=symbol,
            date=date,
            span=self.span,
            minutes=self.minutes,
            every_minutes=self.every_minutes,
            rollouts=self.rollouts,
            background=self.background,
            seed=self.seed,
        )


def _days(config: EvaluationConfig, data_dir: str | None) -> list[LobsterDay]:
    root = resolve_data_dir(data_dir)
    found, problems = discover_with_problems(root)
    infos = [i for i in found if i.symbol in {s.upper() for s in config.symbols}]
    if not infos:
        raise ConfigError(
            f"no catalogued day of {', '.join(config.symbols)} in {root}{unusable(problems, config.symbols)}"
        )
    return [load_day(i) for i in sorted(infos, key=lambda i: (i.symbol, i.date))]


def episode_plan(config: EvaluationConfig, starts: list[int], seed: int) -> list[tuple[str, float, list[EpisodeSpec]]]:
    """(kind, intensity, episodes) of each manipulated copy: an episode every `spacing` windows, each copy's first
    window one after the previous copy's, sides drawn at random."""
    rng = np.random.default_rng(seed)
    plan, copy = [], 0
    for kind in config.kinds:
        for intensity in config.intensities:
            offset = copy % config.spacing
            specs = [
                EpisodeSpec(
                    kind=kind,
                    start=format_clock(s + int(config.offset_s * NS_PER_SECOND))[:8],
                    seconds=config.seconds,
                    intensity=intensity,
                    side=int(rng.choice([1, -1])),
                )
                for s in starts[offset :: config.spacing]
            ]
            plan.append((kind, intensity, specs))
            copy += 1
    return plan


def evaluate(
    config: EvaluationConfig,
    out: str | Path,
    data_dir: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    executor: Executor = LOCAL,
) -> dict[str, Any]:
    """Score clean and manipulated windows with both detectors; write `windows.csv` and `summary.json` to `out`."""
    started = time.perf_counter()
    out = Path(out)
    days = _days(config, data_dir)
    units, index = [], []
    for day in days:
        dc = config.day_config(day.info.symbol, day.info.date.isoformat())
        for s in dc.starts():
            dc.sim_config(s).check_window(day.info)
            units.append(_unit(dc, s, out, data_dir, day.info.levels))
            index.append((day.info.key, s))
    out.mkdir(parents=True, exist_ok=True)  # only once the days and their windows are known to be good
    write_json(out / "detect.json", config.model_dump(mode="json"))
    sims = dict(zip(index, simulate_all(units, executor, workers, progress)))
    simulated = time.perf_counter()
    rows = []
    for d, day in enumerate(days):
        dc = config.day_config(day.info.symbol, day.info.date.isoformat())
        starts, step = dc.starts(), dc.minutes * NS_PER_MINUTE
        real = RealDay.load(day)
        for s in starts:
            window, before = real_values(real, s, dc.minutes), real_values(real, s - step, dc.minutes)
            rows.append(_row(day, s, "clean", 0.0, 0, True, score_window(sims[(day.info.key, s)], window, before)))
        for kind, intensity, specs in episode_plan(config, starts, config.seed + d):
            manipulated = inject(day, specs, seed=config.seed + d)
            copy = RealDay.load(manipulated.day)
            for spec, episode in zip(specs, manipulated.episodes):
                s = spec.start_ns - int(config.offset_s * NS_PER_SECOND)
                window, before = real_values(copy, s, dc.minutes), real_values(copy, s - step, dc.minutes)
                same = _same_start_state(day, manipulated.day, s)
                scores = score_window(sims[(day.info.key, s)], window, before)
                rows.append(_row(day, s, kind, intensity, episode.side, same, scores))
    table = pd.DataFrame(rows)
    table.to_csv(out / "windows.csv", index=False)
    result = summarize(table, config)
    return write_summary(out, result, started, simulated, "score_seconds")


def _row(day: LobsterDay, start: int, kind: str, intensity: float, side: int, same: bool, scores: dict) -> dict:
    return {
        "symbol": day.info.symbol,
        "date": day.info.date.isoformat(),
        "start": start,
        "clock": format_clock(start)[:8],
        "kind": kind,
        "intensity": intensity,
        "side": side,
        "same_start_state": same,
        **scores,
    }


def _same_start_state(real: LobsterDay, manipulated: LobsterDay, start: int) -> bool:
    """Whether the visible book just before `start` is the real one in the manipulated day."""
    a = np.searchsorted(real.events.ts, start) - 1
    b = np.searchsorted(manipulated.events.ts, start) - 1
    return bool(np.array_equal(real.book[a], manipulated.book[b]))


def summarize(table: pd.DataFrame, config: EvaluationConfig) -> dict[str, Any]:
    """AUC (with intervals), recall at 5% false alarms, per kind and pooled, for both detectors."""
    clean = table[table["kind"] == "clean"].sort_values(["symbol", "date", "start"])
    episodes = table[table["kind"] != "clean"]
    detail: dict[str, dict[str, Any]] = {}
    for name, subset in [("pooled", episodes), *((k, episodes[episodes["kind"] == k]) for k in config.kinds)]:
        detail[name] = {
            det: scoring.detection_bootstrap(
                clean[det].to_numpy(float), subset[det].to_numpy(float), config.bootstrap, config.seed, config.block
            )
            for det in DETECTORS
        }
        detail[name]["episodes"] = len(subset)
        detail[name]["by_intensity"] = {
            str(i): {det: scoring.roc_auc(clean[det], part[det]) for det in DETECTORS}
            for i, part in subset.groupby("intensity")
        }
    pooled = detail["pooled"]
    return {
        "auc": {det: pooled[det]["auc"] for det in DETECTORS},
        "ci": {det: pooled[det]["auc_ci"] for det in DETECTORS},
        "recall_at_5pct": {det: pooled[det]["recall"] for det in DETECTORS},
        "per_type": {k: {det: detail[k][det]["auc"] for det in DETECTORS} for k in config.kinds},
        "episodes": len(episodes),
        "clean_windows": len(clean),
        "chance_auc": 0.5,
        "chance_recall": scoring.FALSE_ALARM,
        "same_start_state": float(episodes["same_start_state"].mean()) if len(episodes) else float("nan"),
        "detail": detail,
    }


def score_with_episode(
    config: DetectConfig,
    episode: EpisodeSpec | None,
    out: str | Path,
    data_dir: str | None = None,
    progress: Progress | None = None,
) -> tuple[DayScores, list[tuple[int, int]]]:
    """`score_day` of the real day, or of a copy with `episode` injected (written to `out`/day, the folder the
    simulations then start from), and the injected episodes' (start, end) ns."""
    out = Path(out)
    if episode is None:
        return score_day(config, out, data_dir, progress=progress), []
    day = load_day(find_dataset(config.symbol, config.date, resolve_data_dir(data_dir)))
    manipulated = inject(day, [episode], config.seed)
    write_day(manipulated, out / "day")
    scores = score_day(config, out, str(out / "day"), progress=progress)
    return scores, [(e.start_ns, e.end_ns) for e in manipulated.episodes]
