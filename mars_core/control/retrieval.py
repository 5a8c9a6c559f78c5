"""Historical windows that match a scenario (paper App. E, "scenario filtering"), and their control signals.

The paper has a language model write a pandas filter over minute returns; here the
filter is written in the project, one small rule table per scenario kind, and shown to
the user (`describe_filter`). A language model may only fill in the `ScenarioSpec`.

Data: for every catalogued day, the real mid (`signals.mid2_at`) at whole minutes from
09:35 (the first minutes after the open are left out: the book is still filling) to
16:00. Every D-minute window (D = the spec's duration) is a path p[0..D] of log mids
relative to its start. Moves are measured in the day's own units: sigma1 is the
standard deviation of the day's 1-minute log returns, and a move over n minutes is
z = move / (sigma1 * sqrt(n)), so "sharp" means the same for a calm and a wild stock.

Rules (`RULES`; L = ceil(D / 3)):
  * sharp_drop / sharp_rise: z over the window <= -2 (>= +2), and the steepest L
    consecutive minutes carry at least 60% of the net move (it is sudden, not a drift).
  * steady_drop / steady_rise: z <= -1.5 (>= +1.5), a straight line fits the path
    (R^2 >= 0.8), and the steepest L minutes carry at most 60% of the move.
  * trend_reversal: the window's low (down, then up) or high (up, then down) lies
    between minute D/4 and 3D/4; the leg to it moves z <= -1.5 (>= +1.5) over its
    minutes, the leg after it moves back at least 1.5 in z over its minutes and
    gives back at least half of the first leg. With no direction given, both.
  * volatility_spike: realised volatility over the window, sqrt(sum of squared
    1-minute returns), at least 2 x sigma1 * sqrt(D).
Windows that pass are ranked by the kind's score (the |z| of the move; for reversals
the weaker leg's |z|; for volatility the ratio), best first; windows of one day do not
overlap. When none passes, `NoMatchError` says what the closest window measured.

Control signal: the window's path, rescaled so that the spec's magnitude is met when
one is given (net move for drops and rises, first leg for reversals, realised
volatility for spikes); without a magnitude, the real path as it was.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mars_core.control.scenarios import DIRECTION_LABELS, KIND_LABELS, ScenarioSpec
from mars_core.control.signals import ControlSignal, mid2_at
from mars_core.data import discover_with_problems, load_day, resolve_data_dir, unusable
from mars_core.data.schema import NS_PER_MINUTE, DatasetInfo
from mars_core.engine import format_clock
from mars_core.errors import MarsInputError

FIRST_MINUTE = 9 * 60 + 35  # windows start from here (minute of the day)
LAST_MINUTE = 16 * 60  # and end by here
SHARP_Z, STEADY_Z, LEG_Z = 2.0, 1.5, 1.5
BURST_SHARE = 0.6  # share of the move in the steepest third: sudden above, steady below
STRAIGHT_R2 = 0.8
RETRACE = 0.5  # share of the first leg a reversal's second leg gives back, at least
VOL_RATIO = 2.0


class NoMatchError(MarsInputError):
    """No catalogued window passes a scenario's filter; the message names the closest one."""


@dataclass(frozen=True)
class Rule:
    """One condition of a filter: `metric` `op` `threshold`."""

    metric: str
    op: str  # "<=" or ">="
    threshold: float
    text: str  # the condition in words ({L} = the steepest-part length, {D} = the duration)

    def passes(self, values: np.ndarray) -> np.ndarray:
        return values <= self.threshold if self.op == "<=" else values >= self.threshold


def _move_rules(sign: int, noun: str) -> dict[str, tuple[Rule, ...]]:
    op, s = ("<=", "-") if sign < 0 else (">=", "+")
    ret = "the return over the {D} minutes is {s}{z:g} σ or beyond"
    burst = "the steepest {L} consecutive minutes carry at {least} {share:.0%} of the {noun}"
    return {
        "sharp": (
            Rule("z", op, sign * SHARP_Z, ret.format(D="{D}", s=s, z=SHARP_Z)),
            Rule("burst", ">=", BURST_SHARE, burst.format(L="{L}", least="least", share=BURST_SHARE, noun=noun)),
        ),
        "steady": (
            Rule("z", op, sign * STEADY_Z, ret.format(D="{D}", s=s, z=STEADY_Z)),
            Rule("r2", ">=", STRAIGHT_R2, f"a straight line fits the path (R² at least {STRAIGHT_R2:g})"),
            Rule("burst", "<=", BURST_SHARE, burst.format(L="{L}", least="most", share=BURST_SHARE, noun=noun)),
        ),
    }


