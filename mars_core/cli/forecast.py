"""`mars forecast` (one moment), `mars forecast evaluate` (the held-out scoreboard) and `mars forecast train-deeplob`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from analysis.forecast_labels import CLASSES
from mars_core.cli.options import (
    DataDirOption,
    ExecutorOption,
    JsonOption,
    RayAddressOption,
    emit,
    executor_of,
    folder,
    set_threads,
)
from mars_core.engine import format_clock
from mars_core.experiments import forecast as fc
from mars_core.experiments.forecast_eval import DATE, ForecastConfig, evaluate
from mars_core.model import deeplob as dl
from mars_core.model.deeplob import DeepLOBTrainConfig
from mars_core.paths import DEEPLOB_DIR
from mars_core.settings import SEED_MAX

forecast_app = typer.Typer(
    help="Forecasting by simulation (paper Sec. 4.1): the trend at 1-5 minutes from many simulated futures.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@forecast_app.callback()
def forecast_command(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Option(help="Stock.")] = "GOOG",
    date: Annotated[str, typer.Option(help="Trading day (YYYY-MM-DD).")] = DATE,
    at: Annotated[str, typer.Option("--at", help="The moment (HH:MM[:SS]).")] = "15:00",
    rollouts: Annotated[int, typer.Option(min=1, max=256, help="Simulated futures.")] = 16,
    background: Annotated[str, typer.Option(help="lmm (the order model) or noise.")] = "lmm",
    seed: Annotated[int, typer.Option(min=0, max=SEED_MAX)] = 0,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Forecast one moment: R rollouts from the real book, vote shares per horizon, and what really happened."""
    if ctx.invoked_subcommand is not None:
        return
    m = fc.forecast_moment(symbol, date, at, rollouts, background, seed, data_dir=data_dir)
    f = m.forecast
    result = {
        "symbol": m.symbol,
        "date": m.date,
        "at": format_clock(m.at),
        "background": m.background,
        "rollouts": rollouts,
        "horizons": list(fc.HORIZONS),
        "probabilities": f.shares.tolist(),
        "majority": [CLASSES[c] if c >= 0 else None for c in f.majority],
        "mean_label_class": [CLASSES[c] if c >= 0 else None for c in f.mean_class],
        "actual": [CLASSES[c] if c >= 0 else None for c in m.truth],
        "realised_vol": {"forecast": f.vol, "naive": m.naive_vol, "actual": m.real_vol},
        "mean_spread": {"forecast": f.spread, "naive": m.naive_spread, "actual": m.real_spread},
        "seconds": round(m.seconds, 1),
    }
    rows = "\n".join(
        f"  {k} min: down {p[0]:.0%} flat {p[1]:.0%} up {p[2]:.0%} -> {a} (actual {b})"
        for k, p, a, b in zip(fc.HORIZONS, f.shares, result["majority"], result["actual"])
    )
    emit(result, as_json, f"{m.symbol} {m.date} {result['at']}, {rollouts} {background} rollouts:\n{rows}")


@forecast_app.command("evaluate")
def evaluate_command(
    symbols: Annotated[list[str] | None, typer.Option("--symbols", help="Stocks (default GOOG and AMZN).")] = None,
    rollouts: Annotated[int, typer.Option(min=1, max=256, help="Rollouts per start point.")] = 16,
    every_minutes: Annotated[int, typer.Option(min=1, max=30, help="Spacing of the start points.")] = 2,
    backgrounds: Annotated[list[str] | None, typer.Option("--backgrounds", help="lmm and/or noise.")] = None,
    calibrate_every: Annotated[
        int,
        typer.Option(
            min=0,
            max=120,
            help="Also score MarS at its own thresholds, the tertiles of its futures' labels from training-period "
            "moments this many minutes apart (0: not).",
        ),
    ] = 0,
    seed: Annotated[int, typer.Option(min=0, max=SEED_MAX)] = 0,
    out: Annotated[Path | None, typer.Option(callback=folder, help="Evaluation folder (resumed).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes or Ray tasks (default: all cores).")] = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    deeplob: Annotated[Path | None, typer.Option(help="DeepLOB checkpoint (default: the shipped one).")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score MarS, DeepLOB, the noise background, majority class and persistence on the held-out afternoons."""
    config = ForecastConfig.from_dict(
        {
            "symbols": tuple(symbols or ("GOOG", "AMZN")),
            "backgrounds": tuple(backgrounds or ("lmm", "noise")),
            "rollouts": rollouts,
            "every_minutes": every_minutes,
            "calibrate_every": calibrate_every,
            "seed": seed,
        },
        where="forecast evaluate options",
    )
    if deeplob is not None:
        dl.load(deeplob)  # a checkpoint given by name is read before the simulations (the default may be absent)
    started = time.perf_counter()
    with tqdm(desc="units", unit="unit", disable=as_json) as bar:

        def done(finished: int, total: int) -> None:
            bar.total, bar.n = total, finished
            bar.refresh()

        result = evaluate(
            config, out, data_dir, workers, done, str(deeplob) if deeplob else None, executor_of(executor, ray_address)
        )
    result["seconds"] = round(time.perf_counter() - started, 1)
    lines = [f"{result['starts']} start points x {config.rollouts} rollouts; accuracy (chance 1/3) per horizon:"]
    for name, acc in result["accuracy"].items():
        ci = result["ci"][name]
        lines.append(f"  {name:16s} " + "  ".join(f"{a:.3f} [{c[0]:.3f}, {c[1]:.3f}]" for a, c in zip(acc, ci)))
    emit(result, as_json, "\n".join(lines))


@forecast_app.command("train-deeplob")
def train_deeplob_command(
    symbols: Annotated[list[str] | None, typer.Option("--symbols", help="Stocks (default GOOG and AMZN).")] = None,
    date: Annotated[str, typer.Option(help="Trading day.")] = DATE,
    out: Annotated[Path, typer.Option(callback=folder, help="Output folder.")] = DEEPLOB_DIR,
    steps: Annotated[int, typer.Option(min=1)] = DeepLOBTrainConfig.steps,
    every_s: Annotated[int, typer.Option(min=1, help="Seconds between training moments.")] = fc.DEEPLOB_EVERY_S,
    seed: Annotated[int, typer.Option(min=0, max=SEED_MAX)] = 0,
    threads: Annotated[int, typer.Option(min=1)] = 1,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train DeepLOB on the training period (before 14:30) with the forecast's labels."""
    set_threads(threads)
    days = tuple((s.upper(), date) for s in (symbols or ("GOOG", "AMZN")))
    config = DeepLOBTrainConfig(steps=steps, seed=seed)
    loaded = fc.train_deeplob(days, out, config, every_s, data_dir, progress=not as_json)
    s = loaded.summary
    human = f"DeepLOB: {s['parameters']:,} parameters, best validation loss {s['best']['val_loss']:.4f} at step {s['best']['step']}, {s['seconds']} s"
    emit(s, as_json, human)
