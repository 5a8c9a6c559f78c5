"""What-if market impact studies: TWAP grids on paired rollouts (paper Sec. 3.2, 4.3, App. K).

A study crosses start moments (symbol, date, time) with TWAP configurations and
target sizes Q/V. For each start, `rollouts` baseline futures run without any
agent; their mean market volume in the execution window, V, fixes the target
Q = (Q/V) x V of every point. Each point then runs its treated rollouts on the
baselines' seeds, so rollout k of every point shares its background draws with
baseline k: each treated rollout and its baseline form one paired trajectory.
Results: a study directory with the baselines and points as run directories, a
metrics table (one row per trajectory), impact curves, and the fits.

Layout:
    study.json                  the validated study configuration
    base/<start>/               baseline run directories (no agent)
    points/<start>__<config>__q<Q/V>/   treated run directories
    metrics.parquet, curves.parquet, results.json
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from analysis.impact import PairedTrajectory, curve_frame, metrics_frame
from analysis.impact_study import analyse
from mars_core.data import (
    LobsterDay,
    find_dataset,
    load_day,
    minute_bars,
    resolve_data_dir,
)
from mars_core.data.schema import NS_PER_MINUTE, NS_PER_SECOND, EventType
from mars_core.engine import parse_clock
from mars_core.errors import ConfigError
from mars_core.paths import runs_root
from mars_core.settings import Seed, Settings, Whole, describe, once
from mars_core.sim.agents.twap import TWAPConfig
from mars_core.sim.arms import Progress
from mars_core.sim.backgrounds import background
from mars_core.sim.config import SimConfig
from mars_core.sim.executor import LOCAL, Executor
from mars_core.sim.pool import stoppable
from mars_core.sim.runner import pending_tasks, run_tasks
from mars_core.store import RunDir, claim_directory, named_dir, write_json

PAPER_CONFIGS = ("L1-P0.1", "L1-P0.9", "L5-P0.1", "L5-P0.9")
STUDY_MARKER = "study.json"  # a study directory holds its configuration in this file
STUDIES_DIR = "studies"  # studies without a given directory go to <runs root>/studies/<name>-<config hash>
GRID_S = 1.0  # impact curves are sampled every second
MAX_STUDY_BYTES = 1_000_000
MAX_ARMS = 20_000  # a study's simulated arms (baselines and points): ~a day of the noise background on 2 cores


def parse_agent_name(name: str) -> tuple[int, float]:
    """'L5-P0.9' -> (ap 5, pvr 0.9)."""
    try:
        level, ratio = name.strip().upper().split("-")
        if level[0] != "L" or ratio[0] != "P":
            raise ValueError
        return int(level[1:]), float(ratio[1:])
    except (ValueError, IndexError):
        raise ValueError(
            f"TWAP configuration {name!r} is not named like L1-P0.9 (AP level, passive volume ratio)"
        ) from None


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


class StudyConfig(Settings):
    """A market impact study; load with `StudyConfig.load(path)` for errors that name the field."""

    name: str = "impact-study"
    symbols: tuple[str, ...] = Field(min_length=1)
    dates: tuple[str, ...] = Field(min_length=1)
    start_times: tuple[str, ...] = Field(min_length=1, description="HH:MM, the agent's start")
    execution_minutes: float = Field(5.0, gt=0, le=60)
    horizon_minutes: float = Field(15.0, ge=0, le=120, description="observation after the execution")
    side: Literal["buy", "sell"] = "buy"
    q_over_v: tuple[float, ...] = Field(min_length=1, description="target volume as a fraction of V")
    configs: tuple[str, ...] = Field(PAPER_CONFIGS, min_length=1)
    interval_s: float = Field(30.0, gt=0)
    rollouts: Whole = Field(16, ge=1, le=1000)
    background: Literal["replay", "noise", "lmm"] = "noise"
    seed: Seed = 0
    pre_trade_minutes: int = Field(30, ge=3, le=120, description="window of sigma and resiliency")
    alpha: float = Field(0.5, gt=0, lt=1, description="LOB pressure weight, eq. (6)")
    beta: float = Field(0.5, gt=0, lt=1, description="LOB depth weight, eq. (7)")

    @field_validator("q_over_v")
    @classmethod
    def _fractions(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        for v in values:
            if not 0 < v <= 1:
                raise ValueError(f"Q/V value {v} must lie in (0, 1]")
        return once(values)

    @field_validator("configs")
    @classmethod
    def _names(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for name in values:
            parse_agent_name(name)
        return once(tuple(name.strip().upper() for name in values))

    @field_validator("start_times")
    @classmethod
    def _clocks(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            parse_clock(value)
        return once(values)

    @field_validator("symbols", "dates")
    @classmethod
    def _distinct(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return once(values)

    @model_validator(mode="after")
    def _runnable(self) -> StudyConfig:
        """Every point's TWAP agent is valid and the grid is of a size that can be run, before anything runs."""
        for name in self.configs:
            try:
                twap_config(self, name, volume=1)
            except ValidationError as err:
                raise ValueError(f"configs: {name}: {describe(err)}") from None
        size = plan(self)
        if size["arms"] > MAX_ARMS:
            per_start = len(self.configs) * len(self.q_over_v) + 1
            raise ValueError(
                f"the study would simulate {size['arms']:,} arms ({size['starts']} start(s) x {per_start} runs "
                f"(the baseline and {per_start - 1} points) x {self.rollouts} rollouts), "
                f"{size['arms'] * self.minutes / 60:,.0f} simulated hours; at most {MAX_ARMS:,} arms: "
                "fewer rollouts, Q/V values, configurations or starts"
            )
        return self

    @classmethod
    def load(cls, path: str | Path) -> StudyConfig:
        """Read a YAML or JSON study file."""
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder, not a study file (YAML or JSON)")
        if not path.is_file():
            raise ConfigError(f"{path}: study config not found")
        if path.stat().st_size > MAX_STUDY_BYTES:
            raise ConfigError(f"{path}: {path.stat().st_size:,} bytes; a study file may hold {MAX_STUDY_BYTES:,}")
        return cls.parse(path.read_bytes(), str(path))

    @classmethod
    def parse(cls, data: bytes, where: str) -> StudyConfig:
        """A study from the bytes of a YAML or JSON file (`where` names it in errors): UTF-8, at most
        `MAX_STUDY_BYTES`, no key given twice, then every field validated."""
        if len(data) > MAX_STUDY_BYTES:
            raise ConfigError(f"{where}: {len(data):,} bytes; a study file may hold {MAX_STUDY_BYTES:,}")
        try:
            parsed = yaml.load(data.decode("utf-8"), Loader=UniqueKeyLoader)
        except UnicodeDecodeError as err:
            raise ConfigError(
                f"{where}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start})"
            ) from None
        except yaml.YAMLError as err:  # the problem and its line, without PyYAML's "<unicode string>" and snippet
            mark, problem = getattr(err, "problem_mark", None), getattr(err, "problem", None) or str(err)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise ConfigError(f"{where}: not valid YAML/JSON ({' '.join(str(problem).split())}{at})") from None
        return cls.from_dict(parsed, where)

    @property
    def side_sign(self) -> int:
        return 1 if self.side == "buy" else -1

    @property
    def minutes(self) -> float:
        return self.execution_minutes + self.horizon_minutes


