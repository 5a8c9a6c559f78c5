"""The order model: a LLaMA-style causal transformer over order tokens (paper Sec. 2.1, eq. 1).

Reading order: normalisation and rotary positions, attention (with its KV cache),
the SwiGLU MLP, the block, the config, the model.

Input at position i (eq. 1): the order token's embedding, a linear projection of the
binned ask/bid volumes of 10 book levels and the spread after the order (one-hot per level
and bin, masked levels contribute nothing), and the embeddings of the flow context
(`context.py`: the mid change over 1 and 5 minutes instead of the paper's change since the
open, and the last 5 minutes' activity), summed. The token embedding is the sum of three
component embeddings (type x price slot, type x volume slot, interval slot) instead of a
49,152-row table.

Output: an exact factorisation of the distribution over the 49,152 tokens,
  p(token | h) = p(type, price | h) * p(volume | type, price, h, L1) * p(interval | type, price, volume, h),
where L1 is the size of the best level the order acts on (`OrderModel.target_level`),
three small heads read in sequence, so the per-token NLL is comparable with any model
over the full vocabulary (see the model card for the measured cost of a full head).

Attention is sliding-window: position i sees positions i - window + 1 .. i. Training
sequences are at most `window` long (plain causal attention); decoding beyond the window
keeps the last `window` keys and values in a ring buffer (`KVCache`). Rotary angles are
computed in float64 modulo 2*pi, so absolute positions can grow through a long rollout
without losing precision, and attention depends only on relative positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from mars_core.model.vocab import (
    CANCEL_REGIONS,
    CTX_SIZES,
    MAX_LEVELS,
    N_INTERVAL,
    N_LOB,
    N_LOB_BINS,
    N_PRICE,
    N_TYPES,
    N_VOLUME,
    SUBMIT_REGIONS,
)


class RMSNorm(nn.Module):
    """Root-mean-square layer norm with a learned gain (no bias, no mean subtraction)."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, self.weight.shape, self.weight, self.eps)


def rotary_frequencies(head_dim: int, base: float) -> torch.Tensor:
    """Angular frequencies (head_dim // 2,) float64 of the rotary pairs."""
    return base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)


def rotary(start: int, length: int, freq: torch.Tensor) -> torch.Tensor:
    """Unit complex numbers (T, 1, head_dim // 2) of the rotary angles at positions start..start+T-1."""
    positions = torch.arange(start, start + length, dtype=torch.float64)
    angles = torch.remainder(torch.outer(positions, freq), 2 * math.pi)  # exact enough for any position
    return torch.polar(torch.ones_like(angles), angles).to(torch.complex64)[:, None, :]


