"""UI-side helpers of the Simulate page: the form's validation, run directories, results and downloads.

No widgets here (the page draws them); what the page needs to turn its inputs
into a `SimConfig`, to name and find runs under the runs root, to collect a
run's results arm by arm (live, as arms finish, or when a run is reopened) and
to pack downloads. Every user mistake becomes a `ConfigError`/`MarsInputError`
whose message names the field (or the table row) and what to do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import streamlit as st

from analysis import charts, sim_charts
from mars_core.data.schema import NS_PER_SECOND, DatasetInfo
from mars_core.engine import OrderEvent, format_clock
from mars_core.errors import ConfigError, MarsInputError
from mars_core.sim.agent import AgentId
from mars_core.sim.config import SimConfig
from mars_core.sim.export import export_lobster
from mars_core.sim.injected import COLUMNS as ORDER_COLUMNS
from mars_core.sim.injected import validate_orders
from mars_core.sim.store import RunDir
from mars_core.sim.twap import TWAPConfig
from pages import _ui

MAX_ROLLOUTS = 64
MAX_MINUTES = 390
ORDER_ACTIONS = ("limit", "market", "ioc", "cancel")
ORDER_SIDES = ("buy", "sell")


# ---- runs root and run directories ---------------------------------------------------------------


def config_json(config: SimConfig) -> dict:
    """The configuration as the run store writes it to config.json."""
    return json.loads(json.dumps(config.model_dump(mode="json"), default=str))


def config_hash(config: SimConfig) -> str:
    """A short, stable hash of everything that determines the run's results."""
    return hashlib.sha256(json.dumps(config_json(config), sort_keys=True).encode()).hexdigest()[:8]


def run_dir_for(root: Path, config: SimConfig, now: dt.datetime | None = None) -> tuple[Path, bool]:
    """The directory to run `config` in, and whether it already holds this configuration.

    Runs are named `<YYYYMMDD-HHMMSS>-<SYMBOL>-<config hash>`. A directory with the same hash and
    configuration is reused: runs are deterministic by seed, so its finished arms are kept and an
    interrupted run resumes where it stopped.
    """
    digest = config_hash(config)
    wanted = config_json(config)
    for candidate in sorted(root.glob(f"*-{digest}"), reverse=True):
        try:
            if json.loads((candidate / "config.json").read_text()) == wanted:
                return candidate, True
        except (OSError, ValueError):
            continue
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return root / f"{stamp}-{config.symbol}-{digest}", False


@dataclass(frozen=True, slots=True)
class RunEntry:
    """A run directory under the runs root, as the run picker lists it."""

    path: Path
    config: SimConfig
    finished: int  # finished rollout arms
    created: dt.datetime  # when config.json was written

    @property
    def expected(self) -> int:
        return self.config.rollouts * len(self.config.arms)

    @property
    def complete(self) -> bool:
        return self.finished >= self.expected

    @property
    def label(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} · {describe(self.config)}" + (
            "" if self.complete else f" · incomplete ({self.finished}/{self.expected} arms)"
        )


def describe(config: SimConfig) -> str:
    """One line: what a run simulated."""
    parts = [
        f"{config.symbol} {config.date} {config.start} +{config.minutes:g} min",
        f"{config.background}",
        f"{config.rollouts} rollout{'s' if config.rollouts != 1 else ''}",
        f"seed {config.seed}",
    ]
    parts += [f"TWAP {'buy' if t.side > 0 else 'sell'} {t.volume:,} {t.name}" for t in config.twap]
    if config.inject_csv:
        parts.append(f"{len(config.inject_csv.strip().splitlines()) - 1} injected order(s)")
    if config.has_agents:
        parts.append("paired" if config.paired else "unpaired")
    return " · ".join(parts)


