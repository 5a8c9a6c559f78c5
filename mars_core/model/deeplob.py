"""DeepLOB (Zhang, Zohren & Roberts 2019): the direct forecaster MarS is compared with (paper Sec. 4.1, Fig. 7a).

Input: the last `window` (100) book states before the moment, one after each order, 10 levels of ask price, ask
size, bid price, bid size (LOBSTER column order: 40 features). Prices are in ticks from the mid of the last state
(clipped to +-`PRICE_CLIP` ticks, scaled by 1/10), sizes log(1 + shares). A stock with fewer levels (AMZN: 5) has
its missing levels padded with zeros (price offset 0, size 0): the network sees an empty level there, the same for
every window of that stock, so no extra mask channel is needed. Then, as in the paper, three convolution blocks
(a 1x2 stride-2 convolution pairs price with size, a second pairs ask with bid, a 1x10 one merges the levels; each
followed by two 4x1 convolutions over time), an inception module (1x1-3x1, 1x1-5x1, 3x1 max-pool-1x1) and an LSTM.
Unlike the paper's one network per horizon, one head gives the three classes of every horizon (1..5 minutes): a
small model that trains in a few minutes of CPU on two stock-days.

Training (`train`) runs the project's loop (`training.fit`) on the moments of the training period; the weights kept
are those of the evaluation with the lowest loss on its last part (early stopping by checkpoint selection).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mars_core.data.orderflow import order_flow
from mars_core.data.schema import DUMMY_ASK_PRICE, DUMMY_BID_PRICE, LobsterDay
from mars_core.errors import MarsInputError
from mars_core.model.checkpoint import atomic_save, check_structure, read_checkpoint
from mars_core.model.training import adamw, fit
from mars_core.paths import DEEPLOB_DIR

LEVELS = 10
PRICE_CLIP = 50  # ticks
FILE, FORMAT = "deeplob.pt", 1


@dataclass(frozen=True)
class DeepLOBConfig:
    window: int = 100  # book states per input
    channels: int = 16  # convolution channels (the paper: 32)
    inception: int = 16  # channels of each inception branch (the paper: 64)
    hidden: int = 32  # LSTM units (the paper: 64)
    horizons: int = 5  # one 3-class head per horizon


@dataclass(frozen=True)
class DeepLOBTrainConfig:
    steps: int = 400
    batch_size: int = 32
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup: int = 30
    grad_clip: float = 1.0
    weight_decay: float = 1e-4
    eval_every: int = 50
    val_share: float = 0.15  # the last part of the training period, for early stopping
    val_stride: int = 5  # every n-th moment of that part is scored (neighbours overlap: little is lost)
    seed: int = 0


def _conv(c_in: int, c_out: int, kernel: tuple[int, int], stride: tuple[int, int] = (1, 1)) -> nn.Module:
    """Convolution, leaky ReLU, batch norm; a kernel over time is padded with past states only (causal, length kept)."""
    pad = nn.ZeroPad2d((0, 0, kernel[0] - 1, 0))
    conv = nn.Conv2d(c_in, c_out, kernel, stride)
    return nn.Sequential(pad, conv, nn.LeakyReLU(0.01), nn.BatchNorm2d(c_out))


class DeepLOB(nn.Module):
    def __init__(self, config: DeepLOBConfig) -> None:
        super().__init__()
        self.config = config
        c, k = config.channels, config.inception
        self.blocks = nn.Sequential(
            _conv(1, c, (1, 2), (1, 2)), _conv(c, c, (4, 1)), _conv(c, c, (4, 1)),  # (B, c, T, 20)
            _conv(c, c, (1, 2), (1, 2)), _conv(c, c, (4, 1)), _conv(c, c, (4, 1)),  # (B, c, T, 10)
            _conv(c, c, (1, LEVELS)), _conv(c, c, (4, 1)), _conv(c, c, (4, 1)),  # (B, c, T, 1)
        )  # fmt: skip
        self.branch3 = nn.Sequential(_conv(c, k, (1, 1)), _conv(k, k, (3, 1)))
        self.branch5 = nn.Sequential(_conv(c, k, (1, 1)), _conv(k, k, (5, 1)))
        self.branch_pool = _conv(c, k, (1, 1))
        self.lstm = nn.LSTM(3 * k, config.hidden, batch_first=True)
        self.head = nn.Linear(config.hidden, 3 * config.horizons)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, 40) book windows -> (B, H, 3) logits."""
        h = self.blocks(x[:, None])  # (B, c, T, 1)
        pooled = F.max_pool2d(h, (3, 1), stride=1, padding=(1, 0))
        h = torch.cat([self.branch3(h), self.branch5(h), self.branch_pool(pooled)], dim=1)  # (B, 3k, T, 1)
        out, _ = self.lstm(h[..., 0].transpose(1, 2))  # (B, T, hidden)
        return self.head(out[:, -1]).view(-1, self.config.horizons, 3)


