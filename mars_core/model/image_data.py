"""Order images of every catalogued day, their split, and how well predicted images match real ones.

Every catalogued day of the chosen symbols becomes one order image per minute
(`order_images.day_images`). Split as for the order model: minutes starting before 14:30
train, minutes from 14:30 to the close validate (two sample days: 600 training and 180
validation images). The images use the tokenizer of the shipped order model when there
is one (so the ensemble sees the same slots), else a tokenizer fitted exactly as
`mars train order-model` fits it (`dataset.fit_tokenizer`, same days and seed, hence
the same bins). The VQ-VAE, the order-batch model and the ensemble all train on these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mars_core.data.schema import NS_PER_MINUTE
from mars_core.errors import MarsInputError
from mars_core.model.checkpoint import load_order_model
from mars_core.model.dataset import VAL_START_NS, fit_tokenizer, load_days
from mars_core.model.order_images import OrderImages, day_images
from mars_core.model.tokenizer import OrderTokenizer
from mars_core.paths import ORDER_MODEL_DIR

VAL_START_MINUTE = VAL_START_NS // NS_PER_MINUTE  # 870 = 14:30


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
