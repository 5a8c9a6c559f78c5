"""`mars forecast evaluate`: every forecaster side by side on the held-out afternoons (paper Fig. 7a).

Start points every `every_minutes` from 14:30 on each stock-day; at each, the simulated backgrounds (`forecast`)
forecast the trend class at 1..5 minutes, next to DeepLOB (`model.deeplob`, trained before 14:30), the majority
class of the training period and persistence (the class of the past k minutes' trend, at the same thresholds).
Accuracy and macro-F1 per horizon with 95% block-bootstrap intervals over start points, confusion matrices, and the
5-minute realised volatility and mean spread forecasts against the naive "as in the last 5 minutes".

The simulations are units of a few start points of one day (`forecast.Unit`), mapped by one function
(`unit_result`) on the executor (local processes or Ray); this process keeps each unit's result in the evaluation
directory (`units/`), so an interrupted evaluation resumes where it stopped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from analysis import forecast_labels as fl
from analysis.bootstrap import BLOCK, RESAMPLES
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.engine import format_clock
from mars_core.errors import MarsInputError
from mars_core.experiments import forecast as fc
from mars_core.experiments.executor import LOCAL, Executor, run_units
from mars_core.model import deeplob
from mars_core.paths import runs_root
from mars_core.settings import Seed, Settings, Whole, once
from mars_core.store import named_dir, write_json
from mars_core.store.rundir import finite

EVALUATIONS_DIR = "forecast"
MARKER = "forecast.json"  # an evaluation directory holds its configuration in this file
DATE = "2012-06-21"


class ForecastConfig(Settings):
    """What `mars forecast evaluate` scores."""

    symbols: tuple[str, ...] = ("GOOG", "AMZN")
    date: str = DATE
    backgrounds: tuple[str, ...] = ("lmm", "noise")
    rollouts: Whole = Field(16, ge=1, le=256, description="rollouts per start point (the paper: 128)")
    every_minutes: int = Field(2, ge=1, le=30, description="spacing of the start points")
    starts_per_unit: int = Field(8, ge=1, le=64, description="start points simulated in one lockstep batch")
    calibrate_every: int = Field(
        0,
        ge=0,
        le=120,
        description="minutes between the training-period starts that set MarS's own thresholds (0: none)",
    )
    bootstrap: int = Field(RESAMPLES, ge=10, le=100_000)
    seed: Seed = 0

    @field_validator("backgrounds")
    @classmethod
    def _known(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for v in values:
            if v not in fc.BACKGROUNDS:
                raise ValueError(f"background {v!r} is not one of {', '.join(fc.BACKGROUNDS)}")
        return once(values)

    _symbols = field_validator("symbols")(lambda values: once(values))

    @property
    def days(self) -> tuple[tuple[str, str], ...]:
        return tuple((s.upper(), self.date) for s in self.symbols)

    def units(self, data_dir: str | None = None) -> list[fc.Unit]:
        starts = [int(s) for s in fc.held_out_starts(self.every_minutes)]
        k = self.starts_per_unit
        return [
            fc.Unit(sym, date, tuple(starts[i : i + k]), bg, self.rollouts, self.seed, data_dir)
            for bg in self.backgrounds
            for sym, date in self.days
            for i in range(0, len(starts), k)
        ]

    def calibration_units(self, data_dir: str | None = None) -> list[fc.Unit]:
        """The order model's futures from training-period moments (their labels' tertiles are MarS's own thresholds)."""
        if not self.calibrate_every:
            return []
        starts = [int(s) for s in fc.training_starts(self.calibrate_every * 60)]
        k = self.starts_per_unit
        return [
            fc.Unit(sym, date, tuple(starts[i : i + k]), "lmm", self.rollouts, self.seed, data_dir)
            for sym, date in self.days
            for i in range(0, len(starts), k)
        ]


def unit_file(out: Path, unit: fc.Unit) -> Path:
    return out / "units" / f"{unit.background}_{unit.symbol}_{unit.date}_{unit.starts[0] // NS_PER_MINUTE}.npz"


