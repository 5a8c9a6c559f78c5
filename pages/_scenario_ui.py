"""UI helpers of the Scenarios page: reading the prompt, cached retrieval, the runs to make and their results.

The parsing, the filter and the controlled generation live in `mars_core.control`
(`scenarios`, `retrieval`, `run`); the figures in `analysis.scenario_charts`. This
module turns the page's fields into those calls and their results into tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from analysis import scenario_charts as sc
from mars_core.control.retrieval import Retrieved, retrieve
from mars_core.control.scenarios import DIRECTION_LABELS, KIND_LABELS, ScenarioSpec, parse_prompt, parse_with_llm
from mars_core.control.signals import ControlSignal, mid2_at
from mars_core.data.schema import NS_PER_MINUTE, LobsterDay
from mars_core.errors import ConfigError, MarsInputError
from mars_core.sim.agents.twap import TWAPConfig

HISTORY_MINUTES = 15  # real minutes drawn before the start (Fig. 16 shows 15)
TWAP_INTERVAL_S = 30.0


# ---- the scenario ----------------------------------------------------------------------------------


def read_prompt(text: str, symbols: list[str]) -> ScenarioSpec:
    """The built-in parser's spec of the text (MarsInputError with examples when it cannot read it)."""
    return parse_prompt(text, symbols=symbols)


def ask_llm(text: str, url: str, model: str, api_key: str | None, timeout: float = 30.0) -> dict:
    """The language model's reading, as a record for the session state: {"key", "spec"} or {"key", "error"}."""
    key = llm_key(text, url, model)
    try:
        return {
            "key": key,
            "spec": parse_with_llm(text, url, model, api_key=api_key or None, timeout=timeout).model_dump(),
        }
    except MarsInputError as err:
        return {"key": key, "error": str(err)}


def llm_key(text: str, url: str, model: str) -> str:
    return json.dumps([text.strip(), url.strip(), model.strip()])


def spec_fields(spec: ScenarioSpec) -> list[tuple[str, str]]:
    """(label, value) of the parsed spec, for metric cards."""
    kind = KIND_LABELS[spec.kind] + (f" ({DIRECTION_LABELS[spec.direction]})" if spec.direction else "")
    if spec.magnitude_pct is None:
        magnitude = "as retrieved"
    else:
        magnitude = f"{spec.magnitude_pct:g}%" + (" volatility" if spec.kind == "volatility_spike" else "")
    return [
        ("Kind", kind),
        ("Magnitude", magnitude),
        ("Duration", f"{spec.duration_min} min"),
        ("Symbol", spec.symbol or "all days"),
    ]


@st.cache_data(max_entries=32, show_spinner="Searching the catalogued days…")
def cases(spec_json: str, data_dir_str: str, k: int) -> list[Retrieved]:
    """`retrieve` keyed on plain strings (the spec as JSON)."""
    return retrieve(ScenarioSpec.model_validate_json(spec_json), data_dir_str, k)


def cases_table(found: list[Retrieved]) -> pd.DataFrame:
    """One display row per retrieved window (the shape column only for trend reversals)."""
    table = pd.DataFrame(
        {
            "Window": [w.label for w in found],
            "Shape": [DIRECTION_LABELS[w.direction] if w.direction else "" for w in found],
            "Real return (%)": [w.real_return_pct for w in found],
            "Score": [w.score for w in found],
            "Rescaled ×": [w.scale for w in found],
            "Target end (%)": [math.expm1(float(w.signal.logret[-1])) * 100 for w in found],
        }
    )
    return table if any(w.direction for w in found) else table.drop(columns="Shape")


def truncate(signal: ControlSignal, minutes: int) -> ControlSignal:
    """The first `minutes` minutes of a signal (all of it when longer)."""
    if minutes >= signal.minutes:
        return signal
    return ControlSignal(
        f"{signal.name}, first {minutes} min",
        signal.logret[: minutes + 1],
        signal.source,
        {**signal.meta, "truncated_to": minutes},
    )


# ---- the runs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """One batch of rollouts: controlled or not, with the TWAP agent or not (same seeds across arms)."""

    key: str
    label: str
    control: bool
    twap: bool


ARMS = (
    Arm("control", "Controlled", True, False),
    Arm("no_control", "Not controlled", False, False),
    Arm("control_twap", "Controlled + TWAP", True, True),
    Arm("no_control_twap", "Not controlled + TWAP", False, True),
)


def plan_arms(control_ok: bool, compare: bool, twap: bool) -> list[Arm]:
    """The arms to run: controlled (when the control models load), uncontrolled (to compare, or when control cannot
    run), each also with the TWAP agent when one is set."""
    want = {"control"} if control_ok else set()
    if compare or not control_ok:
        want.add("no_control")
    if twap:
        want |= {f"{k}_twap" for k in want}
    return [a for a in ARMS if a.key in want]