@dataclass(frozen=True)
class Start:
    symbol: str
    date: str
    time: str

    @property
    def key(self) -> str:
        return f"{self.symbol}_{self.date}_{self.time.replace(':', '')}"


def starts(study: StudyConfig) -> list[Start]:
    return [Start(s.upper(), d, t) for s in study.symbols for d in study.dates for t in study.start_times]


def base_config(study: StudyConfig, start: Start) -> SimConfig:
    return SimConfig(
        symbol=start.symbol,
        date=start.date,
        start=start.time,
        minutes=study.minutes,
        rollouts=study.rollouts,
        background=study.background,
        seed=study.seed,
    )


def twap_config(study: StudyConfig, name: str, volume: int) -> TWAPConfig:
    """The TWAP agent of a study's configuration `name` for a target of `volume` shares."""
    ap, pvr = parse_agent_name(name)
    return TWAPConfig(
        side=study.side_sign,
        volume=volume,
        duration_s=study.execution_minutes * 60,
        interval_s=study.interval_s,
        aggressive_s=min(5.0, study.interval_s / 2),
        pvr=pvr,
        ap=ap,
    )


def point_config(study: StudyConfig, start: Start, name: str, volume: int) -> SimConfig:
    twap = twap_config(study, name, volume)
    return base_config(study, start).model_copy(update={"twap": (twap,), "paired": False})


