"""`mars train ...`: the order model (and its scaling study), the VQ-VAE, the order-batch model and the ensemble."""

from __future__ import annotations

from typing import Annotated

import typer

from mars_core.cli.options import (
    DataDirOption,
    ExtraSymbols,
    JsonOption,
    ResumeOption,
    SymbolsOption,
    ThreadsOption,
    emit,
    folder,
    set_threads,
    symbol_list,
)
from mars_core.errors import MarsInputError
from mars_core.model.train_batch_model import BatchTrainConfig, train_batch_model
from mars_core.model.train_ensemble import EnsembleTrainConfig, train_ensemble
from mars_core.model.train_order_model import SIZES, TrainConfig, scaling_study, train
from mars_core.model.train_vqvae import VQVAETrainConfig, train_vqvae
from mars_core.settings import SEED_MAX

train_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Train the generative order model on LOBSTER days."
)


@train_app.command("order-model")
def train_order_model(
    out: Annotated[
        str, typer.Option("--out", callback=folder, help="Output folder (checkpoint, model.pt, metrics.jsonl).")
    ],
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006 (typer needs a list default)
    extra: Annotated[list[str] | None, typer.Argument(help="More symbols after --symbols.", show_default=False)] = None,
    size: Annotated[str, typer.Option("--size", help="Model size: tiny, small, base or large.")] = "small",
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimisation steps.")] = 6000,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per step.")] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 1e-3,
    dropout: Annotated[float, typer.Option("--dropout", help="Dropout while training.")] = 0.1,
    depth_sigma: Annotated[
        float,
        typer.Option("--depth-sigma", min=0.0, max=3.0, help="Log-normal scale of the depth augmentation (0: off)."),
    ] = 0.7,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between evaluations.")] = 100,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=SEED_MAX, help="Seed of batches, dropout and initialisation.")
    ] = 0,
    resume: ResumeOption = False,
    threads: ThreadsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the order model (CPU): validation = orders from 14:30 on; baselines fitted on the same split."""

    set_threads(threads)
    cfg = TrainConfig(
        symbols=symbol_list(symbols + (extra or [])),
        size=size,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        dropout=dropout,
        depth_sigma=depth_sigma,
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
    out: Annotated[
        str, typer.Option("--out", callback=folder, help="Output folder: one subfolder per size and scaling.json.")
    ],
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006
    extra: Annotated[list[str] | None, typer.Argument(help="More symbols after --symbols.", show_default=False)] = None,
    sizes: Annotated[str, typer.Option("--sizes", help="Comma-separated sizes.")] = "tiny,small,base",
    steps: Annotated[int, typer.Option("--steps", min=1, help="Steps per size.")] = 1000,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between evaluations.")] = 100,
    seed: Annotated[int, typer.Option("--seed", min=0, max=SEED_MAX)] = 0,
    threads: ThreadsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Scaling study: several model sizes trained on the same data and steps (interrupted runs resume)."""

    set_threads(threads)
    chosen = [s.strip() for s in sizes.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SIZES]
    if unknown or len(chosen) < 1:
        raise MarsInputError(f"unknown sizes {unknown or sizes!r}; choose from {', '.join(SIZES)}")
    cfg = TrainConfig(
        symbols=symbol_list(symbols + (extra or [])), steps=steps, eval_every=eval_every, seed=seed, data_dir=data_dir
    )
    result = scaling_study(chosen, cfg, out)
    human = "\n".join(
        f"{r['size']:>6}: {r['params']:>9,} params, val NLL {r['val_nll']:.4f} ({r['seconds']:.0f}s)"
        for r in result["runs"]
    )
    human += f"\nunigram {result['unigram_nll']:.4f}, bigram {result['bigram_nll']:.4f}; results in {out}/scaling.json"
    emit(result, as_json, human)


