"""Checkpoints: every loader, and atomic saves (a checkpoint is written whole or not at all).

Each file rebuilds its model from itself alone (nanoGPT's habit): the model arguments and
weights, plus what the model needs to be used, under a `format` number this code reads:

    model.pt         the order model, its fitted tokenizer and training summary (`load_order_model`)
    vqvae.pt         the order-image VQ-VAE and the tokenizer of its images (`load_vqvae`)
    batch_model.pt   the order-batch model and the whole VQ-VAE checkpoint it was trained on
    ensemble.pt      the ensemble, the fingerprint of the tokenizer its images use, the order
                     model it was trained on (summary line)

Loaders take a file, a folder holding it, or None for the shipped one in `assets/models/`,
and raise `MarsInputError` naming the file when it is missing (saying how to train one),
foreign or damaged. Before a model is built, its file is checked: a shipped file against
the SHA-256 recorded in `assets/models/MANIFEST.sha256` (`make manifest` writes it), and
every file for its structure (`check_structure`: known model arguments, positive sizes,
a summary, every tensor present with the shape the arguments give, finite weights).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import os
import pickle
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mars_core.errors import MarsInputError
from mars_core.model.batch_model import BatchModel, BatchModelConfig
from mars_core.model.ensemble import EnsembleConfig, EnsembleModel
from mars_core.model.order_model import OrderModel, OrderModelConfig
from mars_core.model.tokenizer import OrderTokenizer
from mars_core.model.vqvae import VQVAE, VQVAEConfig, encode_images
from mars_core.paths import BATCH_MODEL_DIR, ENSEMBLE_DIR, MODELS_DIR, ORDER_MODEL_DIR, VQVAE_DIR

# the order model's format; 2: the context holds the spread; 3: spread bins, the flow context, the L1 volume input
CHECKPOINT_FORMAT = 3
VQVAE_FILE, VQVAE_FORMAT = "vqvae.pt", 1
BATCH_MODEL_FILE, BATCH_FORMAT = "batch_model.pt", 1
ENSEMBLE_FILE, ENSEMBLE_FORMAT = "ensemble.pt", 2  # 2: the pace of the minute is an input
MANIFEST = "MANIFEST.sha256"  # `sha256sum` lines of every shipped checkpoint, relative to assets/models
MAX_SIZE_ARG = 100_000  # no model argument (layers, widths, window) is larger: a bigger one is damage


# ------------------------------------------------------------------ saving
def atomic_save(obj: dict, path: Path) -> None:
    """torch.save to a temporary file in the same folder, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; checkpoints are ordinary files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file (a model card, a JSON map) through a temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_checkpoint(
    path: str | Path | None, default_dir: Path, filename: str, what: str, train_hint: str
) -> tuple[Path, object]:
    """Resolve a checkpoint (a file, a folder holding `filename`, or None for `default_dir`) and torch.load it.

    A file under assets/models must match its SHA-256 in the manifest (`verify_shipped`).

    Raises:
        MarsInputError: the file is missing (the message says how to train one), damaged or unreadable.
    """
    path = Path(path) if path is not None else default_dir
    if path.is_dir():
        path = path / filename
    if not path.is_file():
        raise MarsInputError(f"no {what} at {path}; train one with `{train_hint}`")
    verify_shipped(path)
    try:
        return path, torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: say which and why
        if isinstance(err, pickle.UnpicklingError):  # torch's message is a paragraph about weights_only
            why = "not a checkpoint of weights (torch refused to unpickle it)"
        else:
            why = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise MarsInputError(f"cannot read {what} {path}: {why}") from err


