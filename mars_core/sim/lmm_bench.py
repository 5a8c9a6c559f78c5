"""Benchmark of the generative background: orders generated and matched per second.

`mars bench generate --json`: the shipped order model drives B rollouts in
lockstep from one start (one process, one torch thread), with the KV cache and
with the window recomputed at every step (what MarS's released code does). An
order counts when it was decoded and sent to the exchange; recording of the
order log, trades and book snapshots is included.
"""

from __future__ import annotations

import time

from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.engine import parse_clock
from mars_core.sim.lmm_background import LMMBackground, LockstepGroup, history_context, loaded_model, torch_threads
from mars_core.sim.rollouts import rollout_seed
from mars_core.sim.simulator import Simulator

START = "14:40"


def orders_per_s(day, batch: int, steps: int, use_cache: bool, seed: int = 0) -> float:
    """Generated (decoded, matched, recorded) orders per second of B rollouts over `steps` lockstep steps."""
    model = loaded_model()
    start = parse_clock(START)
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
        before, started = group.generated, time.perf_counter()
        for _ in range(steps):
            group.step()
        seconds = time.perf_counter() - started
    return (group.generated - before) / seconds


def run(
    symbol: str = "GOOG",
    date: str = "2012-06-21",
    data_dir: str | None = None,
    batches: tuple[int, ...] = (1, 16, 64),
    steps: int = 200,
    nocache_steps: int = 40,
) -> dict:
    day = load_day(find_dataset(symbol, date, resolve_data_dir(data_dir)))
    cached = {str(b): round(orders_per_s(day, b, steps, True)) for b in batches}
    nocache = {str(b): round(orders_per_s(day, b, nocache_steps, False)) for b in batches}
    return {
        "orders_per_s": cached,
        "orders_per_s_nocache": nocache,
        "speedup": {b: round(cached[b] / max(nocache[b], 1), 1) for b in cached},
        "model": loaded_model().summary.get("size", "shipped"),
        "start": f"{symbol} {date} {START}",
        "steps": steps,
    }
