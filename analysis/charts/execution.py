"""Figures of the execution agent (Execution Agent page): pure functions of its tables, no Streamlit.

* one episode, interval by interval, for every policy in the same simulated future (`steps`: policy, interval,
  pvr, ap, executed, mid_bps; `fills`: policy, ts, price, qty);
* the learning curve (`metrics.jsonl` rows: update, val_advantage_bps, val_fulfillment);
* the held-out scoreboard (a summary's `versus`: name -> advantage_bps, ci, fulfillment).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLORS = {"agent": "#e45756", "L1-P0.9": "#4c78a8", "L1-P0.1": "#72b7b2", "L5-P0.1": "#54a24b", "L5-P0.9": "#b279a2"}


def episode_figure(steps: pd.DataFrame, fills: pd.DataFrame, start_ns: int, title: str) -> go.Figure:
    """Actions (PVR, AP), shares executed and the mid against the arrival mid, per interval and policy
    (intervals of 30 s from `start_ns`)."""
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=(
            "Passive volume ratio (PVR)",
            "Aggressive level (AP)",
            "Shares executed",
            "Mid vs arrival (bps)",
        ),
        vertical_spacing=0.16,
    )
    for name, g in steps.groupby("policy", sort=False):
        color = COLORS.get(name, "#667085")
        common = {"name": name, "legendgroup": name, "line": {"color": color}}
        fig.add_trace(go.Scatter(x=g.interval, y=g.pvr, mode="lines+markers", line_shape="hv", **common), 1, 1)
        fig.add_trace(
            go.Scatter(x=g.interval, y=g.ap, mode="lines+markers", line_shape="hv", showlegend=False, **common), 1, 2
        )
        f = fills[fills.policy == name].sort_values("ts")
        x = [0, *((f.ts - start_ns) / 30e9)]  # in intervals of 30 s
        fig.add_trace(
            go.Scatter(x=x, y=[0, *f.qty.cumsum()], mode="lines", line_shape="hv", showlegend=False, **common), 2, 1
        )
        fig.add_trace(go.Scatter(x=g.interval, y=g.mid_bps, mode="lines+markers", showlegend=False, **common), 2, 2)
    fig.update_xaxes(title_text="interval (30 s)")
    fig.update_layout(title={"text": title, "x": 0}, height=620, plot_bgcolor="white", hoverlabel={"namelength": -1})
    return fig


def learning_curve_figure(curve: pd.DataFrame) -> go.Figure:
    """The agent's advantage over L1-P0.9 (bps) on the validation starts against PPO updates, fulfillment beside."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(
            x=curve["update"], y=curve.val_advantage_bps, name="advantage over L1-P0.9 (bps)", mode="lines+markers"
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(x=curve["update"], y=curve.val_fulfillment, name="fulfillment", mode="lines", line={"dash": "dot"}),
        secondary_y=True,
    )
    fig.add_hline(y=0, line={"color": "#98a2b3", "width": 1})
    fig.update_xaxes(title_text="PPO update (512 steps)")
    fig.update_yaxes(title_text="bps", secondary_y=False)
    fig.update_yaxes(title_text="fulfillment", secondary_y=True)
    fig.update_layout(
        title={"text": "Learning curve on validation starts before 14:30 (noise background)", "x": 0},
        height=380,
        plot_bgcolor="white",
    )
    return fig


def scoreboard_table(summaries: Mapping[str, Mapping]) -> pd.DataFrame:
    """One row per background and TWAP: the agent's advantage over it with its 95% interval, both fulfillments."""
    rows = []
    for background, s in summaries.items():
        for name, v in s["versus"].items():
            lo, hi = v["ci"]
            rows.append(
                {
                    "Background": background,
                    "Versus": name,
                    "Advantage (bps)": v["advantage_bps"],
                    "95% interval": f"[{lo:+.2f}, {hi:+.2f}]",
                    "Agent fulfillment": s["fulfillment"],
                    "TWAP fulfillment": v["fulfillment"],
                    "Starts": s["starts"],
                    "Episodes": s["episodes"],
                }
            )
    return pd.DataFrame(rows)
