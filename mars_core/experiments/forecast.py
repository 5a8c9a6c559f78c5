"""Forecasting by simulation (paper Sec. 4.1, App. L): many futures from the real state, one forecast per target.

From the real book at a moment t (replay warm-up), R rollouts of a simulated background run 5 minutes. Each rollout's
mid after every order gives its trend label at each horizon k = 1..5 min (`analysis.forecast_labels`); the forecast
class is the majority of the rollouts' classes (their shares are the class probabilities), and also the class of the
rollouts' mean label. The same rollouts forecast the 5-minute realised volatility and mean spread (their mean over
rollouts), against the naive forecast "as in the last 5 minutes".

The generative background (`lmm`) runs in lockstep: the rollouts of a whole unit of start points (many moments of
one day) form one batch, each primed with its own history (`LockstepGroup` with one context per rollout). The noise
background runs each rollout on its own, fitted on the orders before the training cut (14:30) only.

The class thresholds come from the training period (moments every `TRAIN_EVERY_S` seconds from 09:35 until the
horizon ends at 14:30, both stock-days pooled), so the held-out afternoon never sets them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from analysis import forecast_labels as fl
from mars_core.data import LobsterDay, discover, find_dataset, load_day, resolve_data_dir
from mars_core.data.orderflow import order_flow
from mars_core.data.schema import NS_PER_MINUTE, NS_PER_SECOND
from mars_core.engine import parse_clock
from mars_core.errors import ConfigError
from mars_core.model import deeplob
from mars_core.model.checkpoint import cached_order_model
from mars_core.sim.agents.lmm import LMMBackground, LockstepGroup, history_context, torch_threads
from mars_core.sim.agents.noise import NoiseBackground, noise_params
from mars_core.sim.simulator import Simulator

HORIZONS = (1, 2, 3, 4, 5)  # minutes
TRAIN_FROM, TRAIN_END = "09:35", "14:30"  # the training period: thresholds and baselines are set on it alone
HELD_OUT = ("14:30", "16:00")
TRAIN_EVERY_S = 10
DEEPLOB_EVERY_S = 2  # DeepLOB's training moments
BACKGROUNDS = ("lmm", "noise")


def horizons_ns(horizons: tuple[int, ...] = HORIZONS) -> np.ndarray:
    return np.asarray(horizons, dtype=np.int64) * NS_PER_MINUTE


@dataclass(frozen=True)
class MidPath:
    """The mid and spread after each order (last per time; NaN when one-sided), prices in LOBSTER units."""

    ts: np.ndarray
    mid: np.ndarray
    spread: np.ndarray

    @classmethod
    def from_top(cls, ts: np.ndarray, top: np.ndarray) -> MidPath:
        return cls(*fl.top_path(ts, top))

    def labels(self, starts: np.ndarray, horizons: tuple[int, ...] = HORIZONS) -> np.ndarray:
        """(len(starts), H) the trend labels l at each start."""
        return fl.mean_mid_returns(self.ts, self.mid, np.asarray(starts, dtype=np.int64), horizons_ns(horizons))

    def targets(self, start: int, end: int) -> tuple[float, float]:
        """(realised volatility, mean spread) over (start, end]."""
        return fl.realised_vol(self.ts, self.mid, start, end), fl.mean_in(self.ts, self.spread, start, end)


@cache
def real_path(symbol: str, date: str, data_dir: str | None = None) -> MidPath:
    """The real day's mid path: the book after each order of its order flow."""
    day = load(symbol, date, data_dir)
    flow = order_flow(day)
    return MidPath.from_top(flow.ts, day.book[flow.last_msg][:, :4])


@cache
def load(symbol: str, date: str, data_dir: str | None = None) -> LobsterDay:
    return load_day(find_dataset(symbol, date, resolve_data_dir(data_dir)))


def same_date_days(date: str, data_dir: str | None = None) -> tuple[tuple[str, str], ...]:
    """Every catalogued (symbol, date) of `date`: the days whose training periods set the thresholds by default,
    as `mars forecast evaluate` pools them."""
    return tuple(sorted((i.symbol, date) for i in discover(resolve_data_dir(data_dir)) if i.date.isoformat() == date))


def training_starts(every_s: int = TRAIN_EVERY_S) -> np.ndarray:
    """Moments of the training period, every `every_s` seconds, whose longest horizon ends by the training cut."""
    last = parse_clock(TRAIN_END) - max(HORIZONS) * NS_PER_MINUTE
    return np.arange(parse_clock(TRAIN_FROM), last + 1, every_s * NS_PER_SECOND, dtype=np.int64)


