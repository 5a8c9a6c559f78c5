"""Figures of forecasting by simulation: one moment's fan of simulated mids against the real one, its class
probabilities per horizon, and the held-out scoreboard (paper Fig. 7a: accuracy per horizon, every forecaster)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.forecast_labels import CLASSES

FORECASTER_LABELS = {
    "mars": "MarS (order model, majority vote)",
    "mars_mean": "MarS (class of the mean label)",
    "mars_calibrated": "MarS (majority vote, its own training thresholds)",
    "deeplob": "DeepLOB",
    "noise": "Noise traders (majority vote)",
    "noise_mean": "Noise traders (class of the mean label)",
    "persistence": "Persistence",
    "majority": "Majority class",
}
FORECASTER_COLORS = {
    "mars": "#e45756",
    "mars_mean": "#f4a3a3",
    "mars_calibrated": "#b42318",
    "deeplob": "#1f2d3d",
    "noise": "#4c78a8",
    "noise_mean": "#9ecae9",
    "persistence": "#54a24b",
    "majority": "#98a2b3",
}
CLASS_COLORS = {"down": "#b42318", "flat": "#98a2b3", "up": "#1a7f37"}
NS_PER_MINUTE = 60_000_000_000


def fan_figure(
    at: int,
    real: tuple[np.ndarray, np.ndarray],
    paths: Sequence[tuple[np.ndarray, np.ndarray]],
    title: str,
    price_scale: float = 10_000,
) -> go.Figure:
    """The mid of each rollout (thin lines) after `at` and the real mid 5 minutes either side (minutes from `at`)."""
    fig = go.Figure()
    for i, (ts, mid) in enumerate(paths):
        fig.add_scatter(
            x=(np.asarray(ts) - at) / NS_PER_MINUTE,
            y=np.asarray(mid) / price_scale,
            mode="lines",
            line={"color": "rgba(228, 87, 86, 0.35)", "width": 1, "shape": "hv"},
            name="simulated",
            legendgroup="sim",
            showlegend=i == 0,
        )
    ts, mid = real
    fig.add_scatter(
        x=(np.asarray(ts) - at) / NS_PER_MINUTE,
        y=np.asarray(mid) / price_scale,
        mode="lines",
        line={"color": "#1f2d3d", "width": 2, "shape": "hv"},
        name="real",
    )
    fig.add_vline(x=0, line={"color": "#98a2b3", "dash": "dot"})
    fig.update_layout(
        title=title, xaxis_title="minutes from the moment", yaxis_title="mid price ($)", height=420, margin={"t": 50}
    )
    return fig


def probability_table(shares: np.ndarray, majority: Sequence[str | None], actual: Sequence[str | None]) -> pd.DataFrame:
    """One row per horizon: the share of rollouts in each class, the forecast and what happened."""
    table = pd.DataFrame(np.asarray(shares), columns=[f"P({c})" for c in CLASSES])
    table.insert(0, "horizon", [f"{k} min" for k in range(1, len(table) + 1)])
    table["forecast"] = list(majority)
    table["actual"] = list(actual)
    return table


def scoreboard_figure(result: Mapping[str, Any], names: Sequence[str] | None = None) -> go.Figure:
    """Accuracy per horizon with its 95% interval for every forecaster, chance as a line (Fig. 7a)."""
    horizons = result["horizons"]
    names = names or [n for n in FORECASTER_LABELS if n in result["accuracy"]]
    fig = go.Figure()
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        acc = np.array(result["accuracy"][name], dtype=float)
        ci = np.array(result["ci"][name], dtype=float)
        fig.add_bar(
            x=np.array(horizons) + (i - (len(names) - 1) / 2) * width,
            y=acc,
            width=width,
            name=FORECASTER_LABELS.get(name, name),
            marker_color=FORECASTER_COLORS.get(name, "#b279a2"),
            error_y={"type": "data", "symmetric": False, "array": ci[:, 1] - acc, "arrayminus": acc - ci[:, 0]},
        )
    fig.add_hline(y=result.get("chance", 1 / 3), line={"color": "#475467", "dash": "dot"}, annotation_text="chance")
    fig.update_layout(
        title=f"Held-out trend accuracy: {result['starts']} start points, {result['rollouts']} rollouts each",
        xaxis={"title": "horizon (minutes)", "tickvals": horizons},
        yaxis={"title": "accuracy", "range": [0, 1]},
        barmode="overlay",
        height=440,
        margin={"t": 50},
    )
    return fig


def scoreboard_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Accuracy [95% interval] and macro-F1 per forecaster and horizon, as text."""
    rows = []
    for name, acc in result["accuracy"].items():
        row = {"forecaster": FORECASTER_LABELS.get(name, name)}
        for k, a, c, f in zip(result["horizons"], acc, result["ci"][name], result["macro_f1"][name]):
            row[f"{k} min"] = f"{a:.3f} [{c[0]:.2f}, {c[1]:.2f}] F1 {f:.2f}" if a is not None else "-"
        row["mean accuracy"] = round(float(np.mean([a for a in acc if a is not None])), 3)
        rows.append(row)
    return pd.DataFrame(rows)
