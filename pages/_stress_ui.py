"""The Scenarios page's stress suite: `mars control-eval --stress` set up, run, followed and read back on the page.

The suite itself (targets, starts, arms, figures, its evaluation directory) lives in
`mars_core.experiments.stress_eval`; this module turns the form into `StressSettings`, estimates the time, runs
the suite as a page job (`pages._jobs`), lists the evaluations on disk and turns their `summary.json` into the
tables the page shows (the CLI's JSON, figure for figure).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import streamlit as st

from analysis.minute_metrics import FLOW_NAMES
from mars_core import paths
from mars_core.control.scenarios import parse_prompt
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments.stress_eval import (
    ARMS,
    DEFAULT_SUITE,
    EVALUATIONS_DIR,
    FIDELITY,
    FIDELITY_BAND,
    MARKER,
    SUITE,
    StressSettings,
    evaluation_dir,
    run_stress,
)
from mars_core.sim.executor import Executor, default_executor
from mars_core.store import scan
from pages import _jobs, _runs_ui
from pages._ui import show_error

JOB, SELECTED, RESUME = "ss_job", "ss_selected", "ss_resume"  # session keys: the running job, the run looked at
FORM_DEFAULTS = {
    "ss_scenarios": list(DEFAULT_SUITE),
    "ss_starts": 1,
    "ss_rollouts": 4,
    "ss_window": "held_out",
    "ss_twap": False,
}
WINDOWS = {"held_out": "Held-out afternoon (14:30–16:00)", "training": "Training window (10:00–14:30)"}
ARM_LABELS = {
    "control": "Controlled",
    "no_control": "Uncontrolled",
    "control_twap": "Controlled, with TWAP",
    "no_control_twap": "Uncontrolled, with TWAP",
}
MEASURED = {"trend_reversal": "move at the turn", "volatility_spike": "1-minute volatility"}
# wall seconds per lockstep group and per rollout-minute: the held-out suite (96 groups, 7,552 rollout-minutes) took
# 1,177 s on the 2 workers of the shared 2-core machine (load 2.3-3; its first run, at load 2.5-6, 1,898 s)
GROUP_S, ROLLOUT_MINUTE_S = 2.0, 0.13
SMALL_STARTS, SMALL_ROLLOUTS = 4, 8  # the sample: at least 4 starts over both days, 8 rollouts


def scenario_label(name: str) -> str:
    """The suite's scenario as its parsed prompt reads ("Sharp drop of 1% over 3 minutes")."""
    return parse_prompt(SUITE[name]).describe()


def minutes_of(name: str) -> int:
    return parse_prompt(SUITE[name]).duration_min


# ---- the form ------------------------------------------------------------------------------------


def settings_from_form(fields: dict[str, Any]) -> StressSettings:
    """The suite's settings from the form's fields; ConfigError naming the field as labelled."""
    problems = []
    if not fields.get("scenarios"):
        problems.append("**Scenarios**: choose at least one")
    if not fields.get("symbols"):
        problems.append("**Symbols**: choose at least one")
    problems += _runs_ui.out_of_range(
        [
            ("Starts per day", fields.get("starts_per_day"), 1, 20, True),
            ("Rollouts per start", fields.get("rollouts"), 1, 64, True),
        ]
    )
    if problems:
        raise ConfigError("; ".join(problems))
    fields = {**fields, "starts_per_day": int(fields["starts_per_day"]), "rollouts": int(fields["rollouts"])}
    return StressSettings.from_dict(fields, "stress suite")


def plan(settings: StressSettings, days: int) -> dict[str, int]:
    """Lockstep groups, simulated rollout-minutes and a rough time (seconds on the 2-core machine under load)."""
    starts = settings.starts_per_day * days
    arms = sum(settings.twap or not twap for _, twap in ARMS.values())
    groups = len(settings.scenarios) * starts * arms
    minutes = sum(minutes_of(n) for n in settings.scenarios) * starts * arms * settings.rollouts
    return {
        "starts": starts,
        "groups": groups,
        "rollout_minutes": minutes,
        "seconds": round(groups * GROUP_S + minutes * ROLLOUT_MINUTE_S),
    }


def too_small(starts: int, rollouts: int) -> str | None:
    """Why a suite is too small to judge whether its scenarios are reached, or None."""
    if starts >= SMALL_STARTS and rollouts >= SMALL_ROLLOUTS:
        return None
    return (
        f"{starts} start{'s' * (starts != 1)} × {rollouts} rollout{'s' * (rollouts != 1)} is too small to judge "
        f"whether a scenario is reached: the intervals are wide and one start's market dominates. The issue asks "
        f"for at least {SMALL_STARTS} starts over both days and {SMALL_ROLLOUTS} rollouts "
        "(`mars control-eval --stress` runs 2 starts per day × 8 rollouts)."
    )


