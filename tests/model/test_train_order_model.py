"""Training on a one-hour slice of GOOG (14:00-15:00: 30 minutes train, 30 validation) with a tiny model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mars_core.data.schema import NS_PER_MINUTE
from mars_core.errors import MarsInputError
from mars_core.model.checkpoint import load_order_model
from mars_core.model.dataset import eval_windows
from mars_core.model.sampler import OrderModelSampler
from mars_core.model.train_order_model import SIZES, TrainConfig, _prepare, train
from mars_core.model.training import get_lr
from mars_core.model.vocab import N_CTX, N_LOB

SLICE = (14 * 60 * NS_PER_MINUTE, 15 * 60 * NS_PER_MINUTE)


def _cfg(data_dir: Path, **kw) -> TrainConfig:
    base = TrainConfig(
        symbols=["GOOG"],
        size="tiny",
        steps=45,
        batch_size=8,
        lr=3e-3,
        warmup=5,
        eval_every=15,
        eval_windows=16,
        dropout=0.0,
        data_dir=str(data_dir),
        time_slice=SLICE,
    )
    return replace(base, **kw)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("tiny")
    return out, train(_cfg(data_dir), out, progress=False)


def test_a_slightly_trained_tiny_model_beats_the_unigram_and_its_loss_falls(trained: tuple[Path, dict]) -> None:
    out, summary = trained
    curve = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in curve if not r.get("final")]
    assert [r["step"] for r in evals] == [15, 30, 45]
    assert evals[-1]["val_nll"] < evals[0]["val_nll"]
    assert evals[-1]["train_loss"] < 10.0 < np.log(49152)  # far below the untrained 10.8
    assert summary["val_nll"] < summary["unigram_nll"]
    assert summary["params"] == sum(p.numel() for p in load_order_model(out).model.parameters())
    assert summary["steps"] == 45 and summary["tokens_seen"] == 45 * 8 * SIZES["tiny"].window


def test_checkpoint_round_trip_gives_identical_logits(trained: tuple[Path, dict], data_dir: Path) -> None:
    out, summary = trained
    loaded = load_order_model(out / "model.pt")
    assert loaded.summary["val_nll"] == summary["val_nll"]
    _, _, streams = _prepare(_cfg(data_dir), loaded.tokenizer)
    w = eval_windows(streams, loaded.model.config.window)
    again = load_order_model(out)
    with torch.no_grad():
        a = loaded.model(*(x[:2] for x in w.inputs))
        b = again.model(*(x[:2] for x in w.inputs))
    assert torch.equal(a, b)
    # the loaded model samples
    s = OrderModelSampler(loaded.model, batch=2, seed=0)
    s.prefill(*(x[:2] for x in w.inputs))
    assert s.sample().shape == (2,)


def test_resume_continues_the_step_count_and_matches_an_uninterrupted_run(
    tmp_path: Path, data_dir: Path, trained: tuple[Path, dict]
) -> None:
    _, full = trained
    cfg = _cfg(data_dir)
    assert train(cfg, tmp_path, progress=False, until=30) == {"steps": 30, "stopped": True}
    resumed = train(cfg, tmp_path, resume=True, progress=False)
    steps = [json.loads(line).get("step") for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [15, 30, 45, None]  # None: the final line
    assert resumed["steps"] == 45
    assert resumed["val_nll"] == pytest.approx(full["val_nll"], abs=1e-4)


def test_same_seed_same_model_other_seed_other_model(tmp_path: Path, data_dir: Path) -> None:
    cfg = _cfg(data_dir, steps=4, eval_every=4)
    a = train(cfg, tmp_path / "a", progress=False)
    b = train(cfg, tmp_path / "b", progress=False)
    c = train(replace(cfg, seed=1), tmp_path / "c", progress=False)
    assert a["val_nll"] == b["val_nll"] and a["val_nll"] != c["val_nll"]
    wa, wb = load_order_model(tmp_path / "a").model.state_dict(), load_order_model(tmp_path / "b").model.state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_learning_rate_warms_up_then_decays_to_the_floor() -> None:
    cfg = TrainConfig(steps=1000, warmup=100, lr=1e-3, min_lr=1e-4)
    assert get_lr(0, cfg) == pytest.approx(1e-5)
    assert get_lr(99, cfg) == pytest.approx(1e-3)
    assert get_lr(550, cfg) == pytest.approx(5.5e-4)
    assert get_lr(1000, cfg) == pytest.approx(1e-4)


def test_bad_requests_get_clear_errors(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(MarsInputError, match="unknown model size"):
        train(_cfg(data_dir, size="huge"), tmp_path, progress=False)
    with pytest.raises(MarsInputError, match="nothing to resume"):
        train(_cfg(data_dir), tmp_path / "empty", resume=True, progress=False)
    with pytest.raises(MarsInputError, match="no LOBSTER data for XYZ"):
        train(_cfg(data_dir, symbols=["XYZ"]), tmp_path, progress=False)
    with pytest.raises(MarsInputError, match="no order model"):
        load_order_model(tmp_path / "nowhere")


def test_the_shipped_model_loads_offline_is_small_and_beats_both_baselines() -> None:
    from mars_core.paths import ORDER_MODEL_DIR

    path = ORDER_MODEL_DIR / "model.pt"
    assert path.stat().st_size <= 25 * 2**20
    shipped = load_order_model()  # the default: assets/models/order_model
    s = shipped.summary
    assert s["val_nll"] < s["bigram_nll"] < s["unigram_nll"]
    assert s["days"] == ["AMZN 2012-06-21", "GOOG 2012-06-21"] and s["steps"] == s["train_config"]["steps"]
    assert f"| order model | {s['val_nll']:.4f} |" in (ORDER_MODEL_DIR / "model_card.md").read_text()
    sampler = OrderModelSampler(shipped.model, batch=2, seed=0)
    g = torch.Generator().manual_seed(0)
    sampler.prefill(
        torch.randint(0, 49152, (2, 5), generator=g),
        torch.zeros(2, 5, N_LOB, dtype=torch.long),
        np.array([10, 5]),
        torch.zeros(2, 5, N_CTX, dtype=torch.long),
    )
    assert sampler.sample().shape == (2,)


def _study(curves: dict[str, list[tuple[float, float]]]) -> dict:
    """A scaling result whose sizes have the given (train_loss, val_nll) curves at steps 100, 200, ..."""

    runs = [
        {
            "size": size,
            "params": 1000 * (i + 1),
            "tokens_seen": 4096,
            "val_nll": curve[-1][1],
            "curve": [{"step": 100 * (k + 1), "train_loss": t, "val_nll": v} for k, (t, v) in enumerate(curve)],
        }
        for i, (size, curve) in enumerate(curves.items())
    ]
    return {
        "runs": runs,
        "unigram_nll": 9.0,
        "bigram_nll": 8.5,
        "steps": 100 * len(runs[0]["curve"]),
        "train_tokens": 5,
    }


def test_scaling_section_names_the_size_whose_validation_loss_turns_up() -> None:
    from mars_core.model.card import scaling_section

    text = scaling_section(_study({"tiny": [(8.0, 8.2), (7.8, 8.0)], "base": [(7.5, 7.9), (6.0, 8.1)]}))
    assert "base turns up after step 100" in text
    assert "tiny turns up" not in text
    assert "| base | 2,000 | 4,096 | 8.1000 |" in text


def test_scaling_section_reports_the_final_gaps_when_no_size_overfits() -> None:
    from mars_core.model.card import scaling_section

    text = scaling_section(_study({"tiny": [(8.0, 8.2), (7.8, 8.0)], "base": [(7.5, 7.9), (7.0, 7.6)]}))
    assert "No size's validation loss turned up within 200 steps" in text
    assert "tiny 0.20 nats, base 0.60 nats" in text