def point_key(start: Start, name: str, q: float) -> str:
    return f"{start.key}__{name}__q{q:g}"


def validate_starts(study: StudyConfig, data_dir: str | None) -> dict[Start, LobsterDay]:
    """Load each start's day and check its windows (pre-trade, execution and horizon)."""
    days = {}
    for start in starts(study):
        day = load_day(find_dataset(start.symbol, start.date, resolve_data_dir(data_dir)))
        base_config(study, start).check_window(day.info)
        if parse_clock(start.time) - 3 * NS_PER_MINUTE < day.info.ts_start:
            raise ConfigError(f"start {start.time} leaves fewer than 3 pre-trade minutes on {day.info.key}")
        days[start] = day
    return days


def run_study(
    study: StudyConfig,
    out: str | Path,
    data_dir: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    wait: bool = False,
    executor: Executor = LOCAL,
) -> dict[str, Any]:
    """Run (or resume) a study; returns the summary line of `mars impact`.

    `stop` (or `stop_run(out)`) stops it promptly with `Cancelled`, its workers killed; `wait`: queue behind another
    process running the same study directory instead of refusing; `executor`: where its arms run (local processes
    or Ray; the same results either way)."""
    started = time.perf_counter()
    out = Path(out)
    days = validate_starts(study, data_dir)
    claim_directory(out, STUDY_MARKER, study.model_dump(mode="json"), "study")
    with RunDir(out).lock(wait), stoppable(out, stop) as flag:
        return _run_study(study, out, days, data_dir, workers, progress, flag, started, executor)


def _run_study(
    study: StudyConfig,
    out: Path,
    days: dict[Start, LobsterDay],
    data_dir: str | None,
    workers: int | None,
    progress: Progress | None,
    stop: threading.Event,
    started: float,
    executor: Executor,
) -> dict[str, Any]:
    bases = {s: RunDir.create(out / "base" / s.key, base_config(study, s).model_dump(mode="json")) for s in days}
    n_points = len(days) * len(study.configs) * len(study.q_over_v)
    total = (len(days) + n_points) * study.rollouts
    finished = [0]

    def step(done: int, _total: int, summary: dict[str, Any]) -> None:
        finished[0] += 1
        if progress is not None:
            progress(finished[0], total, summary)

    runs = [(base_config(study, s), run) for s, run in bases.items()]
    _run(study, runs, data_dir, workers, step, finished, stop, executor)
    points = {}
    for s in days:
        volume = np.mean([window_volume(bases[s], r, "main", s, study) for r in range(study.rollouts)])
        for name in study.configs:
            for q in study.q_over_v:
                config = point_config(study, s, name, max(1, int(round(q * volume))))
                points[(s, name, q)] = (
                    config,
                    RunDir.create(out / "points" / point_key(s, name, q), config.model_dump(mode="json")),
                )
    _run(study, list(points.values()), data_dir, workers, step, finished, stop, executor)
    trajectories = [
        paired_trajectory(study, s, name, q, bases[s], run, r, days[s])
        for (s, name, q), (_, run) in points.items()
        for r in range(study.rollouts)
    ]
    frame = metrics_frame(trajectories, window=study.pre_trade_minutes, alpha=study.alpha, beta=study.beta)
    frame.insert(1, "point", [t.traj_id.rsplit("#", 1)[0] for t in trajectories])
    frame.insert(2, "q_over_v_target", [float(t.traj_id.split("__q")[1].split("#")[0]) for t in trajectories])
    curves = curve_frame(trajectories)
    frame.to_parquet(out / "metrics.parquet", index=False)
    curves.to_parquet(out / "curves.parquet", index=False)
    results = analyse(frame, curves, study.execution_minutes * 60, seed=study.seed)
    write_json(out / "results.json", results)
    pooled = results["sqrt_law"].get("pooled", {})
    return {
        "study": str(out),
        "points": n_points,
        "trajectories": len(trajectories),
        "seconds": round(time.perf_counter() - started, 2),
        "delta": pooled.get("delta"),
        "delta_ci": pooled.get("delta_ci"),
        "Y": pooled.get("Y"),
        "r2": pooled.get("r2"),
        "fulfillment": round(float(frame["fulfillment"].mean()), 4),
    }