def run_suite(
    settings: StressSettings, out: str, data_dir: str | None, executor: Executor, progress: Callable
) -> dict[str, Any]:
    """`run_stress` as a page job: reports (groups done, groups) as each group finishes."""
    return run_stress(settings, data_dir, progress=lambda d, t: progress(d, t, {}), executor=executor, out=out)


# ---- evaluations on disk --------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteEntry(_runs_ui.RunEntry):
    RESULTS: ClassVar[str] = "summary.json"

    groups_done: int = 0

    @property
    def label(self) -> str:
        c = self.config
        n = len(c.get("scenarios", []))
        twap = ", with TWAP" if c.get("twap") else ""
        state = "" if self.finished else f" · unfinished ({self.groups_done} groups done)"
        return (
            f"{c.get('window', '?')} · {n} scenario{'s' * (n != 1)} · {'+'.join(c.get('symbols', []))} · "
            f"{c.get('starts_per_day', '?')} start/day × {c.get('rollouts', '?')} rollouts{twap} · {self.when}{state}"
        )


def list_suites(root: Path) -> tuple[list[SuiteEntry], list[str]]:
    """Stress evaluations under root/stress, newest first, and a line per unreadable one."""
    found, problems = scan(root / EVALUATIONS_DIR, MARKER, "stress evaluation", depth=1)
    entries = []
    for listed in found:
        results = listed.path / SuiteEntry.RESULTS
        finished = results.is_file()
        modified = results.stat().st_mtime if finished else listed.modified
        done = len(list((listed.path / "units").glob("*.npz")))
        entries.append(SuiteEntry(listed.path, listed.config, finished, modified, groups_done=done))
    return _runs_ui.newest_first(entries), problems


@st.cache_data(max_entries=8, show_spinner=False)
def summary(path: str, stamp: float) -> dict[str, Any]:  # noqa: ARG001 (stamp: the cache key)
    """A finished suite's summary.json."""
    try:
        return json.loads((Path(path) / SuiteEntry.RESULTS).read_text())
    except (OSError, ValueError) as err:
        raise MarsInputError(f"{path}: its summary.json cannot be read ({err})") from None


# ---- tables --------------------------------------------------------------------------------------


def fmt(x: float | None, digits: int = 2, sign: bool = False) -> str:
    """A figure as the tables show it ("–" when missing)."""
    return "–" if x is None else f"{x:{'+' if sign else ''}.{digits}f}"


def fmt_interval(x: dict[str, Any] | None, digits: int = 2, sign: bool = False) -> str:
    """ "mean [lo, hi]" of {"mean", "ci"}."""
    if not x:
        return "–"
    lo, hi = x["ci"]
    return f"{fmt(x['mean'], digits, sign)} [{fmt(lo, digits, sign)}, {fmt(hi, digits, sign)}]"


def reach_table(s: dict[str, Any]) -> pd.DataFrame:
    """One row per scenario and arm: target, realised/target with its 95% interval, side, correlation, RMS, and the
    TWAP's shortfall on the arms with one."""
    rows = []
    for name, f in s["scenarios"].items():
        kind = parse_prompt(SUITE[name]).kind
        for arm, a in f["arms"].items():
            rows.append(
                {
                    "Scenario": scenario_label(name),
                    "Run": ARM_LABELS[arm],
                    "Measured as": MEASURED.get(kind, "move at the end"),
                    "Target (bps)": fmt(f["target_bps"], 1, sign=kind != "volatility_spike"),
                    "Realised / target [95% CI]": fmt_interval(a["ratio"]),
                    "On the target's side": fmt(a["target_side"]),
                    "Correlation": fmt(a["corr"], sign=True),
                    "RMS distance (bps)": fmt(a["rms_bps"], 1),
                    "TWAP shortfall (bps) [95% CI]": fmt_interval(a.get("cost_bps"), 1, sign=True),
                }
            )
    table = pd.DataFrame(rows)
    return table if s.get("twap") else table.drop(columns="TWAP shortfall (bps) [95% CI]")


