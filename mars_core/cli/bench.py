"""`mars bench ...`: benchmarks of the hot paths; `--json` for the figures."""

from __future__ import annotations

import os
import time
from typing import Annotated

import numpy as np
import typer

from mars_core.cli.options import DataDirOption, JsonOption, ThreadsOption, counts, emit, set_threads
from mars_core.control import bench as control_bench
from mars_core.data import resolve_data_dir
from mars_core.engine import bench as engine_bench
from mars_core.experiments import scaling
from mars_core.model import bench as model_bench
from mars_core.model.checkpoint import load_batch_model
from mars_core.sim import bench as sim_bench

MAX_ROLLOUTS = 1024  # rollouts (or candidates) sampled together in one measurement

bench_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Benchmarks of the hot paths; --json for figures."
)


@bench_app.command("engine")
def bench_engine(
    symbol: Annotated[str, typer.Option(help="Day to replay.")] = "GOOG",
    date: Annotated[str, typer.Option(help="Trading date.")] = "2012-06-21",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay throughput on a full day and order throughput into a deep book (one core)."""

    result = engine_bench.run(symbol, date, str(resolve_data_dir(data_dir)))
    human = (
        f"replay {result['replay_msgs_per_s']:,} msg/s (verified), {result['replay_msgs_per_s_no_verify']:,} msg/s (plain)\n"
        f"deep book ({result['deep_book_resting_orders']:,} resting, {result['deep_book_orders_per_level']:,}/level): "
        f"{result['deep_book_orders_per_s']:,} orders/s\npeak RSS {result['peak_rss_mb']} MB"
    )
    emit(result, as_json, human)


@bench_app.command("sim")
def bench_sim(
    symbol: Annotated[str, typer.Option(help="Day to simulate.")] = "GOOG",
    date: Annotated[str, typer.Option(help="Trading date.")] = "2012-06-21",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Simulated orders per second with the noise background: one rollout on one core, then all cores."""

    result = sim_bench.run(symbol, date, data_dir)
    human = (
        f"noise background: {result['orders_per_s_one_core']:,} orders/s on one core, "
        f"{result['orders_per_s_all_cores']:,} orders/s on {result['cores']} cores; "
        f"peak RSS per rollout {result['peak_rss_mb_short']} MB ({result['short_minutes']} min) vs "
        f"{result['peak_rss_mb']} MB ({result['long_minutes']} min)"
    )
    emit(result, as_json, human)


@bench_app.command("generate")
def bench_generate(
    symbol: Annotated[str, typer.Option(help="Day to simulate.")] = "GOOG",
    date: Annotated[str, typer.Option(help="Trading date.")] = "2012-06-21",
    steps: Annotated[int, typer.Option(min=1, max=100_000, help="Lockstep steps measured with the KV cache.")] = 200,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Orders generated and matched per second by the shipped order model at 16, 64 and 256 rollouts."""

    result = sim_bench.run_generate(symbol, date, data_dir, steps=steps)
    human = "\n".join(
        f"{b:>3} rollouts: {result['orders_per_s'][b]:>7,} orders/s with the KV cache "
        f"({result['orders_per_cpu_s'][b]:,} per CPU second), "
        f"{result['orders_per_s_nocache'][b]:>6,} recomputing the window ({result['speedup'][b]}x)"
        for b in result["orders_per_s"]
    )
    human += f"\nload average {result['load_average']} on {os.cpu_count()} cores"
    emit(result, as_json, human)


@bench_app.command("executor")
def bench_executor(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """A small impact study on 1 and 2 workers, locally and on Ray (one node, then a simulated two-node cluster),
    and each executor's overhead per task."""

    r = scaling.run(data_dir)
    c = r["cluster"]
    human = (
        f"{r['arms']} arms: local {r['local_seconds'][1]}s on 1 worker, {r['local_seconds'][2]}s on 2 "
        f"(x{r['speedup_local']}); Ray {r['ray_seconds'][1]}s / {r['ray_seconds'][2]}s (x{r['speedup_ray']}); "
        f"two-node cluster {c['seconds']}s, probe tasks per node {c['probe_tasks_per_node']}\n"
        f"overhead per task: local {r['local_task_ms']} ms, Ray {r['ray_task_ms']} ms, two nodes {c['task_ms']} ms "
        f"(load average {r['load_average'][0]} -> {r['load_average'][1]} on {r['cores']} cores)"
    )
    emit(r, as_json, human)


@bench_app.command("sampler")
def bench_sampler(
    model: Annotated[
        str | None, typer.Option("--model", help="model.pt or its folder (default: the shipped one).")
    ] = None,
    batches: Annotated[str, typer.Option("--batches", help="Comma-separated rollout counts.")] = "1,16,64",
    steps: Annotated[int, typer.Option("--steps", min=1, max=100_000, help="Sampled positions per measurement.")] = 300,
    threads: ThreadsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Raw sampling throughput (tokens/s) of the order model, with and without the KV cache, and the
    cost of a full 49,152-way output head for comparison."""

    set_threads(threads)
    result = model_bench.run(model, counts("--batches", batches, 1, MAX_ROLLOUTS), steps)
    human = "\n".join(
        f"B={b:>3}: {result['tokens_per_s'][b]:>9,.0f} tokens/s cached, "
        f"{result['tokens_per_s_nocache'][b]:>7,.0f} without cache"
        for b in result["tokens_per_s"]
    )
    human += (
        f"\nstep at B=64: factorised heads + sampling {result['head_ms']['factorised']:.2f} ms, "
        f"full 49,152-way head + multinomial {result['head_ms']['full']:.2f} ms"
    )
    emit(result, as_json, human)


@bench_app.command("batch-sampler")
def bench_batch_sampler(
    model: Annotated[
        str | None, typer.Option("--model", help="batch_model.pt or its folder (default: the shipped one).")
    ] = None,
    samples: Annotated[str, typer.Option("--samples", help="Comma-separated candidate counts.")] = "1,8,32",
    histories: Annotated[int, typer.Option("--histories", min=1, max=256, help="Histories sampled together.")] = 1,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, max=100, help="Timed draws per setting (the best is kept).")
    ] = 3,
    threads: ThreadsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Time `sample_next_minute` (15 minutes of history, one next minute, decoded to images)."""

    set_threads(threads)
    sizes = counts("--samples", samples, 1, MAX_ROLLOUTS)
    loaded = load_batch_model(model)
    rng = np.random.default_rng(0)
    V = loaded.model.config.vocab_size
    hist = rng.integers(0, V, (histories, loaded.context_minutes, 8, 8))
    result: dict = {"histories": histories, "context_minutes": loaded.context_minutes, "seconds": {}}
    for n in sizes:
        best = float("inf")
        for r in range(repeats):
            t = time.perf_counter()
            loaded.sample_next_minute(hist, n_samples=n, seed=r)
            best = min(best, time.perf_counter() - t)
        result["seconds"][n] = round(best, 4)
    human = "\n".join(
        f"{histories} x {n:>3} candidates: {s:.3f}s per next minute" for n, s in result["seconds"].items()
    )
    emit(result, as_json, human)


@bench_app.command("control")
def bench_control(
    minutes: Annotated[int, typer.Option("--minutes", min=1, max=60, help="Simulated minutes per measurement.")] = 3,
    batches: Annotated[str, typer.Option("--batches", help="Rollout counts, comma separated.")] = "16,64",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Orders per second of controlled vs uncontrolled generation (shipped models, one thread)."""

    sizes = tuple(counts("--batches", batches, 1, MAX_ROLLOUTS))
    r = control_bench.run(minutes=minutes, batches=sizes, data_dir=data_dir)
    human = "\n".join(
        f"{b:>3} rollouts: {r['orders_per_s'][b]:>6,} orders/s uncontrolled, {r['orders_per_s_controlled'][b]:>6,} "
        f"controlled (cost x{r['cost_ratio'][b]} in time, x{r['cost_ratio_per_order'][b]} per order)"
        for b in r["orders_per_s"]
    )
    emit(r, as_json, human)
