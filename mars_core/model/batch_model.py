"""The order-batch model: a causal transformer over order-image codes (paper App. C.3.2).

Reading order: attention (with a growing KV cache), MLP, block, config, model, sampling.

A minute of orders is an order image, which the VQ-VAE turns into an 8 x 8 grid of codes
read in raster order (64 codes). A sequence is `minutes` (16) consecutive minutes, 1024
codes. The model predicts every code from all codes before it: the codes of the previous
minutes and those of the current minute already generated.

Input at position t, which predicts code t (minute m = t // 64, cell j = t % 64):
  * the embedding of the code before it (a BOS token at t = 0: inputs are shifted by one),
  * an embedding of the target's cell j and one of its minute m in the window,
  * the embedding of the code at the same cell j in minute m - 1 (a "none" token in the
    first minute). That code is in the past, so the model stays autoregressive; with
    ~40k training codes it hands the model the strongest single predictor (what this
    cell was a minute ago) instead of leaving it to be found by attention.

`sample_next_minute` draws several candidate next minutes for each of B histories at once
(B * n_samples sequences in lockstep through a KV cache: one prefill of the history,
then 64 single-position steps). Draws come from a seeded `torch.Generator`: the same
seed and inputs give the same codes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mars_core.errors import MarsInputError


class KVCache:
    """Keys and values of every layer for the positions seen so far, in buffers preallocated
    for `max_length` positions (so a decoding step writes in place instead of copying)."""

    def __init__(self, n_layer: int, max_length: int) -> None:
        self.k: list[torch.Tensor | None] = [None] * n_layer
        self.v: list[torch.Tensor | None] = [None] * n_layer
        self.max_length = max_length
        self.length = 0  # positions stored (advanced by the model once every layer has appended)

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add keys/values (B, H, T, hd) of the next T positions to a layer; all keys/values so far."""
        B, H, T, hd = k.shape
        end = self.length + T
        if end > self.max_length:
            raise MarsInputError(f"KV cache holds {self.max_length} positions, asked for {end}")
        if self.k[layer] is None:
            self.k[layer] = k.new_zeros(B, H, self.max_length, hd)
            self.v[layer] = v.new_zeros(B, H, self.max_length, hd)
        self.k[layer][:, :, self.length : end] = k
        self.v[layer][:, :, self.length : end] = v
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]

    def repeat(self, n: int) -> None:
        """Repeat every sequence n times (B -> B * n, each sequence's copies adjacent)."""
        self.k = [None if k is None else k.repeat_interleave(n, 0) for k in self.k]
        self.v = [None if v is None else v.repeat_interleave(n, 0) for v in self.v]


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float) -> None:
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.proj = nn.Linear(n_embd, n_embd, bias=False)
        self.resid_dropout = nn.Dropout(dropout)  # no dropout on the attention weights: on CPU it forces
        # the unfused attention path (a B x H x T x T mask draw), several times slower at T = 1024

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        """x (B, T, C); with a cache the T new positions attend to every cached one and causally
        among themselves."""
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (a.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for a in (q, k, v))  # (B, H, T, hd)
        past = 0
        if cache is not None:
            past = cache.length
            k, v = cache.append(layer, k, v)  # (B, H, past + T, hd)
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # new positions past..past+T-1 see keys 0..their own position
            mask = torch.arange(past + T)[None, :] <= torch.arange(past, past + T)[:, None]  # (T, past + T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_dropout(self.proj(y))


class MLP(nn.Module):
    def __init__(self, n_embd: int, dropout: float) -> None:
        super().__init__()
        self.fc = nn.Linear(n_embd, 4 * n_embd, bias=False)
        self.proj = nn.Linear(4 * n_embd, n_embd, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x))))  # (B, T, C)


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, n_embd: int, n_head: int, dropout: float) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd, dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))  # (B, T, C)


@dataclass
class BatchModelConfig:
    vocab_size: int = 128  # VQ-VAE codebook size
    grid: int = 64  # codes per minute (the 8 x 8 grid in raster order)
    minutes: int = 16  # minutes per training sequence: up to 15 of history plus the predicted one
    n_layer: int = 3  # transformer blocks
    n_head: int = 4  # attention heads
    n_embd: int = 96  # width of the residual stream
    dropout: float = 0.2  # on residual branches and embeddings, training only

    @property
    def length(self) -> int:
        """Codes per sequence (minutes * grid)."""
        return self.minutes * self.grid


