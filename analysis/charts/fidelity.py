"""Closed-loop fidelity of a realism evaluation: sim/real ratios per 5-minute bucket since the start (`analysis.fidelity`).

A panel per background, a line per flow metric against the minutes since the start, on a log axis (a ratio of 2 is as far
from 1 as 0.5), with the target band [0.8, 1.25] shaded; the table gives the same numbers with the 1-minute
volatility ratio, the variance-ratio ratio and the afternoon trend slopes of the real and the simulated market.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.charts.realism import label, short, simulated
from analysis.fidelity import BAND, BUCKET_MINUTES, TRENDS
from analysis.minute_metrics import FLOW, FLOW_NAMES

METRIC_COLORS = dict(
    zip(
        FLOW,
        (
            "#1f77b4",
            "#ff7f0e",
            "#2ca02c",
            "#d62728",
            "#9467bd",
            "#8c564b",
            "#e377c2",
            "#7f7f7f",
            "#bcbd22",
            "#17becf",
        ),
        strict=True,
    )
)
TICKS = (0.1, 0.2, 0.3, 0.5, 0.8, 1, 1.25, 2, 3, 5, 10)
BAND_FILL = "rgba(26,127,55,0.10)"


def _values(xs: object) -> np.ndarray:
    return np.array([np.nan if x is None else float(x) for x in (xs or [])], dtype=float)


def fidelity_figure(summary: Mapping[str, Any], height: int = 480) -> go.Figure:
    """Sim/real ratio per bucket vs minutes since the start: a panel per background, a line per metric, the band
    [0.8, 1.25] shaded."""
    bgs = simulated(summary) or ["—"]
    fig = make_subplots(
        rows=1, cols=len(bgs), shared_yaxes=True, horizontal_spacing=0.03, subplot_titles=[label(b) for b in bgs]
    )
    for col, bg in enumerate(bgs, 1):
        f = summary.get("backgrounds", {}).get(bg, {}).get("fidelity", {})
        band = {"row": 1, "col": col, "exclude_empty_subplots": False}
        fig.add_hrect(y0=BAND[0], y1=BAND[1], fillcolor=BAND_FILL, line_width=0, layer="below", **band)
        fig.add_hline(y=1.0, line={"color": "#667085", "width": 1, "dash": "dot"}, **band)
        for metric in FLOW:
            y = _values(f.get(metric))
            fig.add_trace(
                go.Scatter(
                    x=(np.arange(len(y)) + 0.5) * BUCKET_MINUTES,
                    y=y,
                    mode="lines+markers",
                    name=FLOW_NAMES[metric],
                    legendgroup=metric,
                    showlegend=col == 1,
                    line={"color": METRIC_COLORS[metric], "width": 1.8},
                    marker={"size": 5},
                    hovertemplate=f"{label(bg)}<br>{FLOW_NAMES[metric]}: %{{y:.2f}}× real at %{{x}} min<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.add_trace(  # the band in the legend
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            line={"color": BAND_FILL, "width": 10},
            name=f"band [{BAND[0]}, {BAND[1]}]",
        ),
        row=1,
        col=1,
    )
    fig.update_yaxes(type="log", tickvals=TICKS, ticktext=[f"{t:g}" for t in TICKS])
    fig.update_yaxes(title="simulated / real (log scale)", row=1, col=1)
    fig.update_xaxes(title="minutes since the start")
    fig.update_layout(
        height=height,
        template="plotly_white",
        title={"text": "Closed-loop fidelity: simulated / real per 5-minute bucket", "x": 0, "xanchor": "left"},
        margin={"l": 70, "r": 20, "t": 80, "b": 50},
        legend={"font": {"size": 10}},
    )
    return fig


def _cell(x: object) -> float:
    return float("nan") if x is None else float(x)


def fidelity_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per background and flow metric: its ratio per bucket (columns "0–5 min", ...)."""
    rows = []
    for bg in simulated(summary):
        f = summary["backgrounds"][bg]["fidelity"]
        for metric in FLOW:
            row: dict[str, object] = {"Background": short(bg), "Metric": FLOW_NAMES[metric]}
            for b, value in enumerate(f.get(metric) or []):
                row[f"{b * BUCKET_MINUTES}–{(b + 1) * BUCKET_MINUTES} min"] = _cell(value)
            rows.append(row)
    return pd.DataFrame(rows)


def fidelity_scalars_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Per background: 1-minute volatility ratio, variance ratios (real, sim, their ratio) and trend slopes."""
    rows = []
    for bg in simulated(summary):
        f = summary["backgrounds"][bg]["fidelity"]
        row: dict[str, object] = {
            "Background": short(bg),
            "1-min volatility ratio": _cell(f.get("volatility")),
            "Variance ratio, real": _cell(f.get("variance_ratio_real")),
            "Variance ratio, sim": _cell(f.get("variance_ratio_sim")),
            "Variance-ratio ratio": _cell(f.get("variance_ratio")),
        }
        trends = f.get("trends", {})
        for column, name in TRENDS.items():
            row[f"{name} slope/h, real"] = _cell(trends.get("real", {}).get(column))
            row[f"{name} slope/h, sim"] = _cell(trends.get("sim", {}).get(column))
        rows.append(row)
    return pd.DataFrame(rows)
