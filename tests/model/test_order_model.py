"""The transformer and its sampler: a proper distribution, KV cache = full context, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mars_core.errors import MarsInputError
from mars_core.model.order_model import OrderModel, OrderModelConfig, best_levels
from mars_core.model.sampler import OrderModelSampler, levels_mask, pick
from mars_core.model.vocab import CTX_SIZES, N_LOB, VOCAB_SIZE

WINDOW = 16


def _model(seed: int = 0, **kw) -> OrderModel:
    torch.manual_seed(seed)
    cfg = OrderModelConfig(
        **{
            "n_layer": 2,
            "n_head": 4,
            "n_kv_head": 2,
            "n_embd": 32,
            "mlp_hidden": 64,
            "window": WINDOW,
            "dropout": 0.0,
            **kw,
        }
    )
    model = OrderModel(cfg).eval()
    with torch.no_grad():  # larger weights than the init, so that every input matters
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    return model


def _sequence(batch: int, length: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, VOCAB_SIZE, (batch, length), generator=g)
    lob = torch.randint(0, 32, (batch, length, N_LOB), generator=g)
    mask = levels_mask(torch.tensor([10, 5][:batch] + [10] * max(batch - 2, 0)))[:, None, :].expand(
        batch, length, N_LOB
    )
    ctx = torch.stack([torch.randint(0, n, (batch, length), generator=g) for n in CTX_SIZES], dim=-1)
    return tokens, lob, mask, ctx


def test_factorised_output_is_a_distribution_over_all_49152_tokens_and_nll_matches_it() -> None:
    model = _model()
    tokens, lob, mask, ctx = _sequence(2, 3)
    with torch.no_grad():
        h = model(tokens, lob, mask, ctx)  # (2, 3, C)
        best = best_levels(lob[:, :-1])
        lp = model.log_prob_all(h[:, :-1].reshape(-1, h.size(-1)), best.reshape(-1, 2))  # (4, 49152)
        nll = model.nll(h[:, :-1], tokens[:, 1:], best).reshape(-1)
    assert lp.shape == (4, VOCAB_SIZE)
    torch.testing.assert_close(lp.exp().sum(-1), torch.ones(4), atol=1e-4, rtol=0)
    torch.testing.assert_close(nll, -lp.gather(1, tokens[:, 1:].reshape(-1, 1))[:, 0], atol=1e-4, rtol=0)


def test_lob_and_flow_context_change_the_prediction_and_masked_levels_do_not() -> None:
    model = _model()
    tokens, lob, mask, ctx = _sequence(1, 6)
    with torch.no_grad():
        base = model(tokens, lob, mask, ctx)
        assert not torch.allclose(base, model(tokens, (lob + 1) % 32, mask, ctx))
        for k, n in enumerate(CTX_SIZES):  # every flow-context column is read
            other = ctx.clone()
            other[..., k] = (other[..., k] + 1) % n
            assert not torch.allclose(base, model(tokens, lob, mask, other))
        amzn = levels_mask(torch.tensor([5]))[:, None, :].expand(1, 6, N_LOB)
        deep_changed = lob.clone()
        deep_changed[..., 5:10] = (deep_changed[..., 5:10] + 7) % 32
        torch.testing.assert_close(model(tokens, lob, amzn, ctx), model(tokens, deep_changed, amzn, ctx))


def test_kv_cache_gives_the_full_context_logits_also_after_the_window_slides() -> None:
    """Prefill 10 positions, feed 30 more (window 16): after every feed the cached hidden state and
    head logits equal those of the full-sequence forward pass (sliding-window attention)."""
    model = _model()
    tokens, lob, mask, ctx = _sequence(2, 40)
    with torch.no_grad():
        full = model(tokens, lob, mask, ctx)  # (2, 40, C), banded beyond the window
    sampler = OrderModelSampler(model, batch=2, seed=0)
    sampler.prefill(tokens[:, :10], lob[:, :10], mask[:, :10], ctx[:, :10])
    torch.testing.assert_close(sampler.hidden(), full[:, 9], atol=1e-5, rtol=0)
    for p in range(10, 40):
        sampler.feed(tokens[:, p], lob[:, p], ctx[:, p])
        h = sampler.hidden()
        torch.testing.assert_close(h, full[:, p], atol=1e-5, rtol=0)
        with torch.no_grad():
            torch.testing.assert_close(
                model.logits_type_price(h), model.logits_type_price(full[:, p]), atol=1e-5, rtol=0
            )
    assert p >= 2 * WINDOW  # the ring buffer wrapped around at least once


def test_no_cache_path_equals_the_cache_inside_the_window_and_truncates_beyond() -> None:
    model = _model()
    tokens, lob, mask, ctx = _sequence(2, 30)
    cached = OrderModelSampler(model, batch=2, seed=0)
    plain = OrderModelSampler(model, batch=2, seed=0, use_cache=False)
    for s in (cached, plain):
        s.prefill(tokens[:, :4], lob[:, :4], np.array([10, 5]), ctx[:, :4])
    for p in range(4, 30):
        for s in (cached, plain):
            s.feed(tokens[:, p], lob[:, p], ctx[:, p])
        if p < WINDOW:
            torch.testing.assert_close(plain.hidden(), cached.hidden(), atol=1e-5, rtol=0)
    with torch.no_grad():
        last = model(
            tokens[:, 30 - WINDOW : 30], lob[:, 30 - WINDOW : 30], mask[:, 30 - WINDOW : 30], ctx[:, 30 - WINDOW : 30]
        )
    torch.testing.assert_close(plain.hidden(), last[:, -1], atol=1e-5, rtol=0)


def test_rotary_positions_far_into_a_rollout_keep_attention_relative() -> None:
    """The same window seen at positions 0.. and at 10 million.. gives the same hidden states."""
    model = _model()
    tokens, lob, mask, ctx = _sequence(1, 8)
    with torch.no_grad():
        torch.testing.assert_close(
            model(tokens, lob, mask, ctx), model(tokens, lob, mask, ctx, start=10_000_000), atol=1e-4, rtol=0
        )


def test_sampling_is_deterministic_by_seed_and_cache_does_not_change_the_tokens() -> None:
    model = _model()
    tokens, lob, mask, ctx = _sequence(3, 8)

    def rollout(seed: int, use_cache: bool = True) -> np.ndarray:
        s = OrderModelSampler(model, batch=3, seed=seed, use_cache=use_cache)
        s.prefill(tokens, lob, mask, ctx)
        out = []
        for i in range(6):
            nxt = s.sample()
            out.append(nxt)
            s.feed(nxt, lob[:, i], ctx[:, i])
        return np.stack(out, 1)

    a = rollout(7)
    assert a.dtype == np.int64 and a.shape == (3, 6) and a.min() >= 0 and a.max() < VOCAB_SIZE
    assert np.array_equal(a, rollout(7))
    assert np.array_equal(a, rollout(7, use_cache=False))  # inside the window both paths agree
    assert not np.array_equal(a, rollout(8))


def test_given_uniforms_make_each_rollouts_tokens_independent_of_the_rest_of_the_batch() -> None:
    model = _model()
    tokens, lob, mask, ctx = _sequence(3, 8)
    u = np.random.default_rng(0).random((3, 3))
    s3 = OrderModelSampler(model, batch=3, seed=1)
    s3.prefill(tokens, lob, mask, ctx)
    s1 = OrderModelSampler(model, batch=1, seed=2)
    s1.prefill(tokens[1:2], lob[1:2], mask[1:2], ctx[1:2])
    assert s3.sample(uniforms=u)[1] == s1.sample(uniforms=u[1:2])[0]
    with pytest.raises(MarsInputError, match="uniforms"):
        s3.sample(uniforms=u[:2])


def test_a_parked_rollout_resumes_as_if_never_parked_and_kept_rows_are_unchanged() -> None:
    model = _model()
    tokens, lob, mask, ctx = _sequence(3, 40)

    def sampler(rows: list[int]) -> OrderModelSampler:
        s = OrderModelSampler(model, batch=len(rows))
        s.prefill(tokens[rows, :20], lob[rows, :20], mask[rows, :20], ctx[rows, :20])
        return s

    s, others, alone = sampler([0, 1, 2]), sampler([0, 2]), sampler([1])
    parked = s.park([1])  # rollout 1 pauses while 0 and 2 go on 7 positions (past a ring wrap)
    for t in range(20, 27):
        s.feed(tokens[[0, 2], t], lob[[0, 2], t], ctx[[0, 2], t])
        others.feed(tokens[[0, 2], t], lob[[0, 2], t], ctx[[0, 2], t])
    s.resume(parked)  # batch rows: rollouts 0, 2, 1; rollout 1 goes on with position 20
    for t in range(20, 33):
        torch.testing.assert_close(s.hidden(), torch.cat([others.hidden(), alone.hidden()]), atol=1e-5, rtol=1e-5)
        rows, at = [0, 2, 1], [t + 7, t + 7, t]
        s.feed(tokens[rows, at], lob[rows, at], ctx[rows, at])
        others.feed(tokens[[0, 2], t + 7], lob[[0, 2], t + 7], ctx[[0, 2], t + 7])
        alone.feed(tokens[[1], t], lob[[1], t], ctx[[1], t])
    s.keep([2])  # rollout 1 alone
    assert s.batch == 1
    torch.testing.assert_close(s.hidden(), alone.hidden(), atol=1e-5, rtol=1e-5)
    short = OrderModelSampler(model, batch=2)
    short.prefill(tokens[:2, :5], lob[:2, :5], mask[:2, :5], ctx[:2, :5])
    with pytest.raises(MarsInputError, match="filled to the window"):
        short.park([0])


def test_top_k_one_and_tiny_top_p_are_greedy() -> None:
    logits = torch.randn(50, 96)
    u = torch.rand(50)
    greedy = logits.argmax(-1)
    assert torch.equal(pick(logits, 1.0, 1, None, u), greedy)
    assert torch.equal(pick(logits, 1.0, None, 1e-6, u), greedy)
    assert torch.equal(pick(logits, 0.0, None, None, u), greedy)


def test_a_draw_is_the_inverse_cdf_at_the_uniform() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25]])).repeat(4, 1)
    assert pick(logits, 1.0, None, None, torch.tensor([0.0, 0.49, 0.5, 0.99])).tolist() == [0, 0, 1, 2]


def test_top_k_never_draws_outside_the_k_most_likely() -> None:
    logits = torch.randn(4, 96).repeat(500, 1)
    drawn = pick(logits, 1.5, 3, None, torch.rand(2000, generator=torch.Generator().manual_seed(0)))
    allowed = logits.topk(3, -1).indices
    assert (drawn[:, None] == allowed).any(-1).all()
    assert len(set(drawn[:4].tolist() + drawn[4:8].tolist())) > 1  # it does draw, not argmax


def test_sampler_rejects_bad_shapes_and_use_before_prefill() -> None:
    model = _model()
    s = OrderModelSampler(model, batch=2)
    with pytest.raises(MarsInputError, match="prefill"):
        s.sample()
    tokens, lob, mask, ctx = _sequence(2, 4)
    with pytest.raises(MarsInputError, match="prefill wants"):
        s.prefill(tokens, lob[:, :, :10], mask, ctx)
    s.prefill(tokens, lob, mask, ctx)
    with pytest.raises(MarsInputError, match="feed wants"):
        s.feed(tokens[:, 0], lob[:, 0], ctx[:, 0, 0])
    with pytest.raises(MarsInputError, match="temperature"):
        OrderModelSampler(model, batch=2, temperature=-1)


def test_the_volume_head_reads_the_size_of_the_best_level_the_order_acts_on() -> None:
    """Marketable orders read the opposite best, resting orders their own side's, cancels their side's."""
    ask, bid = 3, 17
    best = torch.tensor([[ask, bid]]).expand(6, 2)
    # buy cross, buy passive, sell cross, sell passive, cancel behind the best bid, cancel behind the best ask
    tp = torch.tensor([0 * 32 + 0, 0 * 32 + 20, 1 * 32 + 1, 1 * 32 + 15, 2 * 32 + 3, 2 * 32 + 20])
    assert OrderModel.target_level(tp, best).tolist() == [ask, bid, bid, ask, bid, ask]
    model = _model()
    h = torch.zeros(6, model.config.n_embd)
    with torch.no_grad():
        changed = model.logits_volume(h, tp, best.flip(-1))
        assert not torch.allclose(model.logits_volume(h, tp, best), changed)
