"""Order-batch model: causality, KV cache, seeded sampling, baselines, training and checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from batch_fixtures import synthetic_data

from mars_core.errors import MarsInputError
from mars_core.model.batch_model import BatchModel, BatchModelConfig, KVCache
from mars_core.model.checkpoint import load_batch_model
from mars_core.model.train_batch_model import BatchTrainConfig, DayCodes, code_baselines, train_batch_model
from mars_core.model.train_vqvae import VQVAETrainConfig, train_vqvae

CFG = BatchModelConfig(vocab_size=16, minutes=3, n_layer=2, n_head=2, n_embd=16, dropout=0.0)


def model() -> BatchModel:
    torch.manual_seed(0)
    return BatchModel(CFG).eval()


def test_future_codes_do_not_change_earlier_logits() -> None:
    m = model()
    codes = torch.randint(0, 16, (1, CFG.length))
    base = m(codes)
    for k in (0, 63, 64, 100, CFG.length - 1):
        changed = codes.clone()
        changed[0, k] = (changed[0, k] + 1) % 16
        out = m(changed)
        assert torch.allclose(
            out[:, : k + 1], base[:, : k + 1], atol=1e-6
        )  # logits up to position k predict codes <= k
        if k + 1 < CFG.length:
            assert not torch.allclose(out[:, k + 1], base[:, k + 1])  # code k is an input of the next position


def test_kv_cache_gives_the_same_logits_as_the_full_forward() -> None:
    m = model()
    codes = torch.randint(0, 16, (2, CFG.length))
    full = m(codes)
    cache = KVCache(CFG.n_layer, CFG.length)
    parts = [m.step(codes, 0, 70, cache)]
    parts += [m.step(codes, 70 + i, 1, cache) for i in range(30)]
    parts.append(m.step(codes, 100, CFG.length - 100, cache))
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)


def test_sampling_is_deterministic_by_seed_and_batched() -> None:
    m = model()
    history = np.random.default_rng(0).integers(0, 16, (5, 8, 8))  # more than minutes - 1: the last 2 are used
    a = m.sample_next_minute(history, n_samples=4, seed=7)
    assert a.shape == (4, 8, 8) and a.dtype == np.int64 and a.min() >= 0 and a.max() < 16
    assert (m.sample_next_minute(history, n_samples=4, seed=7) == a).all()
    assert not (m.sample_next_minute(history, n_samples=4, seed=8) == a).all()
    assert (m.sample_next_minute(history[-2:], n_samples=4, seed=7) == a).all()
    greedy = m.sample_next_minute(history, n_samples=3, temperature=0)
    assert (greedy == greedy[0]).all()
    batched = m.sample_next_minute(np.stack([history, history[::-1]]), n_samples=2, seed=1)
    assert batched.shape == (2, 2, 8, 8)
    assert m.sample_next_minute(np.zeros((0, 64), dtype=np.int64), n_samples=2).shape == (2, 8, 8)
    with pytest.raises(MarsInputError, match="history codes"):
        m.sample_next_minute(np.full((1, 64), 99), n_samples=1)
    with pytest.raises(MarsInputError, match="history must be"):
        m.sample_next_minute(np.zeros((2, 10), dtype=np.int64))


def test_baselines_see_a_repeating_series() -> None:
    rng = np.random.default_rng(0)
    grids = rng.integers(0, 8, (4, 64))
    codes = grids[np.repeat(rng.integers(0, 4, 8), 5)]  # regimes of 5 minutes: a minute mostly repeats the last
    codes[rng.random(codes.shape) < 0.1] = 0
    day = DayCodes("D", np.arange(40), codes, codes, n_train=30)
    b = code_baselines([day], 8)
    assert b["repeat_last"] < b["cell_unigram"] < b["unigram"]
    assert b["lambda"] > 0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("batch")
    data = synthetic_data()
    train_vqvae(
        VQVAETrainConfig(size="tiny", steps=60, batch_size=16, lr=1e-2, warmup=5, eval_every=60, mirror=False),
        root / "vq",
        progress=False,
        data=data,
    )
    cfg = BatchTrainConfig(
        vqvae=str(root / "vq"),
        size="tiny",
        steps=60,
        batch_size=8,
        lr=1e-2,
        warmup=5,
        eval_every=30,
        mirror=False,
        dropout=0.0,
        eval_samples=2,
    )
    summary = train_batch_model(cfg, root / "bm", progress=False, data=data)
    return root, data, summary


def test_tiny_model_learns_beyond_the_unigram(trained) -> None:
    root, _, summary = trained
    assert summary["val_ce_per_code"] < summary["baselines_per_code"]["unigram"]
    assert summary["val_ce_per_image"] == pytest.approx(summary["val_ce_per_code"] * 64, abs=1e-2)
    lines = [json.loads(x) for x in (root / "bm" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "final" not in r] == [30, 60]


def test_checkpoint_round_trip_samples_the_same_and_decodes(trained) -> None:
    root, data, summary = trained
    loaded = load_batch_model(root / "bm")
    again = load_batch_model(root / "bm" / "batch_model.pt")
    history = loaded.encode(data.days[0].images[:5])
    assert history.shape == (5, 8, 8)
    codes, images = loaded.sample_next_minute(history, n_samples=3, seed=2)
    codes2, _ = again.sample_next_minute(history, n_samples=3, seed=2)
    assert (codes == codes2).all() and codes.shape == (3, 8, 8)
    assert images.shape == (3, 3, 32, 32) and images.dtype == np.float32 and (images >= 0).all()
    assert loaded.context_minutes == 3
    assert loaded.summary["vqvae_fingerprint"] == loaded.vqvae.fingerprint


def test_resume_and_loading_errors(trained, tmp_path) -> None:
    import shutil

    root, data, _ = trained
    shutil.copytree(root / "bm", tmp_path / "bm")
    summary = train_batch_model(BatchTrainConfig(steps=62), tmp_path / "bm", resume=True, progress=False, data=data)
    assert summary["steps"] == 62 and summary["size"] == "tiny"
    with pytest.raises(MarsInputError, match="no order-batch model"):
        load_batch_model(tmp_path / "nothing")
    with pytest.raises(MarsInputError, match="not an order-batch model"):
        load_batch_model(root / "vq" / "vqvae.pt")


def test_sampled_minutes_are_scored_in_image_space(trained) -> None:
    _, _, summary = trained
    s = summary["sampled_next_minute"]
    assert s["n_samples"] == 2
    assert set(s) >= {
        "model",
        "mean_image",
        "previous_minute",
        "previous_minute_reconstruction",
        "mean_of_last_15_minutes",
    }
    assert s["model"]["poisson_nll"] < s["previous_minute"]["poisson_nll"]  # the synthetic regimes are predictable


def test_an_interrupted_run_resumes_exactly(trained, tmp_path) -> None:
    root, data, _ = trained
    cfg = BatchTrainConfig(
        vqvae=str(root / "vq"), size="tiny", steps=6, batch_size=4, eval_every=3, eval_samples=0, seed=5
    )
    train_batch_model(cfg, tmp_path / "straight", progress=False, data=data)
    train_batch_model(BatchTrainConfig(**{**cfg.__dict__, "steps": 3}), tmp_path / "split", progress=False, data=data)
    train_batch_model(BatchTrainConfig(steps=6), tmp_path / "split", resume=True, progress=False, data=data)
    a, b = (torch.load(tmp_path / d / "batch_model.pt", weights_only=True)["model"] for d in ("straight", "split"))
    assert all(torch.equal(a[k], b[k]) for k in a)
