"""`mars train order-model`, `mars train scaling` and `mars bench sampler`."""

from __future__ import annotations

from typing import Annotated

import typer

from mars_core.cli import DataDirOption, JsonOption, emit

train_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Train the generative order model on LOBSTER days."
)

SymbolsOption = Annotated[list[str], typer.Option("--symbols", help="Symbols whose days to train on (repeat or list).")]
ThreadsOption = Annotated[int | None, typer.Option("--threads", help="torch threads (default: torch's choice).")]
ResumeOption = Annotated[bool, typer.Option("--resume", help="Continue from OUT/ckpt.pt (to --steps).")]


def _threads(n: int | None) -> None:
    import torch

    if n is not None:
        torch.set_num_threads(n)


def _symbols(values: list[str]) -> list[str]:
    """Accept `--symbols GOOG AMZN` (extra arguments) as well as `--symbols GOOG --symbols AMZN`."""
    return [s for v in values for s in v.replace(",", " ").split()]


@train_app.command("order-model")
def train_order_model(
    out: Annotated[str, typer.Option("--out", help="Output folder (checkpoint, model.pt, metrics.jsonl).")],
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006 (typer needs a list default)
    extra: Annotated[list[str] | None, typer.Argument(help="More symbols after --symbols.", show_default=False)] = None,
    size: Annotated[str, typer.Option("--size", help="Model size: tiny, small, base or large.")] = "small",
    steps: Annotated[int, typer.Option("--steps", help="Optimisation steps.")] = 1000,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per step.")] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 1e-3,
    dropout: Annotated[float, typer.Option("--dropout", help="Dropout while training.")] = 0.1,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between evaluations.")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Seed of batches, dropout and initialisation.")] = 0,
    resume: ResumeOption = False,
    threads: ThreadsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the order model (CPU): validation = orders from 14:30 on; baselines fitted on the same split."""
    from mars_core.model.train import TrainConfig, train

    _threads(threads)
    cfg = TrainConfig(
        symbols=_symbols(symbols + (extra or [])),
        size=size,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        dropout=dropout,
        eval_every=eval_every,
        seed=seed,
        data_dir=data_dir,
    )
    summary = train(cfg, out, resume=resume)
    human = (
        f"{summary['size']} model, {summary['params']:,} parameters, {summary['steps']} steps "
        f"in {summary['seconds']:.0f}s\n"
        f"validation NLL/token {summary['val_nll']:.4f} "
        f"(unigram {summary['unigram_nll']:.4f}, bigram {summary['bigram_nll']:.4f})\n"
        f"saved {out}/model.pt"
    )
    emit({k: v for k, v in summary.items() if k != "train_config"}, as_json, human)


@train_app.command("scaling")
def train_scaling(
    out: Annotated[str, typer.Option("--out", help="Output folder: one subfolder per size and scaling.json.")],
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006
    extra: Annotated[list[str] | None, typer.Argument(help="More symbols after --symbols.", show_default=False)] = None,
    sizes: Annotated[str, typer.Option("--sizes", help="Comma-separated sizes.")] = "tiny,small,base",
    steps: Annotated[int, typer.Option("--steps", help="Steps per size.")] = 1000,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between evaluations.")] = 100,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    threads: ThreadsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Scaling study: several model sizes trained on the same data and steps (interrupted runs resume)."""
    from mars_core.errors import MarsInputError
    from mars_core.model.train import SIZES, TrainConfig, scaling_study

    _threads(threads)
    chosen = [s.strip() for s in sizes.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SIZES]
    if unknown or len(chosen) < 1:
        raise MarsInputError(f"unknown sizes {unknown or sizes!r}; choose from {', '.join(SIZES)}")
    cfg = TrainConfig(
        symbols=_symbols(symbols + (extra or [])), steps=steps, eval_every=eval_every, seed=seed, data_dir=data_dir
    )
    result = scaling_study(chosen, cfg, out)
    human = "\n".join(
        f"{r['size']:>6}: {r['params']:>9,} params, val NLL {r['val_nll']:.4f} ({r['seconds']:.0f}s)"
        for r in result["runs"]
    )
    human += f"\nunigram {result['unigram_nll']:.4f}, bigram {result['bigram_nll']:.4f}; results in {out}/scaling.json"
    emit(result, as_json, human)


def bench_sampler(
    model: Annotated[
        str | None, typer.Option("--model", help="model.pt or its folder (default: the shipped one).")
    ] = None,
    batches: Annotated[str, typer.Option("--batches", help="Comma-separated rollout counts.")] = "1,16,64",
    steps: Annotated[int, typer.Option("--steps", help="Sampled positions per measurement.")] = 300,
    threads: ThreadsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Raw sampling throughput (tokens/s) of the order model, with and without the KV cache, and the
    cost of a full 49,152-way output head for comparison."""
    from mars_core.model.bench import run

    _threads(threads)
    result = run(model, [int(b) for b in batches.split(",")], steps)
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


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
    bench_app.command("sampler")(bench_sampler)