def unit_result(unit: fc.Unit) -> dict[str, Any]:
    """Simulate one unit: its start points' rollout labels (S, R, H), realised vols and mean spreads (S, R)."""
    result = fc.simulate_unit(unit)
    return {
        "unit": unit,
        "starts": np.array(unit.starts),
        "labels": np.stack([result.labels[s] for s in unit.starts]),
        "vol": np.stack([result.vol[s] for s in unit.starts]),
        "spread": np.stack([result.spread[s] for s in unit.starts]),
        "orders": result.orders,
        "seconds": result.seconds,
    }


def map_units(
    units: list[fc.Unit],
    out: Path,
    executor: Executor = LOCAL,
    workers: int | None = None,
    done: Callable[[int, int], None] | None = None,
) -> None:
    """Run the units not yet kept in `out` on the executor; this process keeps each result (atomically)."""
    todo = [u for u in units if not unit_file(out, u).exists()]
    finished = [len(units) - len(todo)]

    def keep(result: dict[str, Any]) -> None:
        path = unit_file(out, result.pop("unit"))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **result)
        os.replace(tmp, path)
        finished[0] += 1
        if done:
            done(finished[0], len(units))

    run_units(unit_result, todo, executor, workers, keep)


def evaluate(
    config: ForecastConfig,
    out: str | Path | None = None,
    data_dir: str | None = None,
    workers: int | None = None,
    done: Callable[[int, int], None] | None = None,
    deeplob_path: str | None = None,
    executor: Executor = LOCAL,
) -> dict[str, Any]:
    """Simulate (or resume) every unit, then score every forecaster on the held-out start points."""
    started = time.perf_counter()
    out = Path(out) if out else named_dir(runs_root() / EVALUATIONS_DIR, "eval", config.model_dump(mode="json"))
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / MARKER, config.model_dump(mode="json"))
    units = config.units(data_dir)
    map_units(units + config.calibration_units(data_dir), out, executor, workers, done)
    simulated = time.perf_counter()
    th = fc.thresholds(config.days, data_dir)
    result = score(config, out, units, th, data_dir, deeplob_path)
    result["timings"] = {
        "simulate_seconds": round(simulated - started, 1),
        "score_seconds": round(time.perf_counter() - simulated, 1),
        "unit_seconds": round(sum(float(np.load(unit_file(out, u))["seconds"]) for u in units), 1),
        "orders": int(sum(int(np.load(unit_file(out, u))["orders"]) for u in units)),
    }
    result["dir"] = str(out)
    result = finite(result)
    write_json(out / "summary.json", result)
    return result


def _gather(out: Path, units: list[fc.Unit], background: str, days) -> dict[str, np.ndarray]:
    parts = [
        np.load(unit_file(out, u))
        for d in days
        for u in units
        if u.background == background and (u.symbol, u.date) == d
    ]
    return {k: np.concatenate([p[k] for p in parts]) for k in ("starts", "labels", "vol", "spread")}


