"""`mars simulate`, `mars export` and `mars bench sim`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from mars_core.cli import DataDirOption, JsonOption, emit
from mars_core.errors import ConfigError, MarsInputError
from mars_core.sim.config import SimConfig
from mars_core.sim.injected import InjectedOrders
from mars_core.sim.twap import TWAPConfig

TWAP_KEYS = {"side", "volume", "pvr", "ap", "duration", "interval", "aggressive"}


def parse_twap(spec: str) -> TWAPConfig:
    """'side=buy,volume=2000,pvr=0.9,ap=1[,duration=300,interval=30]' -> TWAPConfig."""
    fields: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in TWAP_KEYS:
            raise ConfigError(
                f"--twap {spec!r}: {part!r} is not key=value with a key among {', '.join(sorted(TWAP_KEYS))}"
            )
        value = value.strip()
        if key == "side":
            if value.lower() not in ("buy", "sell"):
                raise ConfigError(f"--twap {spec!r}: side must be buy or sell, was {value!r}")
            fields["side"] = 1 if value.lower() == "buy" else -1
        else:
            fields[{"duration": "duration_s", "interval": "interval_s", "aggressive": "aggressive_s"}.get(key, key)] = (
                value
            )
    return TWAPConfig.from_dict(fields, where=f"--twap {spec!r}")


def simulate(
    symbol: Annotated[str, typer.Option(help="Ticker, e.g. GOOG.")],
    date: Annotated[str, typer.Option(help="Trading date, YYYY-MM-DD.")],
    start: Annotated[str, typer.Option(help="Start time HH:MM[:SS].")] = "10:00",
    minutes: Annotated[float, typer.Option(help="Simulated minutes.")] = 5.0,
    rollouts: Annotated[int, typer.Option(help="Independent rollouts.")] = 8,
    background: Annotated[str, typer.Option(help="replay, noise or lmm.")] = "noise",
    seed: Annotated[int, typer.Option(help="Run seed.")] = 0,
    inject: Annotated[
        Path | None, typer.Option(help="CSV of injected orders (time,action,side,price,qty,client_id).")
    ] = None,
    twap: Annotated[
        list[str] | None, typer.Option(help="TWAP agent: side=buy,volume=2000,pvr=0.9,ap=1 (repeatable).")
    ] = None,
    paired: Annotated[
        bool, typer.Option("--paired/--unpaired", help="Also run each rollout without the agents.")
    ] = True,
    snapshot_interval_ms: Annotated[int, typer.Option(help="Book snapshot interval; 0 = every event.")] = 1000,
    workers: Annotated[int | None, typer.Option(help="Parallel processes (default: all cores).")] = None,
    out: Annotated[Path, typer.Option(help="Run directory (resumed if it holds the same configuration).")] = Path(
        "runs/sim"
    ),
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Simulate N futures from a moment of a real trading day."""
    from mars_core.data import find_dataset, resolve_data_dir
    from mars_core.sim.rollouts import run_simulation

    info = find_dataset(symbol, date, resolve_data_dir(data_dir))
    inject_csv = None
    if inject is not None:
        InjectedOrders.from_csv(inject, info.tick_size)  # errors name the file and the row
        inject_csv = inject.read_text()
    config = SimConfig.from_dict(
        {
            "symbol": symbol,
            "date": date,
            "start": start,
            "minutes": minutes,
            "rollouts": rollouts,
            "background": background,
            "seed": seed,
            "twap": [parse_twap(t) for t in twap or []],
            "inject_csv": inject_csv,
            "paired": paired,
            "snapshot_interval_ms": snapshot_interval_ms,
        }
    )
    with tqdm(total=rollouts * len(config.arms), desc="rollouts", unit="arm", disable=as_json) as bar:

        def progress(done: int, total: int, summary: dict) -> None:
            bar.n = done
            bar.refresh()

        summary = run_simulation(config, out, data_dir, workers, progress)
    result = summary.to_dict()
    human = (
        f"{summary.arms} rollout arms ({rollouts} rollouts) of {config.symbol} {config.date} {config.start} "
        f"+{config.minutes:g} min, background {config.background}: {summary.orders:,} orders, "
        f"{summary.trades:,} trades in {summary.seconds:.2f}s ({summary.orders_per_s:,.0f} orders/s) -> {summary.run_dir}"
    )
    emit(result, as_json, human)