def list_runs(root: Path) -> tuple[list[RunEntry], list[str]]:
    """Every run under `root`, newest first, and a problem line per directory that is not a usable run."""
    entries, problems = [], []
    if not root.is_dir():
        return entries, problems
    for config_path in root.glob("*/config.json"):
        try:
            config = SimConfig.from_dict(json.loads(config_path.read_text()), where=f"{config_path}")
        except (OSError, ValueError) as err:  # MarsInputError and JSONDecodeError are ValueErrors
            problems.append(
                f"{config_path.parent.name}: {err}"
                if isinstance(err, MarsInputError)
                else f"{config_path}: not readable JSON ({err})"
            )
            continue
        finished = len(RunDir(config_path.parent).finished())
        created = dt.datetime.fromtimestamp(config_path.stat().st_mtime)
        entries.append(RunEntry(config_path.parent, config, finished, created))
    entries.sort(key=lambda e: (e.created, e.path.name), reverse=True)
    return entries, problems


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
    above = (int(mid) // tick_size + 10) * tick_size / charts.PRICE_SCALE  # ten ticks above the mid
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
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype=str, skipinitialspace=True).fillna("")
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
        if row.ts < start_ns:
            raise MarsInputError(
                f"Injected orders, row {row.row}: time {format_clock(row.ts)} is before the run starts at {format_clock(start_ns)}"
            )
        if row.ts >= end_ns:
            raise MarsInputError(
                f"Injected orders, row {row.row}: time {format_clock(row.ts)} is not before the run ends at {format_clock(end_ns)}"
            )
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
    if minutes > run_minutes + 1e-9:
        raise ConfigError(
            f"{where}: execution time {minutes:g} min is longer than the run ({run_minutes:g} min); shorten it or lengthen the run"
        )
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


# ---- results, arm by arm -------------------------------------------------------------------------


def execution_targets(config: SimConfig) -> list[sim_charts.ExecutionTarget]:
    """The run's TWAP agents as execution targets (agent ids as `make_agents` numbers them)."""
    return [
        sim_charts.ExecutionTarget(AgentId.EXECUTION + k, f"TWAP {k + 1} · {t.name}", t.side, t.volume)
        for k, t in enumerate(config.twap)
    ]


def agent_names(config: SimConfig) -> dict[int, str]:
    names = {int(AgentId.INJECTED): "Injected order"}
    names.update({int(AgentId.EXECUTION) + k: f"TWAP {k + 1} ({t.name})" for k, t in enumerate(config.twap)})
    return names


@dataclass
class RunView:
    """What the page draws for one run, collected one finished rollout arm at a time."""

    path: str
    config: SimConfig
    grid: np.ndarray  # (T,) common time grid of the mid paths, ns since midnight
    mids: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)  # arm -> rollout -> (T,) mid
    arrival: dict[int, float] = field(default_factory=dict)  # rollout -> arrival mid (price units)
    bars: list[pd.DataFrame] = field(default_factory=list)
    fills: list[pd.DataFrame] = field(default_factory=list)
    summaries: list[dict] = field(default_factory=list)

    @classmethod
    def start(cls, path: str | Path, config: SimConfig) -> RunView:
        grid = charts.time_grid(config.start_ts, config.end_ts, max_points=600)
        return cls(str(path), config, grid)

    @property
    def expected(self) -> int:
        return self.config.rollouts * len(self.config.arms)

    @property
    def finished(self) -> int:
        return len(self.summaries)

    def add_arm(self, rollout: int, arm: str) -> None:
        """Read one finished arm's tables from the run directory."""
        arm_dir = RunDir(self.path).arm_dir(rollout, arm)

        def read(table: str, **options: object) -> pd.DataFrame:
            path = arm_dir / f"{table}.parquet"  # direct reads: RunDir.table lists every arm on each call
            return pq.read_table(path, **options).to_pandas() if path.exists() else pd.DataFrame()

        self.mids.setdefault(arm, {})[rollout] = sim_charts.mid_on_grid(
            read("book", columns=["ts", "ask_price_1", "ask_size_1", "bid_price_1", "bid_size_1"]), self.grid
        )
        if rollout not in self.arrival:
            self.arrival[rollout] = sim_charts.arrival_mid(read("start_book", columns=["side", "price"]))
        bars = read("bars", columns=["minute", "spread", "volume"])
        if not bars.empty:
            self.bars.append(bars.assign(rollout=rollout, arm=arm))
        fills = read("agent_fills")
        if not fills.empty:
            sides = read(
                "orders",
                columns=["order_id", "side"],
                filters=[("agent", ">=", int(AgentId.INJECTED)), ("event", "=", int(OrderEvent.SUBMIT))],
            )
            fills = fills.merge(sides.drop_duplicates("order_id"), on="order_id", how="left")
            self.fills.append(fills.assign(rollout=rollout, arm=arm))
        self.summaries.append(json.loads((arm_dir / "done.json").read_text()))

    # -- reductions for the figures and metrics --
    def fans(self) -> dict[str, sim_charts.Fan]:
        return {
            arm: sim_charts.fan(np.stack([paths[r] for r in sorted(paths)]))
            for arm, paths in self.mids.items()
            if paths
        }

    def paired_rollouts(self) -> list[int]:
        treated, baseline = self.mids.get("treated", {}), self.mids.get("baseline", {})
        return sorted(set(treated) & set(baseline))

    def difference(self) -> sim_charts.Fan | None:
        """Fan of treated - baseline (bps) over the rollouts with both arms finished; None when unpaired."""
        if self.config.arms != ("treated", "baseline"):
            return None
        both = self.paired_rollouts()
        if not both:
            return sim_charts.fan(np.empty((0, len(self.grid))))
        diff = sim_charts.paired_difference_bps(
            np.stack([self.mids["treated"][r] for r in both]),
            np.stack([self.mids["baseline"][r] for r in both]),
            np.array([self.arrival[r] for r in both]),
        )
        return sim_charts.fan(diff)

    def minute_stats(self) -> pd.DataFrame:
        return sim_charts.minute_stats(pd.concat(self.bars, ignore_index=True) if self.bars else pd.DataFrame())

    def fills_frame(self) -> pd.DataFrame:
        return (
            pd.concat(self.fills, ignore_index=True).sort_values("ts", kind="stable") if self.fills else pd.DataFrame()
        )

    def execution(self) -> pd.DataFrame:
        """Per TWAP agent: fulfillment and VWAP vs arrival over the finished treated arms."""
        targets = execution_targets(self.config)
        treated_arm = "treated" if "treated" in self.config.arms else "main"
        rollouts = sorted(self.mids.get(treated_arm, {}))
        if not targets or not rollouts:
            return pd.DataFrame()
        fills = self.fills_frame()
        if not fills.empty:
            fills = fills[fills["arm"] == treated_arm]
        return sim_charts.execution_summary(fills, targets, pd.Series(self.arrival), rollouts)

    def totals(self) -> dict[str, float]:
        """Orders and trades over the finished arms, and the engine's simulated orders per second."""
        orders = sum(s["orders"] for s in self.summaries)
        seconds = sum(s["seconds"] for s in self.summaries)
        return {
            "orders": orders,
            "trades": sum(s["trades"] for s in self.summaries),
            "orders_per_s": orders / seconds if seconds > 0 else float("nan"),
        }


