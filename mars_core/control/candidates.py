"""Candidate next minutes for the controller: the order-batch model sampled with each rollout's own random numbers.

`CandidateSampler.sample` draws n candidate code grids for each of P histories, like
`BatchModel.sample_next_minute`, with two differences that the control loop needs:

* Draws are inverse-cdf at uniforms the caller gives per history (each rollout's own
  stream), so a rollout's candidates do not depend on which other rollouts happen to
  reach a minute boundary at the same step (common random numbers across arms).
* Single-position decoding steps compute attention as two small matrix products
  instead of `scaled_dot_product_attention`: with one query per sequence and ~1,000
  cached keys, the fused CPU kernel took ~5 ms per call (70% of a draw, measured with
  the profiler); the products take a fraction of that. The prefill of the history
  still goes through the model's own `step`. A test checks the fast step against it.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from mars_core.errors import MarsInputError
from mars_core.model.batch_model import BatchModel, KVCache


class CandidateSampler:
    """Draws candidate next-minute code grids from an order-batch model (see the module docstring)."""

    def __init__(self, model: BatchModel, temperature: float = 1.0) -> None:
        if temperature <= 0:
            raise MarsInputError(f"candidate temperature must be > 0, was {temperature}")
        self.model = model.eval()
        self.temperature = temperature

    @torch.inference_mode()
    def step_one(self, seq: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Logits (N, V) of position `cache.length` of code sequences seq (N, >= cache.length): the
        model's `step(seq, cache.length, 1, cache)[:, -1]`, with attention as plain products."""
        m = self.model
        x = m.embed(seq, cache.length, 1)  # (N, 1, C)
        N, _, C = x.shape
        for layer, block in enumerate(m.blocks):
            attn = block.attn
            H = attn.n_head
            q, k, v = attn.qkv(block.ln1(x)).split(C, dim=2)
            q, k, v = (a.view(N, 1, H, C // H).transpose(1, 2) for a in (q, k, v))  # (N, H, 1, hd)
            keys, values = cache.append(layer, k, v)  # (N, H, L, hd) views of the cache
            att = (q @ keys.transpose(-1, -2)) * (C // H) ** -0.5  # (N, H, 1, L)
            y = (att.softmax(-1) @ values).transpose(1, 2).reshape(N, 1, C)
            x = x + attn.proj(y)
            x = x + block.mlp(block.ln2(x))
        cache.length += 1
        return m.head(m.ln_f(x))[:, -1]  # (N, V)

    @torch.inference_mode()
    def sample(self, history: np.ndarray, n: int, uniforms: np.ndarray) -> np.ndarray:
        """Candidate grids (P, n, 8, 8) int64 after each of P histories (P, H, 8, 8) (only the last
        `minutes - 1` minutes are used), drawn at `uniforms` (P, n, 64) in [0, 1): candidate j of
        history p takes code c at cell t where the cdf at c first exceeds uniforms[p, j, t]."""
        m = self.model
        G, V = m.config.grid, m.config.vocab_size
        side = math.isqrt(G)
        h = torch.as_tensor(np.asarray(history), dtype=torch.long)
        if h.dim() != 4 or tuple(h.shape[-2:]) != (side, side):
            raise MarsInputError(f"histories must be (P, H, {side}, {side}), got {tuple(h.shape)}")
        P = h.size(0)
        u = torch.as_tensor(np.asarray(uniforms), dtype=torch.float64)
        if tuple(u.shape) != (P, n, G):
            raise MarsInputError(f"uniforms must be ({P}, {n}, {G}), got {tuple(u.shape)}")
        h = h.flatten(-2)[:, -(m.config.minutes - 1) :] if m.config.minutes > 1 else h.flatten(-2)[:, :0]
        Hm = h.size(1)
        seq = h.reshape(P, Hm * G)
        cache = KVCache(m.config.n_layer, m.config.length)
        logits = m.step(seq, 0, Hm * G + 1, cache)[:, -1]  # prefill the history and the first new position
        cache.repeat(n)
        seq = torch.cat([seq.repeat_interleave(n, 0), torch.zeros(P * n, G, dtype=torch.long)], dim=1)
        logits = logits.repeat_interleave(n, 0)
        u = u.reshape(P * n, G)
        for j in range(G):  # each history's candidates adjacent in the batch
            if j:
                logits = self.step_one(seq, cache)  # (P * n, V)
            cdf = (logits.double() / self.temperature).softmax(-1).cumsum(-1)
            seq[:, Hm * G + j] = torch.searchsorted(cdf, u[:, j : j + 1] * cdf[:, -1:], right=True)[:, 0].clamp_(max=V - 1)
        return seq[:, -G:].reshape(P, n, side, side).numpy()
