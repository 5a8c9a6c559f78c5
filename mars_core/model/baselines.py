"""Count baselines for the order model's validation NLL, over the full 49,152-token vocabulary.

* Unigram: token frequencies with add-alpha smoothing, p(t) = (c(t) + alpha) / (N + alpha V).
* Bigram: a first-order Markov chain interpolated with the unigram (Witten-Bell style),
  p(b | a) = lam_a c(a, b) / c(a) + (1 - lam_a) p_uni(b), lam_a = c(a) / (c(a) + beta u(a)),
  u(a) = number of distinct successors of a. A context never seen backs off to the unigram.

alpha and beta are chosen on the last 10% of the training tokens (fitted on the first
90%), then the model is refitted on all training tokens: validation data is never used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mars_core.model.vocab import VOCAB_SIZE

ALPHAS = (0.01, 0.03, 0.1, 0.3, 1.0)
BETAS = (0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Unigram:
    counts: np.ndarray  # (V,) float64
    alpha: float

    @classmethod
    def fit(cls, seqs: list[np.ndarray], alpha: float) -> Unigram:
        return cls(np.bincount(np.concatenate(seqs), minlength=VOCAB_SIZE).astype(np.float64), alpha)

    def prob(self, tokens: np.ndarray) -> np.ndarray:
        return (self.counts[tokens] + self.alpha) / (self.counts.sum() + self.alpha * VOCAB_SIZE)

    def nll(self, tokens: np.ndarray) -> float:
        """Mean negative log-likelihood (nats) per token."""
        return float(-np.log(self.prob(tokens)).mean())


@dataclass(frozen=True)
class Bigram:
    pairs: dict[int, float]  # a * V + b -> count
    context: np.ndarray  # (V,) c(a) as a context
    successors: np.ndarray  # (V,) u(a), distinct successors
    unigram: Unigram
    beta: float

    @classmethod
    def fit(cls, seqs: list[np.ndarray], unigram: Unigram, beta: float) -> Bigram:
        keys = np.concatenate([s[:-1].astype(np.int64) * VOCAB_SIZE + s[1:] for s in seqs])
        uniq, counts = np.unique(keys, return_counts=True)
        context = np.bincount(uniq // VOCAB_SIZE, weights=counts, minlength=VOCAB_SIZE)
        successors = np.bincount(uniq // VOCAB_SIZE, minlength=VOCAB_SIZE).astype(np.float64)
        return cls(dict(zip(uniq.tolist(), counts.astype(float).tolist())), context, successors, unigram, beta)

    def prob(self, prev: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        c_ab = np.array([self.pairs.get(k, 0.0) for k in (prev.astype(np.int64) * VOCAB_SIZE + tokens).tolist()])
        c_a, u_a = self.context[prev], self.successors[prev]
        lam = np.divide(c_a, c_a + self.beta * u_a, out=np.zeros_like(c_a), where=c_a > 0)
        ml = np.divide(c_ab, c_a, out=np.zeros_like(c_a), where=c_a > 0)
        return lam * ml + (1 - lam) * self.unigram.prob(tokens)

    def nll(self, prev: np.ndarray, tokens: np.ndarray) -> float:
        """Mean negative log-likelihood (nats) per token given the previous token."""
        return float(-np.log(self.prob(prev, tokens)).mean())


def fit_baselines(train: list[np.ndarray], tune_share: float = 0.1) -> tuple[Unigram, Bigram]:
    """Fit both baselines on training token sequences (one per day), tuning alpha and beta on
    the last `tune_share` of each day's training tokens."""
    cut = [int(len(s) * (1 - tune_share)) for s in train]
    head = [s[:c] for s, c in zip(train, cut)]
    tail_prev = np.concatenate([s[c - 1 : -1] for s, c in zip(train, cut)])
    tail = np.concatenate([s[c:] for s, c in zip(train, cut)])
    alpha = min(ALPHAS, key=lambda a: Unigram.fit(head, a).nll(tail))
    bi_head = Bigram.fit(head, Unigram.fit(head, alpha), BETAS[0])
    beta = min(BETAS, key=lambda b: replace(bi_head, beta=b).nll(tail_prev, tail))
    unigram = Unigram.fit(train, alpha)
    return unigram, Bigram.fit(train, unigram, beta)
