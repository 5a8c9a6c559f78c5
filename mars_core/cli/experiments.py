"""`mars impact`, `mars realism`, `mars evaluate-model`, `mars control-eval` and `mars report`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from analysis.bootstrap import RESAMPLES
from analysis.minute_metrics import FLOW
from analysis.report import chromium_path, missing_chromium, write_report
from mars_core.cli.options import (
    DataDirOption,
    ExecutorOption,
    JsonOption,
    RayAddressOption,
    SymbolsOption,
    emit,
    executor_of,
    symbol_list,
)
from mars_core.cli.stress import stress_command
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments.control_eval import CONFIGS, EvalSettings, run_eval
from mars_core.experiments.impact import StudyConfig, run_study, study_dir
from mars_core.experiments.model_eval import evaluate_model as run_model_evaluation
from mars_core.experiments.realism import CEILING, HELD_OUT, RealismConfig, evaluation_dir, run_realism
from mars_core.experiments.reports import build_report
from mars_core.experiments.stress_eval import SUITE, StressSettings
from mars_core.paths import runs_root

REPORT_FORMATS = ("html", "pdf")


def impact(
    config: Annotated[
        Path, typer.Option("--config", help="Study file (YAML or JSON), see mars_core/experiments/impact.py.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Study directory, resumed if it holds the same study (default: the Market Impact page's, "
            "<runs root>/studies/<name>-<config hash>)."
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Parallel processes (default: all cores).")] = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="When another process runs this study, wait for it instead of refusing.")
    ] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a market impact study: TWAP grids on paired rollouts, square-root law, factors, SINDy, decay ODE."""

    study = StudyConfig.load(config)
    with tqdm(desc="arms", unit="arm", disable=as_json) as bar:

        def progress(done: int, total: int, summary: dict) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        summary = run_study(
            study,
            out or study_dir(study),
            data_dir,
            workers,
            progress,
            wait=wait,
            executor=executor_of(executor, ray_address),
        )
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
    every: Annotated[
        int, typer.Option("--starts-every", "--every", help="Minutes between start points in the window.")
    ] = 2,
    rollouts: Annotated[int, typer.Option(help="Rollouts per start point and background.")] = 4,
    window: Annotated[
        tuple[str, str],
        typer.Option(
            help="First and last minute of the evaluated windows, HH:MM HH:MM (default: the held-out afternoon)."
        ),
    ] = HELD_OUT,
    ceiling_window: Annotated[
        tuple[str, str],
        typer.Option(help="The real period the ceiling scores the evaluated windows against, HH:MM HH:MM."),
    ] = CEILING,
    bootstrap: Annotated[int, typer.Option(help="Block-bootstrap resamples of the intervals.")] = RESAMPLES,
    seed: Annotated[int, typer.Option(help="Seed of the rollouts and of the bootstrap.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Evaluation directory (default: the Realism page's, <runs root>/realism/<SYMBOL>-<config hash>)."
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel processes (default: all cores).")] = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per-minute Table-7 similarity with its real-vs-real ceiling and bootstrap intervals, 3-class accuracy,
    stylized facts and the closed-loop fidelity of each background against the real held-out windows."""

    config = RealismConfig.from_dict(
        {
            "symbol": symbol.upper(),
            "dates": [d for d in dates.split(",") if d.strip()],
            "backgrounds": backgrounds.split(","),
            "window": window,
            "ceiling_window": ceiling_window,
            "minutes": minutes,
            "every_minutes": every,
            "rollouts": rollouts,
            "bootstrap": bootstrap,
            "seed": seed,
        }
    )
    with tqdm(desc="rollouts", unit="arm", disable=as_json) as bar:

        def progress(done: int, total: int, summary: dict) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        result = run_realism(
            config, out or evaluation_dir(config), data_dir, workers, progress, executor_of(executor, ray_address)
        )
    emit(result, as_json, realism_table(result))


def realism_table(result: dict) -> str:
    """The human summary of `mars realism`: per-minute similarity per row next to the ceiling, then fidelity."""

    def num(x: float | None, spec: str = ".3f") -> str:
        return "-" if x is None else f"{x:{spec}}"

    def ci(v: dict) -> str:
        return f"{num(v['mean'])} [{num(v['ci'][0])}, {num(v['ci'][1])}]"

    bgs = [bg for bg in result["backgrounds"] if bg != "replay"]
    lines = [
        f"{result['symbol']} {result['protocol']}: {result['starts']} start windows x {result['rollouts']} rollouts x "
        f"{result['minutes']} min in {result['seconds']:.0f}s -> {result['dir']}",
        f"ceiling = {result['ceiling']['definition']}",
        f"{'row':24s} {'ceiling':>8s} " + " ".join(f"{bg:>8s}" for bg in bgs),
    ]
    for row in result["ceiling"]["rows"]:
        cells = " ".join(f"{num(result['backgrounds'][bg]['similarity']['rows'][row]):>8s}" for bg in bgs)
        lines.append(f"{row:24s} {num(result['ceiling']['rows'][row]):>8s} {cells}")
    lines.append(f"{'mean [95% CI]':24s} ceiling {ci(result['ceiling'])}")
    lines += [f"{'':24s} {bg} {ci(result['backgrounds'][bg]['similarity'])}" for bg in bgs]
    lines += [f"paired {pair}: {ci(v)}" for pair, v in result["paired"].items()]
    for bg in bgs:
        f = result["backgrounds"][bg]["fidelity"]
        lines.append(
            f"fidelity {bg} (sim/real per 5 min): volatility {num(f['volatility'], '.2f')}, "
            f"variance ratio {num(f['variance_ratio'], '.2f')}"
        )
        lines += [f"  {k:14s} " + " ".join(num(x, ".2f") for x in f[k]) for k in FLOW]
    return "\n".join(lines)


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
    out: Annotated[
        Path | None,
        typer.Option(
            help="Evaluation directory, resumed when it holds the same settings (default: <runs root>/model-eval)."
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel processes.")] = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare the generated order flow with the real held-out flow, next to the noise baseline."""

    result = run_model_evaluation(
        [s.strip().upper() for s in symbols.split(",") if s.strip()],
        out or runs_root() / "model-eval",
        minutes,
        every,
        rollouts,
        window,
        seed=seed,
        data_dir=data_dir,
        workers=workers,
        executor=executor_of(executor, ray_address),
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


def control_eval_command(
    minutes: Annotated[int, typer.Option("--minutes", help="Controlled horizon H (minutes).")] = 10,
    rollouts: Annotated[int, typer.Option("--rollouts", help="Rollouts per start and configuration.")] = 8,
    starts_per_day: Annotated[
        int, typer.Option("--starts-per-day", help="Held-out starts per day (largest moves).")
    ] = 2,
    min_move_bps: Annotated[
        float, typer.Option("--min-move-bps", help="A start's real move over H, at least (bps).")
    ] = 15.0,
    twap_share: Annotated[float, typer.Option("--twap-share", help="TWAP volume / real volume of the horizon.")] = 0.2,
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006 (typer needs a list default)
    seed: Annotated[int, typer.Option("--seed", help="Seed of the rollouts (common to the four configurations).")] = 0,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: one per core).")] = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    stress: Annotated[
        bool,
        typer.Option(
            "--stress",
            help="Run the stress-scenario suite instead (prompts through the parser; --minutes and --min-move-bps "
            "do not apply): realised/target move, target side, correlation, flow fidelity.",
        ),
    ] = False,
    scenarios: Annotated[
        list[str] | None, typer.Option("--scenario", help=f"With --stress: run only these of {', '.join(SUITE)}.")
    ] = None,
    window: Annotated[
        str, typer.Option("--window", help="With --stress: starts in the held_out afternoon or the training window.")
    ] = "held_out",
    twap: Annotated[
        bool, typer.Option("--twap/--no-twap", help="With --stress: also run each arm with a TWAP.")
    ] = True,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="With --stress: evaluation directory, resumed if it holds the same settings (default: "
            "<runs root>/stress/<window>-<settings hash>, the Scenarios page's).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measured controllability (paper Sec. 3.3, Fig. 6c): correlation of simulated and target (replayed) mid paths
    for {no control, control} x {no interaction, interaction with a TWAP agent}; with --stress, the stress suite."""
    if not stress and (scenarios or out is not None or window != "held_out" or not twap):
        raise ConfigError("--scenario, --window, --no-twap and --out go with --stress (the suite); add --stress")
    if stress:
        fields = {
            "symbols": tuple(symbol_list(symbols)),
            "rollouts": rollouts,
            "starts_per_day": starts_per_day,
            "twap_share": twap_share,
            "seed": seed,
            "window": window,
            "twap": twap,
        }
        if scenarios:
            fields["scenarios"] = tuple(scenarios)
        settings = StressSettings.from_dict(fields, "control-eval --stress options")
        stress_command(settings, data_dir, workers, executor_of(executor, ray_address), as_json, out)
        return

    settings = EvalSettings.from_dict(
        {
            "symbols": tuple(symbol_list(symbols)),
            "minutes": minutes,
            "rollouts": rollouts,
            "starts_per_day": starts_per_day,
            "min_move_bps": min_move_bps,
            "twap_share": twap_share,
            "seed": seed,
        },
        "control-eval options",
    )
    run_on = executor_of(executor, ray_address)
    with tqdm(total=None, desc="control-eval groups", disable=as_json) as bar:  # closed before an error is printed

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        s = run_eval(settings, data_dir, workers, progress, run_on)
    lines = [f"{c:28s} {s[c]:+.3f} (± {s['detail'][c]['corr_se']:.3f})" for c in CONFIGS if c in s]
    human = (
        f"correlation of simulated and target mid paths over {s['minutes']} min, n = {s['n']} rollouts per cell\n"
        + "\n".join(lines)
        + f"\n{s['seconds']:.0f}s"
    )
    emit(s, as_json, human)


def report(
    run_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR",
            help="A study directory: the --out of `mars impact` or of `mars realism`.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="html (interactive, self-contained) or pdf (needs Chromium).")
    ] = "html",
    out: Annotated[Path | None, typer.Option(help="Report file (default: RUN_DIR/report.<format>).")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the report of a study: config, provenance, every figure and table, the fitted laws, caveats."""

    fmt = fmt.strip().lower()
    if fmt not in REPORT_FORMATS:
        raise MarsInputError(f"--format must be one of {', '.join(REPORT_FORMATS)}, was {fmt!r}")
    if fmt == "pdf" and chromium_path() is None:
        raise missing_chromium()  # before spending seconds on a report it could not print
    started = time.perf_counter()
    built = build_report(run_dir, data_dir=data_dir)
    target = out if out is not None else Path(run_dir) / f"report.{fmt}"
    if target.is_dir():
        raise MarsInputError(f"--out {target} is a directory; give a file name such as {target / ('report.' + fmt)}")
    path = write_report(built, target, fmt)
    result = {
        "out": str(path),
        "format": fmt,
        "bytes": path.stat().st_size,
        "seconds": round(time.perf_counter() - started, 2),
        **built.summary(),
    }
    emit(
        result,
        as_json,
        f"wrote {path} ({result['bytes'] / 1e6:.1f} MB, {result['figures']} figures, "
        f"{len(result['sections'])} sections) in {result['seconds']:.1f}s",
    )
