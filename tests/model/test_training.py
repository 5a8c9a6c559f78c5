"""The one training loop: the schedule, one record per evaluation, and a resumed run that equals an uninterrupted one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from mars_core.model.training import adamw, fit, get_lr


@dataclass
class Schedule:
    steps: int = 12
    lr: float = 0.05
    min_lr: float = 0.005
    warmup: int = 3
    grad_clip: float = 1.0
    eval_every: int = 5
    seed: int = 3


def run(metrics: Path, stop: int | None = None, state: dict | None = None) -> tuple[torch.nn.Module, dict, int]:
    cfg = Schedule()
    torch.manual_seed(cfg.seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 1))
    opt = adamw(model, cfg.lr, 0.01)
    step = 0
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step = state["step"]
    x_all = torch.from_numpy(np.random.default_rng(0).normal(size=(64, 4))).float()
    y_all = x_all.sum(1, keepdim=True)

    def batch_loss(at: int) -> tuple[torch.Tensor, float]:
        idx = torch.from_numpy(np.random.default_rng([cfg.seed, at]).integers(0, 64, 16))
        loss = ((model(x_all[idx]) - y_all[idx]) ** 2).mean()
        return loss, loss.item()

    def evaluate(at: int, running: float, lr: float) -> dict:
        return {"step": at, "train_loss": round(running, 6), "lr": lr}

    saved: dict = {}

    def checkpoint(at: int) -> None:
        saved.update(model=model.state_dict(), optimizer=opt.state_dict(), step=at)

    reached = fit(
        model, opt, cfg, batch_loss, evaluate, metrics, step=step, stop=stop, checkpoint=checkpoint, progress=False
    )
    return model, saved, reached


def test_warm_up_then_cosine_decay() -> None:
    cfg = Schedule()
    lrs = [get_lr(s, cfg) for s in range(cfg.steps + 1)]
    assert lrs[:3] == pytest.approx([cfg.lr / 3, 2 * cfg.lr / 3, cfg.lr])
    assert lrs[-1] == pytest.approx(cfg.min_lr) and all(a >= b for a, b in zip(lrs[2:], lrs[3:]))


def test_one_record_per_evaluation_and_at_the_last_step(tmp_path: Path) -> None:
    run(tmp_path / "metrics.jsonl")
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10, 12]


def test_a_resumed_run_continues_as_an_uninterrupted_one(tmp_path: Path) -> None:
    whole, _, _ = run(tmp_path / "whole.jsonl")
    _, state, reached = run(tmp_path / "part.jsonl", stop=5)
    assert reached == 5
    resumed, _, reached = run(tmp_path / "part.jsonl", state=state)
    assert reached == 12
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)
    # the same records, but for the moving average of the training loss, which a resume starts afresh
    assert records_without_loss(tmp_path / "part.jsonl") == records_without_loss(tmp_path / "whole.jsonl")


def records_without_loss(path: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "train_loss"} for line in path.read_text().splitlines()]
