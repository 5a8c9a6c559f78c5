"""Synthetic order images and a small fitted tokenizer for the VQ-VAE and order-batch model tests."""

from __future__ import annotations

import numpy as np

from mars_core.model.image_data import VAL_START_MINUTE, ImageData
from mars_core.model.order_images import OrderImages
from mars_core.model.tokenizer import OrderTokenizer, RawOrders


def synthetic_tokenizer(seed: int = 0) -> OrderTokenizer:
    """A tokenizer fitted on random orders (the tests only need its slots to exist)."""
    rng = np.random.default_rng(seed)
    n = 4000
    side = rng.choice([-1, 1], n).astype(np.int8)
    bid = np.full(n, 1_000_000, np.int64)
    ask = bid + 100 * rng.integers(1, 4, n)
    price = np.where(side > 0, bid, ask) - side * 100 * rng.integers(-3, 30, n)
    raw = RawOrders(
        rng.random(n) < 0.3, side, price, rng.integers(1, 1000, n), rng.integers(0, 10**9, n), bid, ask, 100
    )
    return OrderTokenizer.fit([raw], rng.integers(1, 5000, 1000))


def synthetic_days(n_days: int = 2, minutes: int = 60, seed: int = 0) -> list[OrderImages]:
    """Days of images drawn from 4 prototype rate maps (a slowly switching regime), Poisson noise.

    Each day covers `minutes` minutes around 14:30: two thirds before (training), a third after.
    """
    rng = np.random.default_rng(seed)
    protos = np.zeros((4, 3, 32, 32))
    for k in range(4):
        for c in range(3):
            i, j = rng.integers(4, 28, 2)
            protos[k, c, i - 3 : i + 3, j - 3 : j + 3] = rng.uniform(2, 20)
    days = []
    first = VAL_START_MINUTE - 2 * minutes // 3
    for d in range(n_days):
        regime = np.repeat(rng.integers(0, 4, minutes // 4 + 1), 4)[:minutes]  # each regime lasts 4 minutes
        images = np.minimum(rng.poisson(protos[regime]), 100).astype(np.uint8)
        counts = images.reshape(minutes, 3, -1).sum(-1).astype(np.int64)
        days.append(
            OrderImages(f"SYN{d}", np.arange(first, first + minutes), images, counts, np.full(minutes, 2_000_000))
        )
    return days


def synthetic_data(seed: int = 0) -> ImageData:
    return ImageData(synthetic_days(seed=seed), synthetic_tokenizer(seed), "synthetic")
