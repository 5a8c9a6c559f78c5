"""UI-side helpers of the Simulate page: the form's fields and their validation, cached results.

No widgets here (the page draws them); what the page needs to turn its inputs into a
`SimConfig` with errors that name the field as the page labels it (or the table row).
Runs, their identity and listing are `mars_core.sim.runs`; a run's results arm by arm
are `mars_core.experiments.whatif`; downloads are `mars_core.store`.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from analysis.charts import market
from analysis.charts import sim as sim_charts
from mars_core.data.schema import NS_PER_SECOND, DatasetInfo
from mars_core.engine import format_clock
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments import whatif
from mars_core.sim.agents.injected import COLUMNS as ORDER_COLUMNS
from mars_core.sim.agents.injected import MAX_BYTES, validate_orders
from mars_core.sim.agents.twap import TWAPConfig
from mars_core.sim.config import SimConfig, check_execution_fits, check_order_time
from pages import _ui

MAX_ROLLOUTS = 64
MAX_MINUTES = 390
ORDER_ACTIONS = ("limit", "market", "ioc", "cancel")
ORDER_SIDES = ("buy", "sell")


# ---- the form's state ----------------------------------------------------------------------------

FORM_KEYS = (
    "sim_symbol",
    "sim_date",
    "sim_start",
    "sim_minutes",
    "sim_background",
    "sim_rollouts",
    "sim_seed",
    "sim_paired",
)
TWAP_FIELDS = ("side", "volume", "pvr", "ap", "minutes", "interval")


def form_keys(twap_ids: list[int]) -> list[str]:
    """Session-state keys of the Simulate form's value widgets (kept across page switches)."""
    return [*FORM_KEYS, *(f"sim_twap_{agent}_{name}" for agent in twap_ids for name in TWAP_FIELDS)]


# ---- the injected-orders table -------------------------------------------------------------------


def empty_orders() -> pd.DataFrame:
    """The editor's empty table (typed columns, so the editor offers the right cell editors)."""
    return pd.DataFrame(
        {
            "time": pd.Series(dtype="object"),
            "action": pd.Series(dtype="object"),
            "side": pd.Series(dtype="object"),
            "price": pd.Series(dtype="float64"),
            "qty": pd.Series(dtype="Int64"),
            "client_id": pd.Series(dtype="object"),
        }
    )


def example_orders(start_ns: int, mid: float, tick_size: int) -> pd.DataFrame:
    """Three orders showing the format: a market buy, a resting limit sell, and its cancel."""
    above = (int(mid) // tick_size + 10) * tick_size / market.PRICE_SCALE  # ten ticks above the mid
    rows = [
        (format_clock(start_ns + 30 * NS_PER_SECOND), "market", "buy", None, 300, ""),
        (format_clock(start_ns + 60 * NS_PER_SECOND), "limit", "sell", above, 200, "s1"),
        (format_clock(start_ns + 150 * NS_PER_SECOND), "cancel", None, None, None, "s1"),
    ]
    frame = pd.DataFrame(rows, columns=list(ORDER_COLUMNS))
    return frame.astype(empty_orders().dtypes.to_dict())


def orders_from_csv(data: bytes, name: str) -> pd.DataFrame:
    """An uploaded CSV (time,action,side,price,qty,client_id) as the editor's table.

    Only the format is checked here (readable, required columns, numbers where numbers go);
    the orders themselves are checked before a run, with the table's row numbers.
    """
    if len(data) > MAX_BYTES:  # the bound of `mars simulate --inject`, before the table is built
        raise MarsInputError(f"{name}: {len(data):,} bytes; injected orders may hold {MAX_BYTES:,}")
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype=str, skipinitialspace=True, keep_default_na=False)  # "nan" stays text
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise MarsInputError(f"{name}: not a readable CSV table ({err})") from None
    raw = raw.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in ("time", "action", "qty") if c not in raw.columns]
    if missing:
        raise MarsInputError(
            f"{name}: missing column(s) {', '.join(missing)}; the header must be {','.join(ORDER_COLUMNS)}"
        )
    table = empty_orders()
    for column in ORDER_COLUMNS:
        values = raw[column].str.strip() if column in raw.columns else pd.Series([""] * len(raw))
        if column in ("price", "qty"):
            numbers = pd.to_numeric(values.replace("", np.nan), errors="coerce")
            bad = numbers.isna() & (values != "")
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise MarsInputError(f"{name}, row {row + 2}: {column} {values.iat[row]!r} is not a number")
            if column == "qty" and ((numbers.dropna() % 1) != 0).any():
                row = int(np.flatnonzero(((numbers % 1) != 0).fillna(False).to_numpy())[0])
                raise MarsInputError(f"{name}, row {row + 2}: qty {values.iat[row]!r} must be a whole number of shares")
            table[column] = numbers.astype(table[column].dtype)
        else:
            table[column] = (
                values.replace("", None).str.lower() if column in ("action", "side") else values.replace("", None)
            )
    return table.reset_index(drop=True)


