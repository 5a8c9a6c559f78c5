"""VQ-VAE training on order images (CPU; the loop is `training.fit`).

`train_vqvae()` trains on the images of `image_data` with AdamW, warm-up and cosine decay,
optional buy/sell mirroring of training images (`order_images.mirror_sides`), evaluates
on the validation minutes every `eval_every` steps (metrics.jsonl), checkpoints atomically
(`ckpt.pt`, resumable) and writes the slim `vqvae.pt` (see `checkpoint`) with a summary
that compares the reconstruction with the mean-training-image and previous-minute
baselines. The tokenizer of the images travels in every checkpoint with its fingerprint.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from mars_core.errors import MarsInputError
from mars_core.model.checkpoint import VQVAE_FILE, atomic_save, tokenizer_fingerprint, vqvae_payload
from mars_core.model.image_data import ImageData, image_metrics, load_image_data
from mars_core.model.order_images import mirror_sides
from mars_core.model.tokenizer import OrderTokenizer
from mars_core.model.training import DROPOUT_SEED, adamw, append_jsonl, fit, resume_state, save_state
from mars_core.model.vqvae import VQVAE, VQVAEConfig, encode_images


def code_usage(codes: np.ndarray, codebook_size: int) -> dict:
    """Distinct codes used and the perplexity exp(H) of the code histogram."""
    hist = np.bincount(codes.ravel(), minlength=codebook_size).astype(np.float64)
    p = hist[hist > 0] / hist.sum()
    return {"codes_used": int((hist > 0).sum()), "perplexity": round(float(np.exp(-(p * np.log(p)).sum())), 2)}


@torch.no_grad()
def evaluate_vqvae(model: VQVAE, images: np.ndarray) -> dict:
    """Reconstruction metrics and code usage of the model on uint8 images (N, 3, 32, 32)."""
    was_training = model.training
    codes = encode_images(model, images)
    rate = np.concatenate(
        [model.decode_counts(torch.from_numpy(codes[i : i + 256])).numpy() for i in range(0, len(codes), 256)]
    )
    model.train(was_training)
    return {**image_metrics(rate, images), **code_usage(codes, model.config.codebook_size)}


def vqvae_baselines(train: np.ndarray, data: ImageData) -> dict:
    """Validation figures of two trivial reconstructions: the mean training image (the
    constant minimising the Poisson NLL; its log1p is used for the MSE) and the previous
    minute's image."""
    val = data.split()[1]
    mean = train.astype(np.float64).mean(0, keepdims=True)
    const = image_metrics(np.broadcast_to(mean, val.shape), val)
    log_mean = np.log1p(train.astype(np.float64)).mean(0, keepdims=True)  # the MSE-optimal constant in log1p
    const["mse_log1p"] = round(float(np.mean((log_mean - np.log1p(val.astype(np.float64))) ** 2)), 5)
    cur, prev = data.val_previous()
    return {"mean_image": const, "previous_minute": image_metrics(prev.astype(np.float64), cur)}


SIZES: dict[str, VQVAEConfig] = {
    "tiny": VQVAEConfig(width=4, n_res=1, code_dim=4, codebook_size=32),
    "small": VQVAEConfig(width=12, n_res=2, code_dim=8, codebook_size=128),
    "base": VQVAEConfig(width=16, n_res=3, code_dim=8, codebook_size=256),
}


@dataclass
class VQVAETrainConfig:
    symbols: list[str] = field(default_factory=lambda: ["GOOG", "AMZN"])  # days of these symbols
    size: str = "small"  # key of SIZES
    codebook_size: int | None = None  # overrides the size's codebook size
    recon_loss: str | None = None  # overrides the size's loss ("poisson" or "mse")
    steps: int = 1200  # optimisation steps
    batch_size: int = 64  # images per step
    lr: float = 2e-3  # peak learning rate
    min_lr: float = 1e-4  # learning rate at the end of the cosine decay
    warmup: int = 50  # linear warm-up steps
    weight_decay: float = 1e-4  # AdamW
    grad_clip: float = 1.0  # max gradient norm
    dropout: float = 0.1  # in the residual blocks
    mirror: bool = True  # flip buy/sell sides of half the training images
    eval_every: int = 200  # steps between validation evaluations
    seed: int = 0  # seeds batches, augmentation, dropout, initialisation and code restarts
    data_dir: str | None = None  # LOBSTER folder (None: the default resolution)
    tokenizer: str | None = None  # order-model checkpoint to take the tokenizer from (None: see resolve_tokenizer)


