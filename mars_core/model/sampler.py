"""Batched next-order sampling for many rollouts at once.

    sampler = OrderModelSampler(model, batch=B, temperature=1.0, top_k=None, top_p=None, seed=0)
    sampler.prefill(tokens (B, T), lob (B, T, 21), lob_mask (B, T, 21) or levels (B,), ctx (B, T, N_CTX))
    nxt = sampler.sample()               # (B,) next token of each rollout
    sampler.feed(tokens (B,), lob (B, 21), ctx (B, N_CTX))   # the token actually applied, book after it

With `use_cache=True` (the default) `feed` runs one position through the KV cache and
`sample` only reads the heads; the state after a prefill of T <= window positions and
any number of feeds equals the model's sliding-window forward over the whole sequence.
With `use_cache=False`, `sample` recomputes the last `window` positions from scratch
(as MarS's released code does): the same as the cache until the window fills, a
truncated context afterwards. A prefill longer than the window keeps its last `window`
positions.

The batch may shrink and grow: `keep` drops rollouts (finished ones), `park` takes some
out and `resume` puts them back later, their cache moved to the batch's current position
(`order_model.shift_positions`), so a paused rollout continues as if never paused.

Temperature, top-k and top-p apply to each factor of the output distribution in turn:
(type, price), then volume given them, then interval given all three. Each factor is drawn
by inverting its cdf at one uniform number per rollout, from the sampler's own seeded
`torch.Generator` or given by the caller (`sample(uniforms=...)`): the same seed (or
uniforms), inputs and thread count give the same tokens, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mars_core.errors import MarsInputError
from mars_core.model.order_model import KVCache, OrderModel, best_levels, shift_positions
from mars_core.model.vocab import N_CTX, N_INTERVAL, N_LOB, N_VOLUME, levels_present

ArrayLike = np.ndarray | torch.Tensor  # inputs are taken as NumPy arrays or tensors


def levels_mask(levels: ArrayLike) -> torch.Tensor:
    """(B, 21) bool context mask for each row's book depth (B,): present levels and the spread."""
    return torch.as_tensor(np.stack([levels_present(int(n)) for n in np.asarray(levels).reshape(-1)]))


def pick(
    logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None, u: torch.Tensor
) -> torch.Tensor:
    """One index per row of logits (B, n): greedy at temperature 0, else the inverse cdf at the
    row's uniform u (B,) after temperature scaling, top-k and top-p (nucleus) filtering."""
    if temperature == 0:
        return logits.argmax(-1)
    if temperature != 1.0:
        logits = logits / temperature
    if top_k is not None and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) >= top_p  # keep the smallest prefix reaching top_p
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    cdf = logits.softmax(-1).cumsum(-1)  # (B, n)
    return torch.searchsorted(cdf, u[:, None] * cdf[:, -1:], right=True)[:, 0].clamp_(max=cdf.size(-1) - 1)


@dataclass(frozen=True)
class Parked:
    """Rollouts taken out of a sampler's batch (`OrderModelSampler.park`), with their whole state."""

    h: torch.Tensor  # (n, C) hidden state for the next order
    mask: torch.Tensor  # (n, 21) context mask
    best: torch.Tensor  # (n, 2) best-level volume bins of the book before the next order
    k: list[torch.Tensor]  # per layer (n, Hkv, window, hd)
    v: list[torch.Tensor]
    length: int  # positions fed when parked