@train_app.command("vqvae")
def train_vqvae_command(
    out: Annotated[
        str, typer.Option("--out", callback=folder, help="Output folder (ckpt.pt, vqvae.pt, metrics.jsonl).")
    ],
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006 (typer needs a list default)
    extra: ExtraSymbols = None,
    size: Annotated[str, typer.Option("--size", help="Model size: tiny, small or base.")] = "small",
    codebook_size: Annotated[
        int | None, typer.Option("--codebook-size", help="Codewords (default: the size's).")
    ] = None,
    loss: Annotated[
        str | None, typer.Option("--loss", help="Reconstruction loss: poisson or mse (default: the size's).")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimisation steps.")] = 1200,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per step.")] = 64,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 2e-3,
    mirror: Annotated[
        bool, typer.Option("--mirror/--no-mirror", help="Mirror buy/sell on half the training images.")
    ] = True,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between evaluations.")] = 200,
    seed: Annotated[
        int,
        typer.Option("--seed", min=0, max=SEED_MAX, help="Seed of batches, augmentation, dropout and initialisation."),
    ] = 0,
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

    set_threads(threads)
    cfg = VQVAETrainConfig(
        symbols=symbol_list(symbols + (extra or [])),
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


@train_app.command("batch-model")
def train_batch_model_command(
    out: Annotated[
        str, typer.Option("--out", callback=folder, help="Output folder (ckpt.pt, batch_model.pt, metrics.jsonl).")
    ],
    vqvae: Annotated[
        str | None, typer.Option("--vqvae", help="VQ-VAE folder or vqvae.pt (default: the shipped one).")
    ] = None,
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006
    extra: ExtraSymbols = None,
    size: Annotated[str, typer.Option("--size", help="Model size: tiny, small or base.")] = "small",
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimisation steps.")] = 300,
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
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=SEED_MAX, help="Seed of batches, dropout and initialisation.")
    ] = 0,
    resume: ResumeOption = False,
    threads: ThreadsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the order-batch model (CPU) on VQ-VAE codes: 16-minute windows before 14:30 train;
    each minute from 14:30 is scored given the 15 before it."""

    set_threads(threads)
    cfg = BatchTrainConfig(
        vqvae=vqvae,
        symbols=symbol_list(symbols + (extra or [])),
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


@train_app.command("ensemble")
def train_ensemble_command(
    out: Annotated[
        str, typer.Option("--out", callback=folder, help="Output folder (ensemble.pt, metrics.jsonl, model_card.md).")
    ],
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006 (typer needs a list default)
    extra: ExtraSymbols = None,
    order_model: Annotated[
        str | None, typer.Option("--order-model", help="Frozen order model (default: the shipped one).")
    ] = None,
    vqvae: Annotated[
        str | None, typer.Option("--vqvae", help="VQ-VAE of the images (default: the shipped one).")
    ] = None,
    batch_model: Annotated[
        str | None,
        typer.Option(
            "--batch-model", help="Order-batch model of the sampled-image evaluation (default: the shipped one)."
        ),
    ] = None,
    width: Annotated[int, typer.Option("--width", help="Ensemble width.")] = 48,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimisation steps.")] = 1500,
    minutes_per_batch: Annotated[int, typer.Option("--minutes-per-batch", help="Training minutes per step.")] = 32,
    per_minute: Annotated[int, typer.Option("--per-minute", help="Orders per minute per step.")] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 3e-3,
    dropout: Annotated[float, typer.Option("--dropout", help="Dropout while training.")] = 0.1,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between validation evaluations.")] = 250,
    sampled_eval: Annotated[
        bool,
        typer.Option("--sampled-eval/--no-sampled-eval", help="Also score with images drawn by the order-batch model."),
    ] = True,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=SEED_MAX, help="Seed of batches, dropout and initialisation.")
    ] = 0,
    threads: ThreadsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the ensemble model (CPU; the order model stays frozen): orders before 14:30 train, from 14:30 validate;
    reports the loss advantage over the order model alone (paper Fig. 14)."""

    set_threads(threads)
    cfg = EnsembleTrainConfig(
        symbols=symbol_list(symbols + (extra or [])),
        order_model=order_model,
        vqvae=vqvae,
        batch_model=batch_model,
        width=width,
        steps=steps,
        minutes_per_batch=minutes_per_batch,
        per_minute=per_minute,
        lr=lr,
        dropout=dropout,
        eval_every=eval_every,
        sampled_eval=sampled_eval,
        seed=seed,
        data_dir=data_dir,
    )
    s = train_ensemble(cfg, out)
    human = (
        f"ensemble model, {s['params']:,} parameters, {s['steps']} steps in {s['seconds']:.0f}s\n"
        f"validation NLL per token: order model {s['val_nll_order']:.4f}, with the ensemble {s['val_nll_ensemble']:.4f} "
        f"(loss advantage {s['loss_advantage']:+.4f}; with the previous minute's image {s['loss_advantage_prev_minute']:+.4f})\n"
        f"saved {out}/ensemble.pt"
    )
    emit({k: v for k, v in s.items() if k != "train_config"}, as_json, human)