def thresholds(days: tuple[tuple[str, str], ...], data_dir: str | None = None) -> np.ndarray:
    """(2, H) class thresholds: tertiles of the training labels of the (symbol, date) days, pooled."""
    labels = np.concatenate([real_path(s, d, data_dir).labels(training_starts()) for s, d in days])
    return fl.tertile_thresholds(labels)


def held_out_starts(every_minutes: int, window: tuple[str, str] = HELD_OUT) -> np.ndarray:
    """Start moments every `every_minutes` in the held-out window whose 5-minute future ends inside it."""
    first, last = (parse_clock(t) for t in window)
    starts = np.arange(first, last - max(HORIZONS) * NS_PER_MINUTE + 1, every_minutes * NS_PER_MINUTE, dtype=np.int64)
    if not len(starts):
        raise ConfigError(f"window {window[0]}-{window[1]} is shorter than one {max(HORIZONS)}-minute future")
    return starts


def start_seed(seed: int, start: int, rollout: int) -> int:
    """The seed of one rollout from one start: the same whatever unit or batch the start is simulated in."""
    return int(np.random.SeedSequence([seed, start // NS_PER_SECOND, rollout]).generate_state(1)[0])


class TopSink:
    """Keeps the recorder's best-level snapshots of one rollout in memory."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def __call__(self, table: str, chunk) -> None:
        if table == "book":
            self.parts.append(chunk[["ts", "ask_price_1", "ask_size_1", "bid_price_1", "bid_size_1"]].to_numpy())

    def path(self) -> MidPath:
        rows = np.concatenate(self.parts) if self.parts else np.zeros((0, 5), np.int64)
        return MidPath.from_top(rows[:, 0], rows[:, 1:])


@dataclass(frozen=True)
class Unit:
    """Some start points of one day, simulated by one background: a picklable unit of work (`simulate_unit`)."""

    symbol: str
    date: str
    starts: tuple[int, ...]  # ns since midnight
    background: str
    rollouts: int
    seed: int = 0
    data_dir: str | None = None
    model_path: str | None = None
    keep_paths: bool = False  # also return every rollout's mid path (the page's fan)


@dataclass
class UnitResult:
    """Per start: the rollouts' labels (R, H), realised vols and mean spreads (R,), and their paths if kept."""

    labels: dict[int, np.ndarray] = field(default_factory=dict)
    vol: dict[int, np.ndarray] = field(default_factory=dict)
    spread: dict[int, np.ndarray] = field(default_factory=dict)
    paths: dict[int, list[MidPath]] = field(default_factory=dict)
    orders: int = 0
    seconds: float = 0.0


def _simulators(unit: Unit, day: LobsterDay, make_background) -> tuple[list[Simulator], list[TopSink], list[int]]:
    sims, sinks, seeds = [], [], []
    span = max(HORIZONS) * NS_PER_MINUTE
    for start in unit.starts:
        for r in range(unit.rollouts):
            sink, seed = TopSink(), start_seed(unit.seed, start, r)
            sims.append(
                Simulator(
                    day,
                    start,
                    start + span,
                    make_background(),
                    [],
                    seed,
                    sink,
                    snapshot_levels=1,
                    snapshot_interval_ns=0,
                )
            )
            sinks.append(sink)
            seeds.append(seed)
    return sims, sinks, seeds


def simulate_unit(unit: Unit) -> UnitResult:
    """Run every rollout of every start of `unit` and measure its labels and targets."""
    started = time.perf_counter()
    day = load(unit.symbol, unit.date, unit.data_dir)
    if unit.background == "lmm":
        model = cached_order_model(unit.model_path)
        sims, sinks, seeds = _simulators(unit, day, LMMBackground)
        contexts = {s: history_context(day, s, model) for s in unit.starts}
        group = LockstepGroup(sims, seeds, model, [contexts[sim.start_ts] for sim in sims])
        with torch_threads(1):
            group.run()
        results = [sim.finish(0.0) for sim in sims]
    elif unit.background == "noise":
        params = noise_params(day, until_ts=parse_clock(TRAIN_END))
        sims, sinks, _ = _simulators(unit, day, lambda: NoiseBackground(params))
        results = [sim.run() for sim in sims]
    else:
        raise ConfigError(f"background {unit.background!r} is not one of {', '.join(BACKGROUNDS)}")
    out = UnitResult(orders=sum(r.orders for r in results))
    span = max(HORIZONS) * NS_PER_MINUTE
    for i, start in enumerate(unit.starts):
        paths = [s.path() for s in sinks[i * unit.rollouts : (i + 1) * unit.rollouts]]
        out.labels[start] = np.stack([p.labels(np.array([start]))[0] for p in paths])
        targets = np.array([p.targets(start, start + span) for p in paths])
        out.vol[start], out.spread[start] = targets[:, 0], targets[:, 1]
        if unit.keep_paths:
            out.paths[start] = paths
    out.seconds = time.perf_counter() - started
    return out


@dataclass(frozen=True)
class Forecast:
    """A background's forecast at one start: vote shares (H, 3), the majority class and the class of the mean
    label (H,), the mean realised volatility and mean spread of its rollouts."""

    shares: np.ndarray
    majority: np.ndarray
    mean_class: np.ndarray
    vol: float
    spread: float


def forecast(labels: np.ndarray, vol: np.ndarray, spread: np.ndarray, th: np.ndarray) -> Forecast:
    """The forecast of R rollouts' labels (R, H) at thresholds th (2, H)."""
    classes = fl.classify(labels, th)  # (R, H)
    shares = fl.vote_shares(classes.T)  # (H, 3)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isfinite(labels), labels, np.nan), axis=0) if len(labels) else np.nan
    return Forecast(
        shares, fl.majority(shares), fl.classify(mean, th), float(np.nanmean(vol)), float(np.nanmean(spread))
    )


def deeplob_samples(
    days: tuple[tuple[str, str], ...], th: np.ndarray, every_s: int = DEEPLOB_EVERY_S, data_dir: str | None = None
) -> list[tuple[deeplob.BookStates, np.ndarray, np.ndarray]]:
    """DeepLOB's training data: per day, its book states, the training moments every `every_s` s and their classes."""
    out = []
    for symbol, date in days:
        moments = training_starts(every_s)
        classes = fl.classify(real_path(symbol, date, data_dir).labels(moments), th)
        out.append((deeplob.BookStates.of(load(symbol, date, data_dir)), moments, classes))
    return out


def train_deeplob(
    days: tuple[tuple[str, str], ...],
    out: str | Path,
    train_config: deeplob.DeepLOBTrainConfig | None = None,
    every_s: int = DEEPLOB_EVERY_S,
    data_dir: str | None = None,
    progress: bool = False,
) -> deeplob.LoadedDeepLOB:
    """Train DeepLOB on the training period of `days` with the forecast's labels and thresholds."""
    th = thresholds(days, data_dir)
    samples = deeplob_samples(days, th, every_s, data_dir)
    loaded = deeplob.train(samples, out, train_config=train_config, progress=progress)
    loaded.summary.update({"days": [list(d) for d in days], "every_s": every_s, "thresholds": th.tolist()})
    (Path(out) / "model_card.md").write_text(deeplob.model_card(loaded.summary))
    return loaded


@dataclass(frozen=True)
class MomentForecast:
    """`forecast_moment`'s answer: the forecast, the real labels' classes (-1 unknown) and the rollouts' paths."""

    symbol: str
    date: str
    at: int
    background: str
    thresholds: np.ndarray  # (2, H)
    forecast: Forecast
    truth: np.ndarray  # (H,) the real classes
    real_vol: float
    real_spread: float
    naive_vol: float
    naive_spread: float
    real: MidPath  # the real path over the 5 minutes before and after
    paths: list[MidPath]
    seconds: float


def forecast_moment(
    symbol: str,
    date: str,
    at: str,
    rollouts: int = 16,
    background: str = "lmm",
    seed: int = 0,
    days: tuple[tuple[str, str], ...] | None = None,
    data_dir: str | None = None,
    model_path: str | None = None,
) -> MomentForecast:
    """Forecast one moment with R rollouts of `background`, next to what really happened (thresholds from the
    training period of `days`, default: every catalogued stock-day of `date`, as the evaluation pools them)."""
    try:
        start = parse_clock(at)
    except ValueError as err:
        raise ConfigError(f"moment: {err}") from None
    span = max(HORIZONS) * NS_PER_MINUTE
    info = load(symbol, date, data_dir).info
    if not info.ts_start + span <= start <= info.ts_end - span:
        raise ConfigError(f"{at} leaves no 5 minutes before and after it in {symbol} {date}'s data")
    th = thresholds(days or same_date_days(date, data_dir), data_dir)
    result = simulate_unit(Unit(symbol.upper(), date, (start,), background, rollouts, seed, data_dir, model_path, True))
    real = real_path(symbol.upper(), date, data_dir)
    lo, hi = np.searchsorted(real.ts, [start - span, start + span], side="right")
    vol, spread = real.targets(start, start + span)
    naive_vol, naive_spread = real.targets(start - span, start)
    return MomentForecast(
        symbol.upper(),
        date,
        start,
        background,
        th,
        forecast(result.labels[start], result.vol[start], result.spread[start], th),
        fl.classify(real.labels(np.array([start]))[0], th),
        vol,
        spread,
        naive_vol,
        naive_spread,
        MidPath(real.ts[lo:hi], real.mid[lo:hi], real.spread[lo:hi]),
        result.paths[start],
        result.seconds,
    )