# ------------------------------------------------------------------ integrity
def sha256_file(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def write_manifest(models_dir: Path = MODELS_DIR) -> Path:
    """Record the SHA-256 of every checkpoint (*.pt) under `models_dir` in its MANIFEST.sha256 (`make manifest`)."""
    files = sorted(p for p in models_dir.rglob("*.pt") if p.is_file())
    lines = [f"{sha256_file(p)}  {p.relative_to(models_dir).as_posix()}\n" for p in files]
    write_text_atomic(models_dir / MANIFEST, "".join(lines))
    return models_dir / MANIFEST


def read_manifest(models_dir: Path = MODELS_DIR) -> dict[str, str]:
    """relative path -> SHA-256 of the shipped checkpoints (empty when there is no manifest)."""
    path = models_dir / MANIFEST
    if not path.is_file():
        return {}
    return {name: digest for digest, name in (line.split(None, 1) for line in path.read_text().splitlines() if line)}


def verify_shipped(path: Path, models_dir: Path | None = None) -> None:
    """A checkpoint under `models_dir` (assets/models) must be the file the manifest records.

    Raises:
        MarsInputError: the file is not listed, or its SHA-256 differs (damaged or replaced); says how to restore it.
    """
    models_dir = (models_dir or MODELS_DIR).resolve()
    try:
        relative = path.resolve().relative_to(models_dir).as_posix()
    except ValueError:
        return  # a user's own checkpoint: checked by its structure only
    manifest = read_manifest(models_dir)
    if not manifest:
        raise MarsInputError(f"{models_dir / MANIFEST} is missing; restore it with `git checkout -- assets/models`")
    expected = manifest.get(relative)
    if expected is None:
        raise MarsInputError(
            f"{path} is not listed in {models_dir / MANIFEST}; a new shipped model is recorded with `make manifest`"
        )
    if sha256_file(path) != expected:
        raise MarsInputError(
            f"{path} is damaged or was replaced (its SHA-256 differs from {MANIFEST}); restore it with "
            f"`git checkout -- assets/models/{relative}`"
        )


def check_structure(payload: Any, path: Path | str, config_type: type, model_type: type) -> Any:
    """Check a checkpoint's structure before its model is built; returns the model's config.

    Known model arguments, none missing, every size positive and bounded; a summary; every tensor of the
    model present with its shape (compared on a model built without memory) and nothing else; finite weights.

    Raises:
        MarsInputError: naming the file and the first problem.
    """

    def bad(problem: str) -> MarsInputError:
        return MarsInputError(f"{path}: damaged checkpoint: {problem}")

    for key, kind in (("model_args", dict), ("model", dict), ("summary", dict)):
        if not isinstance(payload.get(key), kind):
            raise bad(f"no {key}" if key not in payload else f"{key} is not a mapping")
    args, fields = payload["model_args"], {f.name: f for f in dataclasses.fields(config_type)}
    if unknown := sorted(set(args) - set(fields)):
        raise bad(f"unknown model_args {', '.join(map(str, unknown))}")
    if missing := sorted(set(fields) - set(args)):
        raise bad(f"model_args lacks {', '.join(missing)}")
    for key, value in args.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad(f"model_args.{key} is {value!r}")
        if isinstance(value, int) and not 0 < value <= MAX_SIZE_ARG:
            raise bad(f"model_args.{key} is {value}; must lie in 1..{MAX_SIZE_ARG:,}")
        if isinstance(value, float) and not math.isfinite(value):
            raise bad(f"model_args.{key} is {value}")
    try:
        config = config_type(**args)
        with torch.device("meta"):  # shapes only, no memory
            expected = {k: tuple(v.shape) for k, v in model_type(config).state_dict().items()}
    except (TypeError, ValueError, RuntimeError, AssertionError) as err:
        raise bad(f"model_args do not make a model ({err})") from None
    weights = payload["model"]
    if missing := [k for k in expected if k not in weights]:
        raise bad(f"tensor {missing[0]} is missing" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    if extra := [k for k in weights if k not in expected]:
        raise bad(f"unexpected tensor {extra[0]}")
    for key, shape in expected.items():
        tensor = weights[key]
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != shape:
            found = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            raise bad(f"tensor {key} has shape {found}; model_args give {shape}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise bad(f"tensor {key} holds NaN or infinite weights")
    return config


# ------------------------------------------------------------------ order model
@dataclass(frozen=True)
class LoadedModel:
    """A model ready to sample (eval mode) with its tokenizer and training summary."""

    model: OrderModel
    tokenizer: OrderTokenizer
    summary: dict


def model_payload(model: OrderModel, tokenizer: OrderTokenizer, summary: dict) -> dict:
    """Everything needed to rebuild the model and its tokenizer from one file."""
    return {
        "format": CHECKPOINT_FORMAT,
        "model_args": asdict(model.config),
        "model": model.state_dict(),
        "tokenizer": tokenizer.state_dict(),
        "summary": summary,
    }


def load_order_model(path: str | Path | None = None) -> LoadedModel:
    """Load `model.pt` (a file, or a folder holding one); default: the shipped model in assets/.

    Raises:
        MarsInputError: the file is missing or not an order-model checkpoint.
    """
    path, payload = read_checkpoint(
        path, ORDER_MODEL_DIR, "model.pt", "order model", "mars train order-model --out DIR"
    )
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise MarsInputError(f"{path} is not an order-model checkpoint of format {CHECKPOINT_FORMAT}")
    model = OrderModel(check_structure(payload, path, OrderModelConfig, OrderModel))
    model.load_state_dict(payload["model"])
    return LoadedModel(model.eval(), OrderTokenizer.from_state_dict(payload["tokenizer"]), payload["summary"])


@functools.lru_cache(maxsize=2)
def cached_order_model(path: str | None = None) -> LoadedModel:
    """The order model, loaded once per process (the shipped one by default)."""
    return load_order_model(path)


# ------------------------------------------------------------------ VQ-VAE
def tokenizer_fingerprint(tokenizer: OrderTokenizer) -> str:
    """Short sha256 of the fitted bins: equal fingerprints mean the same image slots."""
    h = hashlib.sha256()

    def walk(obj) -> None:
        if isinstance(obj, dict):
            for k in sorted(obj):
                h.update(str(k).encode())
                walk(obj[k])
        elif isinstance(obj, torch.Tensor):
            h.update(obj.numpy().astype(np.int64).tobytes())
        else:
            h.update(repr(obj).encode())

    walk(tokenizer.state_dict())
    return h.hexdigest()[:16]


def vqvae_payload(model: VQVAE, tokenizer: OrderTokenizer, summary: dict) -> dict:
    """Everything needed to rebuild the VQ-VAE and its image slots from one file."""
    return {
        "format": VQVAE_FORMAT,
        "kind": "vqvae",
        "model_args": asdict(model.config),
        "model": model.state_dict(),
        "tokenizer": tokenizer.state_dict(),
        "tokenizer_fingerprint": tokenizer_fingerprint(tokenizer),
        "summary": summary,
    }


@dataclass(frozen=True)
class LoadedVQVAE:
    """A VQ-VAE in eval mode, the order tokenizer of its images and its training summary."""

    model: VQVAE
    tokenizer: OrderTokenizer
    fingerprint: str
    summary: dict


def vqvae_from_payload(payload: dict, where: str) -> LoadedVQVAE:
    if not isinstance(payload, dict) or payload.get("kind") != "vqvae" or payload.get("format") != VQVAE_FORMAT:
        raise MarsInputError(f"{where} is not a VQ-VAE checkpoint of format {VQVAE_FORMAT}")
    model = VQVAE(check_structure(payload, where, VQVAEConfig, VQVAE))
    model.load_state_dict(payload["model"])
    return LoadedVQVAE(
        model.eval(),
        OrderTokenizer.from_state_dict(payload["tokenizer"]),
        payload["tokenizer_fingerprint"],
        payload["summary"],
    )


def load_vqvae(path: str | Path | None = None) -> LoadedVQVAE:
    """Load `vqvae.pt` (a file, or a folder holding one); default: the shipped one in assets/.

    Raises:
        MarsInputError: the file is missing or not a VQ-VAE checkpoint.
    """
    path, payload = read_checkpoint(path, VQVAE_DIR, VQVAE_FILE, "VQ-VAE", "mars train vqvae --out DIR")
    return vqvae_from_payload(payload, str(path))


# ------------------------------------------------------------------ order-batch model
@dataclass(frozen=True)
class LoadedBatchModel:
    """The order-batch model in eval mode with the VQ-VAE it was trained on.

    Use `encode` / `decode` to move between order images and code grids, and
    `sample_next_minute` to draw candidate next-minute images from recent minutes.
    """

    model: BatchModel
    vqvae: LoadedVQVAE
    summary: dict

    @property
    def context_minutes(self) -> int:
        """Minutes of history the model conditions on (15)."""
        return self.model.config.minutes - 1

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Code grids (N, 8, 8) int64 of uint8 order images (N, 3, 32, 32)."""
        return encode_images(self.vqvae.model, np.asarray(images, dtype=np.uint8))

    @torch.no_grad()
    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Expected order counts (..., 3, 32, 32) float32 of code grids (..., 8, 8)."""
        codes = torch.as_tensor(np.asarray(codes), dtype=torch.long)
        lead = codes.shape[:-2]
        out = self.vqvae.model.decode_counts(codes.reshape(-1, *codes.shape[-2:]))
        return out.reshape(*lead, *out.shape[1:]).numpy()

    def sample_next_minute(
        self,
        history_codes: np.ndarray,
        n_samples: int = 8,
        temperature: float = 1.0,
        seed: int = 0,
        top_k: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate next minutes after the given minutes, as codes and as decoded images.

        Args:
            history_codes: (H, 8, 8) codes of the last H minutes (H <= 15 is used; older ones are
                dropped), or (B, H, 8, 8) for B histories at once; see `encode`.
            n_samples: candidates per history (drawn together in one batch).
            temperature, seed, top_k: see `BatchModel.sample_next_minute`.

        Returns:
            (codes (n, 8, 8) int64, expected counts (n, 3, 32, 32) float32), with a leading B
            for batched histories.
        """
        codes = self.model.sample_next_minute(history_codes, n_samples, temperature, seed, top_k)
        return codes, self.decode(codes)


def batch_payload(model: BatchModel, vqvae: dict, summary: dict) -> dict:
    return {
        "format": BATCH_FORMAT,
        "kind": "batch_model",
        "model_args": asdict(model.config),
        "model": model.state_dict(),
        "vqvae": vqvae,
        "summary": summary,
    }


def load_batch_model(path: str | Path | None = None) -> LoadedBatchModel:
    """Load `batch_model.pt` (a file, or a folder holding one); default: the shipped one in assets/.

    Raises:
        MarsInputError: the file is missing or not an order-batch model checkpoint.
    """
    path, payload = read_checkpoint(
        path,
        BATCH_MODEL_DIR,
        BATCH_MODEL_FILE,
        "order-batch model",
        "mars train batch-model --vqvae DIR --out DIR",
    )
    if not isinstance(payload, dict) or payload.get("kind") != "batch_model" or payload.get("format") != BATCH_FORMAT:
        raise MarsInputError(f"{path} is not an order-batch model checkpoint of format {BATCH_FORMAT}")
    model = BatchModel(check_structure(payload, path, BatchModelConfig, BatchModel))
    model.load_state_dict(payload["model"])
    return LoadedBatchModel(
        model.eval(), vqvae_from_payload(payload["vqvae"], f"{path} (its VQ-VAE)"), payload["summary"]
    )


# ------------------------------------------------------------------ ensemble
@dataclass(frozen=True)
class LoadedEnsemble:
    """An ensemble model in eval mode with the fingerprint of the tokenizer its images use."""

    model: EnsembleModel
    fingerprint: str
    summary: dict


def ensemble_payload(model: EnsembleModel, fingerprint: str, summary: dict) -> dict:
    return {
        "format": ENSEMBLE_FORMAT,
        "kind": "ensemble",
        "model_args": asdict(model.config),
        "model": model.state_dict(),
        "tokenizer_fingerprint": fingerprint,
        "summary": summary,
    }


def load_ensemble(path: str | Path | None = None) -> LoadedEnsemble:
    """Load `ensemble.pt` (a file, or a folder holding one); default: the shipped one in assets/.

    Raises:
        MarsInputError: the file is missing or not an ensemble checkpoint.
    """
    path, payload = read_checkpoint(
        path, ENSEMBLE_DIR, ENSEMBLE_FILE, "ensemble model", "mars train ensemble --out DIR"
    )
    if not isinstance(payload, dict) or payload.get("kind") != "ensemble":
        raise MarsInputError(f"{path} is not an ensemble checkpoint")
    if payload.get("format") != ENSEMBLE_FORMAT:
        raise MarsInputError(
            f"{path} is an ensemble checkpoint of format {payload.get('format')}; this code reads format "
            f"{ENSEMBLE_FORMAT}: retrain it with `mars train ensemble --out DIR`"
        )
    model = EnsembleModel(check_structure(payload, path, EnsembleConfig, EnsembleModel))
    model.load_state_dict(payload["model"])
    return LoadedEnsemble(model.eval(), payload["tokenizer_fingerprint"], payload["summary"])
