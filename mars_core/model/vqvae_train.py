"""Order-image data and VQ-VAE training on CPU (one visible loop around small helpers).

Data: every catalogued day of the chosen symbols becomes one order image per minute
(`order_images.day_images`). Split as for the order model: minutes starting before 14:30
train, minutes from 14:30 to the close validate (two sample days: 600 training and 180
validation images). The images use the tokenizer of the shipped order model when there
is one (so the ensemble sees the same slots), else a tokenizer fitted exactly as
`mars train order-model` fits it (`dataset.fit_tokenizer`, same days and seed, hence
the same bins); the tokenizer travels in every checkpoint with its fingerprint.

`train_vqvae()` trains with AdamW, warm-up and cosine decay, optional buy/sell mirroring
of training images (`order_images.mirror_sides`), evaluates on the validation minutes
every `eval_every` steps (metrics.jsonl), checkpoints atomically (`ckpt.pt`, resumable,
batches seeded from (seed, step)) and writes the slim `vqvae.pt` with a summary that
compares the reconstruction with the mean-training-image and previous-minute baselines.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from mars_core.data.schema import NS_PER_MINUTE
from mars_core.errors import MarsInputError
from mars_core.model.dataset import VAL_START_NS, fit_tokenizer, load_days
from mars_core.model.order_images import OrderImages, day_images, mirror_sides
from mars_core.model.tokenizer import OrderTokenizer
from mars_core.model.train import (
    append_jsonl,
    atomic_save,
    get_lr,
    load_order_model,
    optimizer_step,
    read_checkpoint,
    resume_state,
    set_lr,
)
from mars_core.model.vqvae import VQVAE, VQVAEConfig
from mars_core.paths import ORDER_MODEL_DIR, VQVAE_DIR

VQVAE_FILE = "vqvae.pt"
VQVAE_FORMAT = 1
VAL_START_MINUTE = VAL_START_NS // NS_PER_MINUTE  # 870 = 14:30


# ------------------------------------------------------------------ data
def tokenizer_fingerprint(tokenizer: OrderTokenizer) -> str:
    """Short sha256 of the fitted bins: equal fingerprints mean the same image slots."""
    h = hashlib.sha256()

    def walk(obj) -> None:
        if isinstance(obj, dict):
            for k in sorted(obj):
                h.update(str(k).encode())
                walk(obj[k])
        elif isinstance(obj, torch.Tensor):
            h.update(obj.numpy().astype(np.int64).tobytes())
        else:
            h.update(repr(obj).encode())

    walk(tokenizer.state_dict())
    return h.hexdigest()[:16]


def resolve_tokenizer(days, source: str | Path | None, seed: int = 0) -> tuple[OrderTokenizer, str]:
    """The order tokenizer for the images, and where it came from.

    `source`: an order-model checkpoint (file or folder) to take it from; None: the shipped
    order model if present, else one fitted on the days like the order model's training does.
    """
    if source is not None:
        return load_order_model(source).tokenizer, str(source)
    if (ORDER_MODEL_DIR / "model.pt").is_file():
        return load_order_model(ORDER_MODEL_DIR).tokenizer, "assets/models/order_model/model.pt"
    return fit_tokenizer(days, seed=seed), f"fitted on the training split (seed {seed})"


@dataclass(frozen=True)
class ImageData:
    """Order images of every day and the tokenizer that made them."""

    days: list[OrderImages]
    tokenizer: OrderTokenizer
    tokenizer_source: str

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """(train (N, 3, 32, 32), val (M, 3, 32, 32)) uint8: minutes before / from 14:30."""
        train = [d.images[d.minutes < VAL_START_MINUTE] for d in self.days]
        val = [d.images[d.minutes >= VAL_START_MINUTE] for d in self.days]
        return np.concatenate(train), np.concatenate(val)

    def val_previous(self) -> tuple[np.ndarray, np.ndarray]:
        """(validation images, the image of the minute before each) for the previous-minute baseline."""
        cur, prev = [], []
        for d in self.days:
            i = np.flatnonzero(d.minutes >= VAL_START_MINUTE)
            i = i[i > 0]
            cur.append(d.images[i])
            prev.append(d.images[i - 1])
        return np.concatenate(cur), np.concatenate(prev)


def load_image_data(
    symbols: list[str],
    data_dir: str | None = None,
    tokenizer: OrderTokenizer | None = None,
    tokenizer_source: str | Path | None = None,
    seed: int = 0,
) -> ImageData:
    """Order images of every catalogued day of the symbols (see the module docstring)."""
    days = load_days(symbols, data_dir)
    if tokenizer is None:
        tokenizer, where = resolve_tokenizer(days, tokenizer_source, seed)
    else:
        where = "given"
    images = [day_images(d, tokenizer) for d in days]
    if not any((d.minutes < VAL_START_MINUTE).any() for d in images) or not any(
        (d.minutes >= VAL_START_MINUTE).any() for d in images
    ):
        raise MarsInputError("the days need minutes both before and after 14:30 (training and validation)")
    return ImageData(images, tokenizer, where)


# ------------------------------------------------------------------ evaluation
def _totals_corr(pred: np.ndarray, real: np.ndarray) -> list[float | None]:
    """Pearson correlation per channel of per-image totals (None where one side is constant)."""
    out = []
    for c in range(real.shape[1]):
        a, b = pred[:, c], real[:, c]
        out.append(None if a.std() == 0 or b.std() == 0 else round(float(np.corrcoef(a, b)[0, 1]), 4))
    return out


def image_metrics(rate: np.ndarray, images: np.ndarray) -> dict:
    """Reconstruction figures of predicted counts `rate` (N, 3, 32, 32) against real counts."""
    y = images.astype(np.float64)
    rate = np.maximum(rate.astype(np.float64), 1e-6)
    totals_pred, totals_real = rate.sum((2, 3)), y.sum((2, 3))
    return {
        "mse_log1p": round(float(np.mean((np.log1p(rate) - np.log1p(y)) ** 2)), 5),
        "mse_log1p_nonzero": round(float(np.mean(((np.log1p(rate) - np.log1p(y)) ** 2)[y > 0])), 5),
        "poisson_nll": round(float(np.mean(rate - y * np.log(rate))), 5),
        "totals_corr": _totals_corr(totals_pred, totals_real),
        "totals_mape": round(float(np.mean(np.abs(totals_pred - totals_real) / np.maximum(totals_real, 1))), 4),
    }


def code_usage(codes: np.ndarray, codebook_size: int) -> dict:
    """Distinct codes used and the perplexity exp(H) of the code histogram."""
    hist = np.bincount(codes.ravel(), minlength=codebook_size).astype(np.float64)
    p = hist[hist > 0] / hist.sum()
    return {"codes_used": int((hist > 0).sum()), "perplexity": round(float(np.exp(-(p * np.log(p)).sum())), 2)}


@torch.no_grad()
def encode_images(model: VQVAE, images: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Code grids (N, 8, 8) int64 of uint8 images (N, 3, 32, 32)."""
    model.eval()
    return (
        np.concatenate(
            [model.encode(torch.from_numpy(images[i : i + chunk])).numpy() for i in range(0, len(images), chunk)]
        )
        if len(images)
        else np.zeros((0, *model.grid), np.int64)
    )


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


