"""Realism evaluation on the paper's unit, one value per minute (paper Sec. 3.1, App. I, J), with its ceiling.

Start points every `every_minutes` spread over the held-out part of each day (the generative model's validation
window, 14:30-16:00; starts 14:30-15:30 for 30-minute futures). From each, every simulated background runs
`rollouts` futures of `minutes` minutes; the real market over the same minutes is the reference. Every minute of
every window is measured the same way on both sides (`analysis.minute_metrics`) and scored by `score`:

* per-minute similarity of each Table-7 row, pooled over the start windows and rollouts, its mean over the rows, and
  next to it the ceiling: the same held-out windows against real windows of another period of the same days
  (`ceiling_window`, default 12:00-14:00, same spacing and length), i.e. what real data scores against real data;
* 95% basic intervals of a circular block bootstrap over start windows (`analysis.bootstrap`), resampling the real and
  every simulated background's windows jointly, so the paired order model - noise difference keeps its pairing;
* 3-class accuracy per row with chance and a persistence baseline; Cont's stylized facts on the minute bars of the
  same windows (each statistic with its interval); the closed-loop fidelity of `analysis.fidelity`.

Layout of an evaluation directory:
    realism.json                 the configuration
    runs/<background>/<start>/   run directories of the simulations (an interrupted evaluation resumes)
    facts.json, summary.json     written when it has finished (summary.json last: the result)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from analysis import realism_scores as scores
from analysis import stylized_facts
from analysis.bootstrap import BLOCK, LEVEL, RESAMPLES, effective_block
from analysis.minute_metrics import fact_bars, minute_table
from mars_core.data import LobsterDay, discover, find_dataset, load_day, resolve_data_dir
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.engine import format_clock, parse_clock
from mars_core.errors import ConfigError
from mars_core.experiments.realism_windows import RealDay, real_window, sim_window
from mars_core.paths import runs_root
from mars_core.settings import Seed, Settings, Whole
from mars_core.sim.arms import Progress
from mars_core.sim.backgrounds import background
from mars_core.sim.config import SimConfig
from mars_core.sim.executor import LOCAL, Executor
from mars_core.sim.runner import pending_tasks, run_tasks
from mars_core.store import RunDir, claim_directory, named_dir, write_json
from mars_core.store.rundir import write_summary

REPLAY = "replay"
PROTOCOL = "per-minute"
MARKER = "realism.json"  # an evaluation directory holds its configuration in this file
FILES = ("facts.json", "summary.json")  # written when it has finished (summary.json last)
HELD_OUT = ("14:30", "16:00")
CEILING = ("12:00", "14:00")
EVALUATIONS_DIR = "realism"  # evaluations without a given directory go to <runs root>/realism/<SYMBOL>-<config hash>
FACT_RESAMPLES = 200  # the stylized facts' own block bootstrap (`stylized_facts.evaluate_facts`)


class RealismConfig(Settings):
    """What to evaluate; `backgrounds` are the simulated ones (the replay is always the reference)."""

    symbol: str
    dates: tuple[str, ...] = ()  # empty: every catalogued day of the symbol
    backgrounds: tuple[str, ...] = ("noise",)
    window: tuple[str, str] = HELD_OUT
    ceiling_window: tuple[str, str] = CEILING
    minutes: int = Field(30, ge=5, le=90, description="length of each simulated future")
    every_minutes: int = Field(2, ge=1, le=60, description="spacing of the start points")
    rollouts: Whole = Field(4, ge=1, le=256)
    bootstrap: int = Field(RESAMPLES, ge=10, le=100_000, description="block-bootstrap resamples")
    block: int = Field(BLOCK, ge=1, le=1000, description="consecutive start windows per bootstrap block")
    seed: Seed = 0

    @field_validator("window", "ceiling_window")
    @classmethod
    def _span(cls, value: tuple[str, str]) -> tuple[str, str]:
        first, last = (parse_clock(t) for t in value)  # a ValueError names the bad time
        if first >= last:
            raise ValueError(f"{value[0]}-{value[1]} does not end after it starts")
        return value

    @field_validator("backgrounds")
    @classmethod
    def _known(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(v.strip().lower() for v in values if v.strip() and v.strip().lower() != REPLAY)
        for v in out:
            if v not in ("noise", "lmm"):
                raise ValueError(f"background {v!r} is not one of replay, noise, lmm")
        return out

    def start_times(self, window: tuple[str, str] | None = None) -> list[str]:
        """HH:MM of the start points in `window` (default: the held-out one) whose futures end inside it."""
        window = window or self.window
        first, last = (parse_clock(t) for t in window)
        starts = range(first, last - self.minutes * NS_PER_MINUTE + 1, self.every_minutes * NS_PER_MINUTE)
        if not starts:
            raise ConfigError(f"window {window[0]}-{window[1]} is shorter than one {self.minutes}-minute future")
        return [format_clock(t)[:5] for t in starts]

    def ceiling_times(self) -> list[str]:
        return self.start_times(self.ceiling_window)

    def ceiling_definition(self, days: int = 1) -> str:
        c = self.ceiling_times()
        (a, b), (x, y) = ((parse_clock(t) for t in w) for w in (self.window, self.ceiling_window))
        overlap = "; the two periods overlap, so this ceiling is optimistic" if a < y and x < b else ""
        return (
            f"real vs real: the evaluated windows ({self.window[0]}-{self.window[1]}) against real windows of the "
            f"same day{'s' * (days != 1)} starting {c[0]}-{c[-1]} (every {self.every_minutes} min, "
            f"{self.minutes} min long), scored with the same per-minute protocol{overlap}"
        )


def days_of(config: RealismConfig, data_dir: str | None) -> list[LobsterDay]:
    root = resolve_data_dir(data_dir)
    dates = config.dates or tuple(i.date.isoformat() for i in discover(root) if i.symbol == config.symbol.upper())
    if not dates:
        raise ConfigError(f"no catalogued day of {config.symbol} in {root}")
    return [load_day(find_dataset(config.symbol, d, root)) for d in dates]


def sim_config(config: RealismConfig, day: LobsterDay, background: str, start: str) -> SimConfig:
    """One start's run; the noise traders are fitted on the orders before the evaluated window only, so they
    never see the minutes they are scored on (the order model's split is the same for the held-out window)."""
    return SimConfig(
        symbol=day.info.symbol,
        date=day.info.date.isoformat(),
        start=start,
        minutes=config.minutes,
        rollouts=config.rollouts,
        background=background,
        seed=config.seed,
        noise_fit_until=config.window[0] if background == "noise" else None,
    )


def run_realism(
    config: RealismConfig,
    out: str | Path,
    data_dir: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    executor: Executor = LOCAL,
) -> dict[str, Any]:
    """Simulate every background from every start point (on `executor`), then measure and score them against the
    real day."""
    started = time.perf_counter()
    out = Path(out)
    days = days_of(config, data_dir)
    starts = config.start_times()
    config.ceiling_times()  # refuse a ceiling window too short before simulating anything
    for day in days:
        for start in starts:
            sim_config(config, day, "noise", start).check_window(day.info)
    claim_directory(out, MARKER, config.model_dump(mode="json"), "realism evaluation")
    with RunDir(out).lock():  # a second evaluation into the same directory is refused, not run twice
        runs: dict[tuple[str, str, str], tuple[SimConfig, RunDir]] = {}
        for bg in config.backgrounds:
            for day in days:
                for start in starts:
                    cfg = sim_config(config, day, bg, start)
                    path = out / "runs" / bg / f"{day.info.symbol}_{day.info.date}_{start.replace(':', '')}"
                    runs[(bg, day.info.key, start)] = (cfg, RunDir.create(path, cfg.model_dump(mode="json")))
        total = sum(c.rollouts for c, _ in runs.values())
        counter = [0]

        def step(done: int, _total: int, summary: dict) -> None:
            counter[0] += 1
            if progress is not None:
                progress(counter[0], total, summary)

        simple = [(c, r) for (bg, _, _), (c, r) in runs.items() if not background(bg).lockstep]
        tasks = [t for c, r in simple for t in pending_tasks(c, r)]
        counter[0] = sum(c.rollouts for c, _ in simple) - len(tasks)
        run_tasks(tasks, data_dir, workers, step, executor=executor)
        for name in config.backgrounds:  # a generative background's groups, from every start, in one map
            driver = background(name)
            if driver.lockstep:
                grouped = [(c, r) for (bg, _, _), (c, r) in runs.items() if bg == name]
                for c, r in grouped:
                    r.clean_stale()
                    counter[0] += c.rollouts - len(pending_tasks(c, r))
                driver.drive(grouped, data_dir, workers, step, executor=executor)
        simulated = time.perf_counter()
        result = evaluate(config, days, runs)
        write_json(out / "facts.json", result.pop("facts_detail"))
        return write_summary(out, result, started, simulated, "evaluate_seconds")


def _labelled(table: pd.DataFrame, start: int, rollout: int | None = None) -> pd.DataFrame:
    """A window's per-minute table with the index of its start window (and its rollout) in front."""
    table.insert(0, "start", start)
    if rollout is not None:
        table.insert(1, "rollout", rollout)
    return table


def measure(config: RealismConfig, days: list[LobsterDay], runs: dict) -> dict[str, Any]:
    """Per-minute tables and fact bars of every side: "real" (held-out), "ceiling" (the other period) and each
    background; tables are lists per start window (days in order), bars lists per window and rollout."""
    reals = [RealDay.load(day) for day in days]
    sides: dict[str, dict[str, list]] = {name: {"tables": [], "bars": []} for name in ("real", "ceiling")}
    hours = []
    for real in reals:
        for name, times in (("real", config.start_times()), ("ceiling", config.ceiling_times())):
            for start in times:
                w = real_window(real, parse_clock(start), config.minutes)
                sides[name]["tables"].append(_labelled(minute_table(w), len(sides[name]["tables"])))
                sides[name]["bars"].append(fact_bars(w))
        hours += [parse_clock(s) / (60 * NS_PER_MINUTE) for s in config.start_times()]
    for bg in config.backgrounds:
        tables, bars = [], []
        for real in reals:
            for start in config.start_times():
                _, run = runs[(bg, real.day.info.key, start)]
                per_rollout = []
                for r in range(config.rollouts):
                    w = sim_window(run, r, parse_clock(start), config.minutes, real.levels)
                    per_rollout.append(_labelled(minute_table(w), len(tables), r))
                    bars.append(fact_bars(w))
                tables.append(pd.concat(per_rollout, ignore_index=True))
        sides[bg] = {"tables": tables, "bars": bars}
    return {"sides": sides, "start_hours": np.array(hours)}


def evaluate(config: RealismConfig, days: list[LobsterDay], runs: dict) -> dict[str, Any]:
    """Similarity with its ceiling and intervals, accuracy, fidelity and facts from the finished runs."""
    measured = measure(config, days, runs)
    sides = measured["sides"]
    result: dict[str, Any] = {
        "protocol": PROTOCOL,
        "symbol": config.symbol,
        "dates": [d.info.date.isoformat() for d in days],
        "window": list(config.window),
        "start_times": config.start_times(),
        "starts": len(sides["real"]["tables"]),
        "rollouts": config.rollouts,
        "minutes": config.minutes,
        "every_minutes": config.every_minutes,
        "bootstrap": {
            "resamples": config.bootstrap,
            "block": effective_block(config.block, len(sides["real"]["tables"])),
            "level": LEVEL,
            "interval": "basic",
            "over": "start windows, circular blocks of consecutive starts; real and simulated resampled jointly",
        },
        **scores.score(
            {name: side["tables"] for name, side in sides.items()},
            config.backgrounds,
            config.minutes,
            measured["start_hours"],
            config.bootstrap,
            config.block,
            config.seed,
        ),
    }
    result["ceiling"].update(
        {"definition": config.ceiling_definition(len(days)), "window": list(config.ceiling_window)}
    )
    bars = {REPLAY: sides["real"]["bars"], **{bg: sides[bg]["bars"] for bg in config.backgrounds}}
    facts = {bg: stylized_facts.evaluate_facts(b, n_boot=FACT_RESAMPLES, seed=config.seed) for bg, b in bars.items()}
    result["facts"] = {bg: {f: scores.fact_summary(f, facts[bg][f]) for f in stylized_facts.FACTS} for bg in facts}
    result["facts_detail"] = facts
    return result


def evaluation_dir(config: RealismConfig, root: Path | None = None) -> Path:
    """<runs root>/realism/<SYMBOL>-<config hash>: `mars realism` and the Realism page reopen (and resume) the same
    directory for the same evaluation."""
    folder = (runs_root() if root is None else root) / EVALUATIONS_DIR
    return named_dir(folder, config.symbol, config.model_dump(mode="json"))