def _run(
    study: StudyConfig,
    runs: list[tuple[SimConfig, RunDir]],
    data_dir: str | None,
    workers: int | None,
    step: Callable[[int, int, dict], None],
    finished: list[int],
    stop: threading.Event,
    executor: Executor,
) -> None:
    """Run every pending arm of these run directories (in one pool), counting finished ones."""
    tasks = [task for config, run in runs for task in pending_tasks(config, run)]
    finished[0] += sum(config.rollouts for config, _ in runs) - len(tasks)
    for run in {run.path: run for _, run in runs}.values():
        run.clean_stale()
    driver = background(study.background)
    if driver.lockstep:  # the generative model batches each run's rollouts in one group; the groups go in parallel
        driver.drive(runs, data_dir, workers, step, stop=stop, executor=executor)
    else:
        run_tasks(tasks, data_dir, workers, step, stop=stop, executor=executor)


def _mid_path(run: RunDir, rollout: int, arm: str, start_ns: int, grid_s: np.ndarray) -> np.ndarray:
    """Mid price at each grid time (the last snapshot at or before it)."""
    book = run.table("book", rollout, arm)
    ts = book["ts"].to_numpy()
    mid = (book["ask_price_1"].to_numpy() + book["bid_price_1"].to_numpy()) / 2.0
    two_sided = (book["ask_size_1"].to_numpy() > 0) & (book["bid_size_1"].to_numpy() > 0)
    ts, mid = ts[two_sided], mid[two_sided]
    idx = np.searchsorted(ts, start_ns + (grid_s * NS_PER_SECOND).astype(np.int64), side="right") - 1
    return mid[np.maximum(idx, 0)]


def window_volume(run: RunDir, rollout: int, arm: str, start: Start, study: StudyConfig) -> float:
    """Shares traded in the execution window of one arm."""
    trades = run.table("trades", rollout, arm)
    t0 = parse_clock(start.time)
    t1 = t0 + int(study.execution_minutes * NS_PER_MINUTE)
    in_window = (trades["ts"] >= t0) & (trades["ts"] < t1) if len(trades) else []
    return float(trades.loc[in_window, "qty"].sum()) if len(trades) else 0.0


def paired_trajectory(
    study: StudyConfig, start: Start, name: str, q: float, base: RunDir, point: RunDir, rollout: int, day: LobsterDay
) -> PairedTrajectory:
    """Rollout `rollout` of a point with its baseline, plus the real day's pre-trade data."""
    t0 = parse_clock(start.time)
    grid = np.arange(0.0, study.minutes * 60 + GRID_S / 2, GRID_S)
    baseline = _mid_path(base, rollout, "main", t0, grid)
    treated = _mid_path(point, rollout, "main", t0, grid)
    fills = point.table("agent_fills", rollout, "main")
    pre = minute_bars(day, t0 - study.pre_trade_minutes * NS_PER_MINUTE, t0)
    ev = day.events
    executed = np.isin(ev.type, (EventType.EXECUTE, EventType.EXECUTE_HIDDEN))
    in_window = (ev.ts >= t0) & (ev.ts < t0 + int(study.execution_minutes * NS_PER_MINUTE))
    return PairedTrajectory(
        traj_id=f"{point_key(start, name, q)}#{rollout}",
        config=name,
        side=study.side_sign,
        t_s=grid,
        mid_treated=treated,
        mid_baseline=baseline,
        arrival_mid=float(baseline[0]),
        target_qty=float(point.config["twap"][0]["volume"]),
        market_volume=max(window_volume(base, rollout, "main", start, study), 1.0),
        pre_mid=pre["mid_close"].to_numpy(dtype=float),
        pre_ask_volume=float(pre["ask_depth"].iloc[-1]),
        pre_bid_volume=float(pre["bid_depth"].iloc[-1]),
        fill_t_s=(fills["ts"].to_numpy() - t0) / NS_PER_SECOND if len(fills) else np.empty(0),
        fill_price=fills["price"].to_numpy(dtype=float) if len(fills) else np.empty(0),
        fill_qty=fills["qty"].to_numpy(dtype=float) if len(fills) else np.empty(0),
        execution_s=study.execution_minutes * 60,
        market_volume_treated=window_volume(point, rollout, "main", start, study),
        replay_volume=float(ev.size[executed & in_window].sum()) or None,
    )


