"""Unigram and bigram baselines: proper distributions, and the bigram uses the previous token."""

from __future__ import annotations

import numpy as np

from mars_core.model.baselines import Bigram, Unigram, fit_baselines
from mars_core.model.vocab import VOCAB_SIZE


def test_unigram_and_bigram_are_distributions_over_the_vocabulary() -> None:
    rng = np.random.default_rng(0)
    seq = rng.integers(0, 50, 2000)
    uni = Unigram.fit([seq], 0.1)
    everything = np.arange(VOCAB_SIZE)
    assert abs(uni.prob(everything).sum() - 1) < 1e-9
    bi = Bigram.fit([seq], uni, 1.0)
    for prev in (3, 49, 10_000):  # seen contexts and one never seen
        assert abs(bi.prob(np.full(VOCAB_SIZE, prev), everything).sum() - 1) < 1e-9


def test_bigram_beats_unigram_on_a_markov_sequence_and_tuning_uses_training_data_only() -> None:
    rng = np.random.default_rng(1)
    # a chain where each token mostly follows its predecessor + 1
    seq = np.cumsum(rng.choice([1, 1, 1, 7], size=6000)) % 40
    train, val = seq[:5000], seq[5000:]
    uni, bi = fit_baselines([train])
    assert uni.alpha in (0.01, 0.03, 0.1, 0.3, 1.0)
    assert bi.nll(val[:-1], val[1:]) < uni.nll(val[1:]) - 1.0
    assert uni.nll(val) < np.log(VOCAB_SIZE)
