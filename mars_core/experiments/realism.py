"""Realism evaluation: simulated futures against the real day (paper Sec. 3.1, App. I, J).

Start points are spread over the held-out part of each day (the generative
model's validation window, 14:30-16:00). From each, every simulated background
runs `rollouts` futures of `minutes` minutes; the real day over the same
minutes is the replay reference. Minute bars (from trades and mids) feed Cont's
stylized facts; per start point, the window metrics of Table 7 (volatility,
spread, order volume, aggressive and buy ratios, 1-5 minute returns) give the
distribution similarity and 3-class accuracy of each background.

Layout of an evaluation directory:
    realism.json                 the configuration
    runs/<background>/<start>/   run directories of the simulations
    facts.json, table6.csv, table7.json, summary.json
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field, field_validator

from analysis import similarity, stylized_facts
from mars_core.data import (
    LobsterDay,
    discover,
    find_dataset,
    load_day,
    minute_bars,
    resolve_data_dir,
)
from mars_core.data.orderflow import Action, order_flow
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.engine import format_clock, parse_clock
from mars_core.errors import ConfigError
from mars_core.paths import runs_root
from mars_core.settings import Settings
from mars_core.sim.arms import Progress
from mars_core.sim.backgrounds import background
from mars_core.sim.config import SimConfig
from mars_core.sim.runner import pending_tasks, run_simulation, run_tasks
from mars_core.store import RunDir, claim_directory, named_dir, write_json

REPLAY = "replay"
MARKER = "realism.json"  # an evaluation directory holds its configuration in this file
FILES = ("facts.json", "table7.json", "summary.json")  # written when it has finished (summary.json last)
HELD_OUT = ("14:30", "16:00")
EVALUATIONS_DIR = "realism"  # evaluations without a given directory go to <runs root>/realism/<SYMBOL>-<config hash>


class RealismConfig(Settings):
    """What to evaluate; `backgrounds` are the simulated ones (the replay is always the reference)."""

    symbol: str
    dates: tuple[str, ...] = ()  # empty: every catalogued day of the symbol
    backgrounds: tuple[str, ...] = ("noise",)
    window: tuple[str, str] = HELD_OUT
    minutes: int = Field(30, ge=5, le=90, description="length of each simulated future")
    every_minutes: int = Field(5, ge=1, le=60, description="spacing of the start points")
    rollouts: int = Field(4, ge=1, le=256)
    seed: int = 0

    @field_validator("backgrounds")
    @classmethod
    def _known(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(v.strip().lower() for v in values if v.strip() and v.strip().lower() != REPLAY)
        for v in out:
            if v not in ("noise", "lmm"):
                raise ValueError(f"background {v!r} is not one of replay, noise, lmm")
        return out

    def start_times(self) -> list[str]:
        first, last = (parse_clock(t) for t in self.window)
        starts = range(first, last - self.minutes * NS_PER_MINUTE + 1, self.every_minutes * NS_PER_MINUTE)
        if not starts:
            raise ConfigError(
                f"window {self.window[0]}-{self.window[1]} is shorter than one {self.minutes}-minute future"
            )
        return [format_clock(t)[:5] for t in starts]


def days_of(config: RealismConfig, data_dir: str | None) -> list[LobsterDay]:
    root = resolve_data_dir(data_dir)
    dates = config.dates or tuple(i.date.isoformat() for i in discover(root) if i.symbol == config.symbol.upper())
    if not dates:
        raise ConfigError(f"no catalogued day of {config.symbol} in {root}")
    return [load_day(find_dataset(config.symbol, d, root)) for d in dates]


def sim_config(config: RealismConfig, day: LobsterDay, background: str, start: str) -> SimConfig:
    return SimConfig(
        symbol=day.info.symbol,
        date=day.info.date.isoformat(),
        start=start,
        minutes=config.minutes,
        rollouts=config.rollouts,
        background=background,
        seed=config.seed,
    )


def real_orders(day: LobsterDay, start_ns: int, end_ns: int) -> pd.DataFrame:
    """The day's order flow in a window, in the columns `similarity.window_metrics` reads."""
    flow = order_flow(day)
    keep = (flow.ts >= start_ns) & (flow.ts < end_ns)
    return pd.DataFrame(
        {
            "side": flow.side[keep],
            "qty": flow.qty[keep],
            "aggressive": flow.aggressive[keep],
            "event": flow.action[keep],
        }
    )


