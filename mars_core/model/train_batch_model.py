"""Training of the order-batch model (CPU; the loop is `training.fit`, the checkpoint `checkpoint`).

Data: the order images of every day (made with the VQ-VAE's own order tokenizer) are
encoded by a trained VQ-VAE into one 8 x 8 code grid per minute. Training sequences are
16 consecutive minutes whose minutes all start before 14:30; validation scores each
minute from 14:30 to the close given the 15 minutes before it (which may reach back
before 14:30, as the order model's validation context does): cross-entropy per code and
per image (64 codes), in nats. Baselines fitted on the training minutes only (smoothing
chosen on the last 10% of each day's training minutes):
  * unigram: code frequencies;
  * cell unigram: code frequencies at each of the 64 grid cells;
  * repeat last minute: lam * [code = the same cell's code a minute earlier] + (1 - lam) * cell unigram.

Optional augmentation (`mirror`): half of the training windows use the codes of the
buy/sell-mirrored images (`order_images.mirror_sides`).

`batch_model.pt` holds the model arguments and weights, the whole VQ-VAE checkpoint it was
trained on (so one file rebuilds images, codes and samples) and the training summary.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from mars_core.errors import MarsInputError
from mars_core.model.batch_model import BatchModel, BatchModelConfig
from mars_core.model.checkpoint import (
    BATCH_MODEL_FILE,
    LoadedVQVAE,
    atomic_save,
    batch_payload,
    load_vqvae,
    vqvae_from_payload,
    vqvae_payload,
)
from mars_core.model.image_data import VAL_START_MINUTE, ImageData, image_metrics, load_image_data
from mars_core.model.order_images import mirror_sides
from mars_core.model.training import adamw, append_jsonl, fit, resume_state, save_state
from mars_core.model.vqvae import encode_images

ALPHAS = (0.01, 0.1, 0.5, 1.0, 2.0)
LAMBDAS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


# ------------------------------------------------------------------ data
@dataclass(frozen=True)
class DayCodes:
    """One day's minute code grids, flattened to raster order."""

    key: str
    minutes: np.ndarray  # (M,) int64 minute of the day, consecutive
    codes: np.ndarray  # (M, 64) int64
    mirrored: np.ndarray  # (M, 64) int64 codes of the side-mirrored images
    n_train: int  # minutes before 14:30 (the first n_train rows)


def encode_days(data: ImageData, vqvae: LoadedVQVAE) -> list[DayCodes]:
    """Code grids of every day's images (and of their mirrored images)."""
    out = []
    for d in data.days:
        codes = encode_images(vqvae.model, d.images).reshape(len(d), -1)
        mirrored = encode_images(vqvae.model, mirror_sides(d.images)).reshape(len(d), -1)
        out.append(DayCodes(d.key, d.minutes, codes, mirrored, int((d.minutes < VAL_START_MINUTE).sum())))
    return out


def get_code_batch(
    days: list[DayCodes], batch: int, minutes: int, mirror: bool, rng: np.random.Generator
) -> torch.Tensor:
    """Random training windows (B, minutes * 64) of consecutive minutes, all before 14:30."""
    room = np.array([max(d.n_train - minutes + 1, 0) for d in days], dtype=np.float64)
    if room.sum() == 0:
        raise MarsInputError(f"no day has {minutes} consecutive training minutes before 14:30")
    which = rng.choice(len(days), size=batch, p=room / room.sum())
    starts = [int(rng.integers(room[i])) for i in which]
    flip = rng.random(batch) < 0.5 if mirror else np.zeros(batch, bool)
    rows = [(days[i].mirrored if f else days[i].codes)[s : s + minutes].ravel() for i, s, f in zip(which, starts, flip)]
    return torch.from_numpy(np.stack(rows))