def apply_rotary(x: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
    """Rotate the pairs (x[..., 2j], x[..., 2j+1]) of x (B, T, heads, hd) by the angles `rot` (T, 1, hd/2)."""
    pairs = torch.view_as_complex(x.unflatten(-1, (-1, 2)))  # (B, T, heads, hd/2) complex
    return torch.view_as_real(pairs * rot).flatten(-2)  # (B, T, heads, hd)


class KVCache:
    """Keys and values of the last `window` positions of every layer, in a ring buffer.

    Slot `p % window` holds position p; attention over a single new query does not depend
    on the order of the keys, so the ring never needs reordering.
    """

    def __init__(self, n_layer: int, batch: int, n_kv_head: int, window: int, head_dim: int) -> None:
        shape = (batch, n_kv_head, window, head_dim)
        self.k = [torch.zeros(shape) for _ in range(n_layer)]
        self.v = [torch.zeros(shape) for _ in range(n_layer)]
        self.window = window
        self.length = 0  # positions written so far (the next position's index)

    def load(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store the keys/values (B, Hkv, T, hd) of positions 0..T-1 (T <= window) of one layer."""
        T = k.size(2)
        self.k[layer][:, :, :T] = k
        self.v[layer][:, :, :T] = v

    def filled(self) -> int:
        return min(self.length, self.window)

    def take(self, rows: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Keys and values (n, Hkv, window, hd) per layer of sequences `rows` (indices)."""
        return [k[rows] for k in self.k], [v[rows] for v in self.v]

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only sequences `rows` (indices), in that order."""
        self.k, self.v = self.take(rows)

    def extend(self, k: list[torch.Tensor], v: list[torch.Tensor]) -> None:
        """Append sequences (keys and values per layer, as `take` returns them) at the same length."""
        self.k = [torch.cat([a, b]) for a, b in zip(self.k, k)]
        self.v = [torch.cat([a, b]) for a, b in zip(self.v, v)]


def shift_positions(k: torch.Tensor, v: torch.Tensor, d: int, freq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The full rings of keys and values (n, Hkv, window, hd) of sequences moved d positions later:
    slots rolled by d and keys re-rotated by d. Attention depends only on relative positions, so a
    sequence paused while the others of its batch advanced d positions resumes among them unchanged."""
    rot = rotary(d, 1, freq)[0]  # (1, hd/2)
    return torch.roll(apply_rotary(k, rot), d, dims=2), torch.roll(v, d, dims=2)


class CausalSelfAttention(nn.Module):
    """Grouped-query attention over the last `window` positions, with rotary positions:
    `n_head` query heads share `n_kv_head` key/value heads (LLaMA-2), which shrinks the KV
    cache that every decoding step has to read."""

    def __init__(self, n_embd: int, n_head: int, n_kv_head: int, dropout: float) -> None:
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = n_head, n_kv_head, n_embd // n_head
        self.qkv = nn.Linear(n_embd, n_embd + 2 * n_kv_head * self.head_dim, bias=False)
        self.proj = nn.Linear(n_embd, n_embd, bias=False)
        self.dropout = dropout
        self.resid_dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        rot: torch.Tensor,
        mask: torch.Tensor | None,
        cache: KVCache | None = None,
        layer: int = 0,
        kv_out: list | None = None,
    ) -> torch.Tensor:
        """x (B, T, C). With a cache, T must be 1: the new key/value go into the ring first.
        Without, `mask` (T, T) bool restricts attention (None: plain causal); `kv_out`, if
        given, receives this layer's keys and values (to fill a cache after a prefill)."""
        B, T, C = x.size()
        H, Hkv, hd = self.n_head, self.n_kv_head, self.head_dim
        qk, v = self.qkv(x).split([C + Hkv * hd, Hkv * hd], dim=2)
        qk = apply_rotary(qk.view(B, T, H + Hkv, hd), rot)  # (B, T, H + Hkv, hd), queries and keys rotated at once
        q, k = qk.split([H, Hkv], dim=2)
        v = v.view(B, T, Hkv, hd)
        if cache is not None:
            slot = cache.length % cache.window
            cache.k[layer][:, :, slot] = k[:, 0]
            cache.v[layer][:, :, slot] = v[:, 0]
            n = min(cache.length + 1, cache.window)
            # the query heads sharing a key/value head are the G "positions" of one unmasked attention per (B, Hkv)
            qg = q.reshape(B, Hkv, H // Hkv, hd)  # (B, Hkv, G, hd)
            y = F.scaled_dot_product_attention(qg, cache.k[layer][:, :, :n], cache.v[layer][:, :, :n]).view(B, 1, C)
        else:
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, heads, T, hd)
            p = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, is_causal=mask is None, dropout_p=p, enable_gqa=True
            )  # (B, H, T, hd)
            if kv_out is not None:
                kv_out.append((k, v))
            y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.resid_dropout(self.proj(y))


class SwiGLU(nn.Module):
    """LLaMA's gated MLP: w2(silu(w1 x) * w3 x), with w1 and w3 in one matrix."""

    def __init__(self, n_embd: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.w13 = nn.Linear(n_embd, 2 * hidden, bias=False)
        self.w2 = nn.Linear(hidden, n_embd, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.w13(x).chunk(2, dim=-1)  # (B, T, hidden) each
        return self.dropout(self.w2(F.silu(gate) * up))  # (B, T, C)


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, n_embd: int, n_head: int, n_kv_head: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = RMSNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, n_kv_head, dropout)
        self.norm2 = RMSNorm(n_embd)
        self.mlp = SwiGLU(n_embd, hidden, dropout)

    def forward(
        self,
        x: torch.Tensor,
        rot: torch.Tensor,
        mask: torch.Tensor | None,
        cache: KVCache | None = None,
        layer: int = 0,
        kv_out: list | None = None,
    ) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), rot, mask, cache, layer, kv_out)
        return x + self.mlp(self.norm2(x))  # (B, T, C)


@dataclass
class OrderModelConfig:
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention (query) heads
    n_kv_head: int = 1  # key/value heads shared by the query heads (1: multi-query attention)
    n_embd: int = 128  # width of the residual stream
    mlp_hidden: int = 352  # SwiGLU hidden width (about 8/3 of n_embd, rounded to 32)
    window: int = 128  # attention window and training sequence length, tokens
    dropout: float = 0.1  # on attention weights and residual branches, training only
    rope_base: float = 10000.0  # rotary frequency base


N_CROSS = SUBMIT_REGIONS[0][1]  # price slots 0..N_CROSS-1 of a submission are marketable
CANCEL_ASK_SLOT = CANCEL_REGIONS[0][1]  # cancel slots from here on are behind the best ask
BEST_LEVELS = [0, MAX_LEVELS]  # lob columns of the ask and bid L1 volume bins


