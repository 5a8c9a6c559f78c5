"""UI-only helpers shared by the dashboard pages: cached loaders, formatting, status, errors, and the pieces
every page that runs and reopens a study shares (form state, run pickers, progress, report downloads).

Caches are keyed on plain strings (symbol, ISO date, data dir, path and
modification stamp), never on the loaded objects, so Streamlit can hash them
cheaply and a different data dir never serves another dir's data.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from analysis import report as reports
from analysis.charts import market
from mars_core import paths
from mars_core.data import discover_with_problems, find_dataset, load_day, minute_bars, resolve_data_dir
from mars_core.data.schema import NS_PER_SECOND, DatasetInfo, EventType, LobsterDay
from mars_core.errors import MarsInputError
from mars_core.experiments.reports import build_report

ORDER_MODEL = paths.ORDER_MODEL_DIR.name  # the folder of the models folder that the LMM background loads
HOW_TO_ADD_DATA = (
    "To add data, run `mars data fetch-samples`, or copy LOBSTER zip files "
    "(e.g. `LOBSTER_SampleFile_GOOG_2012-06-21_10.zip`) into `./data`, "
    f"or set `{paths.DATA_DIR_ENV}` to a folder that holds them, then reload this page."
)


# ---- routing -----------------------------------------------------------------------------------


def route_through_app() -> None:
    """Make sure this page runs inside app.py's router; call it first in every page.

    Streamlit starts each server process in its legacy "pages/ folder" mode
    and leaves it only once app.py has called st.navigation. So when the very
    first request after a start is a deep link (e.g. /market_data), Streamlit
    runs the page file alone: no page config, and a sidebar listing every
    file in pages/. Here we switch that mode off and rerun, which goes through
    app.py and lands on the same page (page ids derive from the URL path).
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


# ---- errors and messages ---------------------------------------------------------------------


def show_error(err: MarsInputError, what_next: str | None = None) -> None:
    """Render a user-input error as st.error with its message (never a traceback)."""
    st.error(f"{err}" + (f"\n\n{what_next}" if what_next else ""), icon=":material/error:")


def show_no_data(data_dir: Path | None) -> None:
    """Explain where we looked for data and how to add some."""
    env = os.environ.get(paths.DATA_DIR_ENV)
    if data_dir is not None and env:
        where = f"Looked in `{data_dir}` (from `{paths.DATA_DIR_ENV}`)."
    elif data_dir is not None:
        where = f"Looked in `{data_dir}` (`{paths.DATA_DIR_ENV}` is not set; the first of `./data`, `../shared/data/lobster` that exists)."
    elif env:
        where = f"`{paths.DATA_DIR_ENV}` is `{env}`, which is not a usable folder."
    else:
        where = f"`{paths.DATA_DIR_ENV}` is not set and neither `./data` nor `../shared/data/lobster` exists."
    st.info(f"**No LOBSTER datasets found.** {where}\n\n{HOW_TO_ADD_DATA}", icon=":material/folder_open:")


def show_problems(problems: list[str]) -> None:
    """One warning per file that discovery could not use."""
    for problem in problems:
        st.warning(f"Skipped: {problem}", icon=":material/warning:")


# ---- data (cached) -----------------------------------------------------------------------------


def data_dir() -> Path:
    """The data directory for this session (flag-less: env, ./data, ../shared/data/lobster)."""
    return resolve_data_dir()


def data_catalog() -> tuple[Path | None, list[DatasetInfo], list[str]]:
    """(data dir, its datasets, the problems met); an unusable data dir is shown as an error and gives no datasets."""
    try:
        folder = data_dir()
        datasets, problems = catalog(str(folder))
    except MarsInputError as err:
        show_error(err)
        return None, [], []
    return folder, datasets, problems


def require_datasets() -> tuple[Path, list[DatasetInfo]]:
    """The data dir and its datasets; without any, say why (and what was wrong) and stop the page."""
    try:
        folder = data_dir()
        datasets, problems = catalog(str(folder))
    except MarsInputError as err:
        show_error(err)
        show_no_data(None)
        st.stop()
    if not datasets:
        show_no_data(folder)
        show_problems(problems)
        st.stop()
    return folder, datasets


@st.cache_data(ttl=10, show_spinner="Scanning for datasets…")
def catalog(data_dir_str: str) -> tuple[list[DatasetInfo], list[str]]:
    """Datasets found in a directory and the problems met on the way.

    Cached only briefly, so files added to the folder show up on the next reload.
    """
    return discover_with_problems(Path(data_dir_str))


