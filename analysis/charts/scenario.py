"""Figures and summaries of scenario retrieval and controlled simulations (paper Fig. 16): pure functions, no Streamlit.

Paths are mid log-returns from a start, at minute points; the figures show them in
percent (price paths) or basis points (impact), with x in minutes since the start.
A batch of rollouts is drawn as its mean with the 10-90% band across rollouts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from analysis.charts.market import _tint
from analysis.rollout_fans import fan
from analysis.similarity import path_correlation

BAND = (0.1, 0.9)
TARGET_COLOR = "#1f77b4"  # the paper's blue "replay" line
REAL_COLOR = "#7f7f7f"
ARM_COLORS = {"control": "#ff7f0e", "no_control": "#2ca02c", "control_twap": "#d62728", "no_control_twap": "#9467bd"}
PALETTE = plotly.colors.qualitative.D3
PCT, BPS = 100.0, 1e4


def band(paths: np.ndarray, quantiles: tuple[float, float] = BAND) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and the (lo, hi) quantiles across rollouts (axis 0) of (R, H) paths."""
    paths = np.atleast_2d(np.asarray(paths, dtype=float))
    q = fan(paths, quantiles)
    return np.nanmean(paths, axis=0), q.q(quantiles[0]), q.q(quantiles[1])


def _style(fig: go.Figure, title: str, x_title: str, y_title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 110},
        # below the plot: above it, a legend of several long names wraps onto the title
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
        hoverlabel={"namelength": -1},
    )
    fig.update_xaxes(title_text=x_title, dtick=1 if _span(fig) <= 15 else None)  # whole minutes
    fig.update_yaxes(title_text=y_title)
    return fig


def _span(fig: go.Figure) -> float:
    xs = [float(v) for t in fig.data if t.x is not None for v in t.x]
    return max(xs) - min(xs) if xs else 0.0


def _band_traces(
    fig: go.Figure, x: np.ndarray, paths: np.ndarray, name: str, color: str, scale: float, unit: str
) -> None:
    mean, lo, hi = band(paths)
    x = np.r_[0.0, x]  # every path starts at 0 at the start
    mean, lo, hi = (np.r_[0.0, v] * scale for v in (mean, lo, hi))
    fig.add_trace(
        go.Scatter(
            x=np.r_[x, x[::-1]],
            y=np.r_[hi, lo[::-1]],
            fill="toself",
            fillcolor=_tint(color, 0.18),
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
            legendgroup=name,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=mean,
            name=f"{name} (mean, 10–90% band)",
            legendgroup=name,
            mode="lines+markers",
            line={"color": color, "width": 2},
            marker={"size": 4},
            hovertemplate=f"{name}: %{{y:+.3f}}{unit} at minute %{{x}}<extra></extra>",
        )
    )


def cases_figure(
    cases: Sequence[tuple[str, np.ndarray, np.ndarray]], title: str = "Retrieved historical cases", height: int = 430
) -> go.Figure:
    """Each retrieved window: its control signal (solid) and, when rescaled, the real path (dotted), in %.

    Args:
        cases: (label, real log-return path (D+1,), signal log-return path (D+1,)) per window.
    """
    fig = go.Figure()
    for n, (label, real, signal) in enumerate(cases):
        color = PALETTE[n % len(PALETTE)]
        x = np.arange(len(signal))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=np.expm1(signal) * PCT,
                name=label,
                legendgroup=label,
                mode="lines",
                line={"color": color, "width": 2},
                hovertemplate=f"{label}: %{{y:+.3f}}% at minute %{{x}}<extra></extra>",
            )
        )
        if not np.allclose(real, signal):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=np.expm1(real) * PCT,
                    name=f"{label} (real, before rescaling)",
                    legendgroup=label,
                    mode="lines",
                    line={"color": color, "width": 1, "dash": "dot"},
                    showlegend=False,
                    hovertemplate=f"{label} real: %{{y:+.3f}}% at minute %{{x}}<extra></extra>",
                )
            )
    fig.add_hline(y=0, line={"color": "lightgrey", "width": 1})
    return _style(fig, title, "Minutes from the window's start", "Return from the start (%)", height)