def val_windows(days: list[DayCodes], minutes: int) -> torch.Tensor:
    """(W, minutes * 64): each validation minute with the minutes - 1 minutes before it."""
    rows = [
        d.codes[i - minutes + 1 : i + 1].ravel() for d in days for i in range(max(d.n_train, minutes - 1), len(d.codes))
    ]
    if not rows:
        raise MarsInputError("no validation minutes (none at or after 14:30)")
    return torch.from_numpy(np.stack(rows))


@torch.no_grad()
def estimate_val_loss(model: BatchModel, windows: torch.Tensor, chunk: int = 16) -> float:
    """Mean cross-entropy (nats) per code of the last minute of each window."""
    was_training = model.training
    model.eval()
    G = model.config.grid
    total = sum(float(model.loss(part)[:, -G:].sum()) for part in windows.split(chunk))
    model.train(was_training)
    return total / (len(windows) * G)


@torch.no_grad()
def sample_eval(
    model: BatchModel,
    vqvae: LoadedVQVAE,
    data: ImageData,
    days: list[DayCodes],
    n_samples: int = 8,
    seed: int = 0,
    chunk: int = 32,
) -> dict:
    """How well sampled next minutes predict the real one, in image space (codebook-independent).

    For every validation minute, `n_samples` candidates are drawn from the 15 minutes before it
    and decoded; their mean expected counts are the prediction. Compared with the mean training
    image, the previous minute's image, its VQ-VAE reconstruction and the mean of the last 15
    minutes' images, by `image_data.image_metrics` (Poisson NLL, MSE on log1p, totals).
    """
    H = model.config.minutes - 1
    hist, real, prev, recent = [], [], [], []
    for d, imgs in zip(days, data.days):
        for i in range(max(d.n_train, H), len(d.codes)):
            hist.append(d.codes[i - H : i])
            real.append(imgs.images[i])
            prev.append(imgs.images[i - 1])
            recent.append(imgs.images[i - H : i].astype(np.float64).mean(0))
    hist_t = np.stack(hist)
    pred = []
    for k in range(0, len(hist_t), chunk):
        codes = model.sample_next_minute(hist_t[k : k + chunk], n_samples, 1.0, seed + k)  # (b, n, 64)
        flat = torch.from_numpy(codes.reshape(-1, *vqvae.model.grid))
        rate = vqvae.model.decode_counts(flat)  # (b * n, 3, 32, 32)
        pred.append(rate.view(len(codes), n_samples, *rate.shape[1:]).mean(1).numpy())
    real_a, prev_a = np.stack(real), np.stack(prev)
    prev_rec = vqvae.model.decode_counts(
        torch.from_numpy(np.stack([h[-1] for h in hist]).reshape(-1, *vqvae.model.grid))
    ).numpy()
    train, _ = data.split()
    return {
        "n_samples": n_samples,
        "model": image_metrics(np.concatenate(pred), real_a),
        "mean_image": image_metrics(np.broadcast_to(train.astype(np.float64).mean(0), real_a.shape), real_a),
        "previous_minute": image_metrics(prev_a.astype(np.float64), real_a),
        "previous_minute_reconstruction": image_metrics(prev_rec, real_a),
        "mean_of_last_15_minutes": image_metrics(np.stack(recent), real_a),
    }


# ------------------------------------------------------------------ baselines
def _ce(p: np.ndarray) -> float:
    return float(-np.log(p).mean())


