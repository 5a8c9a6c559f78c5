"""Market rules (the paper's MTCH_R) as a validated configuration.

Rules fix what a valid order is (tick size, lot size, price band) and when and
how orders match (the trading sessions). Between sessions the market is closed.
A call-auction session collects limit orders without matching and uncrosses
them at its end (see `auction.py` for the price rule); a halt rejects new
orders but accepts cancels.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from fractions import Fraction
from typing import Any

from pydantic import Field, field_validator, model_validator

from mars_core.data.schema import NS_PER_SECOND
from mars_core.settings import Settings


class SessionKind(str, Enum):
    OPENING_AUCTION = "opening_auction"
    CONTINUOUS = "continuous"
    CLOSING_AUCTION = "closing_auction"
    HALT = "halt"
    CLOSED = "closed"

    @property
    def is_auction(self) -> bool:
        return self in (SessionKind.OPENING_AUCTION, SessionKind.CLOSING_AUCTION)


_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?")
DAY_NS = 24 * 3600 * NS_PER_SECOND


def parse_clock(value: str | int) -> int:
    """'HH:MM', 'HH:MM:SS' or 'HH:MM:SS.fffffffff' (or ns since midnight) -> ns since midnight.

    "24:00" is the end of the day (a session may end there).
    """
    if isinstance(value, int):
        if not 0 <= value <= DAY_NS:
            raise ValueError(f"time {value} ns is outside the day")
        return value
    match = _CLOCK.fullmatch(str(value).strip())
    if match is None:
        raise ValueError(f"time {value!r} is not HH:MM or HH:MM:SS[.fffffffff]")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if minutes > 59 or seconds > 59:
        raise ValueError(f"time {value!r} has minutes or seconds above 59")
    ns = ((hours * 60 + minutes) * 60 + seconds) * NS_PER_SECOND + int((match[4] or "").ljust(9, "0"))
    if ns > DAY_NS:
        raise ValueError(f"time {value!r} is after the end of the day (24:00)")
    return ns


def format_clock(ns: int) -> str:
    seconds, rest = divmod(int(ns), NS_PER_SECOND)
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return text if rest == 0 else f"{text}.{rest:09d}".rstrip("0")


class Session(Settings):
    """One trading session: [start, end) in ns since midnight."""

    kind: SessionKind
    start: int
    end: int

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> int:
        return parse_clock(value)

    @model_validator(mode="after")
    def _ordered(self) -> Session:
        if self.start >= self.end:
            raise ValueError(
                f"{self.kind.value} session starts at {format_clock(self.start)}, not before its end {format_clock(self.end)}"
            )
        if self.kind == SessionKind.CLOSED:
            raise ValueError("'closed' is what lies between sessions; do not list it as a session")
        return self


class MarketRules(Settings):
    """Tick, lot, price band and sessions; construct with `MarketRules.from_dict` for clear errors."""

    tick_size: int = Field(100, gt=0, description="price increment, in price units (dollars x 10000)")
    lot_size: int = Field(1, gt=0, description="size increment, in shares")
    price_band: float | None = Field(
        None, gt=0, le=1, description="orders priced beyond reference x (1 +/- band) are rejected"
    )
    sessions: tuple[Session, ...] = Field(
        default_factory=lambda: (Session(kind=SessionKind.CONTINUOUS, start="09:30", end="16:00"),),
        description="non-overlapping, in time order",
    )

    @model_validator(mode="after")
    def _non_overlapping(self) -> MarketRules:
        for before, after in zip(self.sessions, self.sessions[1:]):
            if after.start < before.end:
                raise ValueError(
                    f"sessions overlap or are out of order: {before.kind.value} ends {format_clock(before.end)}, "
                    f"{after.kind.value} starts {format_clock(after.start)}"
                )
        return self

    @classmethod
    def nasdaq(cls, tick_size: int = 100, auctions: bool = False) -> MarketRules:
        """Continuous trading 09:30-16:00 (the LOBSTER window), optionally with NASDAQ-like crosses."""
        sessions = [Session(kind=SessionKind.CONTINUOUS, start="09:30", end="16:00")]
        if auctions:
            sessions.insert(0, Session(kind=SessionKind.OPENING_AUCTION, start="09:25", end="09:30"))
            sessions.append(Session(kind=SessionKind.CLOSING_AUCTION, start="16:00", end="16:05"))
        return cls(tick_size=tick_size, sessions=tuple(sessions))

    def session_at(self, ts: int) -> Session | None:
        """The session in force at `ts`, None when closed."""
        for session in self.sessions:
            if session.start <= ts < session.end:
                return session
        return None

    def band(self, reference: int) -> tuple[int, int]:
        """(lowest, highest) acceptable limit price around `reference`, on the tick grid."""
        if self.price_band is None:
            return 1, 2**63 - 1
        # exact decimal arithmetic: int() before the ceiling let the lower edge fall a tick short
        band = Fraction(str(self.price_band))
        lo = math.ceil(reference * (1 - band) / self.tick_size) * self.tick_size
        hi = math.floor(reference * (1 + band) / self.tick_size) * self.tick_size
        return max(lo, self.tick_size), hi