_DROP, _RISE = _move_rules(-1, "fall"), _move_rules(1, "rise")
REVERSAL_RULES = {
    "down_up": (
        Rule("turn_pos", ">=", 0.25, "the window's low comes at minute {A} or later"),
        Rule("turn_pos", "<=", 0.75, "and by minute {B}"),
        Rule("z1", "<=", -LEG_Z, f"it falls {LEG_Z:g} σ or more to the low"),
        Rule("z2", ">=", LEG_Z, f"then rises {LEG_Z:g} σ or more to the end"),
        Rule("retrace", ">=", RETRACE, f"and gives back at least {RETRACE:.0%} of the fall"),
    ),
    "up_down": (
        Rule("turn_pos", ">=", 0.25, "the window's high comes at minute {A} or later"),
        Rule("turn_pos", "<=", 0.75, "and by minute {B}"),
        Rule("z1", ">=", LEG_Z, f"it rises {LEG_Z:g} σ or more to the high"),
        Rule("z2", "<=", -LEG_Z, f"then falls {LEG_Z:g} σ or more to the end"),
        Rule("retrace", ">=", RETRACE, f"and gives back at least {RETRACE:.0%} of the rise"),
    ),
}
RULES: dict[str, tuple[Rule, ...]] = {
    "sharp_drop": _DROP["sharp"],
    "sharp_rise": _RISE["sharp"],
    "steady_drop": _DROP["steady"],
    "steady_rise": _RISE["steady"],
    "volatility_spike": (
        Rule(
            "rv",
            ">=",
            VOL_RATIO,
            f"realised volatility over the window is at least {VOL_RATIO:g} × the day's usual for {{D}} minutes (σ)",
        ),
    ),
}
SCORES: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = {
    "sharp_drop": lambda m: -m["z"],
    "steady_drop": lambda m: -m["z"],
    "sharp_rise": lambda m: m["z"],
    "steady_rise": lambda m: m["z"],
    "volatility_spike": lambda m: m["rv"],
    "down_up": lambda m: np.minimum(-m["z1"], m["z2"]),
    "up_down": lambda m: np.minimum(m["z1"], -m["z2"]),
}
METRIC_LABELS = {
    "z": "move",
    "burst_down": "share of the fall in the steepest third",
    "burst_up": "share of the rise in the steepest third",
    "r2": "R² of a straight line",
    "rv": "volatility ratio",
    "z1": "first leg",
    "z2": "second leg",
    "retrace": "share given back",
    "turn_pos": "turn at this share of the window",
}
SCORE_TEXT = {
    "sharp_drop": "the size of the fall in σ",
    "steady_drop": "the size of the fall in σ",
    "sharp_rise": "the size of the rise in σ",
    "steady_rise": "the size of the rise in σ",
    "trend_reversal": "the weaker leg's size in σ",
    "volatility_spike": "the volatility ratio",
}


# ------------------------------------------------------------------ minute paths
@dataclass(frozen=True)
class DayMinutes:
    """A day's real mid at whole minutes (FIRST_MINUTE..LAST_MINUTE, within the data)."""

    symbol: str
    date: str  # ISO
    minutes: np.ndarray  # (N,) minute of the day of each point
    logmid: np.ndarray  # (N,) log of bid + ask (a constant offset from the log mid)

    @property
    def sigma1(self) -> float:
        """Standard deviation of the day's 1-minute log returns (> 0)."""
        return max(float(np.diff(self.logmid).std()), 1e-6)


