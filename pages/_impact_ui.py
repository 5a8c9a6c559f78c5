"""UI helpers of the Market Impact and Impact Factors pages: the study form, the studies on disk, live progress, reports.

Business logic stays in `mars_core.experiments.impact` (running) and `analysis.impact_results`
/ `analysis.report` (reading, figures, reports); this module turns form fields
into a `StudyConfig` with errors that name the field as the page labels it,
lists and loads studies with caches keyed on (path, modification stamp), and
watches a running study's directory for finished arms.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from analysis.charts import study as study_charts
from analysis.impact_results import StudyResults
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.engine import parse_clock
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments.impact import PAPER_CONFIGS, PartialResults, StudyConfig, parse_agent_name, plan
from mars_core.experiments.reports import load_study
from mars_core.store import finished_arms, scan
from pages import _runs_ui, _ui

PAPER_AGENTS = [parse_agent_name(name) for name in PAPER_CONFIGS]  # (AP level, PVR)
DEFAULT_Q = "0.01, 0.02, 0.05, 0.1, 0.2"
AP_LEVELS = (0, 1, 2, 3, 4, 5)
MAX_ROLLOUTS = 256
# The form's numbers and their ranges (label, low, high, whole numbers only): checked as typed, so a value outside
# disables Run with a message instead of the field silently keeping its previous value.
NUMBER_RANGES = {
    "mi_exec": ("Execution (min)", 1, 60, False),
    "mi_horizon": ("Observation after (min)", 0, 120, False),
    "mi_rollouts": ("Rollouts", 1, MAX_ROLLOUTS, True),
    "mi_seed": ("Seed", 0, 2**31 - 1, True),
    "mi_interval": ("Slice interval (s)", 5, 300, False),
    "mi_pre": ("Pre-trade window (min)", 3, 120, True),
    "mi_alpha": ("α (LOB pressure)", 0.01, 0.99, False),
    "mi_beta": ("β (LOB depth)", 0.01, 0.99, False),
}
LIVE_REDRAW_S = 1.5  # redraw a running study's partial results at most this often
SELECTED = "impact_selected_study"  # session key shared by both pages: the study being looked at
FIELD_LABELS = {
    "name": "Study name",
    "symbols": "Symbol",
    "dates": "Date",
    "start_times": "Start times",
    "execution_minutes": "Execution (min)",
    "horizon_minutes": "Observation after (min)",
    "side": "Side",
    "q_over_v": "Q/V values",
    "configs": "TWAP agents",
    "interval_s": "Slice interval (s)",
    "rollouts": "Rollouts",
    "background": "Background",
    "seed": "Seed",
    "pre_trade_minutes": "Pre-trade window (min)",
    "alpha": "α (LOB pressure)",
    "beta": "β (LOB depth)",
}


# ---- the study form --------------------------------------------------------------------------------


def agent_name(ap: int, pvr: float) -> str:
    return f"L{int(ap)}-P{float(pvr):g}"


def default_agents() -> pd.DataFrame:
    return pd.DataFrame({"AP level": [ap for ap, _ in PAPER_AGENTS], "PVR": [pvr for _, pvr in PAPER_AGENTS]})


def agent_names(table: pd.DataFrame) -> list[str]:
    """Names (L{AP}-P{PVR}) of the agent table's rows; empty rows are ignored, bad ones named by row."""
    names, problems = [], []
    for i, (ap, pvr) in enumerate(zip(table.get("AP level", []), table.get("PVR", [])), start=1):
        if _missing(ap) and _missing(pvr):
            continue
        if _missing(ap) or _missing(pvr):
            problems.append(f"row {i}: set both the AP level and the PVR")
        elif int(ap) not in AP_LEVELS:
            problems.append(f"row {i}: AP level must be one of {', '.join(map(str, AP_LEVELS))}, was {ap}")
        elif not 0 <= float(pvr) <= 1:
            problems.append(f"row {i}: PVR must lie between 0 and 1, was {pvr}")
        elif agent_name(ap, pvr) in names:
            problems.append(f"row {i}: {agent_name(ap, pvr)} is listed twice")
        else:
            names.append(agent_name(ap, pvr))
    if problems:
        raise ConfigError("TWAP agents: " + "; ".join(problems))
    if not names:
        raise ConfigError("TWAP agents: add at least one agent (AP level and PVR)")
    return names


