"""Corrupt checkpoints, made from the shipped ones: each is refused with one message naming the file, before a model
is built; a shipped file that differs from its manifest entry is refused with how to restore it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from mars_core.errors import MarsInputError
from mars_core.model import checkpoint, deeplob
from mars_core.model.checkpoint import (
    MANIFEST,
    load_batch_model,
    load_ensemble,
    load_order_model,
    load_vqvae,
    read_manifest,
    sha256_file,
    verify_shipped,
    write_manifest,
)
from mars_core.paths import MODELS_DIR
from mars_core.rl.evaluate import shipped_policy

SHIPPED = {
    "order model": ("order_model/model.pt", load_order_model),
    "VQ-VAE": ("vqvae/vqvae.pt", load_vqvae),
    "batch model": ("batch_model/batch_model.pt", load_batch_model),
    "ensemble": ("ensemble/ensemble.pt", load_ensemble),
    "DeepLOB": ("deeplob/deeplob.pt", deeplob.load),
}


def _first_float(weights: dict) -> str:
    return next(k for k, v in weights.items() if v.is_floating_point() and v.numel() > 1)


def _set(payload: dict, key: str, value: object) -> None:
    payload[key] = value


# (case, what to do to the payload, fragment of the message)
DAMAGE: list[tuple[str, Callable[[dict], None], str]] = [
    ("unknown model arg", lambda p: p["model_args"].update(colour=3), "unknown model_args colour"),
    ("missing model arg", lambda p: p["model_args"].pop(next(iter(p["model_args"]))), "model_args lacks"),
    ("no model_args", lambda p: p.pop("model_args"), "no model_args"),
    ("model_args a list", lambda p: _set(p, "model_args", [1, 2]), "model_args is not a mapping"),
    ("no summary", lambda p: p.pop("summary"), "no summary"),
    ("negative size", lambda p: p["model_args"].update({next(iter(p["model_args"])): -5}), "is -5; must lie in 1.."),
    ("huge size", lambda p: p["model_args"].update({next(iter(p["model_args"])): 10**9}), "must lie in 1..100,000"),
    ("bool size", lambda p: p["model_args"].update({next(iter(p["model_args"])): True}), "is True"),
    ("missing tensor", lambda p: p["model"].pop(next(iter(p["model"]))), "is missing"),
    ("extra tensor", lambda p: p["model"].update(stowaway=torch.zeros(3)), "unexpected tensor stowaway"),
    ("wrong shape", lambda p: p["model"].update({_first_float(p["model"]): torch.zeros(2, 3)}), "has shape (2, 3)"),
    ("all NaN", lambda p: p["model"][_first_float(p["model"])].fill_(float("nan")), "NaN or infinite weights"),
    ("all inf", lambda p: p["model"][_first_float(p["model"])].fill_(float("inf")), "NaN or infinite weights"),
    ("one NaN", lambda p: p["model"][_first_float(p["model"])].view(-1)[0].fill_(float("nan")), "NaN or infinite"),
]


@pytest.fixture(scope="module")
def payloads() -> dict[str, dict]:
    return {what: torch.load(MODELS_DIR / rel, weights_only=True) for what, (rel, _) in SHIPPED.items()}


@pytest.mark.parametrize("what", list(SHIPPED))
@pytest.mark.parametrize(("damage", "says"), [d[1:] for d in DAMAGE], ids=[d[0] for d in DAMAGE])
def test_a_damaged_checkpoint_is_refused_naming_the_file(
    what: str, damage: Callable[[dict], None], says: str, payloads: dict, tmp_path: Path
) -> None:
    rel, load = SHIPPED[what]
    payload = {k: (dict(v) if isinstance(v, dict) else v) for k, v in payloads[what].items()}
    payload["model"] = {k: v.clone() for k, v in payload["model"].items()}
    damage(payload)
    path = tmp_path / Path(rel).name
    torch.save(payload, path)
    with pytest.raises(MarsInputError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: damaged checkpoint: ") and says in str(err.value)


@pytest.mark.parametrize("what", ["order model", "DeepLOB"])
def test_a_negative_window_is_refused_naming_the_file(what: str, payloads: dict, tmp_path: Path) -> None:
    rel, load = SHIPPED[what]
    payload = dict(payloads[what]) | {"model_args": payloads[what]["model_args"] | {"window": -5}}
    path = tmp_path / Path(rel).name
    torch.save(payload, path)
    with pytest.raises(MarsInputError, match=rf"^{path}: damaged checkpoint: model_args.window is -5; must lie in 1"):
        load(path)


def test_the_shipped_checkpoints_match_their_manifest() -> None:
    manifest = read_manifest()
    agent = "execution_agent/policy.pt"  # a stable-baselines3 policy, verified by rl.evaluate.shipped_policy
    assert sorted(manifest) == sorted([*(rel for rel, _ in SHIPPED.values()), agent])
    for rel, load in SHIPPED.values():
        assert sha256_file(MODELS_DIR / rel) == manifest[rel]
        load(None)  # verified and structurally sound
    assert shipped_policy() == MODELS_DIR / agent and sha256_file(MODELS_DIR / agent) == manifest[agent]


def test_a_shipped_file_with_flipped_bytes_is_refused_with_how_to_restore_it(tmp_path: Path, monkeypatch) -> None:
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR / "order_model", models / "order_model", ignore=shutil.ignore_patterns("*.md"))
    write_manifest(models)
    assert (models / MANIFEST).read_text().endswith("  order_model/model.pt\n")
    target = models / "order_model" / "model.pt"
    data = bytearray(target.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 256] = bytes(b ^ 0xFF for b in data[middle : middle + 256])
    target.write_bytes(bytes(data))
    with pytest.raises(
        MarsInputError,
        match=r"model.pt is damaged or was replaced .* `git checkout -- assets/models/order_model/model.pt`",
    ):
        verify_shipped(target, models)
    monkeypatch.setattr(checkpoint, "MODELS_DIR", models)
    with pytest.raises(MarsInputError, match="damaged or was replaced"):
        load_order_model(target)
    (models / "order_model" / "copy.pt").write_bytes(b"")
    with pytest.raises(MarsInputError, match="not listed in .*`make manifest`"):
        verify_shipped(models / "order_model" / "copy.pt", models)


def test_a_users_checkpoint_outside_assets_is_checked_by_structure_only(tmp_path: Path) -> None:
    own = tmp_path / "model.pt"
    shutil.copy(MODELS_DIR / "order_model" / "model.pt", own)
    verify_shipped(own)  # not under assets/models: no manifest entry needed
    assert load_order_model(own).summary == load_order_model(None).summary


def test_a_damaged_training_checkpoint_is_refused_on_resume(tmp_path: Path, data_dir: Path) -> None:
    from mars_core.rl.train import RLTrainConfig, train_agent
    from mars_core.store import write_json

    config = RLTrainConfig(symbols=("GOOG",), envs=1, timesteps=10, data_dir=str(data_dir))
    write_json(tmp_path / "train_config.json", config.model_dump())
    (tmp_path / "checkpoint.zip").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(MarsInputError, match=r"checkpoint.zip: not a readable training checkpoint \(.+\); train again"):
        train_agent(config, tmp_path, resume=True)


class Reach:
    """Unpickled, `getattr(target, name)`: a saved policy does this once, for its learning-rate schedule."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> tuple:
        from stable_baselines3.common.policies import BasePolicy

        return getattr, (BasePolicy, self.name)


@pytest.mark.parametrize(
    "payload",
    [{"lr_schedule": Reach("__init__")}, {"lr_schedule": Reach("_dummy_schedule"), "other": Reach("load")}],
    ids=["getattr elsewhere", "getattr reused from the memo"],
)
def test_a_policy_reaching_further_through_getattr_is_refused_unread(payload: dict, tmp_path: Path) -> None:
    from mars_core.rl.evaluate import check_policy

    path = tmp_path / "policy.pt"
    torch.save({"data": payload, "state_dict": {}}, path)
    assert set(torch.serialization.get_unsafe_globals_in_checkpoint(path)) == {
        "builtins.getattr",
        "stable_baselines3.common.policies.BasePolicy",
    }  # only names a saved policy asks for: the calls give it away
    with pytest.raises(MarsInputError, match="calls getattr otherwise than a saved policy does"):
        check_policy(path)
    assert check_policy(shipped_policy()) == shipped_policy()
