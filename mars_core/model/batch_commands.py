"""`mars train vqvae`, `mars train batch-model` and `mars bench batch-sampler`."""

from __future__ import annotations

from typing import Annotated

import typer

from mars_core.cli import DataDirOption, JsonOption, emit
from mars_core.model.commands import ResumeOption, SymbolsOption, ThreadsOption, _symbols, _threads, train_app

ExtraSymbols = Annotated[list[str] | None, typer.Argument(help="More symbols after --symbols.", show_default=False)]


def train_vqvae_command(
    out: Annotated[str, typer.Option("--out", help="Output folder (ckpt.pt, vqvae.pt, metrics.jsonl).")],
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006 (typer needs a list default)
    extra: ExtraSymbols = None,
    size: Annotated[str, typer.Option("--size", help="Model size: tiny, small or base.")] = "small",
    codebook_size: Annotated[
        int | None, typer.Option("--codebook-size", help="Codewords (default: the size's).")
    ] = None,
    loss: Annotated[
        str | None, typer.Option("--loss", help="Reconstruction loss: poisson or mse (default: the size's).")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", help="Optimisation steps.")] = 1200,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per step.")] = 64,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 2e-3,
    mirror: Annotated[
        bool, typer.Option("--mirror/--no-mirror", help="Mirror buy/sell on half the training images.")
    ] = True,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between evaluations.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of batches, augmentation, dropout and initialisation.")] = 0,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            "--tokenizer",
            help="Order-model checkpoint whose tokenizer makes the images "
            "(default: the shipped order model, else fitted like it).",
        ),
    ] = None,
    resume: ResumeOption = False,
    threads: ThreadsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the order-image VQ-VAE (CPU): images of minutes before 14:30 train, from 14:30 validate."""
    from mars_core.model.vqvae_train import VQVAETrainConfig, train_vqvae

    _threads(threads)
    cfg = VQVAETrainConfig(
        symbols=_symbols(symbols + (extra or [])),
        size=size,
        codebook_size=codebook_size,
        recon_loss=loss,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        mirror=mirror,
        eval_every=eval_every,
        seed=seed,
        data_dir=data_dir,
        tokenizer=tokenizer,
    )
    s = train_vqvae(cfg, out, resume=resume)
    v, m = s["val"], s["baselines"]["mean_image"]
    human = (
        f"VQ-VAE, {s['params']:,} parameters, codebook {s['model_args']['codebook_size']}, {s['steps']} steps in {s['seconds']:.0f}s\n"
        f"validation ({s['val_images']} minutes): MSE log1p {v['mse_log1p']:.4f} (mean image {m['mse_log1p']:.4f}), "
        f"Poisson NLL {v['poisson_nll']:.4f} (mean image {m['poisson_nll']:.4f}), totals corr {v['totals_corr']}, "
        f"{v['codes_used']} codes used, perplexity {v['perplexity']:.0f}\n"
        f"saved {out}/vqvae.pt"
    )
    emit({k: val for k, val in s.items() if k != "train_config"}, as_json, human)


def train_batch_model_command(
    out: Annotated[str, typer.Option("--out", help="Output folder (ckpt.pt, batch_model.pt, metrics.jsonl).")],
    vqvae: Annotated[
        str | None, typer.Option("--vqvae", help="VQ-VAE folder or vqvae.pt (default: the shipped one).")
    ] = None,
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006
    extra: ExtraSymbols = None,
    size: Annotated[str, typer.Option("--size", help="Model size: tiny, small or base.")] = "small",
    steps: Annotated[int, typer.Option("--steps", help="Optimisation steps.")] = 300,
    batch_size: Annotated[int, typer.Option("--batch-size", help="16-minute windows per step.")] = 8,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 2e-3,
    dropout: Annotated[float, typer.Option("--dropout", help="Dropout while training.")] = 0.2,
    mirror: Annotated[
        bool, typer.Option("--mirror/--no-mirror", help="Use buy/sell-mirrored codes for half the windows.")
    ] = True,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between evaluations.")] = 50,
    eval_samples: Annotated[
        int,
        typer.Option(
            "--eval-samples", help="Candidates per validation minute in the final image-space evaluation (0: skip)."
        ),
    ] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed of batches, dropout and initialisation.")] = 0,
    resume: ResumeOption = False,
    threads: ThreadsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the order-batch model (CPU) on VQ-VAE codes: 16-minute windows before 14:30 train;
    each minute from 14:30 is scored given the 15 before it."""
    from mars_core.model.batch_train import BatchTrainConfig, train_batch_model

    _threads(threads)
    cfg = BatchTrainConfig(
        vqvae=vqvae,
        symbols=_symbols(symbols + (extra or [])),
        size=size,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        dropout=dropout,
        mirror=mirror,
        eval_every=eval_every,
        eval_samples=eval_samples,
        seed=seed,
        data_dir=data_dir,
    )
    s = train_batch_model(cfg, out, resume=resume)
    b = s["baselines_per_code"]
    human = (
        f"order-batch model ({s['size']}), {s['params']:,} parameters, {s['steps']} steps in {s['seconds']:.0f}s\n"
        f"validation CE per code {s['val_ce_per_code']:.4f} nats = {s['val_ce_per_image']:.1f} per image "
        f"(unigram {b['unigram']:.4f}, cell unigram {b['cell_unigram']:.4f}, repeat last minute {b['repeat_last']:.4f})\n"
        f"saved {out}/batch_model.pt"
    )
    emit({k: val for k, val in s.items() if k != "train_config"}, as_json, human)


def bench_batch_sampler(
    model: Annotated[
        str | None, typer.Option("--model", help="batch_model.pt or its folder (default: the shipped one).")
    ] = None,
    samples: Annotated[str, typer.Option("--samples", help="Comma-separated candidate counts.")] = "1,8,32",
    histories: Annotated[int, typer.Option("--histories", help="Histories sampled together.")] = 1,
    repeats: Annotated[int, typer.Option("--repeats", help="Timed draws per setting (the best is kept).")] = 3,
    threads: ThreadsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Time `sample_next_minute` (15 minutes of history, one next minute, decoded to images)."""
    import time

    import numpy as np

    from mars_core.model.batch_train import load_batch_model

    _threads(threads)
    loaded = load_batch_model(model)
    rng = np.random.default_rng(0)
    V = loaded.model.config.vocab_size
    hist = rng.integers(0, V, (histories, loaded.context_minutes, 8, 8))
    result: dict = {"histories": histories, "context_minutes": loaded.context_minutes, "seconds": {}}
    for n in (int(x) for x in samples.split(",")):
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


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the order-batch commands to `mars train` and `mars bench` (after the order model's register)."""
    del app  # `mars train` is the order model's sub-app; it is added to the app there
    train_app.command("vqvae")(train_vqvae_command)
    train_app.command("batch-model")(train_batch_model_command)
    bench_app.command("batch-sampler")(bench_batch_sampler)
