"""`mars rl ...`: train the execution agent (paper Sec. 4.4) and score it on held-out starts against the paper's TWAPs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from mars_core.cli.options import (
    DataDirOption,
    ExecutorOption,
    JsonOption,
    RayAddressOption,
    ResumeOption,
    ThreadsOption,
    emit,
    executor_of,
    folder,
    set_threads,
    symbol_list,
)
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments.executor import run_units
from mars_core.settings import once
from mars_core.store import write_json

rl_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Train and evaluate the execution agent.")


@rl_app.command("train")
def train(
    out: Annotated[str, typer.Option("--out", callback=folder, help="Output folder (policy.pt, metrics.jsonl, ...).")],
    timesteps: Annotated[
        int, typer.Option("--timesteps", min=1, help="Environment steps (5-min episodes x 10).")
    ] = 80_000,
    background: Annotated[str, typer.Option("--background", help="noise or replay.")] = "noise",
    volume: Annotated[int, typer.Option("--volume", min=1, help="Shares to buy in 5 minutes.")] = 2000,
    eval_every: Annotated[int, typer.Option("--eval-every", min=1, help="Updates between validation scores.")] = 10,
    symbols: Annotated[list[str], typer.Option("--symbols", help="Days' symbols (2012-06-21).")] = ["GOOG", "AMZN"],  # noqa: B006
    envs: Annotated[int, typer.Option("--envs", min=1, help="Environments per update.")] = 8,
    n_steps: Annotated[int, typer.Option("--n-steps", min=10, help="Steps per environment per update.")] = 64,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the environments and the network.")] = 0,
    resume: ResumeOption = False,
    threads: ThreadsOption = 1,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """PPO on GOOG and AMZN starts before 14:30; checkpoints every --eval-every updates (--resume continues)."""
    from mars_core.rl.train import RLTrainConfig, train_agent

    set_threads(threads)
    cfg = RLTrainConfig.from_dict(
        {
            "symbols": tuple(symbol_list(symbols)),
            "background": background,
            "volume": volume,
            "timesteps": timesteps,
            "envs": envs,
            "n_steps": n_steps,
            "batch_size": min(128, envs * n_steps),
            "eval_every": eval_every,
            "seed": seed,
            "data_dir": data_dir,
        },
        where="rl train options",
    )

    def progress(row: dict) -> None:
        typer.echo(
            f"update {row['update']}/{row['updates']}  steps {row['timesteps']:,}  "
            f"validation: {row['val_advantage_bps']:+.2f} bps vs L1-P0.9, fulfillment {row['val_fulfillment']:.3f}  "
            f"({row['seconds']:.0f}s)",
            err=True,
        )

    summary = train_agent(cfg, out, resume=resume, progress=progress)
    human = (
        f"{summary['updates']} updates, {summary['timesteps']:,} steps in {summary['seconds']:.0f}s; "
        f"validation (before 14:30) {summary['val_advantage_bps']:+.2f} bps vs L1-P0.9\nsaved {summary['policy']}"
    )
    emit({k: v for k, v in summary.items() if k != "train_config"}, as_json, human)


@rl_app.command("evaluate")
def evaluate(
    background: Annotated[str, typer.Option("--background", help="noise, replay or lmm (the order model).")] = "noise",
    policy: Annotated[str | None, typer.Option("--policy", help="policy.pt (default: the shipped agent).")] = None,
    seeds: Annotated[
        int | None, typer.Option("--seeds", min=1, help="Seeds per start (default: lmm 2, else 8).")
    ] = None,
    every_s: Annotated[int, typer.Option("--every-s", min=60, help="Seconds between held-out starts.")] = 360,
    symbols: Annotated[list[str], typer.Option("--symbols", help="Days' symbols (2012-06-21).")] = ["GOOG", "AMZN"],  # noqa: B006
    out: Annotated[
        str | None, typer.Option("--out", help="Write the scoreboard and every episode to this JSON file.")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes (local) or tasks in flight (ray).")] = 1,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score the agent on held-out starts (14:30-15:54 of each day) against the paper's four TWAPs, common seeds."""
    from mars_core.rl.evaluate import EvalUnit, check_policy, evaluate_unit, held_out_starts, shipped_policy, summarize

    path = str(check_policy(policy)) if policy else str(shipped_policy())
    try:
        names = once(tuple(symbol_list(symbols)))
    except ValueError as err:
        raise ConfigError(f"--symbols: {err}") from None
    if out and Path(out).is_dir():
        raise MarsInputError(f"--out {out} is a folder; give the JSON file to write")
    run_on = executor_of(executor, ray_address)
    n = seeds or (2 if background == "lmm" else 8)
    units = [
        EvalUnit(s, "2012-06-21", start, tuple(range(n)), background, path, data_dir=data_dir)
        for s in names
        for start in held_out_starts(every_s)
    ]
    started, done = time.perf_counter(), []

    def progress(rows: list[dict]) -> None:
        done.append(rows)
        typer.echo(f"{len(done)}/{len(units)} {rows[0]['symbol']} {rows[0]['start']}", err=True)

    results = run_units(evaluate_unit, units, run_on, workers, on_result=progress)
    rows = [r for unit_rows in results for r in unit_rows]
    summary = summarize(rows, background) | {"seconds": round(time.perf_counter() - started, 1), "policy": path}
    if out:
        write_json(Path(out), {"summary": summary, "episodes": rows})
    lines = [
        f"{background}: agent vs {name}: {v['advantage_bps']:+.2f} bps [{v['ci'][0]:+.2f}, {v['ci'][1]:+.2f}], "
        f"fulfillment {summary['fulfillment']:.3f} vs {v['fulfillment']:.3f}"
        for name, v in summary["versus"].items()
    ]
    interface = ("background", "baseline", "advantage_bps", "ci", "fulfillment", "baseline_fulfillment", "episodes")
    emit({k: summary[k] for k in interface}, as_json, "\n".join(lines))