def code_baselines(days: list[DayCodes], V: int, tune_share: float = 0.1) -> dict:
    """Validation cross-entropy per code of the count baselines (see the module docstring)."""
    G = days[0].codes.shape[1]

    def fit(rows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        c = np.concatenate(rows)
        uni = np.bincount(c.ravel(), minlength=V).astype(np.float64)
        cell = np.stack([np.bincount(c[:, j], minlength=V) for j in range(G)]).astype(np.float64)  # (G, V)
        return uni, cell

    def probs(uni, cell, alpha, beta, lam, cur, prev):
        pu = (uni[cur] + alpha) / (uni.sum() + alpha * V)
        cols = np.broadcast_to(np.arange(G), cur.shape)
        pc = (cell[cols, cur] + beta) / (cell.sum(1)[cols] + beta * V)
        return pu, pc, lam * (cur == prev) + (1 - lam) * pc

    def pairs(ranges: list[tuple[DayCodes, int, int]]) -> tuple[np.ndarray, np.ndarray]:
        cur = np.concatenate([d.codes[max(lo, 1) : hi] for d, lo, hi in ranges])
        prev = np.concatenate([d.codes[max(lo, 1) - 1 : hi - 1] for d, lo, hi in ranges])
        return cur, prev

    cut = [int(d.n_train * (1 - tune_share)) for d in days]
    uni_h, cell_h = fit([d.codes[:c] for d, c in zip(days, cut)])
    cur_t, prev_t = pairs([(d, c, d.n_train) for d, c in zip(days, cut)])
    alpha = min(ALPHAS, key=lambda a: _ce(probs(uni_h, cell_h, a, a, 0.0, cur_t, prev_t)[0]))
    beta = min(ALPHAS, key=lambda b: _ce(probs(uni_h, cell_h, alpha, b, 0.0, cur_t, prev_t)[1]))
    lam = min(LAMBDAS, key=lambda lm: _ce(probs(uni_h, cell_h, alpha, beta, lm, cur_t, prev_t)[2]))
    uni, cell = fit([d.codes[: d.n_train] for d in days])
    cur, prev = pairs([(d, d.n_train, len(d.codes)) for d in days])
    pu, pc, pr = probs(uni, cell, alpha, beta, lam, cur, prev)
    return {
        "unigram": round(_ce(pu), 5),
        "cell_unigram": round(_ce(pc), 5),
        "repeat_last": round(_ce(pr), 5),
        "alpha": alpha,
        "beta": beta,
        "lambda": lam,
    }


# ------------------------------------------------------------------ loading


# ------------------------------------------------------------------ training
SIZES: dict[str, BatchModelConfig] = {
    "tiny": BatchModelConfig(n_layer=1, n_head=2, n_embd=16, minutes=4),
    "small": BatchModelConfig(n_layer=2, n_head=4, n_embd=64),
    "base": BatchModelConfig(n_layer=3, n_head=4, n_embd=96),
}


@dataclass
class BatchTrainConfig:
    vqvae: str | None = None  # VQ-VAE checkpoint (file or folder); None: the shipped one
    symbols: list[str] = field(default_factory=lambda: ["GOOG", "AMZN"])  # days of these symbols
    size: str = "small"  # key of SIZES
    steps: int = 300  # optimisation steps
    batch_size: int = 8  # windows (of 16 minutes) per step
    lr: float = 2e-3  # peak learning rate
    min_lr: float = 1e-4  # learning rate at the end of the cosine decay
    warmup: int = 30  # linear warm-up steps
    weight_decay: float = 0.1  # AdamW, on matrices only
    grad_clip: float = 1.0  # max gradient norm
    dropout: float = 0.2  # overrides the size's dropout
    mirror: bool = True  # use the buy/sell-mirrored codes for half of the windows
    eval_every: int = 50  # steps between validation evaluations
    eval_samples: int = 8  # candidates per validation minute in the final image-space evaluation (0: skip it)
    seed: int = 0  # seeds batches, dropout and initialisation
    data_dir: str | None = None  # LOBSTER folder (None: the default resolution)


def train_batch_model(
    cfg: BatchTrainConfig, out: str | Path, resume: bool = False, progress: bool = True, data: ImageData | None = None
) -> dict:
    """Train (or resume) an order-batch model into folder `out`; returns the summary in batch_model.pt.

    `data` (optional) replaces loading the days (tests); it must use the VQ-VAE's tokenizer.

    Raises:
        MarsInputError: unknown size, missing VQ-VAE, nothing to resume, or data problems.
    """
    if cfg.size not in SIZES:
        raise MarsInputError(f"unknown batch-model size {cfg.size!r}; choose one of {', '.join(SIZES)}")
    out = Path(out)
    ckpt_path = out / "ckpt.pt"
    state = resume_state(ckpt_path, resume)
    if state:
        cfg = replace(BatchTrainConfig(**state["train"]), steps=cfg.steps)
    t0 = time.perf_counter() - (state["seconds"] if state else 0.0)
    vq_payload = state["vqvae"] if state else _vqvae_payload_of(cfg.vqvae)
    vqvae = vqvae_from_payload(vq_payload, str(cfg.vqvae))
    if data is None:
        data = load_image_data(cfg.symbols, cfg.data_dir, tokenizer=vqvae.tokenizer)
    days = encode_days(data, vqvae)
    mc = replace(SIZES[cfg.size], dropout=cfg.dropout, vocab_size=vqvae.model.config.codebook_size)
    torch.manual_seed(cfg.seed)
    model = BatchModel(mc)
    optimizer = adamw(model, cfg.lr, cfg.weight_decay)
    step = 0
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
    baselines = code_baselines(days, mc.vocab_size)
    windows = val_windows(days, mc.minutes)
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / "metrics.jsonl"

    def checkpoint(at_step: int, seconds: float | None = None) -> None:
        seconds = time.perf_counter() - t0 if seconds is None else seconds
        save_state(ckpt_path, cfg, model, optimizer, at_step, vqvae=vq_payload, seconds=seconds)

    def batch_loss(at_step: int) -> tuple[torch.Tensor, float]:
        rng = np.random.default_rng([cfg.seed, at_step])
        loss = model.loss(get_code_batch(days, cfg.batch_size, mc.minutes, cfg.mirror, rng)).mean()
        return loss, loss.item()

    def evaluate(at_step: int, running: float, lr: float) -> dict:
        return {
            "step": at_step,
            "train_loss": round(running, 5),
            "val_ce": round(estimate_val_loss(model, windows), 5),
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
        smoothing=0.1,
        checkpoint=checkpoint,
        desc=f"batch model ({cfg.size})",
        progress=progress,
    )
    val = estimate_val_loss(model, windows)
    seconds = time.perf_counter() - t0  # training time (the sampled evaluation below is not counted)
    model.eval()
    sampled = sample_eval(model, vqvae, data, days, cfg.eval_samples, cfg.seed) if cfg.eval_samples > 0 else None
    G = mc.grid
    summary = {
        "val_ce_per_code": round(val, 5),
        "val_ce_per_image": round(val * G, 3),
        "baselines_per_code": baselines,
        "baselines_per_image": {k: round(baselines[k] * G, 3) for k in ("unigram", "cell_unigram", "repeat_last")},
        "sampled_next_minute": sampled,
        "params": model.n_params(),
        "size": cfg.size,
        "model_args": asdict(mc),
        "steps": step,
        "windows_seen": step * cfg.batch_size,
        "train_minutes": int(sum(d.n_train for d in days)),
        "val_minutes": int(len(windows)),
        "days": [d.key for d in days],
        "vqvae_fingerprint": vqvae.fingerprint,
        "vqvae_summary": {k: vqvae.summary.get(k) for k in ("val", "model_args", "steps")},
        "seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "train_config": asdict(cfg),
    }
    append_jsonl(
        metrics_path,
        {"final": True, "steps": step, "val_ce": summary["val_ce_per_code"], "seconds": summary["seconds"]},
    )
    checkpoint(step, seconds)
    atomic_save(batch_payload(model, vq_payload, summary), out / BATCH_MODEL_FILE)
    return summary


def _vqvae_payload_of(path: str | Path | None) -> dict:
    """The VQ-VAE checkpoint as a payload dict (validated by loading it)."""
    loaded = load_vqvae(path)
    return vqvae_payload(loaded.model, loaded.tokenizer, loaded.summary)
