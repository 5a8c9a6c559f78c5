"""Everything a finished impact study reports, from its metrics and curves tables.

Pure functions: `analyse(metrics, curves, ...)` returns a JSON-serialisable dict
with the square-root-law fits (per configuration and pooled), the impact bands,
fulfillment by Q/V, the factor correlations, the SINDy formula and the learned
decay ODE against the base ODE. Fits that need more data than the study has are
reported as skipped with the reason, never as an error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis import decay_ode, factors, impact, sqrt_law, symbolic
from mars_core.errors import MarsInputError

MIN_SYMBOLIC = 12  # trajectories
MIN_DECAY = 12


def long_term_from_curves(
    curves: pd.DataFrame, metrics: pd.DataFrame, execution_s: float, step_s: float = 60.0
) -> tuple[np.ndarray, np.ndarray]:
    """(t_min, (N, T) curves) after the end of execution, rows aligned with `metrics`."""
    wide = curves.pivot_table(index="traj_id", columns="t_s", values="impact").reindex(metrics["traj_id"])
    t = wide.columns.to_numpy(dtype=float)
    horizon = t[-1] - execution_s
    rel = np.arange(0.0, horizon + 1e-9, step_s)
    values = wide.to_numpy(dtype=float)
    out = np.stack([np.interp(execution_s + rel, t, row) for row in values])
    return rel / 60.0, out


def fulfillment_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean fulfillment, impact and slippage per configuration and target Q/V."""
    keys = ["config", "q_over_v_target"] if "q_over_v_target" in metrics else ["config"]
    return (
        metrics.groupby(keys)
        .agg(
            trajectories=("traj_id", "count"),
            q_over_v=("q_over_v", "mean"),
            fulfillment=("fulfillment", "mean"),
            impact_end=("impact_end", "mean"),
            slippage_bps=("slippage_bps", "mean"),
        )
        .reset_index()
    )


def analyse(
    metrics: pd.DataFrame,
    curves: pd.DataFrame,
    execution_s: float,
    n_boot: int = 1000,
    seed: int = 0,
    ode_epochs: int = 300,
) -> dict[str, Any]:
    """The study's results (see the module docstring)."""
    results: dict[str, Any] = {"trajectories": int(len(metrics))}
    try:
        fits = sqrt_law.fit_by_config(metrics, method="binned", n_boot=n_boot, seed=seed)
        results["sqrt_law"] = {k: v.to_dict() for k, v in fits.items()}
    except MarsInputError as err:
        results["sqrt_law"] = {"skipped": str(err)}
    try:
        points = sqrt_law.fit_by_config(metrics, method="points", n_boot=n_boot, seed=seed)
        results["sqrt_law_points"] = {k: v.to_dict() for k, v in points.items()}
    except MarsInputError as err:
        results["sqrt_law_points"] = {"skipped": str(err)}
    results["fulfillment"] = fulfillment_table(metrics).to_dict(orient="records")
    results["bands"] = impact.impact_curves(
        curves.merge(metrics[["traj_id"]], on="traj_id"), execution_s=execution_s
    ).to_dict(orient="list")
    usable = metrics.replace([np.inf, -np.inf], np.nan).dropna(subset=list(factors.FACTOR_COLUMNS))
    results["correlation"] = factors.correlation_matrix(usable).round(4).to_dict() if len(usable) > 2 else {}
    if len(usable) >= MIN_SYMBOLIC:
        try:
            results["symbolic"] = symbolic.fit_symbolic(usable, seed=seed).to_dict()
        except MarsInputError as err:
            results["symbolic"] = {"skipped": str(err)}
    else:
        results["symbolic"] = {"skipped": f"needs at least {MIN_SYMBOLIC} trajectories, has {len(usable)}"}
    horizon_s = curves["t_s"].max() - execution_s
    if len(usable) >= MIN_DECAY and horizon_s >= 120:
        t_min, long = long_term_from_curves(curves, usable, execution_s)
        try:
            results["decay"] = decay_ode.compare_decay_models(
                t_min, long, usable, seed=seed, epochs=ode_epochs
            ).to_dict()
        except MarsInputError as err:
            results["decay"] = {"skipped": str(err)}
    else:
        results["decay"] = {"skipped": f"needs at least {MIN_DECAY} trajectories and 2 minutes after execution"}
    return _jsonable(results)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