def export(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    rollout: Annotated[int, typer.Option(help="Rollout index.")] = 0,
    arm: Annotated[str | None, typer.Option(help="treated, baseline or main (default: the first present).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="lobster or parquet (zip).")] = "lobster",
    levels: Annotated[int, typer.Option(help="Book levels of the LOBSTER orderbook file.")] = 10,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("export"),
    as_json: JsonOption = False,
) -> None:
    """Export one rollout as LOBSTER message + orderbook CSV files (or a zip of its Parquet tables)."""
    from mars_core.sim.export import export_lobster, export_parquet_zip
    from mars_core.sim.store import RunDir

    run = RunDir.open(run_dir)
    if fmt == "lobster":
        paths = export_lobster(run, rollout, arm, out, levels)
    elif fmt == "parquet":
        paths = [export_parquet_zip(run, rollout, arm, out)]
    else:
        raise MarsInputError(f"--format {fmt!r}: choose lobster or parquet")
    emit({"files": [str(p) for p in paths]}, as_json, "\n".join(f"wrote {p}" for p in paths))


def bench_sim(
    symbol: Annotated[str, typer.Option(help="Day to simulate.")] = "GOOG",
    date: Annotated[str, typer.Option(help="Trading date.")] = "2012-06-21",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Simulated orders per second with the noise background: one rollout on one core, then all cores."""
    from mars_core.sim.bench import run

    result = run(symbol, date, data_dir)
    human = (
        f"noise background: {result['orders_per_s_one_core']:,} orders/s on one core, "
        f"{result['orders_per_s_all_cores']:,} orders/s on {result['cores']} cores; "
        f"peak RSS per rollout {result['peak_rss_mb_short']} MB ({result['short_minutes']} min) vs "
        f"{result['peak_rss_mb']} MB ({result['long_minutes']} min)"
    )
    emit(result, as_json, human)


def impact(
    config: Annotated[Path, typer.Option("--config", help="Study file (YAML or JSON), see mars_core/sim/study.py.")],
    out: Annotated[Path, typer.Option(help="Study directory (resumed if it holds the same study).")] = Path(
        "runs/study"
    ),
    workers: Annotated[int | None, typer.Option(help="Parallel processes (default: all cores).")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a market impact study: TWAP grids on paired rollouts, square-root law, factors, SINDy, decay ODE."""
    from mars_core.sim.study import StudyConfig, run_study

    study = StudyConfig.load(config)
    with tqdm(desc="arms", unit="arm", disable=as_json) as bar:

        def progress(done: int, total: int, summary: dict) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        summary = run_study(study, out, data_dir, workers, progress)
    ci = summary["delta_ci"] or [None, None]
    human = (
        f"{summary['points']} points, {summary['trajectories']} paired trajectories in {summary['seconds']:.1f}s; "
        f"square-root law (pooled): delta = {summary['delta']} [{ci[0]}, {ci[1]}], Y = {summary['Y']}, R2 = {summary['r2']}"
    )
    emit(summary, as_json, human)


def realism(
    symbol: Annotated[str, typer.Option(help="Ticker, e.g. GOOG.")],
    backgrounds: Annotated[
        str, typer.Option(help="Comma-separated: replay (the reference, always), noise, lmm.")
    ] = "replay,noise",
    dates: Annotated[str, typer.Option(help="Comma-separated dates (default: every catalogued day).")] = "",
    minutes: Annotated[int, typer.Option(help="Length of each simulated future.")] = 30,
    every: Annotated[int, typer.Option(help="Minutes between start points in the held-out window.")] = 5,
    rollouts: Annotated[int, typer.Option(help="Rollouts per start point and background.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Evaluation directory (default runs/realism_<SYMBOL>).")] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel processes (default: all cores).")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stylized facts and Table-7 similarity/accuracy of each background against the real held-out windows."""
    from mars_core.sim.realism import RealismConfig, run_realism

    config = RealismConfig.from_dict(
        {
            "symbol": symbol.upper(),
            "dates": [d for d in dates.split(",") if d.strip()],
            "backgrounds": backgrounds.split(","),
            "minutes": minutes,
            "every_minutes": every,
            "rollouts": rollouts,
            "seed": seed,
        }
    )
    with tqdm(desc="rollouts", unit="arm", disable=as_json) as bar:

        def progress(done: int, total: int, summary: dict) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        summary = run_realism(config, out or Path(f"runs/realism_{config.symbol}"), data_dir, workers, progress)
    lines = [
        f"{summary['starts']} start points x {summary['rollouts']} rollouts in {summary['seconds']:.1f}s -> {summary['dir']}"
    ]
    for metric, by_bg in summary["metrics"].items():
        cells = ", ".join(f"{bg}: sim {v['similarity']} acc {v['accuracy']}" for bg, v in by_bg.items())
        lines.append(f"  {metric}: {cells}")
    lines.append(
        "  facts present: "
        + "; ".join(f"{f}: {'/'.join(bg for bg, p in v.items() if p) or '-'}" for f, v in summary["facts"].items())
    )
    emit({"metrics": summary["metrics"], "facts": summary["facts"]}, as_json, "\n".join(lines))


def bench_generate(
    symbol: Annotated[str, typer.Option(help="Day to simulate.")] = "GOOG",
    date: Annotated[str, typer.Option(help="Trading date.")] = "2012-06-21",
    steps: Annotated[int, typer.Option(help="Lockstep steps measured with the KV cache.")] = 200,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Orders generated and matched per second by the shipped order model at 1, 16 and 64 rollouts."""
    from mars_core.sim.lmm_bench import run

    result = run(symbol, date, data_dir, steps=steps)
    human = "\n".join(
        f"{b:>3} rollouts: {result['orders_per_s'][b]:>7,} orders/s with the KV cache, "
        f"{result['orders_per_s_nocache'][b]:>6,} recomputing the window ({result['speedup'][b]}x)"
        for b in result["orders_per_s"]
    )
    emit(result, as_json, human)


def evaluate_model(
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols.")] = "GOOG,AMZN",
    minutes: Annotated[int, typer.Option(help="Minutes simulated from each start point.")] = 5,
    every: Annotated[int, typer.Option(help="Minutes between start points in the window.")] = 10,
    rollouts: Annotated[int, typer.Option(help="Rollouts per start point and background.")] = 4,
    window: Annotated[
        tuple[str, str],
        typer.Option(
            help="First and last minute of the start points' runs, HH:MM HH:MM "
            "(default: the model's held-out afternoon)."
        ),
    ] = ("14:30", "16:00"),
    temperature: Annotated[
        float | None, typer.Option(help="Generative background's temperature (default: SimConfig's).")
    ] = None,
    top_p: Annotated[float | None, typer.Option(help="Generative background's top-p (default: SimConfig's).")] = None,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    out: Annotated[Path, typer.Option(help="Evaluation directory (resumed when it holds the same settings).")] = Path(
        "runs/model-eval"
    ),
    workers: Annotated[int | None, typer.Option(help="Parallel processes.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare the generated order flow with the real held-out flow, next to the noise baseline."""
    from mars_core.sim.model_eval import evaluate_model as run

    result = run(
        [s.strip().upper() for s in symbols.split(",") if s.strip()],
        out,
        minutes,
        every,
        rollouts,
        window,
        seed=seed,
        data_dir=data_dir,
        workers=workers,
        temperature=temperature,
        top_p=top_p,
    )
    decoding = ", ".join(f"{k} {v:g}" for k, v in result["decoding"].items())
    lines = [
        f"validation NLL {result['val_nll']} (unigram {result['unigram_nll']}, bigram {result['bigram_nll']})",
        f"distribution similarity over {result['starts']} start points x {result['rollouts']} rollouts ({decoding}):",
    ]
    lines += [
        f"  {m:13s} lmm {v['lmm']:.3f}  noise {v['noise']:.3f}  (noise fitted on the whole day {v['noise_whole_day']:.3f})"
        for m, v in result["similarity"].items()
    ]
    lines.append(
        f"the model beats the noise baseline (fitted before 14:30, as the model) on {result['lmm_wins']} of "
        f"{result['metrics']} metrics; the one fitted on the whole day on {result['lmm_wins_vs_whole_day']}"
    )
    emit(result, as_json, "\n".join(lines))


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("simulate")(simulate)
    app.command("impact")(impact)
    app.command("realism")(realism)
    app.command("evaluate-model")(evaluate_model)
    app.command("export")(export)
    bench_app.command("sim")(bench_sim)
    bench_app.command("generate")(bench_generate)