# ---- where a study lives, how big it is, and its first results while it runs ----------------------


def study_dir(study: StudyConfig, root: Path | None = None) -> Path:
    """<runs root>/studies/<name>-<config hash>: `mars impact` and the Market Impact page reopen (and resume) the
    same directory for the same study."""
    folder = (runs_root() if root is None else root) / STUDIES_DIR
    return named_dir(folder, study.name, study.model_dump(mode="json"), fallback="study")


def plan(study: StudyConfig) -> dict[str, int]:
    """How much a study simulates: starts, points, trajectories, arms."""
    n_starts = len(study.symbols) * len(study.dates) * len(study.start_times)
    points = n_starts * len(study.configs) * len(study.q_over_v)
    return {
        "starts": n_starts,
        "points": points,
        "trajectories": points * study.rollouts,
        "arms": (n_starts + points) * study.rollouts,
    }


PARTIAL_COLUMNS = ["config", "q_over_v_target", "rollout", "impact_end", "fulfillment"]


@dataclass
class PartialResults:
    """A running study's first results: impact at the end of execution and fulfillment of every treated arm
    finished so far, against its baseline (the final analysis replaces them)."""

    study: StudyConfig
    path: Path
    rows: list[dict] = field(default_factory=list)
    seen: set[tuple[str, int]] = field(default_factory=set)

    def refresh(self, budget_s: float = 0.5) -> pd.DataFrame:
        """Pick up newly finished treated arms (within a time budget) and return all rows so far."""
        deadline = time.perf_counter() + budget_s
        points = sorted(
            (point_key(s, name, q), s, name, q)
            for s in starts(self.study)
            for name in self.study.configs
            for q in self.study.q_over_v
        )
        for key, start, name, q in points:
            point = RunDir(self.path / "points" / key)
            for rollout in range(self.study.rollouts):
                if (key, rollout) in self.seen or not point.is_done(rollout, "main"):
                    continue
                if time.perf_counter() > deadline:
                    return self.frame()
                self.seen.add((key, rollout))
                try:
                    self.rows.append(self._row(point, RunDir(self.path / "base" / start.key), start, name, q, rollout))
                except (OSError, ValueError, KeyError, IndexError):
                    continue  # a partial arm: leave it to the final analysis
        return self.frame()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=PARTIAL_COLUMNS)

    def _row(self, point: RunDir, base: RunDir, start: Start, name: str, q: float, rollout: int) -> dict:
        t0 = parse_clock(start.time)
        t1 = t0 + int(self.study.execution_minutes * 60e9)
        treated, baseline, arrival = _mid_at(point, rollout, t1), _mid_at(base, rollout, t1), _mid_at(base, rollout, t0)
        agents = list(point.arm_summary(rollout, "main").get("agents", {}).values())
        executed = sum(a.get("executed", 0) for a in agents)
        volume = sum(a.get("volume", 0) for a in agents)
        return {
            "config": name,
            "q_over_v_target": q,
            "rollout": rollout,
            "impact_end": self.study.side_sign * (treated - baseline) / arrival if arrival > 0 else np.nan,
            "fulfillment": executed / volume if volume else np.nan,
        }


def _mid_at(run: RunDir, rollout: int, ts: int) -> float:
    """Mid price of the last two-sided snapshot at or before ts."""
    book = run.read(rollout, "main", "book", columns=["ts", "ask_price_1", "bid_price_1", "ask_size_1", "bid_size_1"])
    book = book[(book["ts"] <= ts) & (book["ask_size_1"] > 0) & (book["bid_size_1"] > 0)]
    last = book.iloc[-1]
    return (float(last["ask_price_1"]) + float(last["bid_price_1"])) / 2.0
