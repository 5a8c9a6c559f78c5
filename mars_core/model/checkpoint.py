"""Checkpoints: every loader, and atomic saves (a checkpoint is written whole or not at all).

Each file rebuilds its model from itself alone (nanoGPT's habit): the model arguments and
weights, plus what the model needs to be used, under a `format` number this code reads:

    model.pt         the order model, its fitted tokenizer and training summary (`load_order_model`)
    vqvae.pt         the order-image VQ-VAE and the tokenizer of its images (`load_vqvae`)
    batch_model.pt   the order-batch model and the whole VQ-VAE checkpoint it was trained on
    ensemble.pt      the ensemble, the fingerprint of the tokenizer its images use, the order
                     model it was trained on (summary line)

Loaders take a file, a folder holding it, or None for the shipped one in `assets/models/`,
and raise `MarsInputError` (saying how to train one) when it is missing or foreign.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from mars_core.errors import MarsInputError
from mars_core.model.batch_model import BatchModel, BatchModelConfig
from mars_core.model.ensemble import EnsembleConfig, EnsembleModel
from mars_core.model.order_model import OrderModel, OrderModelConfig
from mars_core.model.tokenizer import OrderTokenizer
from mars_core.model.vqvae import VQVAE, VQVAEConfig, encode_images
from mars_core.paths import BATCH_MODEL_DIR, ENSEMBLE_DIR, ORDER_MODEL_DIR, VQVAE_DIR

# the order model's format; 2: the context holds the spread; 3: spread bins, the flow context, the L1 volume input
CHECKPOINT_FORMAT = 3
VQVAE_FILE, VQVAE_FORMAT = "vqvae.pt", 1
BATCH_MODEL_FILE, BATCH_FORMAT = "batch_model.pt", 1
ENSEMBLE_FILE, ENSEMBLE_FORMAT = "ensemble.pt", 2  # 2: the pace of the minute is an input


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

    Raises:
        MarsInputError: the file is missing (the message says how to train one) or unreadable.
    """
    path = Path(path) if path is not None else default_dir
    if path.is_dir():
        path = path / filename
    if not path.is_file():
        raise MarsInputError(f"no {what} at {path}; train one with `{train_hint}`")
    try:
        return path, torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: say which and why
        raise MarsInputError(f"cannot read {what} {path}: {err}") from err


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
    model = OrderModel(OrderModelConfig(**payload["model_args"]))
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
    model = VQVAE(VQVAEConfig(**payload["model_args"]))
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
    model = BatchModel(BatchModelConfig(**payload["model_args"]))
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
    model = EnsembleModel(EnsembleConfig(**payload["model_args"]))
    model.load_state_dict(payload["model"])
    return LoadedEnsemble(model.eval(), payload["tokenizer_fingerprint"], payload["summary"])
