"""Simulator benchmark: orders per second with the noise background, one core and all cores.

Run with `mars bench sim --json`. Memory is measured per rollout in fresh
processes for a short and a long run, to show it does not grow with run length.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import shutil
import tempfile
import time

from mars_core.sim.config import SimConfig
from mars_core.sim.rollouts import run_arm, run_simulation
from mars_core.store import RunDir

START = "10:00"


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
