"""Plotly figures for market-impact studies (paper Figs. 6b, 9, 23-26): pure functions, no Streamlit.

Impacts are relative (see `analysis.impact`); the curve figures show them in
basis points unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from analysis import sqrt_law
from analysis.decay_ode import DecayODEFit
from analysis.factors import FACTOR_LABELS

PALETTE = plotly.colors.qualitative.D3
MODEL_COLORS = {"ground_truth": "#1f2d3d", "learned": "#d62728", "base": "#1f77b4"}
MODEL_NAMES = {"ground_truth": "Ground truth", "learned": "Learned ODE", "base": "Base ODE"}


def config_colors(configs: Sequence[str]) -> dict[str, str]:
    """A stable colour per configuration (sorted order)."""
    return {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(sorted(map(str, configs)))}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def style(fig: go.Figure, title: str, x_title: str, y_title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def impact_curves_figure(
    bands: pd.DataFrame,
    by: str = "config",
    execution_min: float = 5.0,
    in_bps: bool = True,
    title: str = "Short- and long-term market impact",
    height: int = 420,
) -> go.Figure:
    """Mean impact per group with its confidence band (Fig. 23b), from `impact.impact_curves`."""
    scale = 1e4 if in_bps else 1.0
    colors = config_colors(bands[by].unique())
    fig = go.Figure()
    for key, part in bands.groupby(by, sort=True):
        color = colors[str(key)]
        minute, lo, hi = (part[c].to_numpy(float) for c in ("minute", "lo", "hi"))
        fig.add_trace(
            go.Scatter(
                x=np.r_[minute, minute[::-1]],
                y=np.r_[hi, lo[::-1]] * scale,
                fill="toself",
                fillcolor=_rgba(color, 0.18),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=str(key),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=part["minute"],
                y=part["mean"] * scale,
                name=str(key),
                legendgroup=str(key),
                mode="lines",
                line={"color": color, "width": 2},
                hovertemplate=f"{key}: %{{y:.3g}} at %{{x:.2f}} min<extra></extra>",
            )
        )
    fig.add_vline(x=execution_min, line={"dash": "dot", "color": "grey"}, annotation_text="end of execution")
    return style(fig, title, "Minutes since the agent's start", "Impact (bps)" if in_bps else "Impact", height)


def fulfillment_figure(
    frame: pd.DataFrame, by: str = "config", bins: int = 10, title: str = "Fulfillment rate vs Q/V", height: int = 420
) -> go.Figure:
    """Fulfillment rate per trajectory against Q/V, with the mean per Q/V group (Fig. 23a)."""
    colors = config_colors(frame[by].unique())
    fig = go.Figure()
    for key, part in frame.groupby(by, sort=True):
        color = colors[str(key)]
        fig.add_trace(
            go.Scatter(
                x=part["q_over_v"],
                y=part["fulfillment"],
                mode="markers",
                showlegend=False,
                legendgroup=str(key),
                marker={"color": color, "size": 4, "opacity": 0.3},
                hovertemplate=f"{key}: Q/V %{{x:.2e}}, fulfillment %{{y:.3f}}<extra></extra>",
            )
        )
        means = part.groupby(sqrt_law.q_over_v_groups(part["q_over_v"].to_numpy(float), bins))[
            ["q_over_v", "fulfillment"]
        ].mean()
        fig.add_trace(
            go.Scatter(
                x=means["q_over_v"],
                y=means["fulfillment"],
                mode="lines+markers",
                name=str(key),
                legendgroup=str(key),
                line={"color": color, "width": 2},
            )
        )
    return style(fig, title, "Q/V", "Fulfillment rate", height)


def sqrt_law_figure(
    frame: pd.DataFrame,
    fits: Mapping[str, sqrt_law.SqrtLawFit],
    by: str = "config",
    impact_col: str = "impact_end",
    bins: int = 10,
    title: str = "Square-root law",
    height: int = 460,
) -> go.Figure:
    """Log-log impact/sigma vs Q/V per group with fitted lines, the delta = 0.5 reference and the 0.4-0.7 band (Fig. 6b).

    Points are the per-group means used by `sqrt_law.fit_binned`; groups with
    a non-positive mean cannot be drawn on a log axis and are left out.
    """
    colors = config_colors(frame[by].unique())
    fig = go.Figure()
    q_all = frame["q_over_v"].to_numpy(float)
    q_all = q_all[q_all > 0]
    grid = np.geomspace(q_all.min(), q_all.max(), 50)
    pooled = fits.get(sqrt_law.POOLED)
    if pooled is not None:
        pivot_q = float(np.exp(np.mean(np.log(q_all))))
        pivot_y = pooled.Y * pivot_q**pooled.delta
        lo_d, hi_d = sqrt_law.EMPIRICAL_DELTA_RANGE
        band = [pivot_y * (grid / pivot_q) ** d for d in (lo_d, hi_d)]
        fig.add_trace(
            go.Scatter(
                x=np.r_[grid, grid[::-1]],
                y=np.r_[band[0], band[1][::-1]],
                fill="toself",
                fillcolor="rgba(128,128,128,0.15)",
                line={"width": 0},
                hoverinfo="skip",
                name=f"δ in [{lo_d}, {hi_d}] (empirical)",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=grid,
                y=pivot_y * (grid / pivot_q) ** 0.5,
                mode="lines",
                name="δ = 0.5",
                line={"color": "grey", "dash": "dash"},
            )
        )
    for key, part in frame.groupby(by, sort=True):
        color = colors[str(key)]
        q = part["q_over_v"].to_numpy(float)
        groups = sqrt_law.q_over_v_groups(q, bins)
        means = (
            pd.DataFrame({"g": groups, "logq": np.log(q), "imp": part[impact_col], "sig": part["sigma"]})
            .groupby("g")
            .mean()
        )
        ok = (means["imp"] > 0) & (means["sig"] > 0)
        fig.add_trace(
            go.Scatter(
                x=np.exp(means["logq"][ok]),
                y=(means["imp"] / means["sig"])[ok],
                mode="markers",
                name=str(key),
                legendgroup=str(key),
                marker={"color": color, "size": 8},
            )
        )
        fit = fits.get(str(key))
        if fit is not None:
            fig.add_trace(
                go.Scatter(
                    x=grid,
                    y=fit.Y * grid**fit.delta,
                    mode="lines",
                    legendgroup=str(key),
                    name=f"{key}: δ = {fit.delta:.2f}",
                    line={"color": color},
                )
            )
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    return style(fig, title, "Q/V", "Impact / σ", height)


def correlation_heatmap(corr: pd.DataFrame, title: str = "Factor correlations", height: int = 440) -> go.Figure:
    """Annotated correlation matrix of the factors (Fig. 25), from `factors.correlation_matrix`."""
    labels = [FACTOR_LABELS.get(c, c) for c in corr.columns]
    z = corr.to_numpy(float)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu_r",
            text=np.round(z, 2),
            texttemplate="%{text:.2f}",
            hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return style(fig, title, "", "", height)


def factor_scatter_figure(
    frame: pd.DataFrame,
    factor: str,
    by: str = "config",
    impact_col: str = "impact_end",
    title: str | None = None,
    height: int = 420,
) -> go.Figure:
    """Impact at the end of execution against one factor, coloured by group (Figs. 9a, 24)."""
    colors = config_colors(frame[by].unique())
    label = FACTOR_LABELS.get(factor, factor)
    fig = go.Figure()
    for key, part in frame.groupby(by, sort=True):
        fig.add_trace(
            go.Scatter(
                x=part[factor],
                y=part[impact_col],
                mode="markers",
                name=str(key),
                marker={"color": colors[str(key)], "size": 5, "opacity": 0.5},
                hovertemplate=f"{key}: {label} %{{x:.3g}}, impact %{{y:.3g}}<extra></extra>",
            )
        )
    return style(fig, title or f"Market impact vs {label}", label, "market impact", height)


def weights_heatmap(
    fit: DecayODEFit | pd.DataFrame, title: str = "Interaction weights of the learned ODE", height: int = 300
) -> go.Figure:
    """W of eq. (2): decay functions as rows, factors as columns, diverging colours around 0 (Fig. 9b)."""
    weights = fit.weights_frame() if isinstance(fit, DecayODEFit) else fit
    z = weights.to_numpy(float).T  # (2, 7)
    bound = float(np.max(np.abs(z))) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[FACTOR_LABELS.get(c, c) for c in weights.index],
            y=list(weights.columns),
            zmin=-bound,
            zmax=bound,
            colorscale="RdBu_r",
            text=z,
            texttemplate="%{text:.2e}",
            hovertemplate="%{x} × %{y}: %{z:.3e}<extra></extra>",
        )
    )
    return style(fig, title, "Factor", "Decay function", height)


def decay_acf_figure(
    acf: pd.DataFrame, title: str = "Auto-correlation of long-term impact", height: int = 380
) -> go.Figure:
    """Autocorrelation of the decay at each lag for ground truth, learned and base ODE (Fig. 26)."""
    fig = go.Figure()
    for column in ("ground_truth", "learned", "base"):
        fig.add_trace(
            go.Scatter(
                x=acf["lag_min"],
                y=acf[column],
                mode="lines+markers",
                name=MODEL_NAMES[column],
                line={"color": MODEL_COLORS[column]},
            )
        )
    return style(fig, title, "Lag (minutes)", "Auto-correlation", height)