def flow_table(s: dict[str, Any]) -> pd.DataFrame:
    """One row per scenario: controlled over real per-minute flow, and the measures outside `FIDELITY_BAND`."""
    lo, hi = FIDELITY_BAND
    rows = []
    for name, f in s["scenarios"].items():
        fid = f["fidelity"]
        outside = [FLOW_NAMES[c].lower() for c in FIDELITY if fid.get(c) is None or not lo <= fid[c] <= hi]
        rows.append(
            {
                "Scenario": scenario_label(name),
                "Real window": f["window"],
                **{FLOW_NAMES[c]: fmt(fid.get(c)) for c in FIDELITY},
                f"Outside {lo:g}–{hi:g}": ", ".join(outside) or "none",
            }
        )
    return pd.DataFrame(rows)


def cost_table(s: dict[str, Any]) -> pd.DataFrame:
    """One row per scenario: the TWAP's shortfall controlled, uncontrolled and their paired difference."""
    rows = [
        {
            "Scenario": scenario_label(name),
            "Controlled": fmt_interval(c["control"], 1, sign=True),
            "Uncontrolled": fmt_interval(c["no_control"], 1, sign=True),
            "Controlled − uncontrolled (paired)": fmt_interval(c["control_minus_no_control"], 1, sign=True),
        }
        for name, f in s["scenarios"].items()
        if (c := f.get("twap_cost_bps"))
    ]
    return pd.DataFrame(rows)


def out_of_band(value: str) -> str:
    """The style of a fidelity cell: red when outside `FIDELITY_BAND`."""
    lo, hi = FIDELITY_BAND
    try:
        inside = lo <= float(value) <= hi
    except ValueError:
        return ""
    return "" if inside else "color: #b42318; font-weight: 600"


# ---- the section ---------------------------------------------------------------------------------


def stress_section(data_dir: Path, symbols: list[str], days_of: Callable[[str], int]) -> None:
    """The stress suite's form, its run (progress, Stop, resume) and the chosen evaluation's tables."""
    state = st.session_state
    _runs_ui.keep_form(FORM_DEFAULTS, ("ss_symbols",))
    state.setdefault("ss_symbols", list(symbols))
    st.caption(
        "The issue's fixed suite of prompts, each from the same start points (spread evenly over the window of "
        "every day), controlled and uncontrolled on common seeds, optionally with a TWAP agent against the move "
        "(20% of the real volume): how far each scenario is reached, by what flow, and what the agent pays under it."
    )
    settings, days = None, 0
    with st.container(border=True):
        st.pills(
            "Scenarios",
            list(SUITE),
            key="ss_scenarios",
            selection_mode="multi",
            format_func=scenario_label,
        )
        c_symbols, c_starts, c_rollouts, c_window, c_twap = st.columns([2, 1, 1, 2, 1], vertical_alignment="bottom")
        c_symbols.pills("Symbols", symbols, key="ss_symbols", selection_mode="multi")
        c_starts.number_input("Starts per day", step=1, key="ss_starts")
        c_rollouts.number_input("Rollouts per start", step=1, key="ss_rollouts", help="Per start and run (arm).")
        c_window.radio("Start points in", list(WINDOWS), key="ss_window", format_func=WINDOWS.get, horizontal=True)
        c_twap.toggle("Also with a TWAP agent", key="ss_twap", help="Both runs again with the agent: its cost.")
        resume = state.pop(RESUME, None)
        try:
            if resume is not None:
                settings = StressSettings.from_dict(resume.config, str(resume.path / MARKER))
            else:
                settings = settings_from_form(
                    {
                        "scenarios": tuple(state.ss_scenarios or ()),
                        "symbols": tuple(state.ss_symbols or ()),
                        "starts_per_day": state.ss_starts,
                        "rollouts": state.ss_rollouts,
                        "window": state.ss_window,
                        "twap": state.ss_twap,
                    }
                )
            days = sum(days_of(s) for s in settings.symbols)
        except MarsInputError as err:
            st.error(
                f"**Cannot run this suite yet.** {str(err).replace('stress suite: ', '')}", icon=":material/error:"
            )
            settings = None
        out = (resume.path if resume is not None else evaluation_dir(settings)) if settings else None
        c_run, c_plan = st.columns([1, 4], vertical_alignment="center")
        running, run_slot = state.get(JOB), c_run.empty()
        run_button, stop_shown = _runs_ui.run_or_stop(
            run_slot,
            running["job"] if running else None,
            label="Run stress suite",
            what="stress suite",
            run_key="ss_run",
            stop_key="ss_stop",
            flag="ss_run_requested",
            disabled=settings is None,
        )
        if settings is not None:
            p = plan(settings, days)
            c_plan.caption(
                f"{len(settings.scenarios)} scenario{'s' * (len(settings.scenarios) != 1)} × {p['starts']} "
                f"start{'s' * (p['starts'] != 1)} × "
                f"{p['groups'] // max(len(settings.scenarios) * p['starts'], 1)} runs = **{p['groups']} groups** of "
                f"{settings.rollouts} rollouts ({p['rollout_minutes']:,} simulated rollout-minutes): about "
                f"**{_runs_ui.fmt_duration(p['seconds'])}** on this shared 2-core machine. Results go to `{out}`"
                + (" — already there, so Run re-opens them." if (out / SuiteEntry.RESULTS).exists() else ".")
            )
            if small := too_small(p["starts"], settings.rollouts):
                st.warning(small, icon=":material/warning:")
        progress_slot = st.empty()

    if (_runs_ui.requested("ss_run_requested") or resume is not None) and settings is not None and running is None:
        state[SELECTED] = str(out)
        if not (out / SuiteEntry.RESULTS).exists():
            job = _jobs.start(run_suite, settings, str(out), str(data_dir), default_executor())
            state[JOB] = {"job": job, "clock": _runs_ui.ProgressClock()}
            st.rerun()  # draw Stop in place of Run

    if running is not None:
        clock = running["clock"]

        def show(done: int, total: int, _detail: dict | None = None) -> None:
            progress_slot.progress(
                min(done / max(total, 1), 1.0),
                text=f"Simulating… {done} of {total} groups · {clock.eta(done, total)}",
            )

        def tick(elapsed: float) -> None:
            if running["job"].last is None:
                progress_slot.progress(0.0, text=f"Retrieving the targets… {elapsed:.0f} s")
            else:
                show(*running["job"].last[:2])

        outcome = _runs_ui.follow(running["job"], show, tick)
        del state[JOB]
        if stop_shown:
            run_button()
        if _runs_ui.show_outcome(outcome, "stress suite", "fewer rollouts or scenarios", [progress_slot]) is not None:
            progress_slot.progress(1.0, text=f"Finished in {outcome.value['seconds']:.0f} s")

    show_suite(list_suites(paths.runs_root()))


