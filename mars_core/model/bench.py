"""Raw sampling throughput of the order model (`mars bench sampler`): no matching, no decoding.

Each measurement prefills B rollouts with a full window of real-looking inputs (random
tokens and book bins; throughput does not depend on the values), then times `sample()`
followed by `feed()` of the sampled tokens. Without the cache every step recomputes the
whole window. The head comparison times, at B=64, the factorised heads with their three
draws against one 49,152-way linear head with a 49,152-way multinomial.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from mars_core.model.checkpoint import load_order_model
from mars_core.model.order_model import OrderModel
from mars_core.model.sampler import OrderModelSampler
from mars_core.model.vocab import CTX_SIZES, N_LOB, N_LOB_BINS, VOCAB_SIZE


def _inputs(batch: int, length: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, VOCAB_SIZE, (batch, length)),
        rng.integers(0, N_LOB_BINS, (batch, length, N_LOB)),
        np.full(batch, 10),
        np.stack([rng.integers(0, n, (batch, length)) for n in CTX_SIZES], axis=-1),
    )


def tokens_per_s(model: OrderModel, batch: int, steps: int, use_cache: bool) -> float:
    """Sampled tokens per second over `steps` sample+feed rounds of B rollouts (best of 3 rounds)."""
    tokens, lob, levels, ctx = _inputs(batch, model.config.window, 0)
    sampler = OrderModelSampler(model, batch, seed=0, use_cache=use_cache)
    sampler.prefill(tokens, lob, levels, ctx)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(steps):
            sampler.feed(sampler.sample(), lob[:, i % lob.shape[1]], ctx[:, i % ctx.shape[1]])
        best = min(best, time.perf_counter() - start)
    return batch * steps / best


@torch.inference_mode()
def head_ms(model: OrderModel, batch: int = 64, repeats: int = 50) -> dict[str, float]:
    """Milliseconds per step: factorised heads + three draws vs a full-vocabulary head + one draw."""
    g = torch.Generator().manual_seed(0)
    sampler = OrderModelSampler(model, batch, seed=0)
    sampler.prefill(*_inputs(batch, 8, 0))
    h = sampler.hidden()  # (B, C): sample() only reads the heads from it
    full = torch.nn.Linear(model.config.n_embd, VOCAB_SIZE, bias=False)

    def timed(fn) -> float:
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        return (time.perf_counter() - start) / repeats * 1e3

    return {
        "factorised": timed(sampler.sample),
        "full": timed(lambda: torch.multinomial(full(h).softmax(-1), 1, generator=g)),
    }


def run(model_path: str | None, batches: list[int], steps: int) -> dict:
    """The `mars bench sampler --json` result."""
    model = load_order_model(model_path).model
    cached = {b: round(tokens_per_s(model, b, steps, True)) for b in batches}
    nocache = {b: round(tokens_per_s(model, b, max(steps // 10, 2), False)) for b in batches}
    return {
        "tokens_per_s": cached,
        "tokens_per_s_nocache": nocache,
        "speedup": {b: round(cached[b] / nocache[b], 1) for b in batches},
        "head_ms": {k: round(v, 3) for k, v in head_ms(model, repeats=max(2, steps // 30)).items()},
        "params": model.n_params(),
        "window": model.config.window,
        "threads": torch.get_num_threads(),
    }
