"""Benchmarks of the simulator: orders per second with the noise background, and generated orders per second.

`mars bench sim --json`: the noise background on one core and on all cores. Memory is measured
per rollout in fresh processes for a short and a long run, to show it does not grow with run length.

`mars bench generate --json`: the shipped order model drives B rollouts in lockstep from one
start (one process, one torch thread), with the KV cache and with the window recomputed at
every step (what MarS's released code does). An order counts when it was decoded and sent to
the exchange; recording of the order log, trades and book snapshots is included.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import shutil
import tempfile
import time

from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.engine import parse_clock
from mars_core.model.checkpoint import cached_order_model
from mars_core.sim.agents.lmm import LMMBackground, LockstepGroup, history_context, torch_threads
from mars_core.sim.arms import rollout_seed
from mars_core.sim.config import SimConfig
from mars_core.sim.runner import run_arm, run_simulation
from mars_core.sim.simulator import Simulator
from mars_core.store import RunDir

START = "10:00"
GENERATE_START = "14:40"


def _config(symbol: str, date: str, minutes: float, rollouts: int) -> SimConfig:
    return SimConfig(
        symbol=symbol, date=date, start=START, minutes=minutes, rollouts=rollouts, background="noise", seed=1
    )


def _one_rollout(args: tuple) -> tuple[int, float, float]:
    """Run one arm in this (fresh) process; returns orders, seconds and the process's peak RSS in MB."""
    config, path, data_dir = args
    summary = run_arm(config, path, 0, "main", data_dir)
    return summary["orders"], summary["seconds"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _isolated(config: SimConfig, data_dir: str | None) -> tuple[int, float, float]:
    tmp = tempfile.mkdtemp(prefix="mars-bench-")
    try:
        RunDir.create(tmp, config.model_dump(mode="json"))
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            return pool.apply(_one_rollout, ((config, tmp, data_dir),))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(
    symbol: str = "GOOG",
    date: str = "2012-06-21",
    data_dir: str | None = None,
    short_minutes: float = 30,
    long_minutes: float = 240,
) -> dict:
    """Figures for the README.

    One core: simulated orders per second of a long rollout's loop (recording and Parquet
    writing included). All cores: total orders of 2 x cores long rollouts over the wall time,
    process start, data loading and warm-up included. RSS: a short and a long rollout, each
    alone in a fresh process.
    """
    short_orders, short_seconds, short_rss = _isolated(_config(symbol, date, short_minutes, 1), data_dir)
    long_orders, long_seconds, long_rss = _isolated(_config(symbol, date, long_minutes, 1), data_dir)
    cores = os.cpu_count() or 1
    tmp = tempfile.mkdtemp(prefix="mars-bench-")
    try:
        started = time.perf_counter()
        summary = run_simulation(
            _config(symbol, date, long_minutes, 2 * cores), os.path.join(tmp, "run"), data_dir, cores
        )
        wall = time.perf_counter() - started
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "orders_per_s_one_core": round(long_orders / long_seconds),
        "orders_per_s_all_cores": round(summary.orders / wall),
        "cores": cores,
        "all_cores_rollouts": summary.rollouts,
        "short_minutes": short_minutes,
        "long_minutes": long_minutes,
        "orders_long_rollout": long_orders,
        "peak_rss_mb_short": round(short_rss, 1),
        "peak_rss_mb": round(long_rss, 1),
    }


def orders_per_s(day, batch: int, steps: int, use_cache: bool, seed: int = 0) -> tuple[float, float]:
    """Generated (decoded, matched, recorded) orders per second of B rollouts over `steps` lockstep steps: per
    second of wall time, and per second of this process's CPU time (what a core gives when nothing else runs)."""
    model = cached_order_model()
    start = parse_clock(GENERATE_START)
    end = start + 3600 * 10**9  # long enough not to end during the measurement
    sims = [Simulator(day, start, end, LMMBackground(), seed=rollout_seed(seed, r)) for r in range(batch)]
    group = LockstepGroup(
        sims,
        [rollout_seed(seed, r) for r in range(batch)],
        model,
        history_context(day, start, model),
        use_cache=use_cache,
    )
    with torch_threads(1):
        group.step()  # first step pays one-off costs
        before, started, cpu = group.generated, time.perf_counter(), time.process_time()
        for _ in range(steps):
            group.step()
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return (group.generated - before) / seconds, (group.generated - before) / cpu_seconds


def run_generate(
    symbol: str = "GOOG",
    date: str = "2012-06-21",
    data_dir: str | None = None,
    batches: tuple[int, ...] = (16, 64, 256),
    steps: int = 200,
    nocache_steps: int = 40,
) -> dict:
    day = load_day(find_dataset(symbol, date, resolve_data_dir(data_dir)))
    cached = {str(b): orders_per_s(day, b, steps, True) for b in batches}
    nocache = {str(b): orders_per_s(day, b, nocache_steps, False) for b in batches}
    return {
        "orders_per_s": {b: round(wall) for b, (wall, _) in cached.items()},
        "orders_per_s_nocache": {b: round(wall) for b, (wall, _) in nocache.items()},
        "orders_per_cpu_s": {b: round(cpu) for b, (_, cpu) in cached.items()},
        "load_average": round(os.getloadavg()[0], 2),
        "speedup": {b: round(cached[b][0] / max(nocache[b][0], 1), 1) for b in cached},
        "model": cached_order_model().summary.get("size", "shipped"),
        "start": f"{symbol} {date} {GENERATE_START}",
        "steps": steps,
    }