def sim_orders(run: RunDir, rollout: int) -> pd.DataFrame:
    """A rollout's accepted orders; a submission is aggressive when it traded on arrival."""
    orders = run.table("orders", rollout, "main")
    trades = run.table("trades", rollout, "main")
    orders = orders[orders["status"] == 0]
    takers = set(trades["taker_id"].tolist()) if len(trades) else set()
    return pd.DataFrame(
        {
            "side": orders["side"].to_numpy(),
            "qty": orders["qty"].to_numpy(),
            "aggressive": orders["order_id"].isin(takers).to_numpy() & (orders["event"] == Action.SUBMIT).to_numpy(),
            "event": orders["event"].to_numpy(),
        }
    )


def run_realism(
    config: RealismConfig,
    out: str | Path,
    data_dir: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate every background from every start point and compare with the real day."""
    started = time.perf_counter()
    out = Path(out)
    days = days_of(config, data_dir)
    starts = config.start_times()
    for day in days:
        for start in starts:
            sim_config(config, day, "noise", start).check_window(day.info)
    claim_directory(out, MARKER, config.model_dump(mode="json"), "realism evaluation")
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
    run_tasks(tasks, data_dir, workers, step)
    for (bg, _, _), (c, r) in runs.items():
        if background(bg).lockstep:
            counter[0] += c.rollouts - len(pending_tasks(c, r))
            run_simulation(c, r.path, data_dir, workers, step)
    result = evaluate(config, days, starts, runs)
    for name, value in (("facts.json", result["facts_detail"]), ("table7.json", result["metrics"])):
        write_json(out / name, value)
    result["facts_table"].to_csv(out / "table6.csv")
    summary = {
        "metrics": result["metrics"],
        "facts": result["facts"],
        "starts": len(starts) * len(days),
        "rollouts": config.rollouts,
        "seconds": round(time.perf_counter() - started, 2),
        "dir": str(out),
    }
    write_json(out / "summary.json", summary)
    return summary


def evaluate(config: RealismConfig, days: list[LobsterDay], starts: list[str], runs: dict) -> dict[str, Any]:
    """Stylized facts and Table 7 from the finished runs and the real days."""
    real_bars, real_windows = [], []
    for day in days:
        first, last = (parse_clock(t) for t in config.window)
        real_bars.append(minute_bars(day, first, last))
        for start in starts:
            t0 = parse_clock(start)
            t1 = t0 + config.minutes * NS_PER_MINUTE
            real_windows.append(similarity.window_metrics(minute_bars(day, t0, t1), real_orders(day, t0, t1)))
    facts = {REPLAY: stylized_facts.evaluate_facts(real_bars, seed=config.seed)}
    sims: dict[str, list[list[dict]]] = {}
    for bg in config.backgrounds:
        bars, windows = [], []
        for day in days:
            for start in starts:
                _, run = runs[(bg, day.info.key, start)]
                per_rollout = []
                for r in range(config.rollouts):
                    b = run.table("bars", r, "main").drop(columns=["rollout", "arm"])
                    bars.append(b)
                    per_rollout.append(similarity.window_metrics(b, sim_orders(run, r)))
                windows.append(per_rollout)
        facts[bg] = stylized_facts.evaluate_facts(bars, seed=config.seed)
        sims[bg] = windows
    metrics = similarity.table7(real_windows, sims)
    table = stylized_facts.facts_table(facts)
    presence = {fact: {bg: bool(facts[bg][fact]["present"]) for bg in facts} for fact in stylized_facts.FACTS}
    return {"metrics": metrics, "facts": presence, "facts_detail": facts, "facts_table": table}


def evaluation_dir(config: RealismConfig, root: Path | None = None) -> Path:
    """<runs root>/realism/<SYMBOL>-<config hash>: `mars realism` and the Realism page reopen (and resume) the same
    directory for the same evaluation."""
    folder = (runs_root() if root is None else root) / EVALUATIONS_DIR
    return named_dir(folder, config.symbol, config.model_dump(mode="json"))