@st.cache_resource(max_entries=4, show_spinner="Loading the trading day…")
def day(symbol: str, date_iso: str, data_dir_str: str) -> LobsterDay:
    """One loaded LOBSTER day, shared by all sessions."""
    info = find_dataset(symbol, dt.date.fromisoformat(date_iso), Path(data_dir_str))
    return load_day(info)


@st.cache_data(max_entries=32, show_spinner="Computing minute bars…")
def bars(symbol: str, date_iso: str, data_dir_str: str, start_ns: int, end_ns: int) -> pd.DataFrame:
    """Minute bars of a day restricted to [start_ns, end_ns)."""
    return minute_bars(day(symbol, date_iso, data_dir_str), start_ns, end_ns)


@st.cache_data(max_entries=32, show_spinner=False)
def quote_grid(symbol: str, date_iso: str, data_dir_str: str, start_ns: int, end_ns: int) -> market.QuoteGrid:
    """Best bid and ask of a day sampled finely (for price and spread lines) over [start_ns, end_ns]."""
    d = day(symbol, date_iso, data_dir_str)
    return market.quote_grid(d.events.ts, d.ask_prices, d.ask_sizes, d.bid_prices, d.bid_sizes, start_ns, end_ns)


@st.cache_data(max_entries=32, show_spinner=False)
def book_grid(symbol: str, date_iso: str, data_dir_str: str, start_ns: int, end_ns: int) -> market.BookGrid:
    """The visible book of a day sampled on a regular grid over [start_ns, end_ns]."""
    d = day(symbol, date_iso, data_dir_str)
    return market.book_grid(
        d.events.ts, d.ask_prices, d.ask_sizes, d.bid_prices, d.bid_sizes, start_ns, end_ns, d.info.tick_size
    )


def message_count(symbol: str, date_iso: str, data_dir_str: str, start_ns: int, end_ns: int) -> int:
    """Messages with start_ns <= ts < end_ns."""
    ts = day(symbol, date_iso, data_dir_str).events.ts
    lo, hi = np.searchsorted(ts, [start_ns, end_ns], side="left")
    return int(hi - lo)


@st.cache_data(max_entries=32, show_spinner=False)
def trades(symbol: str, date_iso: str, data_dir_str: str, start_ns: int, end_ns: int) -> pd.DataFrame:
    """Executions (visible and hidden) with start_ns <= ts < end_ns: ts, price, size, side, hidden."""
    events = day(symbol, date_iso, data_dir_str).events
    lo, hi = np.searchsorted(events.ts, [start_ns, end_ns], side="left")
    window = events[lo:hi]
    is_trade = np.isin(window.type, (EventType.EXECUTE, EventType.EXECUTE_HIDDEN))
    return pd.DataFrame(
        {
            "ts": window.ts[is_trade],
            "price": window.price[is_trade],
            "size": window.size[is_trade],
            "side": window.side[is_trade],
            "hidden": window.type[is_trade] == EventType.EXECUTE_HIDDEN,
        }
    )


# ---- time formatting ---------------------------------------------------------------------------