def controlled_figure(
    target: np.ndarray,
    arms: Mapping[str, np.ndarray],
    labels: Mapping[str, str] | None = None,
    history: tuple[np.ndarray, np.ndarray] | None = None,
    real: np.ndarray | None = None,
    title: str = "Target vs simulated mid",
    height: int = 490,
) -> go.Figure:
    """Target path and each arm's simulated paths as mean and 10–90% band (paper Fig. 16), in % from the start mid.

    Args:
        target: (H,) target log-return at minutes 1..H.
        arms: arm key -> (R, H) simulated log-returns at minutes 1..H.
        labels: arm key -> legend name.
        history: (minutes <= 0, log-returns) of the real mid before the start, drawn for context.
        real: (H,) what the real day did after the start, when known.
    """
    labels = labels or {}
    H = len(target)
    x = np.arange(1, H + 1, dtype=float)
    fig = go.Figure()
    if history is not None and len(history[0]):
        fig.add_trace(
            go.Scatter(
                x=history[0],
                y=np.expm1(history[1]) * PCT,
                name="Real, before the start",
                mode="lines",
                line={"color": REAL_COLOR, "width": 1.5},
                hovertemplate="real: %{y:+.3f}% at minute %{x}<extra></extra>",
            )
        )
    if real is not None:
        fig.add_trace(
            go.Scatter(
                x=np.r_[0.0, x],
                y=np.expm1(np.r_[0.0, real]) * PCT,
                name="Real, after the start",
                mode="lines",
                line={"color": REAL_COLOR, "width": 1, "dash": "dot"},
                hovertemplate="real: %{y:+.3f}% at minute %{x}<extra></extra>",
            )
        )
    for n, (key, paths) in enumerate(arms.items()):
        color = ARM_COLORS.get(key, PALETTE[n % len(PALETTE)])
        _band_traces(fig, x, np.expm1(np.asarray(paths, dtype=float)), labels.get(key, key), color, PCT, "%")
    fig.add_trace(
        go.Scatter(
            x=np.r_[0.0, x],
            y=np.expm1(np.r_[0.0, target]) * PCT,
            name="Target",
            mode="lines+markers",
            line={"color": TARGET_COLOR, "width": 2.5},
            marker={"size": 5},
            hovertemplate="target: %{y:+.3f}% at minute %{x}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line={"dash": "dot", "color": "grey"}, annotation_text="start")
    return _style(fig, title, "Minutes since the start", "Mid, return from the start (%)", height)


def impact_paths(with_agent: np.ndarray, without: np.ndarray, side: int) -> np.ndarray:
    """(R, H) impact per rollout in bps: the mid with the agent minus the mid without it (same seeds), signed so that
    positive is adverse to the agent (price up for a buy, down for a sell)."""
    return (np.expm1(np.asarray(with_agent, float)) - np.expm1(np.asarray(without, float))) * BPS * side


def impact_figure(
    impacts: Mapping[str, np.ndarray],
    labels: Mapping[str, str] | None = None,
    title: str = "Impact of the TWAP agent under this scenario",
    height: int = 430,
) -> go.Figure:
    """Each arm's impact paths (R, H) in bps (`impact_paths`) as mean and 10–90% band."""
    labels = labels or {}
    fig = go.Figure()
    for n, (key, paths) in enumerate(impacts.items()):
        paths = np.asarray(paths, dtype=float)
        x = np.arange(1, paths.shape[1] + 1, dtype=float)
        _band_traces(fig, x, paths, labels.get(key, key), ARM_COLORS.get(key, PALETTE[n % len(PALETTE)]), 1.0, " bps")
    fig.add_hline(y=0, line={"color": "lightgrey", "width": 1})
    return _style(fig, title, "Minutes since the start", "Impact (bps, + = adverse to the agent)", height)


def follow_table(
    target: np.ndarray, arms: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """How well each arm follows the target: correlations, end return and distance (one row per arm)."""
    labels = labels or {}
    target = np.asarray(target, dtype=float)
    rows = []
    for key, paths in arms.items():
        paths = np.atleast_2d(np.asarray(paths, dtype=float))
        corr = [path_correlation(p, target) for p in paths]
        rows.append(
            {
                "Run": labels.get(key, key),
                "Rollouts": len(paths),
                "Correlation with target (mean)": float(np.mean(corr)),
                "Correlation of the mean path": path_correlation(paths.mean(0), target),
                "End return, mean (%)": float(np.expm1(paths[:, -1]).mean() * PCT),
                "Target end (%)": float(np.expm1(target[-1]) * PCT),
                "On the target's side at the end": float(np.mean(np.sign(paths[:, -1]) == np.sign(target[-1]))),
                "RMS distance (bps)": float(np.sqrt(((paths - target) ** 2).mean(1)).mean() * BPS),
            }
        )
    return pd.DataFrame(rows)