@st.cache_data(max_entries=8, show_spinner="Reading the run…")
def load_view(path: str, finished: tuple[tuple[int, str], ...]) -> RunView:
    """A run's results over its finished arms (`finished` keys the cache: a resumed run reloads)."""
    run = RunDir.open(path)
    view = RunView.start(path, SimConfig.from_dict(run.config, where=f"{path}/config.json"))
    for rollout, arm in finished:
        view.add_arm(rollout, arm)
    return view


def replay_reference(config: SimConfig, data_dir: Path) -> tuple[charts.QuoteGrid, pd.DataFrame] | None:
    """The real day's mid (fine grid) and minute bars over the run's window; None when the day is not available."""
    key = (config.symbol, config.date, str(data_dir))
    try:
        quotes = _ui.quote_grid(*key, config.start_ts, config.end_ts)
        bars = _ui.bars(*key, config.start_ts, config.end_ts)
    except MarsInputError:
        return None
    return quotes, bars


# ---- downloads -----------------------------------------------------------------------------------


def run_zip_bytes(path: str | Path) -> bytes:
    """The whole run as a zip: config.json, summary.json and every finished arm's Parquet tables."""
    run = RunDir.open(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("config.json", "summary.json"):
            if (run.path / name).exists():
                archive.write(run.path / name, name)
        for rollout, arm in run.finished():
            arm_dir = run.arm_dir(rollout, arm)
            for table in sorted(arm_dir.iterdir()):
                archive.write(table, str(table.relative_to(run.path)))
    return buffer.getvalue()


def lobster_zip_bytes(path: str | Path, rollout: int, arm: str, levels: int = 10) -> bytes:
    """One rollout arm exported as LOBSTER message + orderbook CSVs, zipped in memory."""
    run = RunDir.open(path)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="mars-lobster-") as tmp:
        files = export_lobster(run, rollout, arm, tmp, levels)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in files:
                archive.write(file, file.name)
    return buffer.getvalue()


def window_label(config: SimConfig) -> str:
    return f"{format_clock(config.start_ts)[:8]}–{format_clock(config.end_ts)[:8]}"
