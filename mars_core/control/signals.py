"""Control signals: the target mid-price paths that controlled generation steers toward.

A control signal is a target mid-price path: log-returns from the start at minute
points (`ControlSignal.logret[k]` is the target at start + k minutes, k = 0..H,
logret[0] = 0). It comes from
  * a replay curve: the real mid path of a catalogued day from a start time
    (`replay_curve`), or
  * a scenario: a historical window retrieved for a scenario spec
    (`mars_core.control.retrieval`), possibly rescaled to the spec's magnitude.
The path is relative, so it can steer any start: the simulated start's mid times
exp(logret) is the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mars_core.data.schema import NS_PER_MINUTE, LobsterDay
from mars_core.engine import format_clock
from mars_core.errors import MarsInputError
from mars_core.model.tokenizer import quotes

# (first, last + 1) price slots of the submission groups and of the cancel groups (ticks behind each best)


# ------------------------------------------------------------------ signals
@dataclass(frozen=True)
class ControlSignal:
    """A target mid path relative to the start (see the module docstring)."""

    name: str  # what it is, for tables and charts
    logret: np.ndarray  # (H + 1,) target log-return from the start at minute points 0..H; logret[0] = 0
    source: str = ""  # where it comes from (e.g. "GOOG 2012-06-21 15:05-15:15, rescaled x1.5")
    meta: dict = field(default_factory=dict)  # e.g. the retrieved window, the scenario spec

    def __post_init__(self) -> None:
        lr = np.asarray(self.logret, dtype=np.float64)
        if lr.ndim != 1 or len(lr) < 2 or not np.isfinite(lr).all():
            raise MarsInputError(f"control signal {self.name!r}: needs at least 2 finite minute points, got {lr.shape}")
        object.__setattr__(self, "logret", lr - lr[0])

    @property
    def minutes(self) -> int:
        """Controlled horizon H in minutes."""
        return len(self.logret) - 1

    def target_logret(self, elapsed_ns: np.ndarray | int) -> np.ndarray:
        """Target log-return at times after the start (ns), linear between minute points, flat after the last."""
        k = np.asarray(elapsed_ns, dtype=np.float64) / NS_PER_MINUTE
        return np.interp(k, np.arange(len(self.logret)), self.logret)

    def to_dict(self) -> dict:
        return {"name": self.name, "logret": [float(v) for v in self.logret], "source": self.source, "meta": self.meta}

    @classmethod
    def from_dict(cls, data: dict) -> ControlSignal:
        return cls(
            data["name"], np.asarray(data["logret"], dtype=np.float64), data.get("source", ""), data.get("meta", {})
        )


def mid2_at(day: LobsterDay, ts: np.ndarray) -> np.ndarray:
    """bid + ask of the real book after the last message before each time (an empty side replaced
    by the other best one tick away)."""
    bid, ask = quotes(day.book, day.info.tick_size)
    i = np.clip(np.searchsorted(day.events.ts, np.asarray(ts, dtype=np.int64), side="left") - 1, 0, len(bid) - 1)
    return (bid[i] + ask[i]).astype(np.int64)


def replay_curve(day: LobsterDay, start_ts: int, minutes: int) -> ControlSignal:
    """The real mid path of a day from `start_ts`, at minute points 0..minutes."""
    if minutes < 1:
        raise MarsInputError(f"a replay curve needs at least 1 minute, got {minutes}")
    ts = start_ts + np.arange(minutes + 1, dtype=np.int64) * NS_PER_MINUTE
    if ts[-1] > day.events.ts[-1] + NS_PER_MINUTE:
        raise MarsInputError(
            f"{day.info.key}: a {minutes}-minute replay curve from the start runs past the end of the data"
        )
    mid2 = mid2_at(day, ts).astype(np.float64)
    start, end = format_clock(int(ts[0]))[:5], format_clock(int(ts[-1]))[:5]
    return ControlSignal(
        f"replay {day.info.key} {start}-{end}",
        np.log(mid2 / mid2[0]),
        f"{day.info.key} {start}-{end} (real mid)",
        {"kind": "replay", "key": day.info.key, "start_ts": int(start_ts), "minutes": minutes},
    )