def twap_config(side: str, volume: int, minutes: int) -> TWAPConfig:
    """A TWAP agent trading `volume` shares over the simulated minutes, a slice every 30 s."""
    duration = 60.0 * minutes
    fields = {
        "side": 1 if side == "buy" else -1,
        "volume": int(volume),
        "duration_s": duration,
        "interval_s": min(TWAP_INTERVAL_S, duration),
    }
    return TWAPConfig.from_dict(fields, where="TWAP agent")


def control_kit_problem() -> str | None:
    """Why controlled runs cannot happen (the control models do not load), or None when they can."""
    from mars_core.control.controller import cached_control_kit

    try:
        cached_control_kit()
    except MarsInputError as err:
        return str(err)
    return None


@dataclass
class ScenarioRun:
    """What the page keeps of one simulation: every arm's paths at minutes 1..H and the context to draw them."""

    title: str  # e.g. "GOOG 2012-06-21 from 11:06, 4 rollouts"
    target: np.ndarray  # (H,)
    paths: dict[str, np.ndarray] = field(default_factory=dict)  # arm key -> (R, H)
    labels: dict[str, str] = field(default_factory=dict)
    fills: dict[str, np.ndarray] = field(default_factory=dict)  # arm key -> (R,) shares the agent traded
    seconds: dict[str, float] = field(default_factory=dict)
    history: tuple[np.ndarray, np.ndarray] | None = None
    real: np.ndarray | None = None
    twap: TWAPConfig | None = None

    def impacts(self) -> dict[str, np.ndarray]:
        """Arm without the agent -> (R, H) impact in bps of adding it (same seeds: the difference is the agent's doing)."""
        if self.twap is None:
            return {}
        return {
            base: sc.impact_paths(self.paths[f"{base}_twap"], self.paths[base], self.twap.side)
            for base in ("control", "no_control")
            if base in self.paths and f"{base}_twap" in self.paths
        }

    def impact_labels(self) -> dict[str, str]:
        return {"control": "Controlled", "no_control": "Not controlled"}


def real_context(day: LobsterDay, start_ts: int, minutes: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """The real mid before the start (minutes -15..0) and after it (1..minutes), as log-returns from the start mid;
    points outside the day's data are left out."""
    first = max(-HISTORY_MINUTES, -int((start_ts - day.info.ts_start) // NS_PER_MINUTE))
    before = np.arange(first, 1)
    after = np.arange(1, minutes + 1)
    ts = start_ts + np.r_[before, after] * NS_PER_MINUTE
    logmid = np.log(mid2_at(day, ts).astype(float) / float(mid2_at(day, [start_ts])[0]))
    real = logmid[len(before) :]
    if start_ts + minutes * NS_PER_MINUTE > day.info.ts_end:
        real = real[: max(0, int((day.info.ts_end - start_ts) // NS_PER_MINUTE))]
    return (before.astype(float), logmid[: len(before)]), real


def run_arms(
    day: LobsterDay,
    start_ts: int,
    signal: ControlSignal,
    arms: list[Arm],
    rollouts: int,
    seed: int,
    twap: TWAPConfig | None,
    settings=None,
    progress: Callable[[Arm, int], None] | None = None,
) -> ScenarioRun:
    """Every arm from the same start with the same rollout seeds (common random numbers).

    Raises:
        MarsInputError: a model is missing or the start cannot be simulated (from `run_controlled`).
    """
    from mars_core.control.run import run_controlled
    from mars_core.engine import format_clock

    if any(a.twap for a in arms) and twap is None:
        raise ConfigError("TWAP agent: set its side and volume")
    history, real = real_context(day, start_ts, signal.minutes)
    out = ScenarioRun(
        f"{day.info.key} from {format_clock(start_ts)[:5]}, {rollouts} rollout{'s' * (rollouts != 1)}",
        signal.logret[1:],
        history=history,
        real=real if len(real) == signal.minutes else None,
        twap=twap if any(a.twap for a in arms) else None,
    )
    for n, arm in enumerate(arms):
        if progress:
            progress(arm, n)
        run = run_controlled(
            day,
            start_ts,
            signal,
            rollouts,
            seed,
            control=arm.control,
            twap=twap if arm.twap else None,
            settings=settings,
        )
        out.paths[arm.key], out.labels[arm.key] = run.paths, arm.label
        out.fills[arm.key], out.seconds[arm.key] = run.fills, run.seconds
    return out


def fills_text(run: ScenarioRun) -> str:
    """The agent's mean fill per arm against its target volume."""
    if run.twap is None:
        return ""
    parts = [
        f"{run.labels[k]}: {run.fills[k].mean():,.0f} of {run.twap.volume:,} shares"
        for k in run.paths
        if k.endswith("_twap")
    ]
    side = "buy" if run.twap.side == 1 else "sell"
    return f"TWAP {side} agent filled, on average, " + "; ".join(parts) + "."
