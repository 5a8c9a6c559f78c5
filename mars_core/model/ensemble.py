"""The ensemble model (paper App. D, Fig. 4): order-model logits refined by a target order image.

Reading order: the image condition, the pace, the config, the model, sampling.

The order model stays frozen. Its final hidden state h (B, C), the one its three
factorised heads read, is the query of a small cross-attention over the target
minute's order image; the result corrects the logits of each factor:

  logits_tp  = order.logits_type_price(h)          + s * d_tp(h, image)
  logits_vol = order.logits_volume(h, tp, best)    + s * d_vol(h, image, tp)
  logits_ivl = order.logits_interval(h, tp, vol)   + s * d_ivl(h, image, tp, vol)

Each factor is still a softmax over its own values, so the product is an exact
distribution over the 49,152 order tokens, scored and sampled exactly like the
order model's (s = 1 is the trained model; s = 0 is the order model; s > 1 steers
harder, as in classifier-free guidance).

The image condition. An order image counts a minute's orders by (type, price slot,
volume slot), the same slots as the order tokens, so the image is itself a crude
distribution over the first two factors. The condition is always a *decoded* code
grid (expected counts (3, 32, 32) from the VQ-VAE): at generation time it is a
candidate drawn by the order-batch model, so training uses the VQ-VAE
reconstruction of the real minute (same representation, no train/test mismatch).
It enters in two ways:
  * tokens for cross-attention: the 96 (type, price) rows of log(1 + counts), each a
    32-vector over volume slots, embedded and tagged with the row's position;
  * product-of-experts terms: the image's own log-frequencies of (type, price) and
    of volume given (type, price) (with a pseudo-count), added to the logits with a
    learned weight a(h, image) (a linear gate of the mixed state, 0 at the start), so
    p(tp) is proportional to p_order(tp) * q_image(tp) ** a(h, image).
The interval factor sees the image through the attended context only (images have
no interval axis; their totals tell the minute's activity, hence the waiting times).

The pace. An image counts a whole minute, so the model also sees how far into that
minute the clock is: the orders of each type already sent in it and the elapsed
share of it (`minute_pace`, `MinutePace`). The model compares them with the image:
per type, log(1 + sent) - log(1 + total x elapsed), clipped to +-PACE_CLIP, says how
far the minute runs ahead of (or behind) the image, and the budget, the log of the
seconds left in the minute per order the image still has to come (at least half an
order), says how long the next wait should be. A rollout that has already sent the
image's orders should slow down, one that has sent few should hurry. Both stay in the
range real minutes span: a rollout far ahead of its image has a long budget, like a
quiet minute of the data, not an unseen magnitude. The pace features enter the mixed
state and, through a linear term of their own, the interval logits: through the mixed
state alone the pace was too weak to stop the order model's flickering loops (a bid
inside the spread and its cancel, thousands of times a minute) under control.
Without the pace the image conditions what is sent but not how much, and a rollout
can send several times the chosen minute's orders.

All output layers and gates start at zero, so an untrained ensemble equals the order
model (the loss advantage of Fig. 14 starts at 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mars_core.data.schema import NS_PER_MINUTE
from mars_core.errors import MarsInputError
from mars_core.model.order_model import OrderModel
from mars_core.model.sampler import pick
from mars_core.model.vocab import N_INTERVAL, N_PRICE, N_TYPES, N_VOLUME

N_TP = N_TYPES * N_PRICE  # 96 (type, price) rows of an image
N_PACE = N_TYPES + 1  # log(1 + orders so far in the minute) per type, and the elapsed share of the minute
PACE_CLIP = 4.0  # bound of the ahead-of-the-image features (log ratio)
PACE_FEATURES = N_TYPES + 2  # ahead per type, elapsed share, budget
TYPE_DIVISOR = N_PRICE * N_VOLUME * N_INTERVAL  # token // TYPE_DIVISOR is the order's type


# ------------------------------------------------------------------ condition
@dataclass(frozen=True)
class Condition:
    """Image features of one target minute per row (B rows), computed once per minute."""

    rows: torch.Tensor  # (B, 96, 32) log(1 + counts) of every (type, price) row over volume slots
    tp_logq: torch.Tensor  # (B, 96) log-frequency of (type, price) in the image (pseudo-counted)
    vol_logq: torch.Tensor  # (B, 96, 32) log-frequency of each volume slot within a (type, price) row
    totals: torch.Tensor  # (B, 3) log(1 + orders) per type

    def __len__(self) -> int:
        return self.rows.size(0)

    def index(self, i: torch.Tensor) -> Condition:
        """Rows `i` (a gather: e.g. the minute of every training position)."""
        return Condition(self.rows[i], self.tp_logq[i], self.vol_logq[i], self.totals[i])


def image_condition(counts: np.ndarray | torch.Tensor, prior_tp: float = 0.5, prior_vol: float = 0.5) -> Condition:
    """The `Condition` of expected (or real) counts (B, 3, 32, 32); `prior_*` are the pseudo-counts
    of the frequency terms (so an empty row gives a flat, not an infinite, preference)."""
    c = torch.as_tensor(np.asarray(counts), dtype=torch.float32).clamp(min=0)
    if c.dim() != 4 or tuple(c.shape[1:]) != (N_TYPES, N_PRICE, N_VOLUME):
        raise MarsInputError(
            f"an image condition needs counts (B, {N_TYPES}, {N_PRICE}, {N_VOLUME}), got {tuple(c.shape)}"
        )
    B = c.size(0)
    rows = c.reshape(B, N_TP, N_VOLUME)  # (B, 96, 32)
    marg = rows.sum(-1)  # (B, 96)
    tp_logq = torch.log(marg + prior_tp) - torch.log(marg.sum(-1, keepdim=True) + N_TP * prior_tp)
    vol_logq = torch.log(rows + prior_vol) - torch.log(marg + N_VOLUME * prior_vol)[..., None]
    totals = torch.log1p(c.sum((-1, -2)))  # (B, 3)
    return Condition(torch.log1p(rows), tp_logq, vol_logq, totals)


# ------------------------------------------------------------------ pace
def pace_features(done: np.ndarray, elapsed: np.ndarray) -> torch.Tensor:
    """Pace inputs (N, N_PACE) from orders so far in the minute per type `done` (N, 3) and the
    elapsed share of the minute `elapsed` (N,)."""
    done, elapsed = np.asarray(done, dtype=np.float32), np.asarray(elapsed, dtype=np.float32)
    return torch.from_numpy(np.concatenate([np.log1p(done), elapsed[:, None]], axis=1))


def minute_pace(tokens: np.ndarray, ts: np.ndarray) -> torch.Tensor:
    """Pace (N, N_PACE) after each of a stream's orders (time-sorted tokens and ns times): the orders
    of each type in the order's minute up to and including it, and its time's share of the minute."""
    ts = np.asarray(ts, dtype=np.int64)
    minute = ts // NS_PER_MINUTE
    first = np.searchsorted(minute, minute, side="left")  # index of the first order of each order's minute
    types = np.asarray(tokens, dtype=np.int64) // TYPE_DIVISOR
    done = np.empty((len(ts), N_TYPES), dtype=np.int64)
    for k in range(N_TYPES):
        c = np.cumsum(types == k)
        done[:, k] = c - np.where(first > 0, c[np.maximum(first - 1, 0)], 0)
    return pace_features(done, (ts - minute * NS_PER_MINUTE) / NS_PER_MINUTE)


class MinutePace:
    """`minute_pace` kept order by order for one rollout (the controller's running count)."""

    def __init__(self) -> None:
        self.minute = -1
        self.done = np.zeros(N_TYPES, dtype=np.int64)

    def add(self, token: int, ts: int) -> None:
        minute = ts // NS_PER_MINUTE
        if minute != self.minute:
            self.minute, self.done[:] = minute, 0
        self.done[token // TYPE_DIVISOR] += 1

    def at(self, ts: int) -> tuple[np.ndarray, float]:
        """(orders per type so far, elapsed share) of the minute of `ts` (none sent yet if it is a new minute)."""
        minute = ts // NS_PER_MINUTE
        done = self.done if minute == self.minute else np.zeros(N_TYPES, dtype=np.int64)
        return done, (ts - minute * NS_PER_MINUTE) / NS_PER_MINUTE


# ------------------------------------------------------------------ model
@dataclass
class EnsembleConfig:
    n_embd: int = 64  # width of the order model's hidden state (taken from the order model)
    width: int = 48  # width of the ensemble's own layers
    n_head: int = 2  # cross-attention heads
    dropout: float = 0.1  # on the attended context and the mixed state, training only
    prior_tp: float = 0.5  # pseudo-count of the (type, price) frequencies of the image
    prior_vol: float = 0.5  # pseudo-count of the volume frequencies within a row


@dataclass(frozen=True)
class Prepared:
    """A `Condition` run through the image side of the model once (keys, values, totals embedding)."""

    k: torch.Tensor  # (M, n_head, 96, hd) keys of the image rows
    v: torch.Tensor  # (M, n_head, 96, hd) values
    tot: torch.Tensor  # (M, width) embedding of the per-type totals
    counts: torch.Tensor  # (M, 3) orders per type in the image
    tp_logq: torch.Tensor  # (M, 96)
    vol_logq: torch.Tensor  # (M, 96, 32)


class EnsembleModel(nn.Module):
    """Cross-attention from the order model's hidden state to the image, and logit corrections.

    Images go through `prepare` once (per minute and rollout, or per training minute); every
    other method takes the prepared images and `which` (B,), the image row of each hidden state
    (None: row b for hidden state b).
    """

    def __init__(self, config: EnsembleConfig) -> None:
        super().__init__()
        self.config = config
        d, C = config.width, config.n_embd
        if d % config.n_head:
            raise MarsInputError(f"width {d} must be a multiple of n_head {config.n_head}")
        # image rows -> tokens; cross-attention from h
        self.row_in = nn.Linear(N_VOLUME, d)
        self.row_pos = nn.Embedding(N_TP, d)
        self.kv = nn.Linear(d, 2 * d, bias=False)
        self.q = nn.Linear(C, d, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        # mixing of h, the attended image and the image totals
        self.h_in = nn.Linear(C, d)
        self.tot_in = nn.Linear(N_TYPES, d)
        self.pace_in = nn.Linear(PACE_FEATURES, d)
        self.mix = nn.Linear(d, d)
        self.drop = nn.Dropout(config.dropout)
        # corrections: (type, price): the gate of the image frequencies, then the free correction
        self.out_tp = nn.Linear(d, 1 + N_TP)
        # volume given (type, price): the same
        self.vol_tp = nn.Embedding(N_TP, d)
        self.out_vol = nn.Linear(d, 1 + N_VOLUME)
        # interval given (type, price, volume)
        self.ivl_tp = nn.Embedding(N_TP, d)
        self.ivl_vol = nn.Embedding(N_VOLUME, d)
        self.out_ivl = nn.Linear(d, N_INTERVAL)
        self.ivl_pace = nn.Linear(PACE_FEATURES, N_INTERVAL, bias=False)  # the pace's direct say on the wait
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for layer in (self.out_tp, self.out_vol, self.out_ivl, self.ivl_pace):
            nn.init.zeros_(layer.weight)  # corrections start at exactly 0: the ensemble starts as the order model

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ------------------------------------------------------------------ pieces
    def prepare(self, cond: Condition) -> Prepared:
        """Keys, values and totals embedding of M image conditions."""
        M, d, H = len(cond), self.config.width, self.config.n_head
        tokens = self.row_in(cond.rows) + self.row_pos.weight  # (M, 96, d)
        k, v = self.kv(tokens).view(M, N_TP, 2, H, d // H).permute(2, 0, 3, 1, 4)  # (M, H, 96, hd) each
        # contiguous once here, or every decoding step copies them for its matrix products
        return Prepared(
            k.contiguous(),
            v.contiguous(),
            self.tot_in(cond.totals),
            torch.expm1(cond.totals),
            cond.tp_logq,
            cond.vol_logq,
        )

    def context(
        self, h: torch.Tensor, pace: torch.Tensor, prep: Prepared, which: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mixed state z (B, d) of hidden states h (B, C) and paces (B, N_PACE) with their images (rows `which`
        of prep), and the pace features (B, PACE_FEATURES)."""
        B, d, H = h.size(0), self.config.width, self.config.n_head
        k, v, tot, counts = (
            (prep.k, prep.v, prep.tot, prep.counts)
            if which is None
            else (prep.k[which], prep.v[which], prep.tot[which], prep.counts[which])
        )
        q = self.q(h).view(B, H, 1, d // H)  # (B, H, 1, hd)
        ctx = F.scaled_dot_product_attention(q, k, v).view(B, d)  # (B, d)
        paced = self.pace(pace, counts)
        z = self.h_in(h) + self.drop(self.attn_out(ctx)) + tot + self.pace_in(paced)
        return self.drop(F.silu(self.mix(F.silu(z)))), paced  # (B, d), (B, PACE_FEATURES)

    @staticmethod
    def pace(pace: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Pace features (B, PACE_FEATURES) of paces (B, N_PACE) against image counts per type (B, 3):
        ahead of the image per type, elapsed share, budget (see the module docstring)."""
        done, elapsed = pace[:, :N_TYPES], pace[:, N_TYPES:]
        ahead = (done - torch.log1p(counts * elapsed)).clamp(-PACE_CLIP, PACE_CLIP)  # (B, 3)
        left = (counts.sum(-1, keepdim=True) - torch.expm1(done).sum(-1, keepdim=True)).clamp(min=0.5)
        budget = torch.log((1 - elapsed).clamp(min=1 / 60) * 60 / left)  # (B, 1) log seconds per order left
        return torch.cat([ahead, elapsed, budget], 1)

    def delta_type_price(self, z: torch.Tensor, prep: Prepared, which: torch.Tensor | None = None) -> torch.Tensor:
        """Correction (B, 96) of the (type, price) logits."""
        logq = prep.tp_logq if which is None else prep.tp_logq[which]
        out = self.out_tp(z)
        return out[:, :1] * logq + out[:, 1:]

    def delta_volume(
        self, z: torch.Tensor, prep: Prepared, tp: torch.Tensor, which: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Correction (B, 32) of the volume logits given (type, price) indices tp (B,)."""
        out = self.out_vol(F.silu(z + self.vol_tp(tp)))  # (B, 1 + 32)
        rows = torch.arange(len(tp)) if which is None else which
        return out[:, :1] * prep.vol_logq[rows, tp] + out[:, 1:]  # (B, 32)

    def delta_interval(self, z: torch.Tensor, paced: torch.Tensor, tp: torch.Tensor, vol: torch.Tensor) -> torch.Tensor:
        """Correction (B, 16) of the interval logits given the pace features and (type, price) and volume indices (B,)."""
        return self.out_ivl(F.silu(z + self.ivl_tp(tp) + self.ivl_vol(vol))) + self.ivl_pace(paced)

    # ------------------------------------------------------------------ scoring
    def nll(
        self,
        order: OrderModel,
        h: torch.Tensor,
        best: torch.Tensor,
        pace: torch.Tensor,
        prep: Prepared,
        targets: torch.Tensor,
        which: torch.Tensor | None = None,
        strength: float = 1.0,
    ) -> torch.Tensor:
        """Per-position NLL (nats) (B,) of target tokens (B,) under order model + ensemble; `best` (B, 2) is the
        order model's `best_levels` of the book before each target."""
        tp = targets // (N_INTERVAL * N_VOLUME)
        vol = targets // N_INTERVAL % N_VOLUME
        ivl = targets % N_INTERVAL
        z, paced = self.context(h, pace, prep, which)
        lg_tp = order.logits_type_price(h) + strength * self.delta_type_price(z, prep, which)
        lg_vol = order.logits_volume(h, tp, best) + strength * self.delta_volume(z, prep, tp, which)
        lg_ivl = order.logits_interval(h, tp, vol) + strength * self.delta_interval(z, paced, tp, vol)
        return (
            F.cross_entropy(lg_tp, tp, reduction="none")
            + F.cross_entropy(lg_vol, vol, reduction="none")
            + F.cross_entropy(lg_ivl, ivl, reduction="none")
        )

    @torch.no_grad()
    def log_prob_all(
        self,
        order: OrderModel,
        h: torch.Tensor,
        best: torch.Tensor,
        pace: torch.Tensor,
        cond: Condition,
        strength: float = 1.0,
    ) -> torch.Tensor:
        """Log-probabilities (N, 49152) of every token for hidden states (N, C), best levels (N, 2) and paces
        (N, N_PACE), image b for row b; for tests and analysis."""
        N = h.size(0)
        prep = self.prepare(cond)
        z, paced = self.context(h, pace, prep)
        lp_tp = F.log_softmax(order.logits_type_price(h) + strength * self.delta_type_price(z, prep), -1)  # (N, 96)
        tp = torch.arange(N_TP).repeat(N)  # (N*96,)
        rep = torch.arange(N).repeat_interleave(N_TP)
        lp_v = F.log_softmax(
            order.logits_volume(h[rep], tp, best[rep]) + strength * self.delta_volume(z[rep], prep, tp, rep), -1
        )
        rep2 = torch.arange(N * N_TP).repeat_interleave(N_VOLUME)
        tp2, vol = tp[rep2], torch.arange(N_VOLUME).repeat(N * N_TP)
        lg_i = order.logits_interval(h[rep][rep2], tp2, vol) + strength * self.delta_interval(
            z[rep][rep2], paced[rep][rep2], tp2, vol
        )
        lp_i = F.log_softmax(lg_i, -1)  # (N*96*32, 16)
        lp = lp_tp.view(N, N_TP, 1, 1) + lp_v.view(N, N_TP, N_VOLUME, 1) + lp_i.view(N, N_TP, N_VOLUME, N_INTERVAL)
        return lp.view(N, -1)

    # ------------------------------------------------------------------ sampling
    @torch.inference_mode()
    def sample(
        self,
        order: OrderModel,
        h: torch.Tensor,
        best: torch.Tensor,
        pace: torch.Tensor,
        prep: Prepared,
        u: torch.Tensor,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        strength: float | torch.Tensor = 1.0,
    ) -> np.ndarray:
        """Next tokens (B,) int64 of hidden states h (B, C), best levels (B, 2) and paces (B, N_PACE) with images prep
        (B rows), drawn factor by
        factor at the uniforms u (B, 3) exactly as `OrderModelSampler.sample` draws from the order
        model alone (same temperature, top-k, top-p and inverse-cdf draws). `strength` may be a (B,)
        tensor: 0 leaves a row to the order model."""
        s = strength.view(-1, 1) if torch.is_tensor(strength) else strength
        opts = (temperature, top_k, top_p)
        z, paced = self.context(h, pace, prep)
        tp = pick(order.logits_type_price(h) + s * self.delta_type_price(z, prep), *opts, u[:, 0])
        vol = pick(order.logits_volume(h, tp, best) + s * self.delta_volume(z, prep, tp), *opts, u[:, 1])
        ivl = pick(order.logits_interval(h, tp, vol) + s * self.delta_interval(z, paced, tp, vol), *opts, u[:, 2])
        return ((tp * N_VOLUME + vol) * N_INTERVAL + ivl).numpy()


def loss_advantage(nll_ensemble: float, nll_order: float) -> float:
    """Fig. 14's y axis: NLL of the ensemble minus that of the order model alone (negative = better)."""
    return nll_ensemble - nll_order


__all__ = [
    "Condition",
    "EnsembleConfig",
    "EnsembleModel",
    "MinutePace",
    "N_PACE",
    "N_TP",
    "Prepared",
    "image_condition",
    "loss_advantage",
    "minute_pace",
    "pace_features",
]
