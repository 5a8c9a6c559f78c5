"""The ensemble model: an exact distribution over the 49,152 tokens, equal to the order model when its
corrections are off, deterministic draws, a seconds-long training run, and its checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mars_core.control.controller import ControlSettings
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.errors import MarsInputError
from mars_core.model.checkpoint import load_ensemble, load_order_model
from mars_core.model.ensemble import (
    EnsembleConfig,
    EnsembleModel,
    MinutePace,
    image_condition,
    minute_pace,
    pace_features,
)
from mars_core.model.order_model import best_levels
from mars_core.model.sampler import pick
from mars_core.model.train_ensemble import EnsembleTrainConfig, train_ensemble
from mars_core.model.vocab import N_CTX, N_INTERVAL, N_VOLUME, VOCAB_SIZE

SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "models" / "ensemble" / "ensemble.pt"


@pytest.fixture(scope="module")
def order():
    return load_order_model()


def hidden(order, n: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Last hidden states of n short random contexts and their best-level volume bins."""
    g = torch.Generator().manual_seed(seed)
    m = order.model
    T = 8
    lob = torch.randint(0, 32, (n, T, m.lob_offset.numel()), generator=g)
    with torch.no_grad():
        h = m(
            torch.randint(0, VOCAB_SIZE, (n, T), generator=g),
            lob,
            torch.ones_like(lob, dtype=torch.bool),
            torch.zeros(n, T, N_CTX, dtype=torch.long),
        )
    return h[:, -1], best_levels(lob[:, -1])


def paces(n: int, seed: int = 2) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return pace_features(rng.integers(0, 50, (n, 3)), rng.random(n))


def images(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).poisson(0.3, (n, 3, 32, 32)).astype(np.float32)