def score(
    config: ForecastConfig,
    out: Path,
    units: list[fc.Unit],
    th: np.ndarray,
    data_dir: str | None = None,
    deeplob_path: str | None = None,
) -> dict[str, Any]:
    """Every forecaster's classes at every start (days in order) against the truth, scored per horizon."""
    starts = fc.held_out_starts(config.every_minutes)
    hns = fc.horizons_ns()
    span = max(fc.HORIZONS) * NS_PER_MINUTE
    truth, predicted, vol, spread = [], {}, {"real": [], "naive": []}, {"real": [], "naive": []}
    train_classes = fl.classify(
        np.concatenate([fc.real_path(s, d, data_dir).labels(fc.training_starts()) for s, d in config.days]), th
    )
    majority_class = np.array([np.bincount(c[c >= 0], minlength=3).argmax() for c in train_classes.T])
    notes = []
    try:
        model = deeplob.load(deeplob_path)
    except MarsInputError as err:
        model = None
        notes.append(f"DeepLOB left out: {err}")
    for sym, date in config.days:
        real = fc.real_path(sym, date, data_dir)
        truth.append(fl.classify(real.labels(starts), th))
        past = np.stack([fl.mean_mid_returns(real.ts, real.mid, starts - k, [k])[:, 0] for k in hns], axis=1)
        predicted.setdefault("persistence", []).append(fl.classify(past, th))
        predicted.setdefault("majority", []).append(np.tile(majority_class, (len(starts), 1)))
        for name, future in (("real", 0), ("naive", -span)):
            targets = np.array([real.targets(s + future, s + future + span) for s in starts])
            vol[name].append(targets[:, 0])
            spread[name].append(targets[:, 1])
        if model is not None:
            states = deeplob.BookStates.of(fc.load(sym, date, data_dir))
            predicted.setdefault("deeplob", []).append(deeplob.predict(model, states, starts)[0])
    for bg in config.backgrounds:
        sims = [_gather(out, units, bg, [d]) for d in config.days]
        casts = [
            [fc.forecast(g["labels"][i], g["vol"][i], g["spread"][i], th) for i in range(len(g["starts"]))]
            for g in sims
        ]
        name = "mars" if bg == "lmm" else bg
        predicted[name] = [np.stack([f.majority for f in c]) for c in casts]
        predicted[f"{name}_mean"] = [np.stack([f.mean_class for f in c]) for c in casts]
        vol[name] = [np.array([f.vol for f in c]) for c in casts]
        spread[name] = [np.array([f.spread for f in c]) for c in casts]
        if bg == "lmm" and (calibration := config.calibration_units()):
            own = fl.tertile_thresholds(_gather(out, calibration, "lmm", config.days)["labels"].reshape(-1, len(hns)))
            predicted["mars_calibrated"] = [
                np.stack(
                    [
                        fc.forecast(g["labels"][i], g["vol"][i], g["spread"][i], own).majority
                        for i in range(len(g["starts"]))
                    ]
                )
                for g in sims
            ]
            notes.append(f"mars_calibrated: MarS's votes at its own thresholds {np.round(own, 6).tolist()}")
    truth = np.concatenate(truth)
    predicted = {k: np.concatenate(v) for k, v in predicted.items()}
    scores = {
        name: [fl.score_horizon(truth[:, j], p[:, j], config.bootstrap, config.seed, BLOCK) for j in range(len(hns))]
        for name, p in predicted.items()
    }
    mean = {name: fl.mean_accuracy(truth, p, config.bootstrap, config.seed, BLOCK) for name, p in predicted.items()}
    paired = {
        f"{a}-{b}": fl.paired_difference(truth, predicted[a], predicted[b], config.bootstrap, config.seed, BLOCK)
        for a, b in (("mars", "deeplob"), ("mars", "noise"), ("mars", "majority"))
        if a in predicted and b in predicted
    }
    regression = {}
    for target, values in (("realised_vol", vol), ("mean_spread", spread)):
        real_v = np.concatenate(values["real"])
        regression[target] = {
            n: fl.regression_error(real_v, np.concatenate(v), config.bootstrap, config.seed)
            for n, v in values.items()
            if n != "real"
        }
    return {
        "horizons": list(fc.HORIZONS),
        "rollouts": config.rollouts,
        "every_minutes": config.every_minutes,
        "starts": int(len(truth)),
        "start_times": [format_clock(s)[:5] for s in starts],
        "days": [list(d) for d in config.days],
        "thresholds": th.tolist(),
        "chance": 1 / 3,
        "accuracy": {n: [s["accuracy"] for s in v] for n, v in scores.items()},
        "ci": {n: [s["accuracy_ci"] for s in v] for n, v in scores.items()},
        "macro_f1": {n: [s["macro_f1"] for s in v] for n, v in scores.items()},
        "macro_f1_ci": {n: [s["macro_f1_ci"] for s in v] for n, v in scores.items()},
        "confusion": {n: [s["confusion"] for s in v] for n, v in scores.items()},
        "mean_accuracy": mean,
        "paired": paired,
        "truth_counts": [np.bincount(truth[:, j][truth[:, j] >= 0], minlength=3).tolist() for j in range(len(hns))],
        "regression": regression,
        "deeplob": None if model is None else {k: model.summary.get(k) for k in ("best", "seconds", "parameters")},
        "notes": notes,
        "bootstrap": {"resamples": config.bootstrap, "block": BLOCK, "over": "start points (both days in order)"},
    }