@functools.lru_cache(maxsize=16)
def day_minutes(info: DatasetInfo) -> DayMinutes:
    """The minute mids of one catalogued day (cached per dataset)."""
    day = load_day(info)
    first = max(FIRST_MINUTE, -(-info.ts_start // NS_PER_MINUTE))
    last = min(LAST_MINUTE, info.ts_end // NS_PER_MINUTE)
    minutes = np.arange(first, last + 1, dtype=np.int64)
    mid2 = mid2_at(day, minutes * NS_PER_MINUTE).astype(np.float64)
    return DayMinutes(info.symbol, info.date.isoformat(), minutes, np.log(mid2))


def window_metrics(logmid: np.ndarray, duration: int, sigma1: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every `duration`-minute window of a minute path: the paths (W, D+1) from 0 and the filter's metrics (W,).

    Metrics: z (net move in sigma), burst_down / burst_up (share of the fall / rise in the steepest
    ceil(D/3) minutes), r2 (linear fit), rv (realised volatility / sigma1 sqrt(D)), and per reversal
    direction turn (minute of the window's low / high), turn_pos (turn / D), z1, z2 (legs in sigma),
    retrace (leg 2 / leg 1), leg1.
    """
    D = duration
    if len(logmid) <= D:
        return np.zeros((0, D + 1)), {}
    paths = sliding_window_view(logmid, D + 1) - logmid[: len(logmid) - D, None]  # (W, D+1)
    ret = paths[:, -1]
    L = math.ceil(D / 3)
    sub = paths[:, L:] - paths[:, :-L]  # (W, D+1-L) moves over L consecutive minutes
    tiny = 1e-12
    t = np.arange(D + 1) - D / 2
    slope = paths @ t / (t @ t)
    centred = paths - paths.mean(1, keepdims=True)
    resid = centred - slope[:, None] * t
    m = {
        "ret": ret,
        "z": ret / (sigma1 * math.sqrt(D)),
        "burst_down": (-sub).max(1) / np.maximum(-ret, tiny),
        "burst_up": sub.max(1) / np.maximum(ret, tiny),
        "r2": 1 - (resid**2).sum(1) / np.maximum((centred**2).sum(1), tiny),
        "rv": np.sqrt((np.diff(paths, axis=1) ** 2).sum(1)) / (sigma1 * math.sqrt(D)),
    }
    rows = np.arange(len(paths))
    for direction, pick in (("down_up", np.argmin), ("up_down", np.argmax)):
        turn = pick(paths, axis=1)  # the window's low (high)
        leg1 = paths[rows, turn]
        leg2 = ret - leg1
        m[f"{direction}.turn"] = turn
        m[f"{direction}.turn_pos"] = turn / D
        m[f"{direction}.z1"] = leg1 / (sigma1 * np.sqrt(np.maximum(turn, 1)))
        m[f"{direction}.z2"] = leg2 / (sigma1 * np.sqrt(np.maximum(D - turn, 1)))
        m[f"{direction}.retrace"] = -leg2 / np.where(np.abs(leg1) > tiny, leg1, tiny)
        m[f"{direction}.leg1"] = leg1
    return paths, m


def _directions(spec: ScenarioSpec) -> tuple[str, ...]:
    if spec.kind != "trend_reversal":
        return ("",)
    return (spec.direction,) if spec.direction else ("down_up", "up_down")


def _rules(spec: ScenarioSpec, direction: str) -> tuple[Rule, ...]:
    if spec.kind == "trend_reversal":
        return REVERSAL_RULES[direction]
    burst = "burst_down" if spec.kind.endswith("drop") else "burst_up"
    return tuple(Rule(burst, r.op, r.threshold, r.text) if r.metric == "burst" else r for r in RULES[spec.kind])


def _metric(m: dict[str, np.ndarray], direction: str, name: str) -> np.ndarray:
    return m[f"{direction}.{name}"] if direction and f"{direction}.{name}" in m else m[name]


def turn_range(duration: int) -> tuple[int, int]:
    """First and last minute a reversal may turn at: D/4 to 3D/4."""
    a = math.ceil(duration / 4)
    return a, max(a, (3 * duration) // 4)


def describe_filter(spec: ScenarioSpec) -> str:
    """The filter a spec runs, in words (shown to the user next to the results)."""
    D, L = spec.duration_min, math.ceil(spec.duration_min / 3)
    A, B = turn_range(D)
    where = f"{spec.symbol}'s days" if spec.symbol else "every catalogued day"
    lines = [
        f"{KIND_LABELS[spec.kind]}: every {D}-minute window of {where}, on whole minutes from "
        f"{FIRST_MINUTE // 60:02d}:{FIRST_MINUTE % 60:02d} to {LAST_MINUTE // 60:02d}:00, where"
    ]
    for direction in _directions(spec):
        several = len(_directions(spec)) > 1
        if direction:
            lines.append(f"- {DIRECTION_LABELS[direction]}:" if several else f"({DIRECTION_LABELS[direction]})")
        indent = "  " if several else ""
        lines += [f"{indent}- {r.text.format(D=D, L=L, A=A, B=B)}" for r in _rules(spec, direction)]
    lines.append("")  # the notes below the rules are a paragraph of their own
    lines.append(
        f"σ = the day's standard deviation of 1-minute mid returns × the square root of the minutes "
        f"measured. Ranked by {SCORE_TEXT[spec.kind]}, best first; windows of one day do not overlap."
    )
    if spec.magnitude_pct is not None:
        what = {"trend_reversal": "its first leg is", "volatility_spike": "its realised volatility is"}.get(
            spec.kind, "it moves"
        )
        lines.append(f"Each window's path is rescaled so that {what} {spec.magnitude_pct:g}%.")
    else:
        lines.append("Each window's path is used as it was (no magnitude given).")
    return "\n".join(lines)


# ------------------------------------------------------------------ retrieval
@dataclass(frozen=True)
class Retrieved:
    """One historical window that passed a scenario's filter, with its control signal."""

    symbol: str
    date: str  # ISO
    start_ts: int  # ns since midnight
    minutes: int  # window length D
    logret: np.ndarray  # (D+1,) real mid log-return from the window's start
    score: float
    stats: dict[str, float]  # the filter's metrics of this window
    scale: float  # the signal is logret x scale
    signal: ControlSignal = field(repr=False)
    direction: str | None = None  # trend reversals: "down_up" or "up_down"

    @property
    def end_ts(self) -> int:
        return self.start_ts + self.minutes * NS_PER_MINUTE

    @property
    def label(self) -> str:
        return f"{self.symbol} {self.date} {format_clock(self.start_ts)[:5]}-{format_clock(self.end_ts)[:5]}"

    @property
    def real_return_pct(self) -> float:
        """Real simple return over the window, percent."""
        return float(np.expm1(self.logret[-1]) * 100)

    def to_dict(self) -> dict:
        return {
            "symbol": self.symbol,
            "date": self.date,
            "start": format_clock(self.start_ts)[:5],
            "end": format_clock(self.end_ts)[:5],
            "label": self.label,
            "real_return_pct": round(self.real_return_pct, 4),
            "score": round(self.score, 3),
            "scale": round(self.scale, 4),
            "direction": self.direction,
            "stats": {k: round(v, 4) for k, v in self.stats.items()},
            "target_logret": [round(float(v), 7) for v in self.signal.logret],
        }


def magnitude_of(spec: ScenarioSpec, path: np.ndarray, stats: dict[str, float]) -> tuple[float, float]:
    """(what the path measures, what the spec asks) in log-return units, per the module docstring."""
    target = spec.magnitude_pct / 100 if spec.magnitude_pct is not None else float("nan")
    if spec.kind == "volatility_spike":
        return float(np.sqrt((np.diff(path) ** 2).sum())), target
    if spec.kind == "trend_reversal":
        leg1 = stats["leg1"]
        return abs(leg1), abs(math.log1p(math.copysign(target, leg1))) if spec.magnitude_pct is not None else target
    sign = -1.0 if spec.kind.endswith("drop") else 1.0
    return abs(float(path[-1])), abs(math.log1p(sign * target)) if spec.magnitude_pct is not None else target


def signal_for(
    spec: ScenarioSpec, path: np.ndarray, stats: dict[str, float], label: str
) -> tuple[ControlSignal, float]:
    """The control signal of a retrieved path (rescaled to the spec's magnitude when given) and the scale used."""
    measured, wanted = magnitude_of(spec, path, stats)
    scale = wanted / measured if spec.magnitude_pct is not None and measured > 0 else 1.0
    source = f"{label} (real mid" + (f", rescaled x{scale:.2f} to {spec.magnitude_pct:g}%)" if scale != 1.0 else ")")
    meta = {"kind": "scenario", "spec": spec.model_dump(), "window": label, "scale": scale}
    return ControlSignal(f"{spec.describe()}: {label}", path * scale, source, meta), scale


def _catalog(spec: ScenarioSpec, data_dir: str | Path | None) -> list[DatasetInfo]:
    infos, problems = discover_with_problems(resolve_data_dir(data_dir))
    if not infos:
        raise MarsInputError(
            f"no LOBSTER days in {resolve_data_dir(data_dir)} to retrieve scenarios from{unusable(problems)}"
        )
    if spec.symbol:
        mine = [i for i in infos if i.symbol == spec.symbol]
        if not mine:
            have = ", ".join(sorted({i.symbol for i in infos}))
            raise MarsInputError(f"no catalogued day of {spec.symbol}; catalogued: {have}")
        return mine
    return infos


@dataclass
class _Candidates:
    """Every window of every day, flattened (one row per window and reversal direction)."""

    days: list[DayMinutes] = field(default_factory=list)
    rows: list[tuple[int, int, str]] = field(default_factory=list)  # (day, window start index, direction)
    score: list[float] = field(default_factory=list)
    passed: list[bool] = field(default_factory=list)
    stats: list[dict[str, float]] = field(default_factory=list)
    paths: list[np.ndarray] = field(default_factory=list)


def _candidates(spec: ScenarioSpec, infos: list[DatasetInfo]) -> _Candidates:
    c = _Candidates()
    for info in infos:
        dm = day_minutes(info)
        paths, m = window_metrics(dm.logmid, spec.duration_min, dm.sigma1)
        if not len(paths):
            continue
        c.days.append(dm)
        d = len(c.days) - 1
        for direction in _directions(spec):
            rules = _rules(spec, direction)
            ok = np.logical_and.reduce([r.passes(_metric(m, direction, r.metric)) for r in rules])
            score = SCORES[direction or spec.kind](
                m if not direction else {k: _metric(m, direction, k) for k in ("z1", "z2")}
            )
            names = {r.metric for r in rules} | {"z"} | ({"leg1", "turn"} if direction else set())
            for i in range(len(paths)):
                c.rows.append((d, i, direction))
                c.score.append(float(score[i]))
                c.passed.append(bool(ok[i]))
                c.stats.append({n: float(_metric(m, direction, n)[i]) for n in sorted(names)})
                c.paths.append(paths[i])
    return c


def _closest(spec: ScenarioSpec, c: _Candidates) -> str:
    """What the closest window measured, rule by rule: among the windows failing the fewest rules, the best score."""
    if not c.rows:
        return "no day has enough minutes for such a window"
    failed = [
        sum(not r.passes(np.array(c.stats[j][r.metric])) for r in _rules(spec, c.rows[j][2]))
        for j in range(len(c.rows))
    ]
    j = min(range(len(c.rows)), key=lambda j: (failed[j], -c.score[j]))
    d, i, direction = c.rows[j]
    dm = c.days[d]
    start = int(dm.minutes[i]) * NS_PER_MINUTE
    label = (
        f"{dm.symbol} {dm.date} {format_clock(start)[:5]}-{format_clock(start + spec.duration_min * NS_PER_MINUTE)[:5]}"
    )
    checks = []
    for r in _rules(spec, direction):
        value = c.stats[j][r.metric]
        unit = " σ" if r.metric in ("z", "z1", "z2") else ""
        verdict = "" if r.passes(np.array(value)) else ", fails"
        checks.append(f"{METRIC_LABELS[r.metric]} {value:.2f}{unit} (needs {r.op} {r.threshold:g}{unit}{verdict})")
    way = f" ({DIRECTION_LABELS[direction]})" if direction else ""
    return f"the closest, {label}{way}, moved {np.expm1(c.paths[j][-1]) * 100:+.3f}%: " + ", ".join(checks)


def retrieve(spec: ScenarioSpec, data_dir: str | Path | None = None, k: int = 5) -> list[Retrieved]:
    """The k best non-overlapping windows of the catalogued days that pass the spec's filter.

    Raises:
        NoMatchError: no window passes (the message names the closest and what it measured).
        MarsInputError: no data, or no day of the spec's symbol.
    """
    if k < 1:
        raise MarsInputError(f"retrieve at least 1 window, not {k}")
    c = _candidates(spec, _catalog(spec, data_dir))
    order = sorted((j for j in range(len(c.rows)) if c.passed[j]), key=lambda j: -c.score[j])
    taken: dict[int, list[int]] = {}
    out: list[Retrieved] = []
    for j in order:
        d, i, direction = c.rows[j]
        if any(abs(i - other) < spec.duration_min for other in taken.get(d, [])):
            continue
        taken.setdefault(d, []).append(i)
        dm = c.days[d]
        start = int(dm.minutes[i]) * NS_PER_MINUTE
        stats = dict(c.stats[j])
        label = f"{dm.symbol} {dm.date} {format_clock(start)[:5]}-{format_clock(start + spec.duration_min * NS_PER_MINUTE)[:5]}"
        signal, scale = signal_for(spec, c.paths[j], stats, label)
        out.append(
            Retrieved(
                dm.symbol,
                dm.date,
                start,
                spec.duration_min,
                c.paths[j],
                c.score[j],
                stats,
                scale,
                signal,
                direction or None,
            )
        )
        if len(out) >= k:
            break
    if not out:
        days = ", ".join(f"{dm.symbol} {dm.date}" for dm in c.days) or "the catalogued days"
        raise NoMatchError(
            f"no {spec.duration_min}-minute window of {days} passes the {KIND_LABELS[spec.kind].lower()} "
            f"filter; {_closest(spec, c)}. Try another duration or kind (any magnitude is reached by "
            "rescaling)."
        )
    return out
