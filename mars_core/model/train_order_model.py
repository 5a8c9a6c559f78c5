"""Training of the order model on CPU (the loop is `training.fit`).

`train()` fits the tokenizer (or reuses the one in a checkpoint being resumed), builds the
token streams, fits the unigram/bigram baselines on the same split and trains with AdamW,
linear warm-up and cosine decay. Every `eval_every` steps it scores a fixed subset of the
validation windows and appends a line to `metrics.jsonl`; at the end it scores all of
them. The checkpoint (`ckpt.pt`, with optimizer state) and the slim model (`model.pt`:
model arguments, weights, tokenizer, summary; see `checkpoint`) are written atomically.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from mars_core.data.schema import LobsterDay
from mars_core.errors import MarsInputError
from mars_core.model.baselines import fit_baselines
from mars_core.model.card import model_card
from mars_core.model.checkpoint import atomic_save, load_order_model, model_payload, write_text_atomic
from mars_core.model.dataset import (
    DayStream,
    EvalWindows,
    build_stream,
    coverage_by_day,
    eval_windows,
    fit_tokenizer,
    get_batch,
    load_days,
    slice_day,
    train_tokens,
    val_pairs,
)
from mars_core.model.order_model import OrderModel, OrderModelConfig, best_levels
from mars_core.model.tokenizer import OrderTokenizer
from mars_core.model.training import adamw, append_jsonl, fit, resume_state, save_state
from mars_core.store.rundir import finite

# Model sizes for --size and the scaling study.
SIZES: dict[str, OrderModelConfig] = {
    "tiny": OrderModelConfig(n_layer=2, n_head=2, n_embd=32, mlp_hidden=96),
    "small": OrderModelConfig(n_layer=3, n_head=4, n_embd=64, mlp_hidden=192),
    "base": OrderModelConfig(n_layer=4, n_head=4, n_embd=128, mlp_hidden=352),
    "large": OrderModelConfig(n_layer=6, n_head=6, n_embd=192, mlp_hidden=512),
}


@dataclass
class TrainConfig:
    symbols: list[str] = field(default_factory=lambda: ["GOOG", "AMZN"])  # days of these symbols
    size: str = "small"  # key of SIZES (the shipped model is "small")
    steps: int = 6000  # optimisation steps (val NLL 7.58 at 1000 with the depth augmentation, 7.29 at 6000)
    batch_size: int = 32  # windows per step
    lr: float = 1e-3  # peak learning rate
    min_lr: float = 1e-4  # learning rate at the end of the cosine decay
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 0.1  # AdamW, on matrices only
    grad_clip: float = 1.0  # max gradient norm
    dropout: float = 0.1  # overrides the size's dropout
    eval_every: int = 100  # steps between periodic evaluations
    eval_windows: int = 96  # validation windows scored at periodic evaluations (all at the end)
    seed: int = 0  # seeds batches, dropout and initialisation
    data_dir: str | None = None  # LOBSTER folder (None: the default resolution)
    time_slice: tuple[int, int] | None = None  # use only messages in [start, end) ns of each day (tests)
    depth_sigma: float = 0.7  # log-normal scale of the depth augmentation of levels 2-10 (dataset.get_batch); 0: off


@torch.no_grad()
def estimate_loss(model: OrderModel, windows: EvalWindows, index: np.ndarray | None = None, chunk: int = 32) -> float:
    """Mean NLL (nats) per scored validation target, over all windows or the given ones."""
    was_training = model.training
    model.eval()
    idx = torch.arange(len(windows.targets)) if index is None else torch.as_tensor(index)
    total, count = 0.0, 0
    for part in idx.split(chunk):
        inputs = [x[part] for x in windows.inputs]
        nll = model.nll(model(*inputs), windows.targets[part], best_levels(inputs[1]))
        scored = windows.scored[part]
        total += float(nll[scored].sum())
        count += int(scored.sum())
    model.train(was_training)
    return total / max(count, 1)


def _prepare(
    cfg: TrainConfig, tokenizer: OrderTokenizer | None
) -> tuple[list[LobsterDay], OrderTokenizer, list[DayStream]]:
    """The days of the config, the tokenizer (fitted unless given) and the token streams."""
    days = load_days(cfg.symbols, cfg.data_dir)
    if cfg.time_slice:
        days = [slice_day(d, *cfg.time_slice) for d in days]
    tokenizer = tokenizer or fit_tokenizer(days, seed=cfg.seed)
    return days, tokenizer, [build_stream(d, tokenizer) for d in days]


def train(
    cfg: TrainConfig, out: str | Path, resume: bool = False, progress: bool = True, until: int | None = None
) -> dict:
    """Train (or resume) an order model into folder `out`; returns the summary written to model.pt.

    `until` stops after that step with a checkpoint and no final evaluation, as an interruption
    would (the summary then holds only `steps` and `stopped`); `resume` continues from it.

    Raises:
        MarsInputError: unknown size, nothing to resume, or data problems.
    """
    if cfg.size not in SIZES:
        raise MarsInputError(f"unknown model size {cfg.size!r}; choose one of {', '.join(SIZES)}")
    out = Path(out)
    ckpt_path = out / "ckpt.pt"
    state = resume_state(ckpt_path, resume)
    if state:
        cfg = replace(TrainConfig(**state["train"]), steps=cfg.steps)
    # wall and CPU time of the run, across resumes (on a shared machine the two differ a lot)
    t0 = time.perf_counter() - (state["seconds"] if state else 0.0)
    c0 = time.process_time() - (state["cpu_seconds"] if state else 0.0)
    days, tokenizer, streams = _prepare(cfg, OrderTokenizer.from_state_dict(state["tokenizer"]) if state else None)
    model_cfg = replace(SIZES[cfg.size], dropout=cfg.dropout)
    torch.manual_seed(cfg.seed)
    model = OrderModel(model_cfg)
    optimizer = adamw(model, cfg.lr, cfg.weight_decay)
    step = 0
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
    unigram, bigram = fit_baselines(train_tokens(streams))
    prev, nxt = val_pairs(streams)
    baselines = {"unigram_nll": unigram.nll(nxt), "bigram_nll": bigram.nll(prev, nxt)}
    windows = eval_windows(streams, model_cfg.window)
    n_windows = len(windows.targets)
    subset = np.random.default_rng(cfg.seed).choice(n_windows, min(cfg.eval_windows, n_windows), replace=False)
    metrics_path = out / "metrics.jsonl"
    out.mkdir(parents=True, exist_ok=True)
    tokens_per_step = cfg.batch_size * model_cfg.window

    def checkpoint(at_step: int) -> None:
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        save_state(
            ckpt_path,
            cfg,
            model,
            optimizer,
            at_step,
            tokenizer=tokenizer.state_dict(),
            seconds=seconds,
            cpu_seconds=cpu_seconds,
        )

    def batch_loss(at_step: int) -> tuple[torch.Tensor, float]:
        rng = np.random.default_rng([cfg.seed, at_step])
        *inputs, targets = get_batch(streams, cfg.batch_size, model_cfg.window, rng, cfg.depth_sigma)
        loss = model.nll(model(*inputs), targets, best_levels(inputs[1])).mean()
        return loss, loss.item()

    def evaluate(at_step: int, running: float, lr: float) -> dict:
        return {
            "step": at_step,
            "tokens": at_step * tokens_per_step,
            "train_loss": round(running, 5),
            "val_nll": round(estimate_loss(model, windows, subset), 5),
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
        stop=until,
        checkpoint=checkpoint,
        desc=f"order model ({cfg.size})",
        progress=progress,
    )
    if step < cfg.steps:
        checkpoint(step)
        return {"steps": step, "stopped": True}
    val_nll = estimate_loss(model, windows)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    summary = {
        "val_nll": round(val_nll, 5),
        **{k: round(v, 5) for k, v in baselines.items()},
        "unigram_alpha": unigram.alpha,
        "bigram_beta": bigram.beta,
        "params": model.n_params(),
        "size": cfg.size,
        "model_args": asdict(model_cfg),
        "steps": step,
        "tokens_seen": step * tokens_per_step,
        "train_tokens": int(sum(s.val_start for s in streams)),
        "val_tokens": int(len(nxt)),
        "days": [s.key for s in streams],
        "coverage": coverage_by_day(days, tokenizer),
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "threads": torch.get_num_threads(),
        "train_config": asdict(cfg),
    }
    append_jsonl(
        metrics_path,
        {"final": True, **{k: summary[k] for k in ("steps", "val_nll", "unigram_nll", "bigram_nll", "seconds")}},
    )
    checkpoint(step)
    atomic_save(model_payload(model, tokenizer, summary), out / "model.pt")
    write_text_atomic(out / "model_card.md", model_card(summary))
    return summary


def _finished(folder: Path, steps: int) -> dict | None:
    """The summary of a finished training in `folder` of `steps` steps, else None."""
    if not (folder / "model.pt").is_file():
        return None
    summary = load_order_model(folder).summary
    return summary if summary["steps"] == steps else None


def scaling_study(sizes: list[str], cfg: TrainConfig, out: str | Path, progress: bool = True) -> dict:
    """Train each size on the same data and steps into out/<size>/ (finished sizes are kept,
    interrupted ones resumed); results in out/scaling.json."""
    out = Path(out)
    runs = []
    for size in sizes:
        summary = _finished(out / size, cfg.steps) or train(
            replace(cfg, size=size), out / size, resume=(out / size / "ckpt.pt").is_file(), progress=progress
        )
        curve = [json.loads(line) for line in (out / size / "metrics.jsonl").read_text().splitlines()]
        runs.append(
            {
                "size": size,
                "params": summary["params"],
                "tokens_seen": summary["tokens_seen"],
                "val_nll": summary["val_nll"],
                "seconds": summary["seconds"],
                "curve": [
                    {k: r[k] for k in ("step", "tokens", "train_loss", "val_nll")} for r in curve if not r.get("final")
                ],
            }
        )
    result = {
        "runs": runs,
        "unigram_nll": summary["unigram_nll"],
        "bigram_nll": summary["bigram_nll"],
        "train_tokens": summary["train_tokens"],
        "val_tokens": summary["val_tokens"],
        "days": summary["days"],
        "steps": cfg.steps,
        "batch_size": cfg.batch_size,
        "curve_note": f"curve val_nll on {cfg.eval_windows} fixed validation windows; final val_nll on all of them",
    }
    tmp = out / "scaling.json.tmp"
    tmp.write_text(json.dumps(finite(result), indent=1, allow_nan=False))
    os.replace(tmp, out / "scaling.json")
    return result
