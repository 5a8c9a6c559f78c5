"""Training of the ensemble model (CPU; the order model stays frozen; the loop is `training.fit`).

Data. Every order of the days is one example: the frozen order model's hidden state
h at the order before it (context of up to 128 orders, at least 64 except at the
start of a day), the order's token as the target, the order image of the minute
the clock is in when the order is drawn (the minute of the previous order, as in
generation, where the condition of the current minute is known before the next
order's waiting time is), and the pace of that minute at the previous order. The
image is the VQ-VAE reconstruction of the real minute (see `ensemble.py` for why),
built with the order model's tokenizer (the fingerprints must agree). Split as the
order model's: targets before 14:30 train, from 14:30 validate; the validation
minutes' images are never trained on.

Metric (paper Fig. 14): the loss advantage, validation NLL per token of order model
+ ensemble minus that of the order model alone, on the same positions. Also
reported, to say where the gain comes from: the same with the previous minute's
image instead of the current one (no foresight), and with one image drawn by the
order-batch model from the 15 real minutes before (the condition generation uses).

The same run fits the controller's image -> minute-return map on the same reconstructed
minutes (`mars_core.control.signals.fit_return_map`) and writes it to `return_map.json`,
and measures how many orders the controller's candidates hold against the real minutes
(`candidate_activity`): the order-batch model's draws undercount the next minute, and the
ensemble follows its image's activity, so the controller scales candidates by the ratio
fitted on the training minutes.

`ensemble.pt` holds the ensemble's arguments and weights, the fingerprint of the
order tokenizer, the order model's summary line it was trained on, and the summary.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mars_core.data.orderflow import order_flow
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.errors import MarsInputError
from mars_core.model import ensemble_card
from mars_core.model.candidates import HISTORY_MINUTES, CandidateSampler
from mars_core.model.checkpoint import (
    ENSEMBLE_FILE,
    LoadedModel,
    atomic_save,
    ensemble_payload,
    load_batch_model,
    load_order_model,
    load_vqvae,
    tokenizer_fingerprint,
    write_text_atomic,
)
from mars_core.model.dataset import build_stream, load_days, slice_day
from mars_core.model.ensemble import EnsembleConfig, EnsembleModel, image_condition, minute_pace
from mars_core.model.image_data import VAL_START_MINUTE
from mars_core.model.order_images import day_images
from mars_core.model.order_model import OrderModel, best_levels
from mars_core.model.return_map import RETURN_MAP_FILE, fit_return_map
from mars_core.model.training import adamw, append_jsonl, fit
from mars_core.model.vqvae import encode_images


# ------------------------------------------------------------------ data
@dataclass(frozen=True)
class EnsembleData:
    """Hidden states, targets and minute images of every order of the days."""

    h: torch.Tensor  # (N, C) float32 frozen order-model hidden state before each target
    best: torch.Tensor  # (N, 2) int64 the order model's `best_levels` of the book before each target
    pace: torch.Tensor  # (N, N_PACE) float32 pace of the minute at the order before each target
    targets: torch.Tensor  # (N,) int64 target tokens
    minute: torch.Tensor  # (N,) int64 row of `images` of each example (the minute of the previous order)
    prev_minute: torch.Tensor  # (N,) int64 row of the minute before it (itself at a day's first minute)
    is_val: torch.Tensor  # (N,) bool target at or after 14:30
    images: np.ndarray  # (M, 3, 32, 32) float32 VQ-VAE reconstructions of every minute of every day
    codes: np.ndarray  # (M, 8, 8) int64 their codes
    minute_of_day: np.ndarray  # (M,) int64 minute of the day of each row
    mid2_close: np.ndarray  # (M,) int64 bid + ask at the end of each minute
    day_of_row: np.ndarray  # (M,) int64 index of the day of each row
    days: list[str]  # day keys

    @property
    def n_train(self) -> int:
        return int((~self.is_val).sum())

    @property
    def n_val(self) -> int:
        return int(self.is_val.sum())


@torch.no_grad()
def hidden_states(model: OrderModel, stream, chunk: int = 32) -> torch.Tensor:
    """Final hidden states (N - 1, C) of input positions 0..N-2 of a day stream (position j predicts
    token j + 1), from windows of `window` orders advancing by half a window: every position is
    read with at least half a window of context (except at the start of the day)."""
    L = model.config.window
    n = len(stream) - 1  # input positions with a target
    if n < L:
        raise MarsInputError(f"{stream.key}: {len(stream)} orders, fewer than a window of {L + 1}")
    starts = list(range(0, n - L + 1, L // 2))
    if starts[-1] != n - L:
        starts.append(n - L)
    out = torch.empty(n, model.config.n_embd)
    covered = 0
    for i in range(0, len(starts), chunk):
        part = starts[i : i + chunk]
        windows = [stream.window(s, L)[:4] for s in part]
        inputs = [torch.cat(x) for x in zip(*windows)]
        h = model(*inputs)  # (W, L, C)
        for w, s in enumerate(part):
            lo = max(covered, s + (L // 2 if s > 0 else 0))
            out[lo : s + L] = h[w, lo - s :]
            covered = s + L
    return out


def build_data(
    order: LoadedModel,
    vqvae,
    symbols: list[str],
    data_dir: str | None = None,
    time_slice: tuple[int, int] | None = None,
) -> EnsembleData:
    """Examples of every catalogued day of the symbols (see the module docstring).

    Args:
        order: the frozen order model and its tokenizer.
        vqvae: a `LoadedVQVAE` whose images use the same tokenizer (equal fingerprints).
        time_slice: use only messages in [start, end) ns of each day (tests).
    """
    fp_order, fp_vq = tokenizer_fingerprint(order.tokenizer), vqvae.fingerprint
    if fp_order != fp_vq:
        raise MarsInputError(
            f"the order model's tokenizer ({fp_order}) is not the VQ-VAE's ({fp_vq}): "
            "images would not describe the order tokens; use models trained together"
        )
    days = load_days(symbols, data_dir)
    if time_slice:
        days = [slice_day(d, *time_slice) for d in days]
    parts: dict[str, list] = {
        k: []
        for k in ("h", "best", "pace", "targets", "minute", "prev", "val", "images", "codes", "mod", "mid2", "day")
    }
    offset = 0
    for di, day in enumerate(days):
        stream = build_stream(day, order.tokenizer)
        flow = order_flow(day)
        oi = day_images(day, order.tokenizer, flow)
        codes = encode_images(vqvae.model, oi.images)
        with torch.no_grad():
            recon = vqvae.model.decode_counts(torch.as_tensor(codes)).numpy()
        minute = (flow.ts[:-1] // NS_PER_MINUTE - oi.minutes[0]).astype(np.int64)  # minute of each input order
        parts["h"].append(hidden_states(order.model, stream))
        parts["best"].append(best_levels(stream.lob[:-1].long()))
        parts["pace"].append(minute_pace(stream.tokens[:-1].numpy(), flow.ts[:-1]))
        parts["targets"].append(stream.tokens[1:])
        parts["minute"].append(torch.from_numpy(minute + offset))
        parts["prev"].append(torch.from_numpy(np.maximum(minute - 1, 0) + offset))
        parts["val"].append(torch.arange(1, len(stream)) >= stream.val_start)
        parts["images"].append(recon)
        parts["codes"].append(codes)
        parts["mod"].append(oi.minutes)
        parts["mid2"].append(oi.mid2_close)
        parts["day"].append(np.full(len(oi.minutes), di))
        offset += len(oi.minutes)
    return EnsembleData(
        h=torch.cat(parts["h"]),
        best=torch.cat(parts["best"]),
        pace=torch.cat(parts["pace"]),
        targets=torch.cat(parts["targets"]),
        minute=torch.cat(parts["minute"]),
        prev_minute=torch.cat(parts["prev"]),
        is_val=torch.cat(parts["val"]),
        images=np.concatenate(parts["images"]),
        codes=np.concatenate(parts["codes"]),
        minute_of_day=np.concatenate(parts["mod"]),
        mid2_close=np.concatenate(parts["mid2"]),
        day_of_row=np.concatenate(parts["day"]),
        days=[d.info.key for d in days],
    )


def get_batch(
    data: EnsembleData, train_rows: np.ndarray, minutes: int, per_minute: int, rng: np.random.Generator
) -> torch.Tensor:
    """Indices of a training batch: `per_minute` random orders of each of `minutes` random training
    minutes (grouped, so each step runs the image side for few minutes only)."""
    chosen = rng.choice(len(train_rows), size=minutes, replace=len(train_rows) < minutes)
    return torch.from_numpy(np.concatenate([rng.choice(train_rows[c], size=per_minute) for c in chosen]))


# ------------------------------------------------------------------ evaluation
@torch.no_grad()
def estimate_nll(
    ens: EnsembleModel | None,
    order: OrderModel,
    data: EnsembleData,
    index: torch.Tensor,
    rows: torch.Tensor | None = None,
    images: np.ndarray | None = None,
    chunk: int = 2048,
) -> float:
    """Mean NLL per token (nats) over examples `index`: of the order model alone when `ens` is None,
    else with the ensemble conditioned on image rows `rows` (default: each example's own minute) of
    `images` (default: the data's reconstructions)."""
    total = 0.0
    prep = None
    if ens is not None:
        was_training = ens.training
        ens.eval()
        prep = ens.prepare(
            image_condition(data.images if images is None else images, ens.config.prior_tp, ens.config.prior_vol)
        )
    rows = data.minute if rows is None else rows
    for part in index.split(chunk):
        h, y = data.h[part], data.targets[part]
        if ens is None:
            nll = order.nll(h[:, None], y[:, None], data.best[part][:, None])[:, 0]
        else:
            nll = ens.nll(order, h, data.best[part], data.pace[part], prep, y, rows[part])
        total += float(nll.sum())
    if ens is not None:
        ens.train(was_training)
    return total / max(len(index), 1)


def sampled_val_images(
    data: EnsembleData, batch_model_path: str | None = None, seed: int = 0, chunk: int = 48
) -> tuple[np.ndarray, np.ndarray]:
    """One image per validation minute drawn by the order-batch model from the 15 real minutes
    before it (the condition generation uses): (rows (V,), decoded images (V, 3, 32, 32))."""
    bm = load_batch_model(batch_model_path)
    H = bm.context_minutes
    rows = np.flatnonzero(data.minute_of_day >= VAL_START_MINUTE)
    rows = rows[[r >= H and data.day_of_row[r - H] == data.day_of_row[r] for r in rows]]
    hist = np.stack([data.codes[r - H : r] for r in rows])  # (V, H, 8, 8)
    out = []
    for i in range(0, len(rows), chunk):
        codes, counts = bm.sample_next_minute(hist[i : i + chunk], n_samples=1, seed=seed + i)
        out.append(counts[:, 0])
    return rows, np.concatenate(out).astype(np.float32)


def candidate_activity(
    data: EnsembleData,
    batch_model_path: str | None = None,
    history_minutes: int | None = None,
    seed: int = 0,
    chunk: int = 64,
) -> dict:
    """Orders in the controller's candidates against the real minutes: one draw per minute by the
    order-batch model from the `history_minutes` real minutes before it (None: as `ControlSettings`
    draws by default, `candidates.HISTORY_MINUTES`). `scale`, real over drawn totals on the training minutes, is what the
    controller multiplies candidates by; `val_ratio_scaled` checks it on the held-out minutes."""
    bm = load_batch_model(batch_model_path)
    sampler = CandidateSampler(bm.model)
    H = history_minutes or HISTORY_MINUTES
    rows = np.array([r for r in range(H, len(data.codes)) if data.day_of_row[r - H] == data.day_of_row[r]])
    drawn = np.empty(len(rows))
    rng = np.random.default_rng(seed)
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        hist = np.stack([data.codes[r - H : r] for r in part])
        codes = sampler.sample(hist, 1, rng.random((len(part), 1, bm.model.config.grid)))
        drawn[i : i + chunk] = bm.decode(codes).sum(axis=(1, 2, 3, 4))
    real = data.images[rows].sum(axis=(1, 2, 3))
    val = data.minute_of_day[rows] >= VAL_START_MINUTE
    scale = float(real[~val].sum() / drawn[~val].sum())
    return {
        "scale": round(scale, 4),
        "history_minutes": H,
        "train_minutes": int((~val).sum()),
        "val_minutes": int(val.sum()),
        "train_real_per_minute": round(float(real[~val].mean()), 1),
        "train_drawn_per_minute": round(float(drawn[~val].mean()), 1),
        "val_real_per_minute": round(float(real[val].mean()), 1),
        "val_drawn_per_minute": round(float(drawn[val].mean()), 1),
        "val_ratio_scaled": round(float(real[val].sum() / (scale * drawn[val].sum())), 4),
    }


# ------------------------------------------------------------------ loading


# ------------------------------------------------------------------ training
@dataclass
class EnsembleTrainConfig:
    symbols: list[str] = field(default_factory=lambda: ["GOOG", "AMZN"])  # days of these symbols
    order_model: str | None = None  # order-model checkpoint (None: the shipped one); frozen
    vqvae: str | None = None  # VQ-VAE checkpoint (None: the shipped one)
    batch_model: str | None = None  # order-batch model for the sampled-image evaluation (None: the shipped one)
    width: int = 48  # ensemble width
    n_head: int = 2  # cross-attention heads
    steps: int = 1500  # optimisation steps
    minutes_per_batch: int = 32  # training minutes per step
    per_minute: int = 32  # orders per minute per step
    lr: float = 3e-3  # peak learning rate
    min_lr: float = 1e-4  # learning rate at the end of the cosine decay
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 0.01  # AdamW, on matrices only
    grad_clip: float = 1.0  # max gradient norm
    dropout: float = 0.1  # ensemble dropout
    eval_every: int = 250  # steps between validation evaluations
    sampled_eval: bool = True  # also score with images drawn by the order-batch model
    seed: int = 0  # seeds batches, dropout and initialisation
    data_dir: str | None = None  # LOBSTER folder (None: the default resolution)
    time_slice: tuple[int, int] | None = None  # use only messages in [start, end) ns of each day (tests)


def train_ensemble(
    cfg: EnsembleTrainConfig,
    out: str | Path,
    progress: bool = True,
    data: EnsembleData | None = None,
    order: LoadedModel | None = None,
) -> dict:
    """Train an ensemble model into folder `out` (ensemble.pt, metrics.jsonl, model_card.md); returns the summary.

    `data` and `order` (optional) replace building them (tests).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    order = order or load_order_model(cfg.order_model)
    for p in order.model.parameters():
        p.requires_grad_(False)
    order.model.eval()
    if data is None:
        data = build_data(order, load_vqvae(cfg.vqvae), cfg.symbols, cfg.data_dir, cfg.time_slice)
    prep_seconds = time.perf_counter() - t0
    rows_train = [np.flatnonzero((data.minute == m).numpy() & ~data.is_val.numpy()) for m in range(len(data.images))]
    train_rows = np.array([r for r in rows_train if len(r)], dtype=object)
    val_idx = torch.nonzero(data.is_val)[:, 0]
    if len(train_rows) == 0 or len(val_idx) == 0:
        raise MarsInputError("the ensemble needs orders both before 14:30 (training) and after (validation)")
    torch.manual_seed(cfg.seed)
    ens = EnsembleModel(
        EnsembleConfig(n_embd=order.model.config.n_embd, width=cfg.width, n_head=cfg.n_head, dropout=cfg.dropout)
    )
    opt = adamw(ens, cfg.lr, cfg.weight_decay)
    images_all = torch.from_numpy(data.images)
    order_val = estimate_nll(None, order.model, data, val_idx)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / "metrics.jsonl"
    metrics_path.write_text("")
    append_jsonl(metrics_path, {"step": 0, "examples": 0, "val_nll": round(order_val, 5), "advantage": 0.0})

    def batch_loss(at_step: int) -> tuple[torch.Tensor, float]:
        rng = np.random.default_rng([cfg.seed, at_step])
        idx = get_batch(data, train_rows, cfg.minutes_per_batch, cfg.per_minute, rng)
        uniq, which = torch.unique(data.minute[idx], return_inverse=True)
        cond = image_condition(images_all[uniq], ens.config.prior_tp, ens.config.prior_vol)
        loss = ens.nll(
            order.model, data.h[idx], data.best[idx], data.pace[idx], ens.prepare(cond), data.targets[idx], which
        ).mean()
        return loss, loss.item()

    def evaluate(at_step: int, running: float, lr: float) -> dict:
        val = estimate_nll(ens, order.model, data, val_idx)
        return {
            "step": at_step,
            "examples": at_step * cfg.minutes_per_batch * cfg.per_minute,
            "train_loss": round(running, 5),
            "val_nll": round(val, 5),
            "advantage": round(val - order_val, 5),
            "seconds": round(time.perf_counter() - t0, 1),
        }

    fit(ens, opt, cfg, batch_loss, evaluate, metrics_path, desc="ensemble", progress=progress)
    ens.eval()
    train_seconds = time.perf_counter() - t0
    val = estimate_nll(ens, order.model, data, val_idx)
    prev = estimate_nll(ens, order.model, data, val_idx, rows=data.prev_minute)
    train_sub = torch.from_numpy(np.concatenate(list(train_rows))[:: max(1, data.n_train // 60_000)])
    summary = {
        "val_nll_order": round(order_val, 5),
        "val_nll_ensemble": round(val, 5),
        "loss_advantage": round(val - order_val, 5),
        "val_nll_ensemble_prev_minute": round(prev, 5),
        "loss_advantage_prev_minute": round(prev - order_val, 5),
        "train_nll_order": round(estimate_nll(None, order.model, data, train_sub), 5),
        "train_nll_ensemble": round(estimate_nll(ens, order.model, data, train_sub), 5),
        "train_examples": data.n_train,
        "val_examples": data.n_val,
        "train_minutes": int(len(train_rows)),
        "val_minutes": int(len(np.unique(data.minute[val_idx].numpy()))),
        "days": data.days,
        "params": ens.n_params(),
        "model_args": asdict(ens.config),
        "steps": cfg.steps,
        "examples_seen": cfg.steps * cfg.minutes_per_batch * cfg.per_minute,
        "gates_mean": _gate_means(ens, order.model, data, val_idx),
        "order_model_summary": {k: order.summary.get(k) for k in ("val_nll", "size", "params")},
        "tokenizer_fingerprint": tokenizer_fingerprint(order.tokenizer),
        "prep_seconds": round(prep_seconds, 1),
        "seconds": round(train_seconds, 1),
        "cpu_seconds": round(time.process_time() - c0, 1),
        "threads": torch.get_num_threads(),
        "train_config": asdict(cfg),
    }
    if cfg.sampled_eval:
        rows, imgs = sampled_val_images(data, cfg.batch_model, cfg.seed)
        # examples whose minute has a sampled image; the same examples scored by the order model alone
        pos = {int(r): i for i, r in enumerate(rows)}
        keep = torch.tensor([int(m) in pos for m in data.minute[val_idx].tolist()])
        sub = val_idx[keep]
        sampled_rows = torch.tensor([pos[int(m)] for m in data.minute[sub].tolist()], dtype=torch.long)
        full_rows = torch.zeros(len(data.minute), dtype=torch.long)
        full_rows[sub] = sampled_rows
        sampled = estimate_nll(ens, order.model, data, sub, rows=full_rows, images=imgs)
        base = estimate_nll(None, order.model, data, sub)
        summary["val_nll_ensemble_sampled_image"] = round(sampled, 5)
        summary["loss_advantage_sampled_image"] = round(sampled - base, 5)
        summary["sampled_eval_examples"] = int(len(sub))
    return_map = data_return_map(data)
    summary["return_map"] = return_map.summary
    summary["candidate_activity"] = candidate_activity(data, cfg.batch_model, seed=cfg.seed)
    append_jsonl(
        metrics_path,
        {"final": True, **{k: summary[k] for k in ("val_nll_order", "val_nll_ensemble", "loss_advantage", "seconds")}},
    )
    return_map.save(out / RETURN_MAP_FILE)
    atomic_save(ensemble_payload(ens, summary["tokenizer_fingerprint"], summary), out / ENSEMBLE_FILE)
    write_text_atomic(out / "model_card.md", ensemble_card.render(summary))
    return summary


def data_return_map(data: EnsembleData, lam: float = 10.0):
    """The controller's image -> minute-return map fitted on the data's reconstructed minutes
    (`mars_core.control.signals`; minutes before 14:30 fit, the rest score)."""
    days = range(len(data.days))
    rows = [np.flatnonzero(data.day_of_row == d) for d in days]
    return fit_return_map(
        [data.images[r] for r in rows],
        [data.mid2_close[r] for r in rows],
        [data.minute_of_day[r] for r in rows],
        VAL_START_MINUTE,
        lam,
    )


@torch.no_grad()
def _gate_means(ens: EnsembleModel, order: OrderModel, data: EnsembleData, idx: torch.Tensor, n: int = 4096) -> dict:
    """Mean product-of-experts exponents a(h, image) on validation examples (how much the image's
    own frequencies are trusted)."""
    part = idx[:: max(1, len(idx) // n)]
    prep = ens.prepare(image_condition(data.images, ens.config.prior_tp, ens.config.prior_vol))
    z, _ = ens.context(data.h[part], data.pace[part], prep, data.minute[part])
    tp = data.targets[part] // (16 * 32)
    gate_tp = ens.out_tp(z)[:, 0]
    gate_vol = ens.out_vol(F.silu(z + ens.vol_tp(tp)))[:, 0]
    return {"type_price": round(float(gate_tp.mean()), 4), "volume": round(float(gate_vol.mean()), 4)}
