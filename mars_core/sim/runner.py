"""The runner: N rollouts of a configuration into a run directory, on every core, resumable.

Each arm of each rollout (`arms`) is run by its background's driver (`backgrounds`): a
per-arm background makes each arm one task of a process pool; the generative background
advances an arm's rollouts in lockstep (`lockstep`). Finished arms are skipped on resume,
and `summary.json` counts every finished arm when the run ends, over the wall time of every
session that ran into the directory. One process at a time runs into a directory (its lock);
`stop_run(path)` stops a run promptly, its workers killed (`pool`). The tasks run on an `executor`: local
processes writing their arms into the run directory, or Ray tasks whose arms come back to this process to be
written (`ship_arm`, `land_arm`), so a cluster's workers need no access to the store.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mars_core.sim.arms import (
    ArmOutput,
    Progress,
    Shipped,
    land_arm,
    load_config_day,
    make_agents,
    make_simulator,
    report_progress,
)
from mars_core.sim.backgrounds import background, make_background
from mars_core.sim.config import SimConfig
from mars_core.sim.executor import LOCAL, Executor, run_units
from mars_core.sim.pool import stoppable
from mars_core.store import RunDir

Task = tuple[SimConfig, str, int, str]  # (config, run directory, rollout, arm)


@dataclass(frozen=True)
class RunSummary:
    run_dir: str
    rollouts: int
    arms: int
    orders: int
    trades: int
    seconds: float

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": self.run_dir,
            "rollouts": self.rollouts,
            "arms": self.arms,
            "orders": self.orders,
            "trades": self.trades,
            "seconds": round(self.seconds, 3),
            "orders_per_s": round(self.orders_per_s, 1),
        }


def run_simulation(
    config: SimConfig,
    out: str | Path,
    data_dir: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    model_path: str | None = None,
    stop: threading.Event | None = None,
    wait: bool = False,
    executor: Executor = LOCAL,
) -> RunSummary:
    """Run (or resume) every rollout arm of `config` into the run directory `out`.

    Args:
        model_path: the order model of the generative background (default: the shipped one).
        stop: set it (or call `stop_run(out)`) to stop the run: it raises `Cancelled`, its workers killed.
        wait: when another process runs into `out`, wait for it instead of refusing.
        executor: where the arms run (`executor`); either way they land in `out` and resume the same way.
    """
    load_config_day(config, data_dir)  # validate before creating anything
    run = RunDir.create(out, config.model_dump(mode="json"))
    with run.lock(wait), stoppable(run.path, stop) as flag:
        run.clean_stale()
        before, started = run.elapsed(), time.perf_counter()

        def timed(done: int, total: int, summary: dict[str, Any]) -> None:
            run.set_elapsed(before + time.perf_counter() - started)  # a killed session's time still counts
            report_progress(progress, done, total, summary)

        driver = background(config.background)
        if driver.lockstep:
            driver.drive([(config, run)], data_dir, workers, timed, model_path, stop=flag, executor=executor)
        else:
            tasks = pending_tasks(config, run)
            total = config.rollouts * len(config.arms)
            run_tasks(
                tasks,
                data_dir,
                workers,
                timed,
                done_before=total - len(tasks),
                total=total,
                stop=flag,
                executor=executor,
            )
        seconds = before + time.perf_counter() - started
        run.set_elapsed(seconds)
        return finalize(run, config, seconds)


def run_arm(config: SimConfig, run_path: str, rollout: int, arm: str, data_dir: str | None) -> dict[str, Any]:
    """Simulate one arm of one rollout with a per-arm background into the run directory; returns its summary."""
    day = load_config_day(config, data_dir)
    output = ArmOutput(RunDir(run_path), rollout, arm, day)
    try:
        agents = make_agents(config, day, arm)
        bg = make_background(config.background, day, config.noise_fit_until_ts)
        sim = make_simulator(config, day, bg, agents, rollout, output)
        return output.commit(sim.run(), agents, config)
    except BaseException:
        output.abort()
        raise


def pending_tasks(config: SimConfig, run: RunDir) -> list[Task]:
    """The arms of `config` not yet finished in `run`."""
    return [
        (config, str(run.path), r, arm)
        for r in range(config.rollouts)
        for arm in config.arms
        if not run.is_done(r, arm)
    ]


def run_tasks(
    tasks: list[Task],
    data_dir: str | None,
    workers: int | None = None,
    progress: Progress | None = None,
    done_before: int = 0,
    total: int | None = None,
    stop: threading.Event | None = None,
    executor: Executor = LOCAL,
) -> list[dict[str, Any]]:
    """Run rollout arms on `executor` (locally in this process when one worker); returns their summaries.

    Raises `Cancelled` soon after `stop` is set (between arms in this process; at once, workers killed, in a pool).
    """
    total = done_before + len(tasks) if total is None else total
    summaries: list[dict[str, Any]] = []

    def finished(summary: dict[str, Any]) -> None:
        summaries.append(summary)
        report_progress(progress, done_before + len(summaries), total, summary)

    units = [(*task, data_dir) for task in tasks]
    if executor.remote:
        run_units(ship_arm, units, executor, workers, lambda shipped: finished(land_arm(*shipped)), stop)
    else:
        run_units(_run_arm_unit, units, executor, workers, finished, stop, start_method="fork")
    return summaries


def _run_arm_unit(unit: tuple[SimConfig, str, int, str, str | None]) -> dict[str, Any]:
    return run_arm(*unit)


def ship_arm(unit: tuple[SimConfig, str, int, str, str | None]) -> Shipped:
    """Run one arm into a scratch directory on this (possibly remote) worker and pack its files for `land_arm`."""
    config, run_path, rollout, arm, data_dir = unit
    with tempfile.TemporaryDirectory(prefix="mars-arm-") as scratch:
        summary = run_arm(config, scratch, rollout, arm, data_dir)
        return run_path, rollout, arm, summary, RunDir(scratch).arm_files(rollout, arm)


def finalize(run: RunDir, config: SimConfig, seconds: float) -> RunSummary:
    """Write summary.json from every finished arm."""
    arms = [run.arm_summary(r, a) for r, a in run.finished()]
    summary = RunSummary(
        run_dir=str(run.path),
        rollouts=config.rollouts,
        arms=len(arms),
        orders=sum(a["orders"] for a in arms),
        trades=sum(a["trades"] for a in arms),
        seconds=seconds,
    )
    run.write_summary(summary.to_dict() | {"arms_detail": arms})
    return summary
