"""UI helpers of the Scenarios page: reading the prompt, cached retrieval, the runs to make and their results.

The parsing, the filter and the controlled generation live in `mars_core.control`
(`scenarios`, `retrieval`, `run`); the figures in `analysis.scenario_charts`. This
module turns the page's fields into those calls and their results into tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis.bootstrap import block_bootstrap
from analysis.minute_metrics import FLOW_NAMES
from mars_core.control.retrieval import Retrieved, retrieve
from mars_core.control.scenarios import DIRECTION_LABELS, KIND_LABELS, ScenarioSpec, parse_prompt, parse_with_llm
from mars_core.control.signals import ControlSignal
from mars_core.data import find_dataset, load_day
from mars_core.errors import MarsInputError
from mars_core.experiments import scenario
from mars_core.experiments.stress_eval import FIDELITY_BAND, one_minute_vol, reach, turn_index

SMALL_ROLLOUTS, SMALL_MINUTES = 8, 5  # below either, a run is too small to judge whether a scenario is reached

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


def run_scenario(
    where: tuple[str, str, str], start_ts: int, signal: ControlSignal, arms: list, *args: object, progress: Callable
) -> scenario.ScenarioRun:
    """`scenario.run_arms` as a page job (`pages._jobs`): loads the day (symbol, date, data folder) itself and reports
    each arm as it starts, as (arms done, arms, {"arm": its label})."""
    symbol, date_iso, data_dir = where
    day = load_day(find_dataset(symbol, date_iso, Path(data_dir)))
    report = lambda arm, n: progress(n, len(arms), {"arm": arm.label})  # noqa: E731
    return scenario.run_arms(day, start_ts, signal, arms, *args, progress=report)


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


def fills_text(run: scenario.ScenarioRun) -> str:
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


def reach_table(run: scenario.ScenarioRun, kind: str) -> pd.DataFrame:
    """Per arm without the agent: the target's move, the rollouts' realised move (mean with its 95% bootstrap
    interval over rollouts), realised / target, and the share of rollouts on the target's side (as
    `mars control-eval --stress` measures them; a volatility spike's move is its 1-minute volatility)."""
    vol = kind == "volatility_spike"
    at = turn_index(run.target, kind)
    target = float(one_minute_vol(run.target)) if vol else float(run.target[at])
    rows = []
    for key, paths in run.paths.items():
        if key.endswith("_twap"):
            continue
        moves = one_minute_vol(paths) if vol else paths[:, at]
        mean, (lo, hi), _ = block_bootstrap(lambda idx, m=moves: float(m[idx].mean()), len(moves), block=1)
        ratio, side = reach(paths, run.target, kind)
        rows.append(
            {
                "Run": run.labels.get(key, key),
                "Rollouts": len(paths),
                "Target (%)": target * 100,
                "Realised, mean (%)": mean * 100,
                "95% interval (%)": f"{lo * 100:+.3f} to {hi * 100:+.3f}",
                "Realised / target": float(ratio.mean()),
                "On the target's side": float(side.mean()),
                "Per rollout (%)": ", ".join(f"{m * 100:+.2f}" for m in moves),
            }
        )
    return pd.DataFrame(rows)


def too_small(rollouts: int, minutes: int) -> str | None:
    """Why a run is too small to judge whether a scenario is reached, or None."""
    if rollouts >= SMALL_ROLLOUTS and minutes >= SMALL_MINUTES:
        return None
    return (
        f"{rollouts} rollout{'s' * (rollouts != 1)} × {minutes} minutes is too small to judge whether the scenario is "
        f"reached: one rollout's move is mostly its own noise. Use at least {SMALL_ROLLOUTS} rollouts and "
        f"{SMALL_MINUTES} minutes (`mars control-eval --stress` uses 8 rollouts from 4 starts)."
    )


def fidelity_table(fidelity: dict[str, float]) -> pd.DataFrame:
    """One row per flow measure: controlled over real, and whether it lies in `FIDELITY_BAND`."""
    lo, hi = FIDELITY_BAND
    return pd.DataFrame(
        {
            "Measure": [FLOW_NAMES[k] for k in fidelity],
            "Controlled / real": list(fidelity.values()),
            f"Within {lo:g}–{hi:g}": [bool(lo <= v <= hi) for v in fidelity.values()],
        }
    )
