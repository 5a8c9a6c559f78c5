"""`mars detect` (score a day's windows), `mars detect evaluate` (injected manipulation, MarS vs baseline) and
`mars detect inject` (write a manipulated copy of a day)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from analysis.bootstrap import RESAMPLES
from mars_core.cli.options import (
    DataDirOption,
    ExecutorOption,
    JsonOption,
    RayAddressOption,
    emit,
    executor_of,
    folder,
    numbers,
)
from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.errors import ConfigError
from mars_core.experiments.detection import (
    EVALUATION_DIR,
    HELD_OUT,
    DetectConfig,
    EvaluationConfig,
    evaluate,
    score_day,
)
from mars_core.experiments.manipulation import KINDS, EpisodeSpec, inject, write_day
from mars_core.paths import runs_root
from mars_core.store import named_dir

detect_app = typer.Typer(
    help="Detection by simulation: where the real market leaves what MarS expects (paper Sec. 4.2).",
    invoke_without_command=True,
)

SpanOption = Annotated[tuple[str, str], typer.Option(help="First and last minute of the scored span, HH:MM HH:MM.")]
MinutesOption = Annotated[int, typer.Option(help="Window length in minutes.")]
EveryOption = Annotated[int, typer.Option("--every", help="Minutes between the starts of two scored windows.")]
RolloutsOption = Annotated[int, typer.Option(help="Simulated futures per window.")]
WorkersOption = Annotated[int | None, typer.Option(min=1, help="Parallel processes (default: all cores).")]


def _bar(as_json: bool, unit: str) -> tuple[tqdm, object]:
    bar = tqdm(desc="windows simulated", unit=unit, disable=as_json)

    def progress(done: int, total: int, _summary: dict) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return bar, progress


@detect_app.callback()
def detect(
    ctx: typer.Context,
    symbol: Annotated[str | None, typer.Option(help="Ticker, e.g. GOOG.")] = None,
    date: Annotated[str | None, typer.Option(help="Trading date, YYYY-MM-DD.")] = None,
    span: SpanOption = HELD_OUT,
    minutes: MinutesOption = 1,
    every: EveryOption = 1,
    rollouts: RolloutsOption = 4,
    background: Annotated[str, typer.Option(help="Simulated background: lmm or noise.")] = "lmm",
    seed: Annotated[int, typer.Option(help="Seed of the rollouts.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(callback=folder, help="Folder of the runs (default: <runs root>/detect/<SYMBOL_DATE>-<hash>)."),
    ] = None,
    workers: WorkersOption = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score every window of a day's span: MarS anomaly (real vs simulated) and the baseline (real vs the window
    before); flag the outliers."""
    if ctx.invoked_subcommand is not None:
        return
    if symbol is None or date is None:
        raise ConfigError("mars detect needs --symbol and --date (or a subcommand: evaluate, inject)")
    config = DetectConfig.from_dict(
        {
            "symbol": symbol.upper(),
            "date": date,
            "span": span,
            "minutes": minutes,
            "every_minutes": every,
            "rollouts": rollouts,
            "background": background,
            "seed": seed,
        }
    )
    # the simulations start from the day in --data-dir (a manipulated copy is another day): its folder is in the key
    identity = {"config": config.model_dump(mode="json"), "data": str(resolve_data_dir(data_dir).resolve())}
    out = out or named_dir(runs_root() / "detect", f"{config.symbol}_{config.date}", identity)
    bar, progress = _bar(as_json, "window")
    with bar:
        scores = score_day(config, out, data_dir, workers, progress, executor_of(executor, ray_address))
    table = scores.table
    columns = ["clock", "mars", "baseline", "flagged_by"]
    result = {
        "symbol": config.symbol,
        "date": config.date,
        "windows": table[columns].to_dict(orient="records"),
        "flagged": table.loc[table["flagged"], "clock"].tolist(),
        "dir": str(out),
    }
    emit(result, as_json, table[columns].round(3).to_string(index=False))


