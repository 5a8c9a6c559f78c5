"""UI-side helpers of the Order Model page: the shipped model's files, evaluations, live generation.

No widgets here (the page draws them). Cached loaders are keyed on paths and
modification times, never on loaded objects, so a retrained model (a new
`model.pt`, `metrics.jsonl` or `scaling.json`) shows up on the next rerun.
Nothing assumes the model's sizes or context width: all of it is read from the files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pandas as pd
import streamlit as st

from analysis.charts.training import parse_metrics
from mars_core import paths
from mars_core.data.schema import NS_PER_MINUTE, DatasetInfo
from mars_core.engine import format_clock, parse_clock
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments import model_eval
from mars_core.experiments.generation import Generation
from mars_core.experiments.generation import generation as generation_of
from mars_core.experiments.model_eval import evaluate_model
from mars_core.model.checkpoint import cached_order_model, load_order_model
from mars_core.model.dataset import VAL_START_NS
from mars_core.model.vocab import N_LOB_BINS
from mars_core.sim.config import SESSION_CLOSE, SimConfig
from mars_core.store import RunDir, scan
from pages import _runs_ui, _ui

DEFAULT_TRAIN_COMMAND = "mars train order-model --symbols GOOG AMZN --out assets/models/order_model"
HELD_OUT = (format_clock(VAL_START_NS)[:5], format_clock(SESSION_CLOSE)[:5])  # the validation split: to the close
QUICK_EVAL = {"minutes": 3, "every": 30, "rollouts": 2}  # the page's small evaluation: 3 start points per symbol
LIVE_DEFAULT_START = dt.time(14, 40)
MAX_LIVE_MINUTES, MAX_LIVE_ROLLOUTS = 3, 4  # a short generation: a few hundred orders a minute per rollout


def mtime(path: Path | None) -> float:
    """A file's modification time (0 when missing): part of every cache key."""
    try:
        return path.stat().st_mtime if path is not None else 0.0
    except OSError:
        return 0.0


# ---- the shipped model ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShippedFiles:
    """What `assets/models/order_model` holds (None: missing)."""

    directory: Path
    checkpoint: Path | None
    card: str | None
    metrics: Path | None
    scaling: Path | None

    @property
    def train_command(self) -> str:
        return train_command(self.card)


def shipped_files(directory: Path | None = None) -> ShippedFiles:
    """The order model's files in `directory` (default: `order_model` under the dashboard's models folder)."""
    directory = paths.MODELS_DIR / _ui.ORDER_MODEL if directory is None else directory

    def existing(name: str) -> Path | None:
        path = directory / name
        return path if path.is_file() else None

    card = existing("model_card.md")
    return ShippedFiles(
        directory,
        existing("model.pt"),
        card.read_text(encoding="utf-8", errors="replace") if card else None,
        existing("metrics.jsonl"),
        existing("scaling.json"),
    )


def file_sizes(directory: Path) -> list[tuple[str, int]]:
    """(name, bytes) of the files in `directory`, by name; a file that vanishes meanwhile (a checkpoint
    being replaced) is left out."""
    sizes = []
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        try:
            if path.is_file():
                sizes.append((path.name, path.stat().st_size))
        except OSError:
            continue
    return sizes


def train_command(card: str | None) -> str:
    """The exact training command of the model card, else the default one."""
    found = re.search(r"`(mars train order-model[^`]*)`", card or "")
    return found.group(1).strip() if found else DEFAULT_TRAIN_COMMAND