def _cell(value: object) -> str:
    """A table cell as the text the order validator reads ("" for empty)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value).strip()


def _as_text(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {c: table[c].map(_cell) if c in table.columns else "" for c in ORDER_COLUMNS}, index=table.index
    )


def has_orders(table: pd.DataFrame) -> bool:
    """Whether the edited table holds any non-blank row."""
    return bool((_as_text(table) != "").any(axis=None)) if len(table) else False


def orders_csv(table: pd.DataFrame, tick_size: int, start_ns: int, end_ns: int) -> str | None:
    """Validate the edited table and return it as injected-orders CSV text (None when it is empty).

    Rows are numbered as the table shows them (first row = 1). Blank rows at the end are ignored;
    a blank row between orders is an error (delete it).
    """
    text = _as_text(table)
    filled = (text != "").any(axis=1).to_numpy()
    if not filled.any():
        return None
    last = int(np.flatnonzero(filled)[-1])
    text = text.iloc[: last + 1].reset_index(drop=True)
    blank = np.flatnonzero(~filled[: last + 1])
    if blank.size:
        raise MarsInputError(
            f"Injected orders, row {blank[0] + 1} is empty: fill it in or delete it (select the row, then press Delete)"
        )
    orders = validate_orders(text, tick_size, where="Injected orders", first_row=1)
    for row in orders.itertuples(index=False):
        check_order_time(row.ts, row.row, start_ns, end_ns, "Injected orders")
    return text.to_csv(index=False)


# ---- the form -> SimConfig -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TwapInput:
    """One TWAP agent as the form holds it (None: left empty)."""

    side: int
    volume: int | None
    pvr: float
    ap: int
    minutes: float | None  # execution time; None = the whole run
    interval_s: float | None


def twap_config(t: TwapInput, run_minutes: float, number: int) -> TWAPConfig:
    """The agent's TWAPConfig; a ConfigError naming "TWAP <number>" and the field otherwise."""
    where = f"TWAP {number}"
    if t.volume is None or t.volume <= 0:
        raise ConfigError(
            f"{where}: volume must be a positive number of shares (was {t.volume if t.volume is not None else 'empty'})"
        )
    minutes = run_minutes if t.minutes is None else t.minutes
    if minutes <= 0:
        raise ConfigError(f"{where}: execution time must be positive (was {minutes:g} min)")
    check_execution_fits(minutes, run_minutes, where)
    interval = 30.0 if t.interval_s is None else float(t.interval_s)
    if interval <= 5:
        raise ConfigError(
            f"{where}: the split interval must be longer than the 5 s aggressive period (was {interval:g} s)"
        )
    if interval > minutes * 60:
        raise ConfigError(
            f"{where}: the split interval {interval:g} s is longer than the execution time ({minutes * 60:g} s)"
        )
    try:
        return TWAPConfig(
            side=t.side,
            volume=int(t.volume),
            pvr=float(t.pvr),
            ap=int(t.ap),
            duration_s=minutes * 60,
            interval_s=interval,
        )
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"{where}: {err}") from None