@dataclass(frozen=True)
class BookStates:
    """A day's book after each order (`order_flow`), as DeepLOB's raw features."""

    ts: np.ndarray  # (N,) ns
    prices: np.ndarray  # (N, 2 * LEVELS) ask_1, bid_1, ask_2, ... in ticks; NaN for an empty or missing level
    sizes: np.ndarray  # (N, 2 * LEVELS) log(1 + shares), 0 for an empty or missing level
    mid: np.ndarray  # (N,) ticks

    @classmethod
    def of(cls, day: LobsterDay) -> BookStates:
        flow = order_flow(day)
        book = day.book[flow.last_msg].astype(np.int64)
        levels = book.shape[1] // 4
        price = book[:, 0::2][:, : 2 * levels].astype(float)  # ask_1, bid_1, ask_2, bid_2...
        size = book[:, 1::2][:, : 2 * levels].astype(float)
        empty = (price == DUMMY_ASK_PRICE) | (price == DUMMY_BID_PRICE) | (size <= 0)
        tick = day.info.tick_size
        price = np.where(empty, np.nan, price / tick)
        size = np.where(empty, 0.0, np.log1p(size))
        pad = ((0, 0), (0, 2 * (LEVELS - levels)))
        prices, sizes = np.pad(price, pad, constant_values=np.nan), np.pad(size, pad)
        mid = (prices[:, 0] + prices[:, 1]) / 2
        mid = _ffill(mid)
        return cls(flow.ts.astype(np.int64), prices, sizes, mid)

    def index_at(self, moments: np.ndarray) -> np.ndarray:
        """The index of the last state at or before each moment."""
        return np.searchsorted(self.ts, np.asarray(moments, dtype=np.int64), side="right") - 1

    def windows(self, last: np.ndarray, window: int) -> np.ndarray:
        """(B, window, 40) inputs ending at the states `last` (each needs `window - 1` states before it)."""
        idx = np.asarray(last)[:, None] + np.arange(1 - window, 1)  # (B, T)
        rel = self.prices[idx] - self.mid[np.asarray(last)][:, None, None]
        rel = np.where(np.isfinite(rel), np.clip(rel, -PRICE_CLIP, PRICE_CLIP) / 10, 0.0)
        x = np.empty((*idx.shape, 4 * LEVELS), dtype=np.float32)
        x[..., 0::4], x[..., 2::4] = rel[..., 0::2], rel[..., 1::2]  # ask price, bid price
        x[..., 1::4], x[..., 3::4] = self.sizes[idx][..., 0::2], self.sizes[idx][..., 1::2]  # ask size, bid size
        return x


