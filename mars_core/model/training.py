"""One training loop for every model of MarS (CPU), around a few pure helpers.

`fit` runs AdamW steps with linear warm-up and cosine decay (`get_lr`). The dropout of step
k is seeded from (seed, k) and every model draws its batch from `default_rng([seed, k])`,
so a resumed run continues exactly as an uninterrupted one would. Every `eval_every`
steps and at the last one, the model's own `evaluate` makes one line of `metrics.jsonl`
and its `checkpoint` saves what a resume needs. The four `train_*` modules say what a
model trains on, how a batch is scored and what is reported; the loop is this one.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

import torch
from tqdm import tqdm

from mars_core.errors import MarsInputError
from mars_core.model.checkpoint import atomic_save
from mars_core.store.rundir import finite

DROPOUT_SEED = 1_000_003  # torch's generator at step k is seeded with seed * DROPOUT_SEED + k


class Schedule(Protocol):
    """What the loop reads of a training configuration (every `*TrainConfig` has these fields)."""

    steps: int  # optimisation steps
    lr: float  # peak learning rate
    min_lr: float  # learning rate at the end of the cosine decay
    warmup: int  # linear warm-up steps
    grad_clip: float  # max gradient norm
    eval_every: int  # steps between evaluations
    seed: int


def get_lr(step: int, cfg: Schedule) -> float:
    """Linear warm-up to `lr`, then cosine decay to `min_lr` at `steps`."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min((step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1), 1.0)
    return cfg.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def adamw(
    model: torch.nn.Module, lr: float, weight_decay: float, betas: tuple[float, float] = (0.9, 0.95)
) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on gains and biases)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def optimizer_step(
    optimizer: torch.optim.Optimizer, module: torch.nn.Module, loss: torch.Tensor, grad_clip: float
) -> None:
    """Backpropagate `loss`, clip the gradient norm of `module`'s parameters, and take one optimizer step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
    optimizer.step()


def resume_state(ckpt_path: Path, resume: bool) -> dict | None:
    """The training checkpoint to continue from, None when not resuming.

    Raises:
        MarsInputError: resuming, but there is no checkpoint.
    """
    if not resume:
        return None
    if not ckpt_path.is_file():
        raise MarsInputError(f"nothing to resume: {ckpt_path} does not exist")
    return torch.load(ckpt_path, map_location="cpu", weights_only=True)


def save_state(
    path: Path, cfg: object, model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int, **extra: object
) -> None:
    """Save what a resume needs (`resume_state` reads it back): the training config (a dataclass), the weights, the
    optimizer's state, the step reached, and the model's own `extra` (its tokenizer, the seconds spent...)."""
    state = {"train": asdict(cfg), "model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}
    atomic_save(state | extra, path)


def append_jsonl(path: Path, record: dict) -> None:
    """Append one JSON line (a metrics record) to a file; a NaN or infinite value (a diverged loss) becomes null."""
    with path.open("a") as f:
        f.write(json.dumps(finite(record), allow_nan=False) + "\n")


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    cfg: Schedule,
    batch_loss: Callable[[int], tuple[torch.Tensor, float]],
    evaluate: Callable[[int, float, float], dict],
    metrics: Path,
    *,
    step: int = 0,
    stop: int | None = None,
    smoothing: float = 0.05,
    checkpoint: Callable[[int], None] | None = None,
    desc: str = "training",
    progress: bool = True,
) -> int:
    """Train `model` from `step` to `cfg.steps` (or to `stop`, as an interruption would); returns the step reached.

    Args:
        batch_loss: step -> (the loss to minimise, the value the progress tracks), for that step's batch.
        evaluate: (step, tracked value smoothed over the steps, learning rate) -> the step's metrics record.
        metrics: the `metrics.jsonl` the records are appended to.
        smoothing: weight of the newest value in the tracked moving average.
        checkpoint: step -> None, saves after each evaluation.
    """
    model.train()
    bar = tqdm(total=cfg.steps, initial=step, desc=desc, file=sys.stderr, disable=not progress)
    running = None
    while step < min(stop or cfg.steps, cfg.steps):
        lr = get_lr(step, cfg)
        set_lr(optimizer, lr)
        torch.manual_seed(cfg.seed * DROPOUT_SEED + step)  # dropout of this step
        loss, tracked = batch_loss(step)
        optimizer_step(optimizer, model, loss, cfg.grad_clip)
        step += 1
        running = tracked if running is None else (1 - smoothing) * running + smoothing * tracked
        bar.update(1)
        bar.set_postfix(loss=f"{running:.4f}", lr=f"{lr:.1e}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            append_jsonl(metrics, evaluate(step, running, lr))
            if checkpoint is not None:
                checkpoint(step)
    bar.close()
    return step
