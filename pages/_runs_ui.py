"""UI helpers shared by the pages that run studies and evaluations: form state, runs on disk, progress, reports."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner import StopException

from analysis import report as reports
from mars_core import paths
from mars_core.errors import MarsInputError
from mars_core.experiments.reports import build_report
from pages import _jobs
from pages._ui import show_error, show_problems

# ---- pages that run studies: form state, runs on disk, progress, reports ------------------------

POLL_S = 0.4  # how often a page polls a running job
Entry = TypeVar("Entry", bound="RunEntry")
Result = TypeVar("Result")


def keep_form(defaults: Mapping[str, object], keys: Iterable[str] = ()) -> None:
    """Keep a form's values when the user visits another page and comes back.

    The defaults live in the session state, so the widgets (keyed like the
    state) take no default of their own; `keys` are further widgets to keep.
    """
    state = st.session_state
    for key in (*defaults, *keys):
        if key in state:
            state[key] = state[key]  # re-owned by this script run, so Streamlit does not drop it with its widget
    for key, value in defaults.items():
        state.setdefault(key, value)


def out_of_range(numbers: Iterable[tuple[str, object, float, float, bool]]) -> list[str]:
    """One line per (label, value, low, high, whole number) that is missing or outside [low, high], naming the field.

    The forms' number boxes take no min/max of their own: a box clamped by the browser turns red and keeps its
    previous value, so a run would start with a value other than the one shown. Checked here instead, with Run
    disabled while any line is left."""
    problems = []
    for label, value, low, high, whole in numbers:
        kind = "a whole number" if whole else "a number"
        if value is None:
            problems.append(f"**{label}**: enter {kind} from {low:g} to {high:g}")
        elif not low <= float(value) <= high or (whole and not float(value).is_integer()):
            problems.append(f"**{label}** must be {kind} from {low:g} to {high:g}, was {value:g}")
    return problems


def request(flag: str) -> Callable[[], None]:
    """A button callback that raises `flag` in the session state; read it with `requested(flag)`.

    A flag, not the button's return value: a click survives the rerun that `route_through_app` may do first.
    """
    return lambda: st.session_state.update({flag: True})


def requested(flag: str) -> bool:
    """Whether `flag` was raised since the last call (and lower it)."""
    return bool(st.session_state.pop(flag, False))


@dataclass(frozen=True)
class RunEntry:
    """A study or evaluation directory found under the runs root; subclasses name their results file and label."""

    RESULTS: ClassVar[str] = "results.json"  # written last: its modification time keys the caches

    path: Path
    config: dict
    finished: bool
    modified: float

    @property
    def label(self) -> str:
        return self.path.name

    @property
    def when(self) -> str:
        return dt.datetime.fromtimestamp(self.modified).strftime("%Y-%m-%d %H:%M")

    @property
    def stamp(self) -> float:
        """Changes whenever the results are rewritten: the key of the caches."""
        results = self.path / self.RESULTS
        return results.stat().st_mtime if results.exists() else 0.0


def newest_first(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.modified, str(e.path)), reverse=True)


def choose_run(entries: Sequence[Entry], key: str, selected: str, label: str, what: str) -> Entry | None:
    """A selectbox over runs on disk, newest first; `selected` is the session key of the one being looked at,
    which a page sets when it has just run one and which pages looking at the same kind of run share."""
    if not entries:
        return None
    by_path = {str(e.path): e for e in entries}
    state = st.session_state
    if state.get(selected) not in by_path:
        state[selected] = str(entries[0].path)
    state[key] = state[selected]
    chosen = st.selectbox(
        label,
        list(by_path),
        key=key,
        format_func=lambda p: by_path[p].label,
        on_change=lambda: state.update({selected: state[key]}),
        help=f"{what} under `{paths.runs_root()}` (set `{paths.RUNS_ENV}` to use another folder), newest first.",
    )
    return by_path[chosen]


def pick_run(
    listing: tuple[list[Entry], list[str]], choose: Callable[[list[Entry]], Entry | None], empty: str, icon: str
) -> Entry:
    """The run to look at, from (runs on disk, problems) as the page lists them: the problems are shown, no run at all
    is explained by `empty` and stops the page, and the chosen run's directory is named."""
    entries, problems = listing
    show_problems(problems)
    entry = choose(entries) if entries else None
    if entry is None:
        st.info(empty, icon=icon)
        st.stop()
    st.caption(f"`{entry.path}`")
    return entry