class OrderModelSampler:
    """Samples the next token of B rollouts in lockstep (see the module docstring).

    Args:
        model: a trained `OrderModel` (put in eval mode here).
        batch: number of rollouts B.
        temperature: 1 samples the model's distribution; 0 is greedy.
        top_k: keep the k most likely values of each factor (None: all).
        top_p: keep the smallest set of each factor's values with this much probability (None: all).
        seed: seeds the sampler's generator.
        use_cache: incremental decoding with a KV cache; False recomputes the window each step.
    """

    def __init__(
        self,
        model: OrderModel,
        batch: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int = 0,
        use_cache: bool = True,
    ) -> None:
        if batch < 1:
            raise MarsInputError(f"batch must be at least 1, was {batch}")
        if temperature < 0:
            raise MarsInputError(f"temperature must be >= 0, was {temperature}")
        if top_k is not None and top_k < 1:
            raise MarsInputError(f"top_k must be at least 1, was {top_k}")
        if top_p is not None and not 0 < top_p <= 1:
            raise MarsInputError(f"top_p must be in (0, 1], was {top_p}")
        self.model = model.eval()
        self.batch = batch
        self.temperature, self.top_k, self.top_p = temperature, top_k, top_p
        self.use_cache = use_cache
        self.window = model.config.window
        self.generator = torch.Generator().manual_seed(seed)
        self._h: torch.Tensor | None = None  # (B, C) hidden state of the last position (cache path)
        self._cache: KVCache | None = None
        self._hist: list[torch.Tensor] | None = None  # last `window` inputs (no-cache path)
        self._mask: torch.Tensor | None = None  # (B, 21) mask used by feed
        self._best: torch.Tensor | None = None  # (B, 2) `best_levels` of the last position (the volume head reads it)

    # ---------------------------------------------------------------- inputs
    @torch.inference_mode()
    def prefill(self, tokens: ArrayLike, lob: ArrayLike, lob_mask: ArrayLike, ctx: ArrayLike) -> None:
        """Warm up every rollout on real history; T may differ from the window (only the last
        `window` positions are kept). lob_mask is (B, T, 21) bool or each row's book depth (B,)."""
        tokens, lob, ctx = (torch.as_tensor(np.asarray(a), dtype=torch.int64) for a in (tokens, lob, ctx))
        B, T = tokens.shape
        if self.batch != B or lob.shape != (B, T, N_LOB) or ctx.shape != (B, T, N_CTX) or T < 1:
            raise MarsInputError(
                f"prefill wants tokens (B, T), lob (B, T, {N_LOB}), ctx (B, T, {N_CTX}) "
                f"with B = {self.batch}, T >= 1; "
                f"got {tuple(tokens.shape)}, {tuple(lob.shape)}, {tuple(ctx.shape)}"
            )
        mask = torch.as_tensor(np.asarray(lob_mask))
        mask = levels_mask(mask)[:, None, :].expand(B, T, N_LOB) if mask.dim() == 1 else mask.bool()
        tokens, lob, mask, ctx = (a[:, -self.window :] for a in (tokens, lob, mask, ctx))
        self._best = best_levels(lob[:, -1])
        self._mask = mask[:, -1]
        if self.use_cache:
            kv: list = []
            h = self.model(tokens, lob, mask, ctx, kv_out=kv)
            cfg = self.model.config
            self._cache = KVCache(cfg.n_layer, B, cfg.n_kv_head, self.window, cfg.n_embd // cfg.n_head)
            for layer, (k, v) in enumerate(kv):
                self._cache.load(layer, k, v)
            self._cache.length = tokens.size(1)
            self._h = h[:, -1]
        else:
            self._hist = [tokens, lob, mask, ctx]

    @torch.inference_mode()
    def feed(self, tokens: ArrayLike, lob: ArrayLike, ctx: ArrayLike, lob_mask: ArrayLike | None = None) -> None:
        """Append one position per rollout: the token applied (B,), the binned volumes of the
        book after it (B, 21) and the flow context after it (B, N_CTX); the mask stays as in the prefill
        unless given (B, 21)."""
        if self._mask is None:
            raise MarsInputError("call prefill before feed")
        tokens, lob, ctx = (torch.as_tensor(np.asarray(a), dtype=torch.int64) for a in (tokens, lob, ctx))
        if tokens.shape != (self.batch,) or lob.shape != (self.batch, N_LOB) or ctx.shape != (self.batch, N_CTX):
            raise MarsInputError(
                f"feed wants tokens ({self.batch},), lob ({self.batch}, {N_LOB}), ctx ({self.batch}, {N_CTX}); "
                f"got {tuple(tokens.shape)}, {tuple(lob.shape)}, {tuple(ctx.shape)}"
            )
        if lob_mask is not None:
            self._mask = torch.as_tensor(np.asarray(lob_mask)).bool()
        self._best = best_levels(lob)
        step = (tokens[:, None], lob[:, None], self._mask[:, None], ctx[:, None])
        if self.use_cache:
            self._h = self.model.step(*step, self._cache)
        else:
            self._hist = [torch.cat([a, b], dim=1)[:, -self.window :] for a, b in zip(self._hist, step)]

    # ---------------------------------------------------------------- rows
    @torch.inference_mode()
    def keep(self, rows: list[int]) -> None:
        """Keep only the rollouts at batch rows `rows`, in that order (e.g. drop finished ones, so that
        a step costs what the rollouts still running need)."""
        idx = torch.as_tensor(rows, dtype=torch.long)
        self.batch = len(rows)
        self._mask = self._mask[idx]
        self._best = self._best[idx]
        if self.use_cache:
            self._h = self._h[idx]
            self._cache.keep(idx)
        else:
            self._hist = [a[idx] for a in self._hist]

    @torch.inference_mode()
    def park(self, rows: list[int]) -> Parked:
        """Take the rollouts at batch rows `rows` out of the batch, to `resume` them later (the others
        go on meanwhile). Needs the KV cache, filled to the window.

        Raises:
            MarsInputError: no cache, or fewer positions than the window.
        """
        if not self.use_cache or self._cache is None or self._cache.length < self.window:
            raise MarsInputError(f"parking rollouts needs the KV cache filled to the window ({self.window} positions)")
        idx = torch.as_tensor(rows, dtype=torch.long)
        k, v = self._cache.take(idx)
        parked = Parked(self._h[idx], self._mask[idx], self._best[idx], k, v, self._cache.length)
        gone = set(rows)
        self.keep([i for i in range(self.batch) if i not in gone])
        return parked

    @torch.inference_mode()
    def resume(self, parked: Parked) -> None:
        """Append parked rollouts at the end of the batch, continuing exactly where they stopped."""
        d = self._cache.length - parked.length
        kv = [shift_positions(k, v, d, self.model.rope_freq) for k, v in zip(parked.k, parked.v)]
        self._cache.extend([k for k, _ in kv], [v for _, v in kv])
        self._h = torch.cat([self._h, parked.h])
        self._mask = torch.cat([self._mask, parked.mask])
        self._best = torch.cat([self._best, parked.best])
        self.batch += len(parked.h)

    # -------------------------------------------------------------- sampling
    @torch.inference_mode()
    def hidden(self) -> torch.Tensor:
        """The model's final hidden state (B, C) for the next order of each rollout."""
        if self._mask is None:
            raise MarsInputError("call prefill before sampling")
        if self.use_cache:
            return self._h
        tokens, lob, mask, ctx = self._hist
        return self.model(tokens, lob, mask, ctx)[:, -1]

    @property
    def best(self) -> torch.Tensor:
        """`best_levels` (B, 2) of each rollout's book before its next order (the volume head reads them)."""
        return self._best

    @torch.inference_mode()
    def sample(self, uniforms: ArrayLike | None = None) -> np.ndarray:
        """The next token (B,) int64 of every rollout, drawn factor by factor.

        Args:
            uniforms: optional (B, 3) numbers in [0, 1), one per factor and rollout, used instead
                of the sampler's generator (e.g. each rollout's own stream, so that a rollout's
                draws do not depend on the other rollouts of the batch).
        """
        h = self.hidden()
        if uniforms is None:
            u = torch.rand(self.batch, 3, generator=self.generator)
        else:
            u = torch.as_tensor(np.asarray(uniforms), dtype=torch.float32)
            if u.shape != (self.batch, 3):
                raise MarsInputError(f"uniforms must be ({self.batch}, 3), got {tuple(u.shape)}")
        m, opts = self.model, (self.temperature, self.top_k, self.top_p)
        tp = pick(m.logits_type_price(h), *opts, u[:, 0])
        vol = pick(m.logits_volume(h, tp, self._best), *opts, u[:, 1])
        ivl = pick(m.logits_interval(h, tp, vol), *opts, u[:, 2])
        return ((tp * N_VOLUME + vol) * N_INTERVAL + ivl).numpy()