def _ffill(values: np.ndarray) -> np.ndarray:
    ok = np.isfinite(values)
    idx = np.where(ok, np.arange(len(values)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = values[idx]
    first = np.flatnonzero(ok)
    return np.where(np.arange(len(values)) < (first[0] if len(first) else len(values)), np.nan, out)


@dataclass
class LoadedDeepLOB:
    model: DeepLOB
    summary: dict


def train(
    samples: list[tuple[BookStates, np.ndarray, np.ndarray]],
    out: str | Path,
    config: DeepLOBConfig | None = None,
    train_config: DeepLOBTrainConfig | None = None,
    progress: bool = False,
) -> LoadedDeepLOB:
    """Train on (book states, moments (n,), classes (n, H)) of each day, moments in time order; the last
    `val_share` of each day's moments are the early-stopping part. Saves `deeplob.pt` (best evaluation) in `out`."""
    started = time.perf_counter()
    config, train_config = config or DeepLOBConfig(), train_config or DeepLOBTrainConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(train_config.seed)
    model = DeepLOB(config)
    parts = {"train": [], "val": []}
    for d, (states, moments, classes) in enumerate(samples):
        last = states.index_at(moments)
        ok = (last >= config.window - 1) & (classes >= 0).all(axis=1)
        cut = int(len(moments) * (1 - train_config.val_share))
        order = np.arange(len(moments))
        val = (order >= cut) & ((order - cut) % train_config.val_stride == 0)
        for name, part in (("train", order < cut), ("val", val)):
            keep = ok & part
            parts[name].append((np.full(keep.sum(), d), last[keep], classes[keep]))
    data = {k: tuple(np.concatenate(x) for x in zip(*v)) for k, v in parts.items()}
    if not len(data["train"][0]) or not len(data["val"][0]):
        raise MarsInputError("DeepLOB needs moments with a full window of book states in both training parts")

    def batch(name: str, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        day, last, classes = (a[rows] for a in data[name])
        x = np.concatenate([samples[d][0].windows(last[day == d], config.window) for d in np.unique(day)])
        y = np.concatenate([classes[day == d] for d in np.unique(day)])
        return torch.from_numpy(x), torch.from_numpy(y)

    n_train = len(data["train"][0])
    val_x, val_y = batch("val", np.arange(len(data["val"][0])))
    optimizer = adamw(model, train_config.lr, train_config.weight_decay)
    best: dict = {"val_loss": float("inf")}

    def batch_loss(step: int) -> tuple[torch.Tensor, float]:
        rows = np.random.default_rng([train_config.seed, step]).integers(0, n_train, train_config.batch_size)
        x, y = batch("train", rows)
        loss = F.cross_entropy(model(x).reshape(-1, 3), y.reshape(-1))
        return loss, loss.item()

    def evaluate(step: int, running: float, lr: float) -> dict:
        model.eval()
        with torch.inference_mode():
            logits = model(val_x)
            loss = float(F.cross_entropy(logits.reshape(-1, 3), val_y.reshape(-1)))
            acc = (logits.argmax(-1) == val_y).float().mean(0).tolist()
        model.train()
        record = {"step": step, "train_loss": running, "val_loss": loss, "val_accuracy": acc, "lr": lr}
        if loss < best["val_loss"]:
            best.update(record, state={k: v.clone() for k, v in model.state_dict().items()})
        return record

    metrics = out / "metrics.jsonl"
    metrics.unlink(missing_ok=True)
    fit(model, optimizer, train_config, batch_loss, evaluate, metrics, desc="deeplob", progress=progress)
    model.load_state_dict(best.pop("state"))
    model.eval()
    summary = {
        "best": best,
        "train_samples": n_train,
        "val_samples": len(val_y),
        "parameters": sum(p.numel() for p in model.parameters()),
        "seconds": round(time.perf_counter() - started, 1),
        "model_args": asdict(config),
        "train_config": asdict(train_config),
    }
    atomic_save(
        {"format": FORMAT, "model_args": asdict(config), "model": model.state_dict(), "summary": summary}, out / FILE
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return LoadedDeepLOB(model, summary)


def load(path: str | Path | None = None) -> LoadedDeepLOB:
    """The DeepLOB checkpoint at `path` (a file or folder; default: the shipped one)."""
    where, payload = read_checkpoint(path, DEEPLOB_DIR, FILE, "DeepLOB model", "mars forecast train-deeplob")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise MarsInputError(f"{where} is not a DeepLOB checkpoint of format {FORMAT}")
    model = DeepLOB(check_structure(payload, where, DeepLOBConfig, DeepLOB))
    model.load_state_dict(payload["model"])
    model.eval()
    return LoadedDeepLOB(model, payload["summary"])


@torch.inference_mode()
def predict(loaded: LoadedDeepLOB, states: BookStates, moments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(classes (n, H), probabilities (n, H, 3)) at the moments; class -1 where there are too few states before."""
    window = loaded.model.config.window
    last = states.index_at(moments)
    ok = last >= window - 1
    probs = np.full((len(last), loaded.model.config.horizons, 3), np.nan)
    if ok.any():
        probs[ok] = torch.softmax(loaded.model(torch.from_numpy(states.windows(last[ok], window))), -1).numpy()
    classes = np.where(np.isfinite(probs).all(-1), np.nan_to_num(probs, nan=0).argmax(-1), -1)
    return classes, probs


def model_card(summary: dict) -> str:
    """Markdown card of a trained DeepLOB (from `train`'s summary, with the days and thresholds it was trained on)."""
    best, m, t = summary["best"], summary["model_args"], summary["train_config"]
    days = ", ".join(" ".join(d) for d in summary.get("days", []))
    acc = ", ".join(f"{a:.3f}" for a in best["val_accuracy"])
    th = summary.get("thresholds")
    thresholds = "; ".join(f"{k + 1} min: {lo:+.2e} / {hi:+.2e}" for k, (lo, hi) in enumerate(zip(*th))) if th else "—"
    return f"""# DeepLOB baseline (Zhang, Zohren & Roberts 2019)

The direct forecaster that forecasting by simulation is compared with (paper Sec. 4.1, Fig. 7a; `mars forecast
evaluate`). It predicts the trend class (down / flat / up) of the mean mid over the next 1-5 minutes from the last
{m["window"]} book states (the book after each order), 10 levels of price and size. Load it with
`mars_core.model.deeplob.load()`; predict with `deeplob.predict(loaded, BookStates.of(day), moments)`.

## Data and split

- Days: {days}; training moments every {summary.get("every_s", "?")} s from 09:35 until the 5-minute horizon ends at 14:30.
- Labels: Ntakaris et al.'s mean mid after each order in (t, t + k] over the mid at t, minus 1; three classes at the
  thresholds that split the training moments of both days in thirds (down below / up above): {thresholds}.
- Early stopping: the last {t["val_share"]:.0%} of each day's training moments (every {t["val_stride"]}th scored) are
  held back; the weights kept are those of the evaluation with the lowest loss there. The held-out afternoon from
  14:30 is never seen.
- Inputs: prices in ticks from the last state's mid (clipped to +-{PRICE_CLIP}, / 10), sizes log(1 + shares).
  **AMZN has 5 levels**: levels 6-10 are padded with zeros (an empty level), the same in every AMZN window.

## Model

- Three convolution blocks (1x2 stride 2, then two causal 4x1; {m["channels"]} channels), an inception module
  ({m["inception"]} channels per branch), an LSTM of {m["hidden"]} units, one 3-class head per horizon
  ({m["horizons"]} horizons in one network, unlike the paper's one network per horizon). {summary["parameters"]:,}
  parameters (smaller than the paper's, to train in a few minutes on a shared 2-core CPU).

## Training

- {t["steps"]} AdamW steps of {t["batch_size"]} windows (lr {t["lr"]:g} with warm-up and cosine decay), seed {t["seed"]};
  {summary["train_samples"]:,} training and {summary["val_samples"]:,} early-stopping windows; {summary["seconds"]} s on one
  thread of a shared machine.
- Best evaluation: step {best["step"]}, loss {best["val_loss"]:.4f} (chance ln 3 = 1.0986), accuracy per horizon {acc}.

Reproduce: `mars forecast train-deeplob --steps {t["steps"]} --every-s {summary.get("every_s", 2)} --seed {t["seed"]}`, then `make manifest`.
"""