def demote_headings(markdown: str, by: int = 2) -> str:
    """Markdown with every heading `by` levels smaller (a card's "# Title" under the page's own title);
    lines inside code fences are left alone."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            line = "#" * min(6, len(line) - len(line.lstrip("#")) + by) + line[len(line) - len(line.lstrip("#")) :]
        out.append(line)
    return "\n".join(out)


@st.cache_resource(max_entries=2, show_spinner="Loading the order model…")
def load_model(path: str, stamp: float):  # noqa: ARG001 (stamp: the cache key)
    """The checkpoint, ready to sample (a `LoadedModel`).

    A new checkpoint (new stamp) also drops the generative background's per-process copy,
    so the next generation samples from the model this page shows.

    Raises:
        MarsInputError: unreadable, or made for another version of the model code (e.g. another
            context width), with what to do.
    """
    try:
        model = load_order_model(path)
    except MarsInputError:
        raise
    except (RuntimeError, KeyError, TypeError, ValueError) as err:  # weights that do not fit this code's model
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise MarsInputError(
            f"{path} does not fit this version of the order-model code ({first}). Update the code "
            "to the version that wrote it, or retrain with this one."
        ) from None
    cached_order_model.cache_clear()
    return model


def context_columns(loaded) -> int:  # noqa: ANN001 (a LoadedModel)
    """Book-context columns each token carries, read off the checkpoint's weights (one row per column and bin)."""
    return int(loaded.model.lob_proj.shape[0]) // N_LOB_BINS


@st.cache_data(max_entries=4, show_spinner=False)
def model_tag(path: str, stamp: float) -> str:  # noqa: ARG001
    """8 hex digits of the checkpoint's SHA-256: names the runs it generated, so a retrained model never reuses them."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:8]


@st.cache_data(max_entries=4, show_spinner=False)
def training_log(path: str, stamp: float) -> tuple[pd.DataFrame, dict]:  # noqa: ARG001
    """`metrics.jsonl` as (evaluation rows, final summary). Raises MarsInputError on a bad line."""
    try:
        return parse_metrics(Path(path).read_text(encoding="utf-8"), where=path)
    except ValueError as err:
        raise MarsInputError(str(err)) from None


@st.cache_data(max_entries=4, show_spinner=False)
def scaling_study(path: str, stamp: float) -> dict:  # noqa: ARG001
    """`scaling.json`. Raises MarsInputError when it is not a study."""
    try:
        study = json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as err:
        raise MarsInputError(f"{path}: not readable JSON ({err})") from None
    if not isinstance(study, dict) or not isinstance(study.get("runs"), list):
        raise MarsInputError(f"{path}: expected an object with a list of `runs`")
    for k, run in enumerate(study["runs"]):
        missing = {"size", "params", "val_nll"} - set(run)
        if missing:
            raise MarsInputError(f"{path}: run {k + 1} lacks {', '.join(sorted(missing))}")
    return study


# ---- evaluations: generated vs real flow -------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationEntry(_runs_ui.RunEntry):
    """A `mars evaluate-model` directory (its setup in evaluation.json) with a finished result.json."""

    RESULTS: ClassVar[str] = "result.json"

    result: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        r = self.result
        return (
            f"{self.when} · {', '.join(self.config.get('symbols', []))} · {r.get('starts', '?')} start points × "
            f"{r.get('rollouts', '?')} rollouts × {r.get('minutes', '?')} min · {self.path.name}"
        )


def list_evaluations(root: Path) -> tuple[list[EvaluationEntry], list[str]]:
    """The finished evaluations under `root` (root/*/ and root/*/*/), newest first, and a line per unreadable one;
    one still running (no result.json yet) is not offered."""
    found, problems = scan(root, "evaluation.json", "model evaluation")
    entries = []
    for path, setup in ((listed.path, listed.config) for listed in found):
        try:
            result = json.loads((path / EvaluationEntry.RESULTS).read_text())
        except (OSError, ValueError):
            continue
        entries.append(EvaluationEntry(path, setup, True, mtime(path / EvaluationEntry.RESULTS), result=result))
    return _runs_ui.newest_first(entries), problems


def quick_evaluation_dir(root: Path, symbol: str, tag: str) -> Path:
    return root / f"model-eval-quick-{symbol}-{tag}"


def evaluation_starts(minutes: int, every: int, window: tuple[str, str] = HELD_OUT) -> list[str]:
    """The start points `evaluate_model` uses (HH:MM)."""
    first, last = (parse_clock(t) for t in window)
    return [format_clock(t)[:5] for t in range(first, last - minutes * NS_PER_MINUTE + 1, every * NS_PER_MINUTE)]


def quick_evaluation_text() -> str:
    """What the page's quick evaluation simulates, in words."""
    q = QUICK_EVAL
    starts = len(evaluation_starts(q["minutes"], q["every"]))
    return (
        f"one symbol, {starts} start point{'s' if starts != 1 else ''} in {HELD_OUT[0]}–{HELD_OUT[1]}, "
        f"{q['rollouts']} rollout{'s' if q['rollouts'] != 1 else ''} of {q['minutes']} min per background"
    )


