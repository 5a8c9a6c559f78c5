"""PPO on the execution task: a tiny run writes a loadable policy and a learning curve, and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mars_core.cli.rl import rl_app
from mars_core.errors import ConfigError, MarsInputError
from mars_core.rl.evaluate import load_policy
from mars_core.rl.train import RLTrainConfig, train_agent


def tiny(**changes) -> RLTrainConfig:
    return RLTrainConfig(
        symbols=("GOOG",),
        timesteps=40,
        envs=2,
        n_steps=10,
        batch_size=10,
        epochs=1,
        eval_every=1,
        eval_seeds=1,
        **changes,
    )


def test_a_tiny_run_writes_a_policy_and_its_curve_and_resumes(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "agent"
    summary = train_agent(tiny(data_dir=str(data_dir)), out)
    curve = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["update"] for r in curve] == [0, 1, 2] and [r["timesteps"] for r in curve] == [0, 20, 40]
    assert summary["updates"] == 2 and all(np.isfinite(r["val_advantage_bps"]) for r in curve)
    assert json.loads((out / "train_config.json").read_text())["seed"] == 0
    policy = load_policy(str(out / "policy.pt"))
    actions = policy(np.zeros((3, 8), dtype=np.float32))
    assert actions.shape == (3,) and ((actions >= 0) & (actions < 66)).all()

    more = train_agent(tiny(data_dir=str(data_dir)).model_copy(update={"timesteps": 60}), out, resume=True)
    curve = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert more["timesteps"] == 60 and [r["update"] for r in curve] == [0, 1, 2, 3]
    with pytest.raises(MarsInputError, match="other settings"):
        train_agent(tiny(data_dir=str(data_dir), seed=1), out, resume=True)
    with pytest.raises(ConfigError, match="noise or replay background, not 'lmm'.*mars rl evaluate --background lmm"):
        train_agent(tiny(background="lmm"), tmp_path / "lmm")
    with pytest.raises(MarsInputError, match="nothing to resume"):
        train_agent(tiny(data_dir=str(data_dir)), tmp_path / "none", resume=True)


def test_cli_trains_then_evaluates_with_the_issues_json_line(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "a"
    common = ["--symbols", "GOOG", "--data-dir", str(data_dir), "--json"]
    args = ["train", "--out", str(out), "--timesteps", "20", "--envs", "2", "--n-steps", "10", *common]
    result = CliRunner().invoke(rl_app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["updates"] == 1
    args = [
        "evaluate",
        "--policy",
        str(out / "policy.pt"),
        "--seeds",
        "1",
        "--every-s",
        "3600",
        "--out",
        str(tmp_path / "e.json"),
        *common,
    ]
    result = CliRunner().invoke(rl_app, args)
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(line) == [
        "background",
        "baseline",
        "advantage_bps",
        "ci",
        "fulfillment",
        "baseline_fulfillment",
        "episodes",
    ]
    assert line["background"] == "noise" and line["baseline"] == "L1-P0.9" and line["episodes"] == 2  # 14:30, 15:30
    saved = json.loads((tmp_path / "e.json").read_text())
    assert len(saved["episodes"]) == 2 * 5 and saved["summary"]["advantage_bps"] == line["advantage_bps"]