def fmt_hms(ns: int) -> str:
    """HH:MM:SS of a time in ns since midnight."""
    seconds = int(ns) // NS_PER_SECOND
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def to_time(ns: int) -> dt.time:
    """A wall-clock time (seconds precision) from ns since midnight; clamps to the day."""
    seconds = min(max(int(ns) // NS_PER_SECOND, 0), 24 * 3600 - 1)
    return dt.time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


def to_ns(t: dt.time) -> int:
    """ns since midnight of a wall-clock time."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * NS_PER_SECOND + t.microsecond * 1000


def fmt_step(grid_ts: np.ndarray) -> str:
    """The spacing of a regular time grid, in words ("5 s", "1 min 30 s")."""
    if len(grid_ts) < 2:
        return "—"
    seconds = round(int(grid_ts[1] - grid_ts[0]) / NS_PER_SECOND)
    minutes, seconds = divmod(seconds, 60)
    return (
        " ".join(part for part in (f"{minutes} min" if minutes else "", f"{seconds} s" if seconds else "") if part)
        or "0 s"
    )


def fmt_price_bin(prices: np.ndarray) -> str:
    """The width of the depth chart's price bins, in cents."""
    if len(prices) < 2:
        return "single prices"
    return f"{int(prices[1] - prices[0]) / (market.PRICE_SCALE / 100):g}¢ bins"


def catalog_table(datasets: list[DatasetInfo]) -> pd.DataFrame:
    """One display row per dataset."""
    return pd.DataFrame(
        {
            "Symbol": [d.symbol for d in datasets],
            "Date": [d.date.isoformat() for d in datasets],
            "Levels": [d.levels for d in datasets],
            "Messages": [d.messages for d in datasets],
            "Time span": [f"{fmt_hms(d.ts_start)}–{fmt_hms(d.ts_end)}" for d in datasets],
            "Tick size": [f"${d.tick_size / market.PRICE_SCALE:g}" for d in datasets],
        }
    )


BARS_COLUMN_CONFIG = {
    **{f"Mid {part} ($)": st.column_config.NumberColumn(format="$%.3f") for part in ("open", "high", "low", "close")},
    **{f"Last {part} ($)": st.column_config.NumberColumn(format="$%.2f") for part in ("open", "high", "low", "close")},
    "Volume (sh)": st.column_config.NumberColumn(format="localized"),
    "Mean spread (¢)": st.column_config.NumberColumn(format="%.1f"),
    "Mean bid depth (sh)": st.column_config.NumberColumn(format="%.0f"),
    "Mean ask depth (sh)": st.column_config.NumberColumn(format="%.0f"),
}


def bars_table(bars: pd.DataFrame) -> pd.DataFrame:
    """Minute bars in display units: dollars, cents, shares; one labelled column each."""
    dollars = market.PRICE_SCALE
    table = pd.DataFrame({"Time": bars["time"].dt.strftime("%H:%M")})
    for kind, label in (("mid", "Mid"), ("last", "Last")):
        for part in ("open", "high", "low", "close"):
            table[f"{label} {part} ($)"] = bars[f"{kind}_{part}"] / dollars
    table["Volume (sh)"] = bars["volume"]
    table["Trades"] = bars["trades"]
    table["Mean spread (¢)"] = bars["spread"] / (dollars / 100)
    table["Mean bid depth (sh)"] = bars["bid_depth"].round(1)
    table["Mean ask depth (sh)"] = bars["ask_depth"].round(1)
    table["Submits"] = bars["submits"]
    table["Cancels"] = bars["cancels"]
    table["Executions"] = bars["executions"]
    return table


# ---- model status ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """Which models ship in assets/models; `found` is whether the order model (the LMM background) is there."""

    found: bool
    summary: str  # one line for the UI
    checkpoints: tuple[Path, ...] = ()
    cards: tuple[Path, ...] = ()


def model_status(models_dir: Path | None = None) -> ModelStatus:
    """Look for shipped checkpoints (`<name>/model.pt`) and model cards; the LMM needs `order_model/model.pt`."""
    models_dir = paths.MODELS_DIR if models_dir is None else models_dir
    checkpoints = tuple(sorted(models_dir.glob("*/model.pt")))
    cards = tuple(sorted(models_dir.glob("**/model_card.md")))
    found = (models_dir / ORDER_MODEL / "model.pt").is_file()
    if checkpoints:
        names = ", ".join(sorted({p.parent.name for p in checkpoints}))
        lead = "Trained order model found" if found else f"No {ORDER_MODEL} checkpoint; other order models found"
        return ModelStatus(found, f"{lead}: {names}.", checkpoints, cards)
    if cards:
        names = ", ".join(sorted({p.parent.name for p in cards}))
        return ModelStatus(
            False, f"Model card(s) found for {names}, but no checkpoint (model.pt) next to them.", (), cards
        )
    return ModelStatus(False, "No trained order model shipped yet.")


# ---- pages that run studies: form state, runs on disk, progress, reports ------------------------

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


def run_guarded(
    run: Callable[[], Result], what: str, smaller: str, slots: Sequence = (), friendly: Callable[[Exception], str] = str
) -> Result | None:
    """Run a study from a page; bad input or a dead worker process clears `slots` and says what to change
    (never a traceback) and gives None."""
    try:
        return run()
    except MarsInputError as err:
        message = (
            f"**The {what} could not run.** {friendly(err)}\n\nFix the setting above and run again; finished "
            "simulations are kept."
        )
    except BrokenProcessPool:
        message = (
            f"A simulation worker process died (out of memory?). Try {smaller}, then run again; finished "
            "simulations are kept."
        )
    for slot in slots:
        slot.empty()
    st.error(message, icon=":material/error:")
    return None


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