def build_config(
    *,
    info: DatasetInfo,
    start: dt.time | None,
    minutes: float | None,
    rollouts: int | None,
    background: str,
    seed: int | None,
    paired: bool,
    twaps: list[TwapInput],
    orders: pd.DataFrame,
    model_found: bool,
) -> SimConfig:
    """Check every field of the form and build the run's configuration.

    Raises:
        ConfigError: one line per problem ("Rollouts: ...", "TWAP 2: ...", "Injected orders, row 3: ...").
    """
    problems: list[str] = []
    if start is None:
        problems.append("Start: pick a start time.")
    if minutes is None or not 0 < minutes <= MAX_MINUTES:
        problems.append(
            f"Length: choose between 1 and {MAX_MINUTES} minutes (was {'empty' if minutes is None else f'{minutes:g}'})."
        )
    if rollouts is None or not 1 <= rollouts <= MAX_ROLLOUTS:
        problems.append(
            f"Rollouts: choose between 1 and {MAX_ROLLOUTS} (was {'empty' if rollouts is None else rollouts})."
        )
    if seed is None or seed < 0:
        problems.append(f"Seed: enter a whole number, 0 or more (was {'empty' if seed is None else seed}).")
    if background == "lmm" and not model_found:
        problems.append(
            "Background: the LMM background needs a trained order model, and none is shipped yet; pick noise or replay."
        )
    if problems:  # the rest needs a valid window
        raise ConfigError("\n".join(problems))
    base = {
        "symbol": info.symbol,
        "date": info.date.isoformat(),
        "start": start.strftime("%H:%M:%S"),
        "minutes": float(minutes),
        "rollouts": int(rollouts),
        "background": background,
        "seed": int(seed),
    }
    window = SimConfig.from_dict(base, where="Run")
    try:
        window.check_window(info)
    except ConfigError as err:
        raise ConfigError(f"Window: {err}; pick a start and length inside it.") from None
    agents: list[TWAPConfig] = []
    for k, twap in enumerate(twaps, start=1):
        try:
            agents.append(twap_config(twap, float(minutes), k))
        except ConfigError as err:
            problems.append(f"{err}.")
    inject_csv = None
    try:
        inject_csv = orders_csv(orders, info.tick_size, window.start_ts, window.end_ts)
    except MarsInputError as err:
        problems.append(f"{err}.")
    if problems:
        raise ConfigError("\n".join(problems))
    return SimConfig.from_dict({**base, "twap": agents, "inject_csv": inject_csv, "paired": paired}, where="Run")


def twap_warnings(config: SimConfig, traded: int) -> list[str]:
    """A line per TWAP agent too large for the market it trades in: `traded` is the real day's volume (shares) in the
    run's window. Such a run is allowed, but its fulfilment will be near 0%, so the figure is named before Run."""
    lines = []
    minutes = config.minutes
    for k, twap in enumerate(config.twap, start=1):
        market = traded * min(twap.duration_s / 60 / minutes, 1.0)  # the real volume in the agent's own window
        share = twap.volume / market if market > 0 else np.inf
        if share >= 1:
            lines.append(
                f"TWAP {k} wants {twap.volume:,} shares in {twap.duration_s / 60:g} min: "
                + (
                    f"{share:,.1f}× the {int(market):,} shares the whole market traded then on the real day"
                    if np.isfinite(share)
                    else "the real market traded nothing in that window"
                )
                + ". It can fill only a small part, so expect a fulfilment near 0% and a large impact."
            )
        elif share >= 0.3:
            lines.append(
                f"TWAP {k}'s {twap.volume:,} shares are {share:.0%} of the {int(market):,} shares the market traded "
                "in its window on the real day: expect a partial fill and a large impact."
            )
    return lines


def run_progress(done: int, total: int, generating: dict[str, dict], lmm: bool = False) -> tuple[float, str]:
    """(share of the run done, what it is doing) from the finished arms and the order model's generating groups
    (`lockstep.generation_progress`: per arm, how far into the window each of its rollouts is)."""
    if lmm and not generating and not done:
        return 0.0, "Starting: loading the day and the order model…"
    if not generating:
        return done / total, f"Simulating… {done} of {total} done"
    shares = {arm: list(g["rollouts"].values()) for arm, g in generating.items()}
    fraction = (done + sum(sum(v) for v in shares.values())) / total
    what = " · ".join(
        f"{sim_charts.ARM_LABELS.get(arm, arm)}: {len(v)} rollout{'s' * (len(v) != 1)} at {sum(v) / max(len(v), 1):.0%}"
        for arm, v in shares.items()
    )
    pending = sum(len(v) for v in shares.values())
    return min(fraction, 1.0), (
        f"Generating {pending} rollouts with the order model… {what} of the window · {done} of {total} done"
    )


# ---- results, arm by arm -------------------------------------------------------------------------


@st.cache_data(max_entries=8, show_spinner="Reading the run…")
def load_view(path: str, finished: tuple[tuple[int, str], ...]) -> whatif.WhatIfView:
    """A run's results over its finished arms (`finished` keys the cache: a resumed run reloads)."""
    return whatif.load_view(path, finished)


def replay_reference(config: SimConfig, data_dir: Path) -> tuple[market.QuoteGrid, pd.DataFrame] | None:
    """The real day's mid (fine grid) and minute bars over the run's window; None when the day is not available."""
    key = (config.symbol, config.date, str(data_dir))
    try:
        quotes = _ui.quote_grid(*key, config.start_ts, config.end_ts)
        bars = _ui.bars(*key, config.start_ts, config.end_ts)
    except MarsInputError:
        return None
    return quotes, bars


def window_label(config: SimConfig) -> str:
    return f"{format_clock(config.start_ts)[:8]}–{format_clock(config.end_ts)[:8]}"
