"""UI-only helpers shared by the dashboard pages: cached loaders, formatting, status, errors, and the pieces
every page that runs and reopens a study shares (form state, run pickers, progress, report downloads).

Caches are keyed on plain strings (symbol, ISO date, data dir, path and
modification stamp), never on the loaded objects, so Streamlit can hash them
cheaply and a different data dir never serves another dir's data.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from analysis.charts import market
from mars_core import paths
from mars_core.data import discover_with_problems, find_dataset, load_day, minute_bars, resolve_data_dir
from mars_core.data.schema import NS_PER_SECOND, DatasetInfo, EventType, LobsterDay
from mars_core.errors import MarsInputError
from mars_core.sim.executor import default_executor

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


def show_executor(always: bool = False) -> None:
    """A line saying where runs started here go: a Ray cluster when RAY_ADDRESS is set (always said), else local
    processes (said only when `always`)."""
    executor = default_executor()
    if executor.remote:
        st.caption(f":material/lan: Runs started here go to the {executor.describe()} (RAY_ADDRESS).")
    elif always:
        st.caption("Runs started here use this machine's cores (set RAY_ADDRESS to send them to a Ray cluster).")


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