def order_log_probs(order, h: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
    """The order model's own (N, 49152) log-probabilities, factor by factor."""
    ens = EnsembleModel(EnsembleConfig(n_embd=order.model.config.n_embd))
    return ens.log_prob_all(order.model, h, best, paces(len(h)), image_condition(images(len(h))), strength=0.0)


def test_an_untrained_ensemble_is_the_order_model_and_a_proper_distribution(order) -> None:
    h, best = hidden(order)
    ens = EnsembleModel(EnsembleConfig(n_embd=order.model.config.n_embd)).eval()
    lp = ens.log_prob_all(order.model, h, best, paces(len(h)), image_condition(images(3)))
    assert lp.shape == (3, VOCAB_SIZE)
    torch.testing.assert_close(lp.logsumexp(-1), torch.zeros(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(lp, order_log_probs(order, h, best), atol=1e-5, rtol=0)  # corrections start at exactly 0
    # the factorised NLL of a token is minus its log-probability in the full table
    targets = torch.tensor([0, 12_345, VOCAB_SIZE - 1])
    nll = ens.nll(order.model, h, best, paces(3), ens.prepare(image_condition(images(3))), targets)
    torch.testing.assert_close(nll, -lp[torch.arange(3), targets], atol=1e-4, rtol=0)


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped ensemble")
def test_the_shipped_ensemble_changes_the_distribution_with_the_image_and_strength(order) -> None:
    ens = load_ensemble().model
    h, best = hidden(order, 2)
    cond = image_condition(images(2))
    lp1 = ens.log_prob_all(order.model, h, best, paces(2), cond, strength=1.0)
    lp2 = ens.log_prob_all(order.model, h, best, paces(2), cond, strength=2.0)
    for lp in (lp1, lp2):
        torch.testing.assert_close(lp.logsumexp(-1), torch.zeros(2), atol=1e-4, rtol=0)
    torch.testing.assert_close(
        ens.log_prob_all(order.model, h, best, paces(2), cond, strength=0.0),
        order_log_probs(order, h, best),
        atol=1e-5,
        rtol=0,
    )
    assert (lp1 - order_log_probs(order, h, best)).abs().max() > 0.1 and (lp2 - lp1).abs().max() > 0.1
    # a minute full of bids makes bids more likely than a minute full of asks does
    bids, asks = np.zeros((1, 3, 32, 32), np.float32), np.zeros((1, 3, 32, 32), np.float32)
    bids[0, 0, 3:8, :4] = asks[0, 1, 3:8, :4] = 20
    p_bid = [
        ens.log_prob_all(order.model, h[:1], best[:1], paces(1), image_condition(c)).exp()[0].view(3, -1).sum(-1)[0]
        for c in (bids, asks)
    ]
    assert p_bid[0] > p_bid[1]


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped ensemble")
def test_the_shipped_ensemble_waits_longer_when_the_minute_runs_ahead_of_its_image(order) -> None:
    ens = load_ensemble().model
    h, best = hidden(order, 4)
    image = np.zeros((4, 3, 32, 32), np.float32)
    image[:, :, :8, 10:14] = 2.0  # ~190 orders of each type in the minute
    slot = torch.arange(16, dtype=torch.float32)
    strength = ControlSettings().strength
    waits = torch.stack(
        [
            (
                ens.log_prob_all(
                    order.model,
                    h,
                    best,
                    pace_features(np.full((4, 3), sent), np.full(4, 0.5)),
                    image_condition(image),
                    strength,
                )
                .exp()
                .view(4, -1, 16)
                .sum(1)
                * slot
            ).sum(1)
            for sent in (0, 100, 400)
        ]
    )  # expected interval slot (slots grow with the wait) halfway
    # ~190 orders a minute: 100 or 400 sent by halfway is far ahead, so every row waits longer. At the default
    # strength 1 (as trained) the shift is 0.7-1.7 slots (it was over 1 slot everywhere at the former default 3)
    assert (waits[1:] > waits[0]).all() and (waits[1:] - waits[0]).mean() > 0.5, waits


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped ensemble")
def test_draws_are_deterministic_and_strength_zero_draws_from_the_order_model(order) -> None:
    ens = load_ensemble().model
    h, best = hidden(order, 4)
    prep = ens.prepare(image_condition(images(4)))
    u = torch.rand(4, 3, generator=torch.Generator().manual_seed(3))
    a, b = ens.sample(order.model, h, best, paces(4), prep, u), ens.sample(order.model, h, best, paces(4), prep, u)
    assert np.array_equal(a, b) and ((a >= 0) & (a < VOCAB_SIZE)).all()
    zero = ens.sample(order.model, h, best, paces(4), prep, u, strength=torch.zeros(4))
    m = order.model
    tp = pick(m.logits_type_price(h), 1.0, None, None, u[:, 0])
    vol = pick(m.logits_volume(h, tp, best), 1.0, None, None, u[:, 1])
    ivl = pick(m.logits_interval(h, tp, vol), 1.0, None, None, u[:, 2])
    assert np.array_equal(zero, ((tp * N_VOLUME + vol) * N_INTERVAL + ivl).numpy())


def test_the_pace_counts_each_types_orders_of_the_minute_so_far_and_the_running_count_agrees() -> None:
    M, T = NS_PER_MINUTE, 32 * 32 * 16  # a minute; tokens of type k are k * T ...
    ts = np.array([10, 20, M - 1, M, M + M // 2, 3 * M + M // 4])
    types = np.array([0, 2, 2, 1, 1, 0])
    pace = minute_pace(types * T + 7, ts)
    done = np.expm1(pace[:, :3].numpy()).round()
    assert done.tolist() == [[1, 0, 0], [1, 0, 1], [1, 0, 2], [0, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert pace[:, 3].numpy() == pytest.approx([10 / M, 20 / M, (M - 1) / M, 0, 0.5, 0.25])
    running = MinutePace()
    for i, (k, t) in enumerate(zip(types.tolist(), ts.tolist())):
        running.add(k * T + 7, t)
        torch.testing.assert_close(pace_features(*[np.array([x]) for x in running.at(t)])[0], pace[i])
    assert running.at(5 * M + 1)[0].tolist() == [0, 0, 0]  # a minute with no order yet


def test_image_conditions_are_checked() -> None:
    with pytest.raises(MarsInputError, match=r"needs counts \(B, 3, 32, 32\), got \(3, 32, 32\)"):
        image_condition(np.zeros((3, 32, 32)))
    cond = image_condition(np.zeros((1, 3, 32, 32)))  # an empty minute prefers nothing
    assert torch.allclose(cond.tp_logq, cond.tp_logq[:, :1].expand_as(cond.tp_logq))


def test_a_tiny_training_run_writes_a_loadable_checkpoint_card_and_return_map(
    tmp_path: Path, data_dir: Path, order
) -> None:
    cfg = EnsembleTrainConfig(
        steps=12,
        eval_every=6,
        minutes_per_batch=4,
        per_minute=8,
        sampled_eval=False,
        data_dir=str(data_dir),
        time_slice=(14 * 60 * NS_PER_MINUTE, 14 * 60 * NS_PER_MINUTE + 50 * NS_PER_MINUTE),
    )
    s = train_ensemble(cfg, tmp_path, progress=False, order=order)
    assert s["steps"] == 12 and s["train_examples"] > 0 and s["val_examples"] > 0
    assert s["loss_advantage"] == pytest.approx(s["val_nll_ensemble"] - s["val_nll_order"], abs=1e-4)
    assert s["order_model_summary"]["params"] == order.summary["params"]
    loaded = load_ensemble(tmp_path)
    assert loaded.summary["val_nll_ensemble"] == s["val_nll_ensemble"]
    assert (
        f"| the minute's own (reconstructed) image | {s['val_nll_ensemble']:.4f} |"
        in (tmp_path / "model_card.md").read_text()
    )
    assert (tmp_path / "return_map.json").is_file() and len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 4


def test_missing_or_foreign_checkpoints_are_named(tmp_path: Path) -> None:
    with pytest.raises(MarsInputError, match="no ensemble model at .*missing"):
        load_ensemble(tmp_path / "missing")
    bad = tmp_path / "ensemble.pt"
    torch.save({"kind": "vqvae"}, bad)
    with pytest.raises(MarsInputError, match="is not an ensemble checkpoint"):
        load_ensemble(tmp_path)
