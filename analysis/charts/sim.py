"""Plotly figures of simulation runs: fans of the mid with and without the agents, their difference, minute
statistics (the reductions are `analysis.rollout_fans`); they convert to dollars, cents and bps at the edge.

Arms: "main" (an unpaired run), or "treated" (with the user's orders and
agents) and "baseline" (the same seed without them) in paired mode.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis import rollout_fans
from analysis.charts.market import ASK_COLOR, BID_COLOR, MID_COLOR, PRICE_SCALE, _style, _tint, thin

ARM_ORDER = ("main", "baseline", "treated")
ARM_LABELS = {"main": "Simulated", "baseline": "Without your orders", "treated": "With your orders"}
ARM_COLORS = {"main": "#4c78a8", "baseline": "#4c78a8", "treated": "#e45756"}
REPLAY_LABEL = "Real day (LOBSTER)"
REPLAY_BAR_COLOR = "#9aa5b1"
MAX_FILL_MARKERS = 3_000
MAX_FILL_ROLLOUTS = 8  # fills of more rollouts than this bury the fans


# ---- figures -------------------------------------------------------------------------------------


def _time_ticks(fig: go.Figure, grid_ts: np.ndarray) -> None:
    """Seconds on the time axis when the window is short (a few minutes), minutes otherwise."""
    span = int(grid_ts[-1] - grid_ts[0]) if len(grid_ts) > 1 else 0
    fig.update_xaxes(
        type="date", tickformat="%H:%M:%S" if span <= 15 * 60 * 1_000_000_000 else "%H:%M", hoverformat="%H:%M:%S"
    )


def _x(date: dt.date, ns: np.ndarray | pd.Series) -> np.ndarray:
    """Times as epoch milliseconds (float) for a date axis: sent as a compact typed array, unlike datetime strings."""
    return (pd.Timestamp(date).value + np.asarray(ns, dtype=np.int64)) / 1e6


def _band(
    fig: go.Figure,
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    color: str,
    alpha: float,
    name: str,
    group: str,
    row: int | None = None,
) -> None:
    """A filled band between two paths (one legend entry)."""
    where = {"row": row, "col": 1} if row else {}
    fig.add_trace(
        go.Scatter(
            x=x,
            y=upper,
            mode="lines",
            line={"width": 0, "shape": "hv"},
            showlegend=False,
            legendgroup=group,
            hoverinfo="skip",
        ),
        **where,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=lower,
            mode="lines",
            line={"width": 0, "shape": "hv"},
            fill="tonexty",
            fillcolor=_tint(color, alpha),
            name=name,
            legendgroup=group,
            hoverinfo="skip",
        ),
        **where,
    )


def _fan_traces(
    fig: go.Figure,
    x: np.ndarray,
    f: rollout_fans.Fan,
    scale: float,
    color: str,
    label: str,
    group: str,
    unit: str,
    row: int | None = None,
) -> None:
    """10-90% and 25-75% bands and the median line of a fan, values divided by `scale`."""
    lo10, lo25, med, hi75, hi90 = (f.q(q) / scale for q in rollout_fans.FAN_QUANTILES)
    _band(fig, x, lo10, hi90, color, 0.13, f"{label}: 10–90% of rollouts", group, row)
    _band(fig, x, lo25, hi75, color, 0.28, f"{label}: 25–75%", group, row)
    fmt = "$%{y:.3f}" if unit == "$" else "%{y:+.2f} bps"
    band_fmt = (
        "$%{customdata[0]:.3f}–$%{customdata[1]:.3f}"
        if unit == "$"
        else "%{customdata[0]:+.2f} to %{customdata[1]:+.2f} bps"
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=med,
            mode="lines",
            name=f"{label}: median of {f.rollouts} rollout{'s' if f.rollouts != 1 else ''}",
            legendgroup=group,
            line={"color": color, "width": 2, "shape": "hv"},
            customdata=np.stack([lo10, hi90], axis=1),
            hovertemplate=f"{label}: median {fmt} (10–90%: {band_fmt})<extra></extra>",
        ),
        **({"row": row, "col": 1} if row else {}),
    )


def fan_figure(
    date: dt.date,
    grid_ts: np.ndarray,
    fans: dict[str, rollout_fans.Fan],
    replay_ts: np.ndarray | None = None,
    replay_mid: np.ndarray | None = None,
    fills: pd.DataFrame | None = None,
    agent_names: dict[int, str] | None = None,
    title: str = "Mid price: real day vs simulated rollouts",
    height: int = 480,
) -> go.Figure:
    """Simulated mid-price fans per arm (median, 25–75% and 10–90% across rollouts) over the real day's mid.

    `fills` (ts, price, qty, side, agent, aggressive, rollout) are the agents' fills, marked as
    triangles: up and green for buys, down and red for sells; filled when the agent's order took
    liquidity (aggressive), hollow when it was resting (passive).
    """
    x = _x(date, grid_ts)
    fig = go.Figure()
    for arm in ARM_ORDER:
        if arm in fans and fans[arm].rollouts:
            _fan_traces(fig, x, fans[arm], PRICE_SCALE, ARM_COLORS[arm], ARM_LABELS[arm], arm, "$")
    if replay_ts is not None and replay_mid is not None and len(replay_ts):
        fig.add_trace(
            go.Scatter(
                x=_x(date, replay_ts),
                y=np.asarray(replay_mid, dtype=float) / PRICE_SCALE,
                name=REPLAY_LABEL,
                mode="lines",
                line={"color": MID_COLOR, "width": 1.6, "shape": "hv", "dash": "dot"},
                hovertemplate="real day: mid $%{y:.3f}<extra></extra>",
            )
        )
    if fills is not None and not fills.empty:
        names = agent_names or {}
        rollouts = np.sort(fills["rollout"].unique())
        shown = fills[fills["rollout"].isin(rollouts[:MAX_FILL_ROLLOUTS])]
        shown = shown.iloc[thin(len(shown), MAX_FILL_MARKERS)]
        for side, word, color, symbol in (
            (1, "buy", BID_COLOR, "triangle-up"),
            (-1, "sell", ASK_COLOR, "triangle-down"),
        ):
            for aggressive, how in ((True, "aggressive"), (False, "passive")):
                part = shown[(shown["side"] == side) & (shown["aggressive"].astype(bool) == aggressive)]
                if part.empty:
                    continue
                who = part["agent"].map(lambda a: names.get(int(a), f"agent {int(a)}"))
                fig.add_trace(
                    go.Scatter(
                        x=_x(date, part["ts"]),
                        y=part["price"].to_numpy() / PRICE_SCALE,
                        mode="markers",
                        name=f"Your {word} fills ({how})",
                        legendgroup="fills",
                        opacity=0.8,
                        marker={
                            "color": color if aggressive else "rgba(255,255,255,0.9)",
                            "size": 7,
                            "symbol": symbol,
                            "line": {"color": color, "width": 1.3},
                        },
                        customdata=np.stack([who, part["qty"], part["rollout"]], axis=1),
                        hovertemplate=f"%{{customdata[0]}} {word} %{{customdata[1]}} sh @ $%{{y:.2f}} ({how}) · rollout %{{customdata[2]}}<extra></extra>",
                    )
                )
        if len(rollouts) > MAX_FILL_ROLLOUTS:
            title += f" (fills of the first {MAX_FILL_ROLLOUTS} of {len(rollouts)} rollouts)"
        elif len(shown) < len(fills):
            title += f" (showing {len(shown):,} of {len(fills):,} fills)"
    _style(fig, title, date, "Price ($)", height)
    fig.update_layout(
        hovermode="x", legend={"y": -0.18, "yanchor": "top", "x": 0, "xanchor": "left"}, margin={"b": 110}
    )
    fig.update_xaxes(title_text=None)
    _time_ticks(fig, grid_ts)
    fig.update_yaxes(tickprefix="$", tickformat=",.2f")
    return fig


def impact_figure(
    date: dt.date,
    grid_ts: np.ndarray,
    difference: rollout_fans.Fan,
    title: str = "Effect of your orders on the mid price",
    height: int = 340,
) -> go.Figure:
    """rollout_fans.Fan of the paired treated-minus-baseline mid difference (bps), with a zero line."""
    x = _x(date, grid_ts)
    fig = go.Figure()
    if difference.rollouts:
        _fan_traces(fig, x, difference, 1.0, ARM_COLORS["treated"], "Difference", "diff", "bps")
    fig.add_hline(y=0, line={"color": MID_COLOR, "width": 1, "dash": "dot"})
    _style(fig, title, date, "With − without your orders (bps)", height)
    _time_ticks(fig, grid_ts)
    fig.update_layout(hovermode="x")
    return fig


def minute_figure(
    date: dt.date,
    stats: pd.DataFrame,
    replay_bars: pd.DataFrame | None = None,
    title: str = "Spread and traded volume per minute",
    height: int = 480,
) -> go.Figure:
    """Two panels per minute: mean quoted spread (¢) and traded volume (shares).

    Simulated arms show the median across rollouts with a 10–90% whisker (`stats`
    from `minute_stats`); the real day (`replay_bars`: minute, spread, volume) is grey.
    """
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=("Mean quoted spread (¢)", "Traded volume (shares)"),
    )
    cents = PRICE_SCALE / 100
    groups = []  # (label, color, minute ns, spread median/low/high in cents, volume median/low/high)
    if replay_bars is not None and not replay_bars.empty:
        spread, volume = replay_bars["spread"].to_numpy() / cents, replay_bars["volume"].to_numpy()
        groups.append(
            (REPLAY_LABEL, REPLAY_BAR_COLOR, replay_bars["minute"].to_numpy(), spread, None, None, volume, None, None)
        )
    for arm in ARM_ORDER:
        part = stats[stats["arm"] == arm] if not stats.empty else stats
        if not part.empty:
            groups.append(
                (
                    ARM_LABELS[arm],
                    ARM_COLORS[arm],
                    part["minute"].to_numpy(),
                    *(part[f"spread_q{q}"].to_numpy() / cents for q in (50, 10, 90)),
                    *(part[f"volume_q{q}"].to_numpy() for q in (50, 10, 90)),
                )
            )
    # Bars side by side within each minute, placed explicitly (Plotly cannot infer a width from one
    # minute); each spread marker sits over its own volume bar.
    span_ms, minute_ms = 48_000, 60_000
    width = span_ms / max(len(groups), 1)
    for k, (label, color, minute, s_med, s_lo, s_hi, v_med, v_lo, v_hi) in enumerate(groups):
        replay = label == REPLAY_LABEL
        start = _x(date, minute) + (minute_ms - span_ms) / 2 + k * width
        whisker = (
            {}
            if replay
            else {
                "error_y": {
                    "type": "data",
                    "array": s_hi - s_med,
                    "arrayminus": s_med - s_lo,
                    "color": _tint(color, 0.6),
                }
            }
        )
        fig.add_trace(
            go.Scatter(
                x=start + width / 2,
                y=s_med,
                name=label if replay else f"{label} (median, 10–90%)",
                legendgroup=label,
                mode="lines+markers",
                line={
                    "color": MID_COLOR if replay else color,
                    "width": 1.6 if replay else 2,
                    "dash": "dot" if replay else None,
                },
                hovertemplate=f"{'real day' if replay else label}: {'' if replay else 'median '}%{{y:.1f}}¢<extra></extra>",
                **whisker,
            ),
            row=1,
            col=1,
        )
        whisker = (
            {}
            if replay
            else {
                "error_y": {
                    "type": "data",
                    "array": v_hi - v_med,
                    "arrayminus": v_med - v_lo,
                    "color": MID_COLOR,
                    "thickness": 1,
                }
            }
        )
        fig.add_trace(
            go.Bar(
                x=start,
                y=v_med,
                width=width,
                offset=0,
                name=label,
                legendgroup=label,
                showlegend=False,
                marker_color=color,
                hovertemplate=f"{'real day' if replay else label}: {'' if replay else 'median '}%{{y:,.0f}} sh<extra></extra>",
                **whisker,
            ),
            row=2,
            col=1,
        )
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        barmode="overlay",
        margin={"l": 60, "r": 20, "t": 70, "b": 60},
        hovermode="x unified",
        hoverlabel={"namelength": -1},
        legend={"orientation": "h", "yanchor": "top", "y": -0.08, "xanchor": "left", "x": 0},
    )
    minutes = np.concatenate([g[2] for g in groups]) if groups else np.empty(0, dtype=np.int64)
    if len(minutes):
        first, last = int(minutes.min()), int(minutes.max()) + minute_ms * 1_000_000
        count = (last - first) // (minute_ms * 1_000_000)
        fig.update_xaxes(range=list(_x(date, np.array([first, last]))), dtick=minute_ms * max(1, -(-count // 10)))
    fig.update_xaxes(type="date", tickformat="%H:%M", hoverformat="%H:%M:%S")
    fig.update_yaxes(rangemode="tozero")
    fig.update_yaxes(tickformat=",", row=2, col=1)
    return fig