def model_config(cfg: VQVAETrainConfig) -> VQVAEConfig:
    if cfg.size not in SIZES:
        raise MarsInputError(f"unknown VQ-VAE size {cfg.size!r}; choose one of {', '.join(SIZES)}")
    mc = replace(SIZES[cfg.size], dropout=cfg.dropout)
    if cfg.codebook_size is not None:
        mc = replace(mc, codebook_size=cfg.codebook_size)
    if cfg.recon_loss is not None:
        mc = replace(mc, recon_loss=cfg.recon_loss)
    if mc.codebook_size < 2 or mc.recon_loss not in ("poisson", "mse"):
        raise MarsInputError(
            f"codebook size must be >= 2 and the loss poisson or mse; got {mc.codebook_size}, {mc.recon_loss!r}"
        )
    return mc


def get_image_batch(train: np.ndarray, batch: int, mirror: bool, rng: np.random.Generator) -> torch.Tensor:
    """Random training images (B, 3, 32, 32) uint8, half of them side-mirrored when `mirror`."""
    x = train[rng.integers(len(train), size=batch)]
    if mirror:
        flip = rng.random(batch) < 0.5
        x[flip] = mirror_sides(x[flip])
    return torch.from_numpy(x)


def train_vqvae(
    cfg: VQVAETrainConfig, out: str | Path, resume: bool = False, progress: bool = True, data: ImageData | None = None
) -> dict:
    """Train (or resume) a VQ-VAE into folder `out`; returns the summary written to vqvae.pt.

    `data` (optional) replaces loading the days (tests); its tokenizer is used.

    Raises:
        MarsInputError: unknown size or loss, nothing to resume, or data problems.
    """
    out = Path(out)
    ckpt_path = out / "ckpt.pt"
    state = resume_state(ckpt_path, resume)
    if state:
        cfg = replace(VQVAETrainConfig(**state["train"]), steps=cfg.steps)
    mc = model_config(cfg)
    t0 = time.perf_counter() - (state["seconds"] if state else 0.0)
    if data is None:
        tok = OrderTokenizer.from_state_dict(state["tokenizer"]) if state else None
        data = load_image_data(cfg.symbols, cfg.data_dir, tok, cfg.tokenizer, cfg.seed)
    train, val = data.split()
    torch.manual_seed(cfg.seed)
    model = VQVAE(mc)
    optimizer = adamw(model, cfg.lr, cfg.weight_decay, betas=(0.9, 0.99))
    step = 0
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / "metrics.jsonl"

    def checkpoint(at_step: int, seconds: float | None = None) -> None:
        seconds = time.perf_counter() - t0 if seconds is None else seconds
        save_state(ckpt_path, cfg, model, optimizer, at_step, tokenizer=data.tokenizer.state_dict(), seconds=seconds)

    def batch_loss(at_step: int) -> tuple[torch.Tensor, float]:
        gen = torch.Generator().manual_seed(cfg.seed * DROPOUT_SEED + at_step)  # code restarts of this step
        batch = get_image_batch(train, cfg.batch_size, cfg.mirror, np.random.default_rng([cfg.seed, at_step]))
        loss, parts = model.loss(batch, gen)
        return loss, parts["recon"]

    def evaluate(at_step: int, running: float, lr: float) -> dict:
        ev = evaluate_vqvae(model, val)
        return {
            "step": at_step,
            "train_recon": round(running, 5),
            **{f"val_{k}": v for k, v in ev.items()},
            "lr": lr,
            "seconds": round(time.perf_counter() - t0, 1),
        }

    step = fit(
        model,
        optimizer,
        cfg,
        batch_loss,
        evaluate,
        metrics_path,
        step=step,
        checkpoint=checkpoint,
        desc=f"vqvae ({cfg.size})",
        progress=progress,
    )
    seconds = time.perf_counter() - t0
    summary = {
        "val": evaluate_vqvae(model, val),
        "train": evaluate_vqvae(model, train),
        "baselines": vqvae_baselines(train, data),
        "params": model.n_params(),
        "model_args": asdict(mc),
        "steps": step,
        "train_images": int(len(train)),
        "val_images": int(len(val)),
        "days": [d.key for d in data.days],
        "tokenizer_source": data.tokenizer_source,
        "tokenizer_fingerprint": tokenizer_fingerprint(data.tokenizer),
        "seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "train_config": asdict(cfg),
    }
    append_jsonl(metrics_path, {"final": True, "steps": step, "val": summary["val"], "seconds": summary["seconds"]})
    checkpoint(step, seconds)
    atomic_save(vqvae_payload(model, data.tokenizer, summary), out / VQVAE_FILE)
    return summary