def offer_resume(entry: RunEntry, what: str, progress: str, key: str, resume: str) -> None:
    """Say that a run has not finished (`progress`: how far it got) and offer to resume it: the button puts the
    entry in state[`resume`] for the page to run its configuration again. Stops the page."""
    st.warning(
        f"This {what} has not finished: {progress}. Resume it to finish the rest and compute the results.",
        icon=":material/hourglass_bottom:",
    )
    st.button(
        f"Resume this {what}",
        icon=":material/resume:",
        key=key,
        on_click=lambda: st.session_state.update({resume: entry}),
    )
    st.stop()


def load_or_stop(load: Callable[[str, float], Result], entry: RunEntry, what: str) -> Result:
    """A finished run's results (cached by `load`); an unreadable one is explained and stops the page."""
    try:
        return load(str(entry.path), entry.stamp)
    except MarsInputError as err:
        show_error(err, f"Pick another {what}, or run this one again to rewrite its results.")
        st.stop()


def already_run(status_slot, selected: str, path: Path, what: str) -> None:  # noqa: ANN001 (a Streamlit placeholder)
    """Select a run that is on disk already instead of running it again."""
    st.session_state[selected] = str(path)
    status_slot.info(
        f"This exact {what} has already run (runs are deterministic by seed): its results are shown below. "
        "Change the seed or any setting for a new one.",
        icon=":material/history:",
    )


def show_outcome(
    outcome: _jobs.Outcome, what: str, smaller: str, slots: Sequence = (), friendly: Callable[[str], str] = str
) -> object | None:
    """A run's value when it finished; else clear `slots`, say what happened and what to do (never a traceback)."""
    if outcome.ok:
        return outcome.value
    kept = "finished simulations are kept"
    messages = {
        "stopped": f"**Stopped.** The {kept}: resume the {what} below to finish the rest and compute its results.",
        "input": f"**The {what} could not run.** {friendly(outcome.message)}\n\nFix the setting above and run again; {kept}.",
        "worker": f"A simulation worker process died (out of memory?). Try {smaller}, then run again; {kept}.",
        "unavailable": f"This background is not available in this build ({outcome.message}). Pick noise or replay.",
        "failed": f"**The {what} failed:** {outcome.message}. The {kept}; the server log has the details.",
    }
    for slot in slots:
        slot.empty()
    if outcome.kind == "stopped":
        st.warning(messages["stopped"], icon=":material/stop_circle:")
    else:
        st.error(messages.get(outcome.kind, messages["failed"]), icon=":material/error:")
    return None


def follow(
    job: _jobs.Job, on_progress: Callable[[int, int, dict], None], tick: Callable[[float], None]
) -> _jobs.Outcome:
    """Show a running job until it ends: `on_progress(done, total, detail)` for what finished (first the latest
    progress seen before, when the page follows a job it started in an earlier run), `tick(elapsed s)` between polls.

    Each tick draws something, which is where Streamlit's own Stop (or a closed tab) reaches the script: that stops
    the job. Any other rerun (a widget, another page) leaves it running, and the page follows it again when shown.
    """
    try:
        if job.last is not None:
            on_progress(*job.last)
        while True:
            for event in job.poll():
                on_progress(*event)
            if not job.running:
                return job.outcome
            tick(time.perf_counter() - job.started)
            time.sleep(POLL_S)
    except StopException:
        job.stop()
        raise


def run_or_stop(
    slot,  # noqa: ANN001 (a Streamlit container: st.empty() holding one button)
    job: _jobs.Job | None,
    *,
    label: str,
    what: str,
    run_key: str,
    stop_key: str,
    flag: str,
    disabled: bool,
) -> tuple[Callable[[], None], bool]:
    """A page's Run button in `slot`, or Stop while its job runs. Returns (a function that shows Run in the
    slot, e.g. in Stop's place once the job has ended; whether Stop is shown). Read a click with `requested(flag)`."""

    def run_button() -> None:
        slot.button(
            label,
            type="primary",
            icon=":material/play_arrow:",
            key=run_key,
            on_click=request(flag),
            disabled=disabled,
            width="stretch",
        )

    stop_shown = job is not None and job.running
    if stop_shown:
        stop_button(job, what, key=stop_key, container=slot)
    else:
        run_button()
    return run_button, stop_shown


