"""The lockstep runner of the generative background: an arm's rollouts advance together in one process.

One model call samples the next order of every rollout of a batch (`agents.lmm.LockstepGroup`),
so the pending rollouts of each arm form one group; the groups (treated and baseline) run
in parallel processes when there are cores for them. Arms are built and committed as the
per-arm runner builds them (`arms`), so their tables are the same kind.

Every pending group of one run or of many (a study's) is one work unit of the executor, so groups of different
runs go in parallel. An arm's rollouts all finish at the end of the group, so while it generates, the group
writes how far each rollout has simulated to `generating-<arm>.json` in the run directory
about once a second (`generation_progress` reads them): the dashboard follows a run there (not under Ray: a group on a Ray worker runs into a scratch directory and its
arms come back to be written when it ends, `ship_group`).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mars_core.data.schema import LobsterDay
from mars_core.model.checkpoint import LoadedModel, cached_order_model
from mars_core.sim.agents.lmm import LMMBackground, LockstepGroup, history_context, torch_threads
from mars_core.sim.arms import (
    ArmOutput,
    Progress,
    Shipped,
    land_arm,
    load_config_day,
    make_agents,
    make_simulator,
    report_progress,
    rollout_seed,
)
from mars_core.sim.config import SimConfig
from mars_core.sim.executor import LOCAL, Executor, run_units
from mars_core.store import RunDir, write_json

REPORT_EVERY_S = 1.0  # how often a generating group writes its rollouts' progress


def run_groups(
    runs: list[tuple[SimConfig, RunDir]],
    data_dir: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    model_path: str | None = None,
    stop: threading.Event | None = None,
    executor: Executor = LOCAL,
) -> None:
    """Every pending arm of these runs: one lockstep group per arm of each run, all mapped at once, in this process
    or one per worker (a process, or a Ray task whose arms come back here, `executor`).

    Raises `Cancelled` soon after `stop` is set (between groups in this process; at once, workers killed, in a pool).
    """
    units = [
        (config, str(run.path), arm, todo, data_dir, model_path)
        for config, run in runs
        for arm in config.arms
        if (todo := [r for r in range(config.rollouts) if not run.is_done(r, arm)])
    ]
    total = sum(config.rollouts * len(config.arms) for config, _ in runs)
    finished = total - sum(len(unit[3]) for unit in units)

    def group_done(summaries: list[dict[str, Any]]) -> None:
        nonlocal finished
        for summary in summaries:
            finished += 1
            report_progress(progress, finished, total, summary)

    if executor.remote:
        run_units(
            ship_group, units, executor, workers, lambda shipped: group_done([land_arm(*s) for s in shipped]), stop
        )
    else:  # spawn, not fork: a process forked after torch has started its thread pool can hang
        run_units(run_group_in_worker, units, executor, workers, group_done, stop, start_method="spawn")


GroupUnit = tuple[SimConfig, str, str, list[int], str | None, str | None]  # config, run, arm, rollouts, data, model


def run_group_in_worker(unit: GroupUnit) -> list[dict[str, Any]]:
    """`run_group` of a unit: loads the day and the model (each once per process)."""
    config, run_path, arm, rollouts, data_dir, model_path = unit
    return run_group(config, run_path, arm, rollouts, load_config_day(config, data_dir), cached_order_model(model_path))


def ship_group(unit: GroupUnit) -> list[Shipped]:
    """`run_group_in_worker` into a scratch directory on this (possibly remote) worker; its arms packed for
    `runner.land_arm`."""
    config, run_path, arm, rollouts, data_dir, model_path = unit
    with tempfile.TemporaryDirectory(prefix="mars-group-") as scratch:
        summaries = run_group_in_worker((config, scratch, arm, rollouts, data_dir, model_path))
        return [(run_path, r, arm, s, RunDir(scratch).arm_files(r, arm)) for r, s in zip(rollouts, summaries)]


def run_group(
    config: SimConfig, run_path: str, arm: str, rollouts: list[int], day: LobsterDay, model: LoadedModel
) -> list[dict[str, Any]]:
    """Simulate `rollouts` of one arm in lockstep and commit each; returns their summaries."""
    run = RunDir(run_path)
    outputs = {r: ArmOutput(run, r, arm, day) for r in rollouts}
    agents = {r: make_agents(config, day, arm) for r in rollouts}
    try:
        sims = [make_simulator(config, day, LMMBackground(), agents[r], r, outputs[r]) for r in rollouts]
        group = LockstepGroup(
            sims,
            [rollout_seed(config.seed, r) for r in rollouts],
            model,
            history_context(day, config.start_ts, model),
            temperature=config.lmm_temperature,
            top_p=config.lmm_top_p,
        )
        started = reported = time.perf_counter()
        with torch_threads(1):
            while group.rows:
                group.step()
                if time.perf_counter() - reported >= REPORT_EVERY_S:
                    report_generation(run, arm, rollouts, group, config)
                    reported = time.perf_counter()
        seconds = time.perf_counter() - started
        return [
            outputs[r].commit(sim.finish(seconds / len(rollouts)), agents[r], config) for r, sim in zip(rollouts, sims)
        ]
    except BaseException:
        for output in outputs.values():
            output.abort()
        raise
    finally:
        with contextlib.suppress(OSError):
            _progress_file(run, arm).unlink()


def _progress_file(run: RunDir, arm: str) -> Path:
    return run.path / f"generating-{arm}.json"


def report_generation(run: RunDir, arm: str, rollouts: list[int], group: LockstepGroup, config: SimConfig) -> None:
    """Write the share of the window each rollout of a generating group has simulated (1.0 once it reached the end)."""
    span = max(config.end_ts - config.start_ts, 1)
    done = {
        r: 1.0 if not group.active[b] else min(max((group.last_ts[b] - config.start_ts) / span, 0.0), 1.0)
        for b, r in enumerate(rollouts)
    }
    write_json(_progress_file(run, arm), {"arm": arm, "rollouts": done, "orders": group.generated})


def generation_progress(run_path: str | Path) -> dict[str, dict[str, Any]]:
    """The progress files of a run's generating groups by arm: {"rollouts": {rollout: share of the window}, "orders"}."""
    found = {}
    for path in sorted(Path(run_path).glob("generating-*.json")):
        with contextlib.suppress(OSError, ValueError):  # a group that just finished removed its file
            data = json.loads(path.read_text())
            found[data["arm"]] = data
    return found