def _missing(value: object) -> bool:
    return (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def out_of_range(values: dict[str, object]) -> list[str]:
    """One line per number of the form (by widget key) that is missing or outside its range, naming the field."""
    return _runs_ui.out_of_range((NUMBER_RANGES[k][0], v, *NUMBER_RANGES[k][1:]) for k, v in values.items())


def parse_q_values(text: str) -> tuple[tuple[float, ...], list[str]]:
    """Q/V values typed as a list ('0.01, 0.05 10%'): the valid ones, sorted and once each, and one line per entry
    that was rejected (not a number, or outside (0, 1])."""
    out, rejected = [], []
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        try:
            q = float(token[:-1]) / 100 if token.endswith("%") else float(token)
        except ValueError:
            rejected.append(f"{token!r} is not a number")
            continue
        if not 0 < q <= 1:
            rejected.append(f"{token} is outside (0, 1]: Q/V is a fraction of the market volume, e.g. 0.05 or 5%")
        elif q not in out:
            out.append(q)
    return tuple(sorted(out)), rejected


def parse_start_times(values: Iterable[object]) -> tuple[str, ...]:
    """Start times as HH:MM[:SS] strings, sorted; typed entries are checked."""
    out, bad = [], []
    for value in values:
        text = value.strftime("%H:%M") if isinstance(value, dt.time) else str(value).strip()
        try:
            parse_clock(text)
        except ValueError:
            bad.append(f"{text!r} is not HH:MM")
            continue
        if text not in out:
            out.append(text)
    if bad:
        raise ConfigError("Start times: " + "; ".join(bad))
    if not out:
        raise ConfigError("Start times: choose at least one")
    return tuple(sorted(out, key=parse_clock))


def friendly(err: MarsInputError | str) -> str:
    """A config error with its field names as the form labels them."""
    text = str(err).replace("Value error, ", "")
    if re.match(r"^[^:\s]+\.(ya?ml|json): ", text):  # an uploaded file: keep its own key names
        return text
    text = re.sub(r"^(study|study config|StudyConfig): ", "", text)
    for key, label in FIELD_LABELS.items():
        text = re.sub(rf"(^|; ){key}(\.\d+)?: ", rf"\1**{label}**: ", text)
    return text


def study_from_form(fields: dict) -> StudyConfig:
    """Validate the form's fields into a study; errors name the field as labelled on the page."""
    try:
        return StudyConfig.from_dict(fields, where="study")
    except ConfigError as err:
        raise ConfigError(friendly(err)) from None


def study_from_upload(name: str, data: bytes) -> StudyConfig:
    """A study from an uploaded YAML/JSON file; errors name the file and the field (the checks of `mars impact`)."""
    return StudyConfig.parse(data, name)


def scale_hint(symbol: str, date: dt.date, start_times: list, execution: float, data_dir: Path | None) -> str:
    """What Q/V means in shares, from the real day's volume in the first execution window."""
    try:
        start_ns = parse_clock(parse_start_times(start_times)[0])
        volume = int(
            _ui.trades(symbol, date.isoformat(), str(data_dir), start_ns, start_ns + int(execution * NS_PER_MINUTE))[
                "size"
            ].sum()
        )
    except (MarsInputError, ValueError, IndexError):
        return "V is the market volume the simulated baselines trade in the execution window."
    return (
        f"For scale: the real day traded {volume:,} shares in the {execution:g} minutes from {_ui.fmt_hms(start_ns)[:5]}, "
        f"so Q/V = 0.1 would be about {volume // 10:,} shares. The study measures V on its own baselines."
    )


# ---- studies on disk -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyEntry(_runs_ui.RunEntry):
    arms_done: int = 0
    arms_total: int = 0

    @property
    def label(self) -> str:
        c = self.config
        what = (
            f"{', '.join(c.get('symbols', []))} {', '.join(c.get('dates', []))} {', '.join(c.get('start_times', []))}"
        )
        state = "" if self.finished else f" · unfinished ({self.arms_done}/{self.arms_total} arms)"
        return f"{c.get('name', self.path.name)} · {what} · {c.get('background', '?')} · {self.when}{state}"


def list_studies(root: Path) -> tuple[list[StudyEntry], list[str]]:
    """Studies under `root` (root/*/ and root/*/*/), newest first, and a line per unreadable one."""
    found, problems = scan(root, "study.json", "study")
    entries = []
    for listed in found:
        results = listed.path / StudyEntry.RESULTS
        finished = results.is_file()
        try:
            total = plan(StudyConfig.from_dict(listed.config))["arms"]
        except ConfigError:  # written by another version: listed, without a total
            total = 0
        modified = max(listed.modified, results.stat().st_mtime if finished else 0.0)
        entries.append(
            StudyEntry(
                listed.path, listed.config, finished, modified, arms_done=finished_arms(listed.path), arms_total=total
            )
        )
    return _runs_ui.newest_first(entries), problems


def choose_study(entries: Sequence[StudyEntry], key: str, label: str = "Study") -> StudyEntry | None:
    """A selectbox over the studies; the choice is shared by both impact pages."""
    return _runs_ui.choose_run(entries, key, SELECTED, label, "Studies")


@st.cache_resource(max_entries=8, show_spinner="Loading the study…")
def results(path: str, stamp: float) -> StudyResults:  # noqa: ARG001 (stamp: the cache key)
    return load_study(path)


# ---- reports ---------------------------------------------------------------------------------------


def report_downloads(entry: StudyEntry, data_dir: str | Path | None, key: str) -> None:
    """HTML and PDF report buttons of a finished study."""
    _runs_ui.report_downloads(entry, data_dir, key, name=f"{entry.config.get('name', entry.path.name)}_impact_report")


# ---- a running study -------------------------------------------------------------------------------


@dataclass
class LiveStudy:
    """A running study's partial results (`impact.PartialResults`) and how long it has left."""

    study: StudyConfig
    path: Path
    clock: _runs_ui.ProgressClock = field(default_factory=_runs_ui.ProgressClock)
    drawn: float = 0.0  # when the partial results were last drawn

    def __post_init__(self) -> None:
        self.partial = PartialResults(self.study, self.path)

    def eta(self, done: int, total: int) -> str:
        """Elapsed and remaining time, from the arms finished in this session."""
        return self.clock.eta(done, total)

    def refresh(self, budget_s: float = 0.5) -> pd.DataFrame:
        """Pick up newly finished treated arms (within a time budget) and return all rows so far."""
        return self.partial.refresh(budget_s)

    def show_progress(self, progress_slot, done: int, total: int) -> None:  # noqa: ANN001 (a Streamlit placeholder)
        progress_slot.progress(done / total, text=f"Simulating… {done:,} of {total:,} arms · {self.eta(done, total)}")

    def show_arm(self, slots: Sequence, done: int, total: int) -> None:
        """An arm finished: the progress, and the partial results (at most every LIVE_REDRAW_S) in
        slots = (progress, status, live)."""
        progress_slot, status_slot, live_slot = slots
        self.show_progress(progress_slot, done, total)
        now = time.perf_counter()
        if now - self.drawn >= LIVE_REDRAW_S or done == total:
            self.drawn = now
            frame = self.refresh()
            with live_slot.container():
                if frame.empty:
                    st.caption(
                        "Baselines first (the futures without the agent, which fix V); partial results "
                        "appear as the agents' rollouts finish."
                    )
                else:
                    st.plotly_chart(study_charts.live_figure(frame), key=f"mi_live_chart_{done}")
                    st.caption(
                        f"Partial results: {len(frame):,} of {plan(self.study)['trajectories']:,} paired "
                        "trajectories. Fits run once every rollout has finished."
                    )
        if done == total:
            status_slot.info(
                "All simulations finished; fitting the square-root law, the SINDy formula and the decay ODE…",
                icon=":material/functions:",
            )

    def tick(self, slots: Sequence, last: tuple[int, int, dict] | None, elapsed: float) -> None:
        """Between arms (every poll: that is where Streamlit's own Stop reaches the page): how far the study is."""
        if last is None:
            slots[0].progress(0.0, text=f"Starting: checking the data and the windows… {elapsed:.0f} s")
        else:
            self.show_progress(slots[0], *last[:2])