def stop_button(job: _jobs.Job, what: str, key: str, container=st) -> None:  # noqa: ANN001 (a Streamlit container)
    """The button that stops a running job and its worker processes (in its callback, before the page reruns)."""
    container.button(
        f"Stop {what}",
        icon=":material/stop:",
        key=key,
        on_click=job.stop,
        width="stretch",
        help="Ends every simulation process of this run now; the finished simulations are kept and Resume finishes "
        "the rest.",
    )


def show_caveats(lines: Iterable[str]) -> None:
    """A run's caveats, folded away in an expander."""
    with st.expander("Caveats"):
        st.markdown("\n".join(f"- {line}" for line in lines))


def fmt_duration(seconds: float) -> str:
    """ "42 s" or "3 min 05 s"."""
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


@dataclass
class ProgressClock:
    """Elapsed and remaining time of a run, from the units (arms, futures) finished in this session.

    The first `fast` units take a fraction of the time of the rest (the noise traders' futures before the order
    model's), so the remaining time is estimated from the rate after them.
    """

    fast: int = 0
    started: float = field(default_factory=time.perf_counter)
    mark: tuple[float, int] | None = None  # (time, units done) the rate is measured from

    def eta(self, done: int, total: int) -> str:
        now = time.perf_counter()
        if self.mark is None:
            self.mark = (self.started, done - 1)  # units already on disk when this session started do not count
        if done <= self.fast:
            self.mark = (now, done)
        text = f"elapsed {fmt_duration(now - self.started)}"
        if done <= self.fast < total:
            return text + " · the order model's futures follow and take most of the time"
        since, before = self.mark
        if before < done < total:
            text += f" · about {fmt_duration((now - since) / (done - before) * (total - done))} left"
        return text


@st.cache_data(max_entries=4, show_spinner=False)
def report_html(path: str, stamp: float, data_dir: str) -> bytes:  # noqa: ARG001 (stamp: the cache key)
    return reports.render_html(build_report(path, data_dir=data_dir or None)).encode("utf-8")


@st.cache_data(max_entries=4, show_spinner=False)
def report_pdf(path: str, stamp: float, data_dir: str) -> bytes:  # noqa: ARG001 (stamp: the cache key)
    with tempfile.TemporaryDirectory(prefix="mars-pdf-") as tmp:
        out = reports.render_pdf(build_report(path, data_dir=data_dir or None), Path(tmp) / "report.pdf")
        return out.read_bytes()


def report_downloads(entry: RunEntry, data_dir: str | Path | None, key: str, name: str) -> None:
    """HTML and PDF report buttons of a finished run, made on click by `analysis.report` (whatever the run is: its
    builder is picked from the directory); PDF only when Chromium is there. Files are called <name>.html / .pdf."""
    name, data_dir = re.sub(r"[^A-Za-z0-9_-]+", "-", name), str(data_dir) if data_dir else ""
    c_html, c_pdf, c_note = st.columns([1, 1, 2], vertical_alignment="center")
    c_html.download_button(
        "Report (HTML)",
        lambda: report_html(str(entry.path), entry.stamp, data_dir),
        file_name=f"{name}.html",
        mime="text/html",
        icon=":material/description:",
        on_click="ignore",
        key=f"{key}_html",
        width="stretch",
        help="One self-contained file with interactive charts; opens in any browser without a network connection.",
    )
    chromium = reports.chromium_path()
    c_pdf.download_button(
        "Report (PDF)",
        lambda: report_pdf(str(entry.path), entry.stamp, data_dir),
        file_name=f"{name}.pdf",
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
        key=f"{key}_pdf",
        width="stretch",
        disabled=chromium is None,
        help="The same report printed to PDF by headless Chromium (takes a few seconds).",
    )
    if chromium is None:
        c_note.caption(
            f"PDF export needs Chromium (not found at `{paths.DEFAULT_CHROMIUM}`; install it with "
            f"`apt-get install chromium` or set `{paths.CHROMIUM_ENV}`). The HTML report prints to PDF from any browser."
        )
    else:
        c_note.caption(f"Or from a terminal: `mars report {entry.path} --format pdf --out report.pdf`")