def best_levels(lob: torch.Tensor) -> torch.Tensor:
    """(..., 2) ask and bid L1 volume bins of book contexts (..., 21): what the volume head reads."""
    return lob[..., BEST_LEVELS]


class OrderModel(nn.Module):
    """The transformer trunk plus the three factorised heads."""

    def __init__(self, config: OrderModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.n_embd
        n_tp = N_TYPES * N_PRICE
        # eq. (1): order embedding (sum of components) + LOB projection + flow context (for the mid-price embedding)
        self.emb_type_price = nn.Embedding(n_tp, d)
        self.emb_type_volume = nn.Embedding(N_TYPES * N_VOLUME, d)
        self.emb_interval = nn.Embedding(N_INTERVAL, d)
        self.lob_proj = nn.Parameter(torch.empty(N_LOB * N_LOB_BINS, d))  # one-hot (level, bin) -> d
        self.emb_ctx = nn.ModuleList(nn.Embedding(n, d) for n in CTX_SIZES)  # one table per flow-context column
        self.register_buffer("lob_offset", torch.arange(N_LOB) * N_LOB_BINS, persistent=False)
        self.rope_freq = rotary_frequencies(d // config.n_head, config.rope_base)  # float64 on purpose: no buffer
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            Block(d, config.n_head, config.n_kv_head, config.mlp_hidden, config.dropout) for _ in range(config.n_layer)
        )
        self.norm_f = RMSNorm(d)
        # heads: p(type, price | h); p(volume | type, price, h); p(interval | type, price, volume, h)
        self.head_tp = nn.Linear(d, n_tp, bias=False)
        self.vol_in = nn.Linear(d, d, bias=False)
        self.vol_tp = nn.Embedding(n_tp, d)
        self.vol_out = nn.Linear(d, N_VOLUME)
        # the size of the best level the order acts on (`target_level`): an embedding into the head's hidden
        # layer and a direct logit bias per kind of order (marketable, resting, cancel). 62% of marketable
        # orders take exactly the opposite best level, and without a direct path the head did not learn it.
        self.vol_l1 = nn.Embedding(N_LOB_BINS, d)
        self.vol_l1_logit = nn.Parameter(torch.zeros(3, N_LOB_BINS, N_VOLUME))
        self.ivl_in = nn.Linear(d, d, bias=False)
        self.ivl_tp = nn.Embedding(n_tp, d)
        self.ivl_vol = nn.Embedding(N_VOLUME, d)
        self.ivl_out = nn.Linear(d, N_INTERVAL)
        self.apply(self._init_weights)
        nn.init.normal_(self.lob_proj, std=0.02)
        for name, p in self.named_parameters():  # scaled init of the residual projections (GPT-2)
            if name.endswith(("attn.proj.weight", "mlp.w2.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ trunk
    def embed(self, tokens: torch.Tensor, lob: torch.Tensor, lob_mask: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        """Eq. (1). tokens (B, T) int64, lob (B, T, 21) int64 bins (20 volumes, the spread), lob_mask (B, T, 21)
        bool, ctx (B, T, N_CTX) flow context (`model/context.py`)."""
        B, T = tokens.shape
        ivl = tokens % N_INTERVAL
        vol = tokens // N_INTERVAL % N_VOLUME
        tp = tokens // (N_INTERVAL * N_VOLUME)  # type * N_PRICE + price
        typ = tp // N_PRICE
        x = self.emb_type_price(tp) + self.emb_type_volume(typ * N_VOLUME + vol) + self.emb_interval(ivl)  # (B, T, C)
        idx = (lob + self.lob_offset).reshape(B * T, N_LOB)  # (B*T, 21) rows of lob_proj
        x = x + F.embedding_bag(
            idx, self.lob_proj, per_sample_weights=lob_mask.reshape(B * T, N_LOB).to(x.dtype), mode="sum"
        ).view(B, T, -1)  # (B, T, C)
        for k, emb in enumerate(self.emb_ctx):
            x = x + emb(ctx[..., k])  # (B, T, C)
        return self.drop(x)

    def forward(
        self,
        tokens: torch.Tensor,
        lob: torch.Tensor,
        lob_mask: torch.Tensor,
        ctx: torch.Tensor,
        start: int = 0,
        kv_out: list | None = None,
    ) -> torch.Tensor:
        """Final hidden states (B, T, C) of a whole sequence whose first position is `start`.
        Beyond `window` positions attention is banded (sliding window). `kv_out` collects
        every layer's (keys, values) (B, Hkv, T, hd), in layer order."""
        T = tokens.size(1)
        rot = rotary(start, T, self.rope_freq)
        mask = None
        if self.config.window < T:
            i = torch.arange(T)
            mask = (i[:, None] >= i[None, :]) & (i[:, None] - i[None, :] < self.config.window)  # (T, T)
        x = self.embed(tokens, lob, lob_mask, ctx)
        for block in self.blocks:
            x = block(x, rot, mask, kv_out=kv_out)
        return self.norm_f(x)  # (B, T, C)

    def step(
        self, tokens: torch.Tensor, lob: torch.Tensor, lob_mask: torch.Tensor, ctx: torch.Tensor, cache: KVCache
    ) -> torch.Tensor:
        """Append one position per sequence (inputs (B, 1, ...)) through the cache; its hidden state (B, C)."""
        rot = rotary(cache.length, 1, self.rope_freq)
        x = self.embed(tokens, lob, lob_mask, ctx)
        for layer, block in enumerate(self.blocks):
            x = block(x, rot, None, cache, layer)
        cache.length += 1
        return self.norm_f(x)[:, 0]  # (B, C)

    # ------------------------------------------------------------------ heads
    def logits_type_price(self, h: torch.Tensor) -> torch.Tensor:
        return self.head_tp(h)  # (..., 96)

    @staticmethod
    def target_level(tp: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
        """Volume bin of the best level an order of type-price `tp` acts on: the opposite best for a marketable
        submission, its own side's best for a resting one, the best of the cancel's side; best (..., 2) =
        `best_levels` of the book before the order."""
        typ, slot = tp // N_PRICE, tp % N_PRICE
        on_ask = torch.where(typ == 2, slot >= CANCEL_ASK_SLOT, (typ == 0) == (slot < N_CROSS))
        return torch.where(on_ask, best[..., 0], best[..., 1])

    def logits_volume(self, h: torch.Tensor, tp: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
        """Volume logits (..., 32) given the hidden state, the type-price and `best_levels` of the book before."""
        level = self.target_level(tp, best)
        typ, slot = tp // N_PRICE, tp % N_PRICE
        kind = torch.where(typ == 2, 2, torch.where(slot < N_CROSS, 0, 1))
        hidden = F.silu(self.vol_in(h) + self.vol_tp(tp) + self.vol_l1(level))
        return self.vol_out(hidden) + self.vol_l1_logit[kind, level]  # (..., 32)

    def logits_interval(self, h: torch.Tensor, tp: torch.Tensor, vol: torch.Tensor) -> torch.Tensor:
        return self.ivl_out(F.silu(self.ivl_in(h) + self.ivl_tp(tp) + self.ivl_vol(vol)))  # (..., 16)

    def nll(self, h: torch.Tensor, targets: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
        """Per-position negative log-likelihood (nats) of target tokens (B, T) given hidden states (B, T, C) and
        `best_levels` (B, T, 2) of the inputs' book contexts."""
        tp = targets // (N_INTERVAL * N_VOLUME)
        vol = targets // N_INTERVAL % N_VOLUME
        ivl = targets % N_INTERVAL
        parts = (
            (self.logits_type_price(h), tp),
            (self.logits_volume(h, tp, best), vol),
            (self.logits_interval(h, tp, vol), ivl),
        )
        return sum(
            F.cross_entropy(lg.flatten(0, 1), t.flatten(), reduction="none").view_as(t) for lg, t in parts
        )  # (B, T)

    def log_prob_all(self, h: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
        """Log-probabilities (N, 49152) of every token for hidden states (N, C) and `best_levels` (N, 2); for tests
        and analysis."""
        N = h.size(0)
        n_tp = N_TYPES * N_PRICE
        lp_tp = F.log_softmax(self.logits_type_price(h), -1)  # (N, 96)
        tp = torch.arange(n_tp).repeat(N)  # (N*96,)
        hh = h.repeat_interleave(n_tp, 0)  # (N*96, C)
        lp_v = F.log_softmax(self.logits_volume(hh, tp, best.repeat_interleave(n_tp, 0)), -1)  # (N*96, 32)
        tp_v, vol = tp.repeat_interleave(N_VOLUME), torch.arange(N_VOLUME).repeat(N * n_tp)
        lp_i = F.log_softmax(self.logits_interval(hh.repeat_interleave(N_VOLUME, 0), tp_v, vol), -1)  # (N*96*32, 16)
        lp = lp_tp.view(N, n_tp, 1, 1) + lp_v.view(N, n_tp, N_VOLUME, 1) + lp_i.view(N, n_tp, N_VOLUME, N_INTERVAL)
        return lp.view(N, -1)  # (N, 49152)