def run_evaluation(symbol: str, out: Path, data_dir: str, on_progress: Callable[[int, int, float], None]) -> dict:
    """The page's small `evaluate_model` (QUICK_EVAL settings), reporting `on_progress(done, total, seconds)` as each
    simulated rollout finishes. One worker: no process pool forked from a server thread that has torch loaded."""
    q, started = QUICK_EVAL, time.perf_counter()
    return evaluate_model(
        [symbol],
        out,
        q["minutes"],
        q["every"],
        q["rollouts"],
        window=HELD_OUT,
        data_dir=data_dir,
        workers=1,
        progress=lambda done, total, _arm: on_progress(done, total, time.perf_counter() - started),
    )


@st.cache_data(max_entries=4, show_spinner="Reading the evaluation's order flow…")
def evaluation_frames(path: str, stamp: float, data_dir: str) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:  # noqa: ARG001
    """`model_eval.evaluation_frames`, cached on the evaluation's stamp. Raises MarsInputError when a day is missing."""
    return model_eval.evaluation_frames(path, data_dir)


# ---- live generation ---------------------------------------------------------------------------------


def build_generation(
    info: DatasetInfo, start: dt.time | None, minutes: float | None, rollouts: int | None, seed: int | None
) -> SimConfig:
    """The generation's configuration (the LMM background alone, a book snapshot after every event).

    Raises:
        ConfigError: one line per problem, naming the field.
    """
    problems = []
    if start is None:
        problems.append("Start: pick a start time.")
    if minutes is None or not 1 <= minutes <= MAX_LIVE_MINUTES:
        problems.append(
            f"Minutes: choose between 1 and {MAX_LIVE_MINUTES} (was {'empty' if minutes is None else f'{minutes:g}'})."
        )
    if rollouts is None or not 1 <= rollouts <= MAX_LIVE_ROLLOUTS:
        problems.append(
            f"Rollouts: choose between 1 and {MAX_LIVE_ROLLOUTS} (was {'empty' if rollouts is None else rollouts})."
        )
    if seed is None or seed < 0:
        problems.append(f"Seed: enter a whole number, 0 or more (was {'empty' if seed is None else seed}).")
    if problems:
        raise ConfigError("\n".join(problems))
    config = SimConfig.from_dict(
        {
            "symbol": info.symbol,
            "date": info.date.isoformat(),
            "start": start.strftime("%H:%M:%S"),
            "minutes": float(minutes),
            "rollouts": int(rollouts),
            "background": "lmm",
            "seed": int(seed),
            "snapshot_interval_ms": 0,
        },
        where="Generation",
    )
    try:
        config.check_window(info)
    except ConfigError as err:
        raise ConfigError(f"Start: {err}; pick a start and length inside it.") from None
    return config


@st.cache_data(max_entries=8, show_spinner="Reading the generated orders…")
def generation(
    path: str, finished: tuple[tuple[int, str], ...], model_path: str, model_stamp: float, data_dir: str
) -> Generation:
    """`generation.generation` of a finished run with the page's model, cached on the run's finished arms."""
    config = RunDir.open(path).config
    tok = load_model(model_path, model_stamp).tokenizer
    return generation_of(path, finished, tok, _ui.day(config["symbol"], config["date"], data_dir))