def show_suite(listing: tuple[list[SuiteEntry], list[str]]) -> None:
    """The chosen evaluation's tables (or the offer to resume it)."""
    root = paths.runs_root() / EVALUATIONS_DIR
    entry = _runs_ui.pick_run(
        listing,
        lambda entries: _runs_ui.choose_run(entries, "ss_evaluation", SELECTED, "Stress evaluation", "Evaluations"),
        f"No stress suite has run yet (in `{root}`). Set one up above and press **Run stress suite**, or run "
        "`mars control-eval --stress` in a terminal.",
        ":material/bolt:",
    )
    if not entry.finished:
        _runs_ui.offer_resume(
            entry,
            "stress suite",
            f"{entry.groups_done} of its groups {'is' if entry.groups_done == 1 else 'are'} done",
            key="ss_resume_button",
            resume=RESUME,
        )
    try:
        s = summary(str(entry.path), entry.stamp)
    except MarsInputError as err:
        show_error(err, "Run the suite again to rewrite it.")
        return
    if small := too_small(s["starts"], s["rollouts"]):
        st.warning(small, icon=":material/warning:")
    st.markdown(
        f"**Reach**: {s['starts']} starts ({WINDOWS[s['window']].lower()}: {', '.join(s['start_points'])}) × "
        f"{s['rollouts']} rollouts per run; the interval is a bootstrap over the starts. The issue's targets: "
        "realised / target within 0.75–1.25 (a volatility spike's 1-minute volatility 0.75–1.33), 80% of rollouts "
        "on the target's side, correlation 0.8."
    )
    st.table(reach_table(s), border="horizontal")
    lo, hi = FIDELITY_BAND
    st.markdown(
        f"**Flow under control**: controlled rollouts over the real window the target came from, per minute; "
        f"outside the issue's band {lo:g}–{hi:g} in red."
    )
    flow = flow_table(s)
    st.table(flow.style.map(out_of_band, subset=[FLOW_NAMES[c] for c in FIDELITY]), border="horizontal")
    costs = cost_table(s)
    if len(costs):
        st.markdown(
            "**The TWAP's cost under the scenario**: implementation shortfall against the arrival mid, bps "
            "(positive: it paid more than the mid at its start), mean over starts with its 95% interval; the "
            "difference is paired by start and rollout seed."
        )
        st.table(costs, border="horizontal")
    seconds = s.get("unit_seconds", s["seconds"])
    st.caption(
        f"`{entry.path}` · generation {seconds:,.0f} s over every group, this session's run {s['seconds']:.0f} s."
    )