class BatchModel(nn.Module):
    """Next-code prediction over sequences of minute code grids (see the module docstring)."""

    def __init__(self, config: BatchModelConfig) -> None:
        super().__init__()
        self.config = config
        V, C = config.vocab_size, config.n_embd
        self.code_emb = nn.Embedding(V + 1, C)  # previous code; index V = BOS
        self.prev_emb = nn.Embedding(V + 1, C)  # same cell one minute earlier; index V = none
        self.cell_emb = nn.Embedding(config.grid, C)
        self.minute_emb = nn.Embedding(config.minutes, C)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(C, config.n_head, config.dropout) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(C)
        self.head = nn.Linear(C, V, bias=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # scaled init of the residual projections (GPT-2)
            if name.endswith("proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ trunk
    def embed(self, codes: torch.Tensor, start: int, T: int) -> torch.Tensor:
        """Inputs (B, T, C) of positions start..start+T-1 of code sequences `codes` (B, >= start+T-1)
        (position t reads only codes t-1 and t-64)."""
        G = self.config.grid
        t = torch.arange(start, start + T)
        prev_code = self._code_at(codes, t - 1)  # (B, T), BOS at t = 0
        prev_cell = self._code_at(codes, t - G)  # (B, T), "none" in the first minute
        x = self.code_emb(prev_code) + self.prev_emb(prev_cell) + self.cell_emb(t % G) + self.minute_emb(t // G)
        return self.drop(x)  # (B, T, C)

    def _code_at(self, codes: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """codes[:, idx] (B, T), with index vocab_size (BOS / none) where idx < 0."""
        if codes.size(1) == 0:  # only the first position of an empty history: nothing before it
            return torch.full((codes.size(0), len(idx)), self.config.vocab_size, dtype=torch.long)
        return torch.where(idx >= 0, codes[:, idx.clamp(min=0)], self.config.vocab_size)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of code t given codes < t, for code sequences (B, T), T <= length."""
        B, T = codes.shape
        if self.config.length < T:
            raise MarsInputError(f"sequence of {T} codes is longer than the model's {self.config.length}")
        x = self.embed(codes, 0, T)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))  # (B, T, V)

    def loss(self, codes: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (nats) per code (B, T) of code sequences (B, T)."""
        logits = self(codes)
        return F.cross_entropy(logits.flatten(0, 1), codes.flatten(), reduction="none").view_as(codes)

    def step(self, codes: torch.Tensor, start: int, T: int, cache: KVCache) -> torch.Tensor:
        """Logits (B, T, V) of positions start..start+T-1 through the cache (start = cache.length)."""
        x = self.embed(codes, start, T)
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer)
        cache.length += T
        return self.head(self.ln_f(x))

    # ------------------------------------------------------------------ sampling
    @torch.inference_mode()
    def sample_next_minute(
        self,
        history: np.ndarray | torch.Tensor,
        n_samples: int = 8,
        temperature: float = 1.0,
        seed: int = 0,
        top_k: int | None = None,
        single_thread: bool = True,
    ) -> np.ndarray:
        """Candidate code grids of the minute after each history.

        Args:
            history: codes of the previous minutes, (H, 64) / (H, 8, 8) for one history or
                (B, H, 64) / (B, H, 8, 8) for B histories; H may be 0; only the last
                `minutes - 1` minutes are used.
            n_samples: candidates per history.
            temperature: > 0 scales the logits; 0 is greedy (all candidates equal).
            seed: seeds the generator of the draws.
            top_k: keep only the k most likely codes at each step (None: all).
            single_thread: run with one torch thread (restored afterwards). Decoding is 64 steps of
                tiny operations; with several intra-op threads each operation waits for all of
                them, which on a busy machine costs a scheduler time slice per operation (about
                20x slower measured on the 2-core development machine).

        Returns:
            (n_samples, 8, 8) int64 for one history, (B, n_samples, 8, 8) for B histories.
        """
        G, V = self.config.grid, self.config.vocab_size
        side = math.isqrt(G)
        h = torch.as_tensor(np.asarray(history), dtype=torch.long)
        if h.dim() >= 3 and tuple(h.shape[-2:]) == (side, side):
            h = h.flatten(-2)  # grids to raster order
        single = h.dim() == 2
        if single:
            h = h[None]
        if h.dim() != 3 or h.size(-1) != G or n_samples < 1 or temperature < 0 or (top_k is not None and top_k < 1):
            raise MarsInputError(
                f"history must be (H, {G}), (H, {side}, {side}) or batched with a leading B; n_samples >= 1, "
                f"temperature >= 0, top_k >= 1; got {tuple(np.shape(history))}, {n_samples}, {temperature}, {top_k}"
            )
        if h.numel() and (h.min() < 0 or h.max() >= V):
            raise MarsInputError(f"history codes must lie in [0, {V})")
        was_training, threads = self.training, torch.get_num_threads()
        self.eval()
        if single_thread:
            torch.set_num_threads(1)
        try:
            seq = self._draw(
                h[:, -(self.config.minutes - 1) :] if self.config.minutes > 1 else h[:, :0],
                n_samples,
                temperature,
                top_k,
                torch.Generator().manual_seed(seed),
            )
        finally:
            self.train(was_training)
            torch.set_num_threads(threads)
        out = seq[:, -G:].reshape(h.size(0), n_samples, side, side).numpy()
        return out[0] if single else out

    def _draw(
        self, h: torch.Tensor, n_samples: int, temperature: float, top_k: int | None, gen: torch.Generator
    ) -> torch.Tensor:
        """Histories h (B, H, G) -> sequences (B * n, (H + 1) * G) ending in a drawn minute."""
        B, H, G = h.shape
        seq = h.reshape(B, H * G)
        cache = KVCache(self.config.n_layer, self.config.length)
        logits = self.step(seq, 0, H * G + 1, cache)[:, -1]  # prefill the history and the first new position
        cache.repeat(n_samples)
        seq = torch.cat([seq.repeat_interleave(n_samples, 0), torch.zeros(B * n_samples, G, dtype=torch.long)], dim=1)
        for j in range(G):  # seq (B * n, (H + 1) * G), each history's candidates adjacent; filled in place
            if j:
                logits = self.step(seq, cache.length, 1, cache)[:, -1]  # (B * n, V)
            elif n_samples > 1:
                logits = logits.repeat_interleave(n_samples, 0)
            seq[:, H * G + j] = pick(logits, temperature, top_k, gen)
        return seq

    def config_dict(self) -> dict:
        return asdict(self.config)


def pick(logits: torch.Tensor, temperature: float, top_k: int | None, generator: torch.Generator) -> torch.Tensor:
    """One index per row of logits (N, V): greedy at temperature 0, else a seeded draw."""
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]
