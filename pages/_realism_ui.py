"""UI helpers of the Realism page: the evaluation form, evaluations on disk, cached results and reports.

Business logic stays in `mars_core.experiments.realism` (running) and
`mars_core.experiments.reports` (reading) / `analysis.realism_charts` / `analysis.report`
(reading, figures, tables, reports). This module turns the form's fields into
a `RealismConfig` with errors that name the field as the page labels it, and
lists the evaluations under the runs root with caches keyed on (path,
modification stamp).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import streamlit as st

from analysis.realism_results import RealismResults
from mars_core.engine import parse_clock
from mars_core.errors import ConfigError
from mars_core.experiments.realism import FILES, HELD_OUT, MARKER, RealismConfig
from mars_core.experiments.reports import load_evaluation
from mars_core.store import finished_arms, scan
from pages import _runs_ui

SELECTED = "re_selected"  # session key: the evaluation being looked at
FIELD_LABELS = {
    "symbol": "Symbol",
    "dates": "Dates",
    "backgrounds": "Simulated backgrounds",
    "window": "Held-out window",
    "minutes": "Future length (min)",
    "every_minutes": "Start every (min)",
    "rollouts": "Rollouts",
    "seed": "Seed",
}


def _bounds(name: str) -> tuple[int, int]:
    """The (ge, le) bounds RealismConfig validates a field with, so the form's inputs allow just what it accepts."""
    metadata = RealismConfig.model_fields[name].metadata
    return next(m.ge for m in metadata if hasattr(m, "ge")), next(m.le for m in metadata if hasattr(m, "le"))


LIMITS = {name: _bounds(name) for name in ("minutes", "every_minutes", "rollouts")}


def friendly(err: Exception) -> str:
    """A config error with its field names as the form labels them."""
    text = re.sub(r"^(evaluation|RealismConfig): ", "", str(err).replace("Value error, ", ""))
    for key, label in FIELD_LABELS.items():
        text = re.sub(rf"(^|; ){key}(\.\d+)?: ", rf"\1**{label}**: ", text)
    return text


def parse_window(first: str, last: str) -> tuple[str, str]:
    """The held-out window from two HH:MM fields; errors name the field."""
    out = []
    for name, text in (("from", first), ("to", last)):
        text = str(text).strip()
        try:
            parse_clock(text)
        except ValueError:
            raise ConfigError(f"**Held-out window** ({name}): {text!r} is not a time of day as HH:MM") from None
        out.append(text)
    if parse_clock(out[0]) >= parse_clock(out[1]):
        raise ConfigError(f"**Held-out window**: it must end after it starts, was {out[0]}–{out[1]}")
    return out[0], out[1]


def config_from_form(fields: dict) -> RealismConfig:
    """Validate the form's fields into an evaluation; errors name the field as labelled on the page."""
    if not fields.get("backgrounds"):
        raise ConfigError(
            "**Simulated backgrounds**: choose noise traders and/or the order model; the replay (the real "
            "day) is the reference they are compared with"
        )
    fields = {**fields, "window": parse_window(*fields.get("window", HELD_OUT))}
    try:
        config = RealismConfig.from_dict(fields, where="evaluation")
        config.start_times()  # the window must hold at least one future
    except ConfigError as err:
        message = friendly(err)
        if message.startswith("window "):
            message = f"**Held-out window**: {message[len('window ') :]}; shorten the futures or widen the window"
        raise ConfigError(message) from None
    return config


LMM_SECONDS = (3.0, 0.2)  # the order model, per start point and per simulated minute (2-core machine under load)


def plan(config: RealismConfig, days: int) -> dict[str, int]:
    """How much an evaluation simulates: start points, futures, simulated minutes, rough order-model seconds."""
    starts = len(config.start_times()) * days
    rollouts = starts * config.rollouts * len(config.backgrounds)
    lmm = "lmm" in config.backgrounds
    seconds = starts * LMM_SECONDS[0] + starts * config.rollouts * config.minutes * LMM_SECONDS[1] if lmm else 0
    return {
        "starts": starts,
        "rollouts": rollouts,
        "minutes": rollouts * config.minutes,
        "lmm_seconds": round(seconds),
        "fast": starts * config.rollouts * sum(b != "lmm" for b in config.backgrounds),
    }


# ---- evaluations on disk ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationEntry(_runs_ui.RunEntry):
    RESULTS: ClassVar[str] = "summary.json"

    rollouts_done: int = 0

    @property
    def label(self) -> str:
        c = self.config
        bgs = ", ".join({"noise": "noise", "lmm": "LMM"}.get(b, b) for b in c.get("backgrounds", [])) or "replay only"
        days = ", ".join(c.get("dates", [])) or "all days"
        state = "" if self.finished else f" · unfinished ({self.rollouts_done} rollouts done)"
        return (
            f"{c.get('symbol', '?')} {days} · {bgs} · {c.get('rollouts', '?')} rollouts × {c.get('minutes', '?')} min "
            f"every {c.get('every_minutes', '?')} min · {self.when}{state}"
        )


def list_evaluations(root: Path) -> tuple[list[EvaluationEntry], list[str]]:
    """Evaluations under `root` (root/*/ and root/*/*/), newest first, and a line per unreadable one."""
    found, problems = scan(root, MARKER, "realism evaluation")
    entries = []
    for listed in found:
        path = listed.path
        finished = all((path / name).is_file() for name in FILES)
        modified = max(listed.modified, (path / EvaluationEntry.RESULTS).stat().st_mtime if finished else 0.0)
        entries.append(EvaluationEntry(path, listed.config, finished, modified, rollouts_done=finished_arms(path)))
    return _runs_ui.newest_first(entries), problems


def choose_evaluation(entries: list[EvaluationEntry], key: str) -> EvaluationEntry | None:
    """A selectbox over the evaluations; a new run selects itself."""
    return _runs_ui.choose_run(entries, key, SELECTED, "Evaluation", "Evaluations")


@st.cache_resource(max_entries=8, show_spinner="Loading the evaluation…")
def results(path: str, stamp: float) -> RealismResults:  # noqa: ARG001 (stamp: the cache key)
    return load_evaluation(path)


def report_downloads(entry: EvaluationEntry, data_dir: str | Path | None, key: str) -> None:
    """HTML and PDF report buttons of a finished evaluation (`mars_core.experiments.reports`)."""
    symbol, name = str(entry.config.get("symbol", "")), entry.path.name
    _runs_ui.report_downloads(
        entry, data_dir, key, name=f"{name if symbol in name else f'{symbol}_{name}'}_realism_report"
    )
