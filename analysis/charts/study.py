"""Figures of a finished impact study, as the Market Impact and Impact Factors pages and the report show them
(from `analysis.impact_results.StudyResults`; the lower-level figures are `analysis.charts.impact`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.charts import impact as impact_charts
from analysis.impact_results import BPS, StudyResults


def grid_ticks(fig: go.Figure, values: object) -> go.Figure:
    """Label a log Q/V axis at the study's grid values (plotly's own log ticks read 2, 3, ... 0.1)."""
    grid = sorted({float(v) for v in np.asarray(values, dtype=float) if np.isfinite(v) and v > 0})
    if 0 < len(grid) <= 12:
        fig.update_xaxes(tickvals=grid, ticktext=[f"{v:g}" for v in grid])
    return fig


def _target_key(metrics: pd.DataFrame) -> str:
    return "q_over_v_target" if "q_over_v_target" in metrics else "q_over_v"


def fulfillment_figure(metrics: pd.DataFrame, title: str = "Fulfillment rate vs Q/V", height: int = 400) -> go.Figure:
    """Fulfillment per trajectory at its realised Q/V, and the mean per target Q/V of the study grid (Fig. 23a)."""
    key = _target_key(metrics)
    colors = impact_charts.config_colors(metrics["config"].unique())
    fig = go.Figure()
    for config, part in metrics.groupby("config", sort=True):
        color = colors[str(config)]
        fig.add_trace(
            go.Scatter(
                x=part["q_over_v"],
                y=part["fulfillment"],
                mode="markers",
                showlegend=False,
                legendgroup=str(config),
                marker={"color": color, "size": 5, "opacity": 0.35},
                hovertemplate=f"{config}: Q/V %{{x:.3g}}, fulfillment %{{y:.1%}}<extra></extra>",
            )
        )
        means = part.groupby(key)[["q_over_v", "fulfillment"]].mean().reset_index()
        fig.add_trace(
            go.Scatter(
                x=means["q_over_v"],
                y=means["fulfillment"],
                mode="lines+markers",
                name=str(config),
                legendgroup=str(config),
                line={"color": color, "width": 2},
                marker={"size": 7},
                hovertemplate=f"{config}: mean Q/V %{{x:.3g}}, fulfillment %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_xaxes(type="log")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    grid_ticks(fig, metrics[key])
    return impact_charts.style(fig, title, "Q/V (realised)", "Fulfillment rate", height)


def slippage_figure(metrics: pd.DataFrame, title: str = "Slippage vs Q/V", height: int = 400) -> go.Figure:
    """Mean execution VWAP against the arrival mid (bps) per configuration and target Q/V, with ±1 standard error."""
    key = _target_key(metrics)
    colors = impact_charts.config_colors(metrics["config"].unique())
    fig = go.Figure()
    for config, part in metrics.groupby("config", sort=True):
        stats = part.groupby(key)["slippage_bps"].agg(["mean", "sem"]).reset_index()
        fig.add_trace(
            go.Scatter(
                x=stats[key],
                y=stats["mean"],
                name=str(config),
                mode="lines+markers",
                line={"color": colors[str(config)], "width": 2},
                error_y={"type": "data", "array": stats["sem"].fillna(0), "visible": True, "thickness": 1},
                hovertemplate=f"{config}: Q/V %{{x:g}}, slippage %{{y:.2f}} bps<extra></extra>",
            )
        )
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    fig.update_xaxes(type="log")
    grid_ticks(fig, metrics[key])
    return impact_charts.style(fig, title, "Q/V (target)", "VWAP vs arrival mid (bps)", height)


def factor_figure(metrics: pd.DataFrame, factor: str) -> go.Figure:
    """Impact at the end of execution (bps) against one factor (Figs. 9a, 24)."""
    frame = metrics.assign(impact_bps=metrics["impact_end"] * BPS)
    fig = impact_charts.factor_scatter_figure(frame, factor, impact_col="impact_bps")
    fig.update_yaxes(title_text="Impact at end of execution (bps)")
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    return fig


def correlation_figure(study: StudyResults) -> go.Figure | None:
    """The factor correlation heatmap (Fig. 25) over the factors that vary in this study."""
    corr = study.correlation
    varying = set(study.varying_factors(list(corr.columns)))
    keep = [c for c in corr.columns if c in varying and corr[c].notna().sum() > 1]
    return impact_charts.correlation_heatmap(corr.loc[keep, keep]) if len(keep) >= 2 else None


def live_figure(
    frame: pd.DataFrame, title: str = "Impact at the end of execution so far", height: int = 360
) -> go.Figure:
    """Partial results of a running study: impact (bps) per finished trajectory against target Q/V, and the means."""
    colors = impact_charts.config_colors(frame["config"].unique()) if len(frame) else {}
    fig = go.Figure()
    for config, part in frame.groupby("config", sort=True):
        color = colors[str(config)]
        fig.add_trace(
            go.Scatter(
                x=part["q_over_v_target"],
                y=part["impact_end"] * BPS,
                mode="markers",
                showlegend=False,
                legendgroup=str(config),
                marker={"color": color, "size": 6, "opacity": 0.35},
                hovertemplate=f"{config}: Q/V %{{x:g}}, impact %{{y:.2f}} bps<extra></extra>",
            )
        )
        means = part.groupby("q_over_v_target")["impact_end"].mean()
        fig.add_trace(
            go.Scatter(
                x=means.index,
                y=means.to_numpy() * BPS,
                mode="lines+markers",
                name=str(config),
                legendgroup=str(config),
                line={"color": color, "width": 2},
            )
        )
    fig.add_hline(y=0, line={"color": "grey", "width": 1})
    fig.update_xaxes(type="log")
    grid_ticks(fig, frame["q_over_v_target"])
    return impact_charts.style(fig, title, "Q/V (target)", "Impact at end of execution (bps)", height)


def impact_figure(study: StudyResults, normalize: bool = False) -> go.Figure:
    bands = study.bands
    if normalize:
        bands = bands.copy()
        for _, part in bands.groupby("config"):
            scale = np.nanmax(np.abs(part["mean"])) or 1.0
            bands.loc[part.index, ["mean", "lo", "hi"]] = part[["mean", "lo", "hi"]] / scale
    return impact_charts.impact_curves_figure(
        bands,
        execution_min=study.execution_min,
        in_bps=not normalize,
        title="Short- and long-term market impact" + (" (normalised to each peak)" if normalize else ""),
    )


def sqrt_law_figure(study: StudyResults, method: str = "binned") -> go.Figure | None:
    """The trajectories with the square-root-law fits over Q/V groups ("binned") or single trajectories ("points");
    None when that fit was skipped."""
    fits = study.fits(method)
    if not fits:
        return None
    fig = impact_charts.sqrt_law_figure(study.metrics, fits)
    if "q_over_v_target" in study.metrics:
        grid_ticks(fig, study.metrics["q_over_v_target"])
    return fig
