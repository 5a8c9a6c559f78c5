"""Validated configuration of a simulation run (the CLI flags, the page's form, a study's points) and its rules.

Every rule a run must satisfy is here, so `mars simulate`, the Simulate page and the
experiments refuse the same things: the fields' own bounds (pydantic), every TWAP agent
executing within the run (`check_execution_fits`), and, against the day's data
(`SimConfig.check_day`), a window inside continuous trading and the data, and injected
orders that are valid for the day's tick and fall inside the window (`check_order_time`).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from mars_core.data.schema import NS_PER_MINUTE, DatasetInfo
from mars_core.engine import format_clock, parse_clock
from mars_core.errors import ConfigError
from mars_core.settings import Seed, Settings, Whole
from mars_core.sim.agents.injected import InjectedOrders
from mars_core.sim.agents.twap import TWAPConfig

BACKGROUNDS = ("replay", "noise", "lmm")
SESSION_OPEN, SESSION_CLOSE = parse_clock("09:30"), parse_clock("16:00")


def check_execution_fits(execution_minutes: float, run_minutes: float, where: str) -> None:
    """An execution agent must finish within the run."""
    if execution_minutes > run_minutes + 1e-9:
        raise ConfigError(
            f"{where}: execution time {execution_minutes:g} min is longer than the run ({run_minutes:g} min); "
            "shorten it or lengthen the run"
        )


def check_order_time(ts: int, row: int, start_ns: int, end_ns: int, where: str) -> None:
    """An injected order (row `row` of its table) must fall inside the run's window [start, end)."""
    if ts < start_ns:
        raise ConfigError(
            f"{where}, row {row}: time {format_clock(ts)} is before the run starts at {format_clock(start_ns)}"
        )
    if ts >= end_ns:
        raise ConfigError(
            f"{where}, row {row}: time {format_clock(ts)} is not before the run ends at {format_clock(end_ns)}"
        )


class SimConfig(Settings):
    """Everything that determines a run's results (worker count and paths to outputs excluded)."""

    symbol: str
    date: str
    start: str = Field("10:00", description="HH:MM[:SS] on the trading day")
    minutes: float = Field(5.0, ge=1 / 60, le=390, description="simulated length (at least one second)")
    rollouts: Whole = Field(8, ge=1, le=10_000)
    background: Literal["replay", "noise", "lmm"] = "noise"
    seed: Seed = 0
    twap: tuple[TWAPConfig, ...] = ()
    inject_csv: str | None = Field(None, description="injected orders as CSV text (see sim/injected.py)")
    paired: bool = Field(True, description="with agents: also run each rollout without them, on common random numbers")
    snapshot_levels: int = Field(10, ge=1, le=50)
    snapshot_interval_ms: int = Field(1000, ge=0, description="0 records the book after every event")
    depth: int = Field(10, ge=1, le=50, description="levels agents observe")
    latency_ms: float = Field(0.0, ge=0)
    noise_fit_until: str | None = Field(
        None,
        description="noise background: fit the noise traders on the day's orders "
        "before this HH:MM[:SS] only (default: the whole day)",
    )
    # decoding of the generative background: temperature 1, top-p 1 were chosen on training-window closed-loop runs (README)
    lmm_temperature: float = Field(
        1.0,
        gt=0,
        le=2,
        description="lmm background: temperature of each order factor's distribution (1 samples the model)",
    )
    lmm_top_p: float = Field(
        1.0,
        gt=0,
        le=1,
        description="lmm background: keep the smallest set of each factor's values with this probability",
    )

    @field_validator("symbol")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("date")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError(f"date {value!r} is not YYYY-MM-DD") from None

    @field_validator("start", "noise_fit_until")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None:
            parse_clock(value)
        return value

    @model_validator(mode="after")
    def _agents_fit(self) -> SimConfig:
        for k, twap in enumerate(self.twap, start=1):
            check_execution_fits(twap.duration_s / 60, self.minutes, f"twap {k}")
        return self

    @property
    def start_ts(self) -> int:
        return parse_clock(self.start)

    @property
    def noise_fit_until_ts(self) -> int | None:
        return None if self.noise_fit_until is None else parse_clock(self.noise_fit_until)

    @property
    def end_ts(self) -> int:
        return self.start_ts + int(round(self.minutes * NS_PER_MINUTE))

    @property
    def has_agents(self) -> bool:
        return bool(self.twap) or bool(self.inject_csv)

    def describe(self) -> str:
        """One line: what the run simulates."""
        parts = [
            f"{self.symbol} {self.date} {self.start} +{self.minutes:g} min",
            f"{self.background}",
            f"{self.rollouts} rollout{'s' if self.rollouts != 1 else ''}",
            f"seed {self.seed}",
        ]
        parts += [f"TWAP {'buy' if t.side > 0 else 'sell'} {t.volume:,} {t.name}" for t in self.twap]
        if self.inject_csv:
            parts.append(f"{len(self.inject_csv.strip().splitlines()) - 1} injected order(s)")
        if self.has_agents:
            parts.append("paired" if self.paired else "unpaired")
        return " · ".join(parts)

    @property
    def arms(self) -> tuple[str, ...]:
        """Arms run per rollout: treated and baseline when paired with agents, else one."""
        return ("treated", "baseline") if self.has_agents and self.paired else ("main",)

    def check_day(self, info: DatasetInfo) -> None:
        """The run fits the day: its window (`check_window`) and its injected orders (valid, inside the window)."""
        self.check_window(info)
        if self.inject_csv:
            orders = InjectedOrders.from_text(self.inject_csv, info.tick_size).table
            for order in orders.itertuples(index=False):
                check_order_time(order.ts, order.row, self.start_ts, self.end_ts, "injected orders")

    def check_window(self, info: DatasetInfo) -> None:
        """The simulated window must lie inside continuous trading and the day's data."""
        # the data's last message falls a moment before the close: its minute still counts
        last_minute = -(-info.ts_end // NS_PER_MINUTE) * NS_PER_MINUTE
        first, last = max(SESSION_OPEN, info.ts_start), min(SESSION_CLOSE, last_minute)
        if not first <= self.start_ts < last:
            raise ConfigError(
                f"start {self.start} is outside {info.key}'s trading window {format_clock(first)[:8]}-{format_clock(last)[:8]}"
            )
        if self.end_ts > last:
            raise ConfigError(
                f"start {self.start} + {self.minutes:g} min ends at {format_clock(self.end_ts)[:8]}, "
                f"after the end of {info.key}'s data at {format_clock(last)[:8]}"
            )