@detect_app.command("evaluate")
def evaluate_command(
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols (every catalogued day of each).")] = "GOOG,AMZN",
    span: SpanOption = HELD_OUT,
    minutes: MinutesOption = 1,
    every: EveryOption = 2,
    rollouts: RolloutsOption = 4,
    intensities: Annotated[str, typer.Option(help="Comma-separated episode intensities.")] = "2,4,8",
    kinds: Annotated[str, typer.Option(help=f"Comma-separated kinds ({', '.join(KINDS)}).")] = ",".join(KINDS),
    spacing: Annotated[int, typer.Option(help="Scored windows between two episodes of one manipulated copy.")] = 4,
    bootstrap: Annotated[int, typer.Option(help="Block-bootstrap resamples of the intervals.")] = RESAMPLES,
    seed: Annotated[int, typer.Option(help="Seed of the rollouts, episode sides and bootstrap.")] = 0,
    out: Annotated[
        Path | None, typer.Option(callback=folder, help="Output folder (default: <runs root>/detect/evaluate).")
    ] = None,
    workers: WorkersOption = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Injected episodes of each kind and intensity vs clean windows: ROC-AUC and recall at 5% false alarms, MarS
    vs baseline, with block-bootstrap intervals."""
    config = EvaluationConfig.from_dict(
        {
            "symbols": [s.strip().upper() for s in symbols.split(",") if s.strip()],
            "span": span,
            "minutes": minutes,
            "every_minutes": every,
            "rollouts": rollouts,
            "intensities": numbers("--intensities", intensities),
            "kinds": [k.strip() for k in kinds.split(",") if k.strip()],
            "spacing": spacing,
            "bootstrap": bootstrap,
            "seed": seed,
        }
    )
    out = out or runs_root() / EVALUATION_DIR
    bar, progress = _bar(as_json, "window")
    with bar:
        result = evaluate(config, out, data_dir, workers, progress, executor_of(executor, ray_address))
    emit(result, as_json, evaluation_table(result))


def evaluation_table(result: dict) -> str:
    """The human summary: AUC per kind and pooled, MarS vs baseline."""

    def ci(v: list) -> str:
        return f"[{v[0]:.3f}, {v[1]:.3f}]" if v and None not in v else "[-]"

    detail = result["detail"]
    lines = [
        f"{result['episodes']} episodes, {result['clean_windows']} clean windows in {result['seconds']:.0f}s "
        f"-> {result['dir']}",
        f"{'':20s} {'MarS AUC':>24s} {'baseline AUC':>24s} {'recall@5% MarS':>15s} {'baseline':>9s}",
    ]
    for name, d in detail.items():
        m, b = d["mars"], d["baseline"]
        lines.append(
            f"{name:20s} {m['auc']:.3f} {ci(m['auc_ci']):>18s} {b['auc']:.3f} {ci(b['auc_ci']):>18s} "
            f"{m['recall']:15.3f} {b['recall']:9.3f}"
        )
    return "\n".join(lines)


@detect_app.command("inject")
def inject_command(
    symbol: Annotated[str, typer.Option(help="Ticker, e.g. GOOG.")],
    date: Annotated[str, typer.Option(help="Trading date, YYYY-MM-DD.")],
    episode: Annotated[
        list[str],
        typer.Option(
            help="KIND@HH:MM[:SS][,intensity=X][,seconds=S][,side=1|-1] (repeatable), e.g. spoofing@14:40,intensity=3."
        ),
    ],
    out: Annotated[Path, typer.Option(callback=folder, help="Folder for the manipulated day (a LOBSTER data folder).")],
    seed: Annotated[int, typer.Option(help="Seed of the quote-stuffing lifetimes.")] = 0,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a manipulated copy of a day (message and orderbook files, plus the labels) that `mars replay --verify`
    and `mars detect --data-dir OUT` read."""
    source = resolve_data_dir(data_dir)
    if source.resolve() in (out.resolve(), *out.resolve().parents):  # the copy would be found beside the real day
        raise ConfigError(f"--out {out} is inside the data folder {source} that the day is read from; give another")
    specs = [parse_episode(e) for e in episode]
    day = load_day(find_dataset(symbol, date, source))
    manipulated = inject(day, specs, seed)
    paths = write_day(manipulated, out)
    result = {
        "files": [str(p) for p in paths],
        "episodes": [{"kind": e.kind, "clock": e.clock, "messages": e.messages} for e in manipulated.episodes],
        "reconciling_messages": manipulated.reconciling,
    }
    emit(result, as_json, "\n".join([*(str(p) for p in paths), *(f"{e.kind} {e.clock}" for e in manipulated.episodes)]))


def parse_episode(text: str) -> EpisodeSpec:
    """`KIND@HH:MM[:SS][,key=value...]` -> an `EpisodeSpec` (errors name the text)."""
    head, *pairs = text.split(",")
    kind, _, start = head.partition("@")
    fields: dict[str, object] = {"kind": kind.strip(), "start": start.strip()}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"episode {text!r}: {pair!r} is not key=value")
        if key.strip() in fields:  # never the last of two values, nor a kind or start other than KIND@START's
            raise ConfigError(f"episode {text!r}: {key.strip()} is given twice")
        fields[key.strip()] = _number(value.strip())
    return EpisodeSpec.from_dict(fields, where=f"episode {text!r}")


def _number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
