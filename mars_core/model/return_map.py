"""The image -> minute-return map the controller elects candidate minutes with.

The return map (`ReturnMap`) says which candidate next minute (a decoded order
image) best matches a target minute return: a ridge regression of the minute's mid
return (bps) on 14 buy/sell-antisymmetric features of the image,
    f = log(1 + n_buy) - log(1 + n_sell)
for groups of price slots (aggressive, inside the spread, at and behind the best
in a few depth bands; cancels of asks minus cancels of bids near the best), with no
intercept. Antisymmetry makes the mirror image of a minute predict the opposite
return, and an empty or balanced minute predict 0. It is fitted on real minutes
before 14:30 of the catalogued days, on the VQ-VAE *reconstructions* of their images
(candidates are reconstructions too: the VQ-VAE blurs the aggressive slots, so a map
fitted on raw images would over-trust features that candidates barely carry), and
scored on the minutes from 14:30 (R^2 and correlation in its summary).

It is fitted in the same run as the ensemble (`train_ensemble`) and saved next to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mars_core.data.schema import BPS
from mars_core.errors import MarsInputError
from mars_core.model.checkpoint import write_text_atomic

# (first, last + 1) price slots of the submission groups and of the cancel groups (ticks behind each best)
SUBMIT_GROUPS = ((0, 3), (3, 5), (5, 8), (8, 11), (11, 12), (12, 14), (14, 17), (17, 22), (22, 32))
CANCEL_GROUPS = ((0, 1), (1, 2), (2, 4), (4, 8), (8, 16))
RETURN_MAP_FILE = "return_map.json"  # next to ensemble.pt: fitted in the same run
FEATURE_NAMES = tuple(
    [f"buy-sell submits, slots {a}-{b - 1}" for a, b in SUBMIT_GROUPS]
    + [f"cancelled asks-bids, {a}-{b - 1} behind" for a, b in CANCEL_GROUPS]
)


def image_features(counts: np.ndarray) -> np.ndarray:
    """Antisymmetric features (..., 14) of order images (..., 3, 32, 32) (counts or expected counts)."""
    s = np.asarray(counts, dtype=np.float64).sum(-1)  # (..., 3, 32) orders per (type, price slot)
    feats = [np.log1p(s[..., 0, a:b].sum(-1)) - np.log1p(s[..., 1, a:b].sum(-1)) for a, b in SUBMIT_GROUPS]
    feats += [np.log1p(s[..., 2, 16 + a : 16 + b].sum(-1)) - np.log1p(s[..., 2, a:b].sum(-1)) for a, b in CANCEL_GROUPS]
    return np.stack(feats, -1)


@dataclass(frozen=True)
class ReturnMap:
    """Expected minute return (bps) of an order image: ridge weights on `image_features`."""

    weights: np.ndarray  # (14,)
    summary: dict = field(default_factory=dict)

    def predict(self, counts: np.ndarray) -> np.ndarray:
        """Expected mid return (bps) over the minute of each image (..., 3, 32, 32)."""
        return image_features(counts) @ self.weights

    def to_dict(self) -> dict:
        return {
            "kind": "return_map",
            "features": list(FEATURE_NAMES),
            "weights": [float(w) for w in self.weights],
            "summary": self.summary,
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "return map") -> ReturnMap:
        if (
            not isinstance(data, dict)
            or data.get("kind") != "return_map"
            or len(data.get("weights", [])) != len(FEATURE_NAMES)
        ):
            raise MarsInputError(f"{where} is not a return map with {len(FEATURE_NAMES)} weights")
        return cls(np.asarray(data["weights"], dtype=np.float64), data.get("summary", {}))

    def save(self, path: str | Path) -> None:
        write_text_atomic(Path(path), json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> ReturnMap:
        path = Path(path)
        if not path.is_file():
            raise MarsInputError(
                f"no return map at {path}; fit one with `mars train ensemble` (it writes return_map.json)"
            )
        return cls.from_dict(json.loads(path.read_text()), str(path))


def fit_ridge(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Ridge weights without intercept."""
    return np.linalg.solve(x.T @ x + lam * np.eye(x.shape[1]), x.T @ y)


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - SSE / sum of squares about 0 (the map has no intercept; minute returns have mean ~0)."""
    return float(1 - ((y - pred) ** 2).sum() / max((y**2).sum(), 1e-12))


def fit_return_map(
    images: list[np.ndarray],
    mid2_close: list[np.ndarray],
    minutes: list[np.ndarray],
    val_start_minute: int,
    lam: float = 10.0,
) -> ReturnMap:
    """Fit the map on consecutive minutes of several days.

    Args:
        images: per day, (M, 3, 32, 32) (reconstructed) images of consecutive minutes.
        mid2_close: per day, (M,) bid + ask at the end of each minute.
        minutes: per day, (M,) minute of the day.
        val_start_minute: minutes from here are held out (scored, not fitted).
        lam: ridge penalty.
    """
    xs, ys, ms = [], [], []
    for img, mid2, mins in zip(images, mid2_close, minutes):
        ret = np.diff(np.log(np.asarray(mid2, dtype=np.float64))) * BPS  # return over minute i (i >= 1)
        xs.append(image_features(img[1:]))
        ys.append(ret)
        ms.append(np.asarray(mins)[1:])
    x, y, m = np.concatenate(xs), np.concatenate(ys), np.concatenate(ms)
    train, val = m < val_start_minute, m >= val_start_minute
    if train.sum() < len(FEATURE_NAMES) or val.sum() < 2:
        raise MarsInputError("too few minutes to fit the return map (need training minutes before and after the split)")
    w = fit_ridge(x[train], y[train], lam)
    pred = x @ w
    summary = {
        "lambda": lam,
        "train_minutes": int(train.sum()),
        "val_minutes": int(val.sum()),
        "train_r2": round(r2(y[train], pred[train]), 4),
        "val_r2": round(r2(y[val], pred[val]), 4),
        "val_corr": round(float(np.corrcoef(pred[val], y[val])[0, 1]), 4),
        "return_std_bps": round(float(y.std()), 3),
        "pred_std_bps": round(float(pred.std()), 3),
    }
    return ReturnMap(w, summary)
