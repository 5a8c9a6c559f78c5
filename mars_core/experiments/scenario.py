"""What-if under a scenario: the same start run controlled or not, with or without a TWAP agent.

A scenario is a target path for the mid (`control.signals.ControlSignal`: a retrieved
historical window or a replayed price curve). Each arm runs R rollouts of the order model
from the same real start with the same rollout seeds (common random numbers,
`control.run.run_controlled`): controlled toward the target or not, and, when an agent is
set, with it or without it, so each difference is the doing of the control or of the agent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from analysis.charts.scenario import impact_paths
from mars_core.control.controller import ControlSettings, cached_control_kit
from mars_core.control.run import run_controlled
from mars_core.control.signals import ControlSignal, mid2_at
from mars_core.data.schema import NS_PER_MINUTE, LobsterDay
from mars_core.engine import format_clock
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments.stress_eval import flow_fidelity, real_flow, rollout_minutes
from mars_core.sim.agents.twap import TWAPConfig

HISTORY_MINUTES = 15  # real minutes drawn before the start (Fig. 16 shows 15)


TWAP_INTERVAL_S = 30.0


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
    kind: str = "replay"  # the scenario kind of the target (`ScenarioSpec.kind`); a replay curve: "replay"
    fidelity: dict[str, float] = field(default_factory=dict)  # controlled flow / the real flow after the start

    def impacts(self) -> dict[str, np.ndarray]:
        """Arm without the agent -> (R, H) impact in bps of adding it (same seeds: the difference is the agent's doing)."""
        if self.twap is None:
            return {}
        return {
            base: impact_paths(self.paths[f"{base}_twap"], self.paths[base], self.twap.side)
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
    settings: ControlSettings | None = None,
    progress: Callable[[Arm, int], None] | None = None,
) -> ScenarioRun:
    """Every arm from the same start with the same rollout seeds (common random numbers).

    Raises:
        MarsInputError: a model is missing or the start cannot be simulated (from `run_controlled`).
    """
    if any(a.twap for a in arms) and twap is None:
        raise ConfigError("TWAP agent: set its side and volume")
    history, real = real_context(day, start_ts, signal.minutes)
    out = ScenarioRun(
        f"{day.info.key} from {format_clock(start_ts)[:5]}, {rollouts} rollout{'s' * (rollouts != 1)}",
        signal.logret[1:],
        history=history,
        real=real if len(real) == signal.minutes else None,
        twap=twap if any(a.twap for a in arms) else None,
        kind=signal.meta.get("spec", {}).get("kind", "replay"),
    )
    for n, arm in enumerate(arms):
        if progress:
            progress(arm, n)
        flow = arm.key == "control"
        run = run_controlled(
            day,
            start_ts,
            signal,
            rollouts,
            seed,
            control=arm.control,
            twap=twap if arm.twap else None,
            settings=settings,
            flow=flow,
        )
        if flow and len(real) == signal.minutes:
            out.fidelity = flow_fidelity(real_flow(day, start_ts, signal.minutes), rollout_minutes(run, day, start_ts))
        out.paths[arm.key], out.labels[arm.key] = run.paths, arm.label
        out.fills[arm.key], out.seconds[arm.key] = run.fills, run.seconds
    return out
