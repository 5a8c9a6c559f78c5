"""Figures of detection by simulation: a day's similarity timeline with its flagged windows, and one window's
real vs simulated spread distributions (paper Fig. 8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.detection_scores import METRIC_NAMES

NS_PER_HOUR = 3_600_000_000_000
COLORS = {"mars": "#e45756", "baseline": "#4c78a8", "flag": "#b42318", "episode": "rgba(152, 162, 179, 0.35)"}
DETECTOR_LABELS = {"mars": "MarS (real vs simulated)", "baseline": "Baseline (real vs the window before)"}


def _hours(ns: object) -> np.ndarray:
    return np.asarray(ns, dtype=np.float64) / NS_PER_HOUR


def timeline_figure(table: pd.DataFrame, episodes: Sequence[tuple[int, int]] = (), title: str = "") -> go.Figure:
    """Similarity (1 - anomaly) of each window for both detectors, flagged windows marked, episodes shaded."""
    fig = go.Figure()
    for start, end in episodes:
        fig.add_vrect(x0=_hours(start), x1=_hours(end), fillcolor=COLORS["episode"], line_width=0)
    for det in ("mars", "baseline"):
        fig.add_scatter(
            x=_hours(table["start"]),
            y=1 - table[det],
            mode="lines+markers",
            name=DETECTOR_LABELS[det],
            line={"color": COLORS[det]},
            text=table["clock"],
            hovertemplate="%{text}: %{y:.3f}<extra></extra>",
        )
    flagged = table[table["flagged"]]
    fig.add_scatter(
        x=_hours(flagged["start"]),
        y=1 - flagged["mars"],
        mode="markers",
        name="flagged",
        marker={"color": COLORS["flag"], "size": 13, "symbol": "circle-open", "line": {"width": 3}},
    )
    ticks = table["start"].iloc[:: max(1, len(table) // 10)]
    fig.update_layout(
        title=title,
        xaxis={"title": "window start", "tickvals": _hours(ticks), "ticktext": list(table.loc[ticks.index, "clock"])},
        yaxis={"title": "similarity (mean overlap)", "range": [0, 1.02]},
        height=380,
        margin={"t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def spread_figure(real: np.ndarray, simulated: np.ndarray, tick: int, title: str) -> go.Figure:
    """Fig. 8: the distribution of the spread (ticks) over the seconds of a window, real vs simulated."""
    real_ticks, sim_ticks = (np.asarray(v, dtype=float) / tick for v in (real, simulated))
    real_ticks, sim_ticks = real_ticks[np.isfinite(real_ticks)], sim_ticks[np.isfinite(sim_ticks)]
    top = max([1.0, *real_ticks, *sim_ticks])
    bins = {"start": 0.5, "end": top + 0.5, "size": max(1.0, np.ceil(top / 30))}
    fig = go.Figure()
    for name, values, color in (("real", real_ticks, "#1f2d3d"), ("simulated", sim_ticks, COLORS["mars"])):
        fig.add_histogram(x=values, xbins=bins, histnorm="probability", name=name, marker_color=color, opacity=0.6)
    fig.update_layout(
        barmode="overlay",
        title=title,
        xaxis_title="spread (ticks)",
        yaxis_title="share of seconds",
        height=340,
        margin={"t": 50, "b": 40},
    )
    return fig


def rows_table(row: Mapping[str, Any]) -> pd.DataFrame:
    """One window's similarity per row for both detectors."""
    return pd.DataFrame(
        {
            "row": [METRIC_NAMES[m] for m in METRIC_NAMES],
            "MarS": [row.get(f"mars_{m}") for m in METRIC_NAMES],
            "baseline": [row.get(f"baseline_{m}") for m in METRIC_NAMES],
        }
    )


def evaluation_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Held-out AUC (with 95% intervals) and recall at 5% false alarms per kind and pooled, MarS vs baseline."""

    def ci(v: Sequence[float | None]) -> str:
        return "-" if v is None or None in v else f"[{v[0]:.2f}, {v[1]:.2f}]"

    rows = []
    for name, d in result["detail"].items():
        rows.append(
            {
                "episodes": name.replace("_", " "),
                "n": d["episodes"],
                "MarS AUC": d["mars"]["auc"],
                "MarS 95% CI": ci(d["mars"]["auc_ci"]),
                "baseline AUC": d["baseline"]["auc"],
                "baseline 95% CI": ci(d["baseline"]["auc_ci"]),
                "MarS recall @5% FA": d["mars"]["recall"],
                "baseline recall @5% FA": d["baseline"]["recall"],
            }
        )
    return pd.DataFrame(rows)
