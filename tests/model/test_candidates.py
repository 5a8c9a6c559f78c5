"""Candidate next minutes: the fast step equals the order-batch model's own, and draws follow their uniforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mars_core.errors import MarsInputError
from mars_core.model.batch_model import KVCache
from mars_core.model.candidates import CandidateSampler
from mars_core.model.checkpoint import load_batch_model
from mars_core.paths import BATCH_MODEL_DIR

needs_models = pytest.mark.skipif(not (BATCH_MODEL_DIR / "batch_model.pt").is_file(), reason="no shipped batch model")


@needs_models
def test_the_fast_candidate_step_equals_the_batch_models_step() -> None:
    sampler = CandidateSampler(load_batch_model().model)
    m = sampler.model
    hist = torch.randint(0, m.config.vocab_size, (2, 128), generator=torch.Generator().manual_seed(0))
    new = torch.randint(0, m.config.vocab_size, (6, 64), generator=torch.Generator().manual_seed(1))
    seq = torch.cat([hist.repeat_interleave(3, 0), new], dim=1)  # 3 candidates of each of 2 histories
    ref = KVCache(m.config.n_layer, m.config.length)
    prefix, suffix = KVCache(m.config.n_layer, 128), KVCache(m.config.n_layer, 64)
    with torch.inference_mode():
        m.step(seq, 0, 128, ref)
        m.step(hist, 0, 128, prefix)
        for pos in range(128, 134):
            want = m.step(seq, pos, 1, ref)[:, -1]
            torch.testing.assert_close(sampler.step_one(seq, pos, prefix, suffix, 3), want, atol=1e-5, rtol=1e-5)
        empty = KVCache(m.config.n_layer, 0)  # no history: the candidates' own cells only
        ref, suffix = KVCache(m.config.n_layer, 64), KVCache(m.config.n_layer, 64)
        for pos in range(3):
            want = m.step(new, pos, 1, ref)[:, -1]
            torch.testing.assert_close(sampler.step_one(new, pos, empty, suffix, 3), want, atol=1e-5, rtol=1e-5)


@needs_models
def test_candidates_are_deterministic_given_their_uniforms() -> None:
    sampler = CandidateSampler(load_batch_model().model)
    hist = np.random.default_rng(0).integers(0, sampler.model.config.vocab_size, (2, 15, 8, 8))
    u = np.random.default_rng(1).random((2, 3, 64))
    a, b = sampler.sample(hist, 3, u), sampler.sample(hist, 3, u)
    assert a.shape == (2, 3, 8, 8) and np.array_equal(a, b)
    same = np.stack([hist[1], hist[1]])  # identical histories run once: the same draws as one by one
    assert np.array_equal(
        sampler.sample(same, 3, u), np.stack([sampler.sample(same[:1], 3, u[i : i + 1])[0] for i in (0, 1)])
    )
    with pytest.raises(MarsInputError, match=r"uniforms must be \(2, 3, 64\)"):
        sampler.sample(hist, 3, u[:, :2])


@needs_models
def test_the_temperature_sharpens_or_spreads_the_draws_at_the_same_uniforms() -> None:
    sampler = CandidateSampler(load_batch_model().model)
    hist = np.random.default_rng(0).integers(0, sampler.model.config.vocab_size, (1, 15, 8, 8))
    u = np.random.default_rng(1).random((1, 32, 64))
    plain = sampler.sample(hist, 32, u)
    assert np.array_equal(sampler.sample(hist, 32, u, 1.0), plain)
    # at a low temperature nearly every cell takes the model's most likely code: far fewer distinct codes per cell
    distinct = {
        t: np.mean([len(np.unique(c)) for c in sampler.sample(hist, 32, u, t).reshape(32, 64).T])
        for t in (0.05, 1.0, 3.0)
    }
    assert distinct[0.05] < distinct[1.0] < distinct[3.0], distinct
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(MarsInputError, match="candidate temperature must be > 0"):
            sampler.sample(hist, 32, u, bad)
