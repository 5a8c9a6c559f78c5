"""VQ-VAE: shapes, codebook mechanics, a tiny model trained for seconds, checkpoint round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from batch_fixtures import synthetic_data

from mars_core.errors import MarsInputError
from mars_core.model.checkpoint import load_vqvae, tokenizer_fingerprint
from mars_core.model.train_vqvae import VQVAETrainConfig, code_usage, evaluate_vqvae, train_vqvae
from mars_core.model.vqvae import VQVAE, VectorQuantizer, VQVAEConfig, encode_images


def test_encoder_downsamples_by_4_to_an_8x8_code_grid() -> None:
    model = VQVAE(VQVAEConfig(width=4, n_res=1, code_dim=4, codebook_size=16)).eval()
    images = torch.randint(0, 101, (5, 3, 32, 32), dtype=torch.uint8)
    codes = model.encode(images)
    assert codes.shape == (5, 8, 8) and codes.dtype == torch.int64
    assert int(codes.min()) >= 0 and int(codes.max()) < 16
    assert model.decode_counts(codes).shape == (5, 3, 32, 32)
    assert (model.decode_counts(codes) >= 0).all() and (model.decode_counts(codes) <= 100).all()
    assert model.grid == (8, 8)


def test_quantizer_restarts_dead_codes_at_encoder_outputs() -> None:
    q = VectorQuantizer(codebook_size=8, code_dim=2, decay=0.5, dead_fraction=0.5)
    z = torch.randn(64, 2)
    q.update(z, q.codes(z))  # first call: codewords start at data points
    assert bool(q.initialised)
    q.embed[3] = torch.tensor([1e6, 1e6])  # a codeword nothing will ever pick
    q.ema_sum[3] = q.embed[3] * 8
    restarted = 0
    for _ in range(5):
        restarted += q.update(z, q.codes(z))
    assert restarted >= 1
    assert q.embed[3].abs().max() < 100  # moved back among the data


def test_code_usage_counts_distinct_codes_and_perplexity() -> None:
    assert code_usage(np.array([0, 0, 1, 1]), 4) == {"codes_used": 2, "perplexity": 2.0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("vqvae")
    data = synthetic_data()
    cfg = VQVAETrainConfig(
        size="tiny", steps=80, batch_size=16, lr=1e-2, warmup=10, eval_every=40, seed=0, mirror=False
    )
    summary = train_vqvae(cfg, out, progress=False, data=data)
    return out, data, summary


def test_tiny_model_reconstructs_better_than_the_mean_image(trained) -> None:
    out, data, summary = trained
    val = summary["val"]
    assert val["mse_log1p"] < summary["baselines"]["mean_image"]["mse_log1p"]
    assert val["poisson_nll"] < summary["baselines"]["mean_image"]["poisson_nll"]
    assert val["codes_used"] > 1
    assert all(c is not None and c > 0.5 for c in val["totals_corr"])
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "final" not in r] == [40, 80] and lines[-1]["final"]
    assert summary["tokenizer_fingerprint"] == tokenizer_fingerprint(data.tokenizer)


def test_checkpoint_round_trip_gives_the_same_codes(trained) -> None:
    out, data, summary = trained
    loaded = load_vqvae(out)
    _, val = data.split()
    again = evaluate_vqvae(loaded.model, val)
    assert again == summary["val"]
    assert loaded.fingerprint == summary["tokenizer_fingerprint"]
    assert tokenizer_fingerprint(loaded.tokenizer) == loaded.fingerprint
    assert (encode_images(loaded.model, val) == encode_images(load_vqvae(out / "vqvae.pt").model, val)).all()


def test_resume_continues_to_more_steps(trained, tmp_path) -> None:
    out, data, _ = trained
    import shutil

    shutil.copytree(out, tmp_path / "run")
    summary = train_vqvae(VQVAETrainConfig(steps=85), tmp_path / "run", resume=True, progress=False, data=data)
    assert summary["steps"] == 85 and summary["train_config"]["size"] == "tiny"


def test_loading_errors_are_clear(tmp_path) -> None:
    with pytest.raises(MarsInputError, match="no VQ-VAE"):
        load_vqvae(tmp_path)
    (tmp_path / "vqvae.pt").write_bytes(b"junk")
    with pytest.raises(MarsInputError, match="cannot read"):
        load_vqvae(tmp_path)
    with pytest.raises(MarsInputError, match="unknown VQ-VAE size"):
        train_vqvae(VQVAETrainConfig(size="huge"), tmp_path / "x", progress=False, data=synthetic_data())


def test_an_interrupted_run_resumes_exactly(tmp_path) -> None:
    data = synthetic_data()
    cfg = VQVAETrainConfig(size="tiny", steps=12, batch_size=8, eval_every=6, mirror=True, seed=3)
    train_vqvae(cfg, tmp_path / "straight", progress=False, data=data)
    train_vqvae(VQVAETrainConfig(**{**cfg.__dict__, "steps": 6}), tmp_path / "split", progress=False, data=data)
    train_vqvae(VQVAETrainConfig(steps=12), tmp_path / "split", resume=True, progress=False, data=data)
    a, b = (torch.load(tmp_path / d / "vqvae.pt", weights_only=True)["model"] for d in ("straight", "split"))
    assert all(torch.equal(a[k], b[k]) for k in a)