# ------------------------------------------------------------------ training
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


def vqvae_payload(model: VQVAE, tokenizer: OrderTokenizer, summary: dict) -> dict:
    """Everything needed to rebuild the VQ-VAE and its image slots from one file."""
    return {
        "format": VQVAE_FORMAT,
        "kind": "vqvae",
        "model_args": asdict(model.config),
        "model": model.state_dict(),
        "tokenizer": tokenizer.state_dict(),
        "tokenizer_fingerprint": tokenizer_fingerprint(tokenizer),
        "summary": summary,
    }


@dataclass(frozen=True)
class LoadedVQVAE:
    """A VQ-VAE in eval mode, the order tokenizer of its images and its training summary."""

    model: VQVAE
    tokenizer: OrderTokenizer
    fingerprint: str
    summary: dict


def vqvae_from_payload(payload: dict, where: str) -> LoadedVQVAE:
    if not isinstance(payload, dict) or payload.get("kind") != "vqvae" or payload.get("format") != VQVAE_FORMAT:
        raise MarsInputError(f"{where} is not a VQ-VAE checkpoint of format {VQVAE_FORMAT}")
    model = VQVAE(VQVAEConfig(**payload["model_args"]))
    model.load_state_dict(payload["model"])
    return LoadedVQVAE(
        model.eval(),
        OrderTokenizer.from_state_dict(payload["tokenizer"]),
        payload["tokenizer_fingerprint"],
        payload["summary"],
    )


def load_vqvae(path: str | Path | None = None) -> LoadedVQVAE:
    """Load `vqvae.pt` (a file, or a folder holding one); default: the shipped one in assets/.

    Raises:
        MarsInputError: the file is missing or not a VQ-VAE checkpoint.
    """
    path, payload = read_checkpoint(path, VQVAE_DIR, VQVAE_FILE, "VQ-VAE", "mars train vqvae --out DIR")
    return vqvae_from_payload(payload, str(path))


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
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.99),
    )
    step = 0
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / "metrics.jsonl"

    def checkpoint(at_step: int, seconds: float) -> None:
        atomic_save(
            {
                "train": asdict(cfg),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "tokenizer": data.tokenizer.state_dict(),
                "step": at_step,
                "seconds": seconds,
            },
            ckpt_path,
        )

    model.train()
    bar = tqdm(total=cfg.steps, initial=step, desc=f"vqvae ({cfg.size})", file=sys.stderr, disable=not progress)
    running = None
    while step < cfg.steps:
        lr = get_lr(step, cfg)
        set_lr(optimizer, lr)
        torch.manual_seed(cfg.seed * 1_000_003 + step)  # dropout of this step
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)  # code restarts of this step
        batch = get_image_batch(train, cfg.batch_size, cfg.mirror, np.random.default_rng([cfg.seed, step]))
        loss, parts = model.loss(batch, gen)
        optimizer_step(optimizer, model, loss, cfg.grad_clip)
        step += 1
        running = parts["recon"] if running is None else 0.95 * running + 0.05 * parts["recon"]
        bar.update(1)
        bar.set_postfix(recon=f"{running:.4f}", lr=f"{lr:.1e}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            ev = evaluate_vqvae(model, val)
            append_jsonl(
                metrics_path,
                {
                    "step": step,
                    "train_recon": round(running, 5),
                    **{f"val_{k}": v for k, v in ev.items()},
                    "lr": lr,
                    "seconds": round(time.perf_counter() - t0, 1),
                },
            )
            checkpoint(step, time.perf_counter() - t0)
    bar.close()
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
