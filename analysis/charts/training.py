"""Figures and tables of the order model's training (Order Model page): pure functions, no Streamlit.

Inputs are what the order model ships (the generated-flow figures are `flow`):

* the training log (`metrics.jsonl`: one JSON object per evaluation, `step, tokens,
  train_loss, val_nll, lr, seconds`, and a last `{"final": true, "val_nll": ...}` line);
* the scaling study (`scaling.json`: `runs` of `size, params, tokens_seen, val_nll, curve`,
  with the `unigram_nll` and `bigram_nll` baselines);

Losses are negative log-likelihoods per token in nats. Nothing here knows the
model's context width or its figures: everything is read from the inputs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

COLORS = {"train": "#4c78a8", "val": "#e45756", "lr": "#54a24b", "unigram": "#98a2b3", "bigram": "#667085"}
BASELINE_LABELS = {"unigram": "Unigram baseline", "bigram": "Bigram baseline"}
# (metric, panel title, x-axis title); size, interarrival and depth arrive as log10 values
# (field, title, number of slots): the tokenizer's layout


def _style(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        hoverlabel={"namelength": -1},
        plot_bgcolor="white",
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eef0f3", zeroline=False, linecolor="#d0d5dd")
    fig.update_yaxes(showgrid=True, gridcolor="#eef0f3", zeroline=False, linecolor="#d0d5dd")
    return fig


# ---- the training log ------------------------------------------------------------------------------


def parse_metrics(text: str, where: str = "metrics.jsonl") -> tuple[pd.DataFrame, dict]:
    """The evaluation rows of a training log (sorted by step) and its final summary ({} if none).

    Raises:
        ValueError: a line that is not a JSON object, named by its number.
    """
    rows, final = [], {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}, line {number}: not JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{where}, line {number}: expected a JSON object")
        if record.get("final"):
            final = record
        elif "step" in record:
            rows.append(record)
    curve = pd.DataFrame(rows)
    for column in ("step", "tokens", "train_loss", "val_nll", "lr", "seconds"):
        if column not in curve:
            curve[column] = np.nan
    return curve.sort_values("step", kind="stable").reset_index(drop=True), final


def _hline(fig: go.Figure, x: Sequence[float], y: float, name: str, color: str, dash: str, **where) -> None:
    """A horizontal reference line as a trace (so it has a legend entry and a hover value)."""
    fig.add_trace(
        go.Scatter(
            x=[min(x), max(x)],
            y=[y, y],
            mode="lines",
            name=f"{name} {y:.3f}",
            line={"color": color, "width": 1.4, "dash": dash},
            hovertemplate=f"{name}: {y:.4f} nats<extra></extra>",
        ),
        **where,
    )


def training_figure(
    curve: pd.DataFrame,
    baselines: Mapping[str, float | None] | None = None,
    final: float | None = None,
    x: str = "step",
    title: str = "Training and validation loss",
    height: int = 520,
) -> go.Figure:
    """Loss per token (top) and learning rate (bottom) against training steps or tokens seen.

    Args:
        curve: `parse_metrics` rows: step, tokens, train_loss, val_nll, lr.
        baselines: {"unigram": nll, "bigram": nll}, drawn as dashed horizontal lines.
        final: the final validation NLL (on every validation window), a star at the last point.
        x: "step" or "tokens".
    """
    if x not in ("step", "tokens"):
        raise ValueError(f"x must be 'step' or 'tokens', was {x!r}")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.74, 0.26], vertical_spacing=0.05)
    xs = curve[x].to_numpy(dtype=float)
    x_fmt = "%{x:,.0f}" if x == "step" else "%{x:.3s}"
    x_word = "step" if x == "step" else "tokens"
    for column, name, color in (
        ("train_loss", "Training loss", COLORS["train"]),
        ("val_nll", "Validation NLL", COLORS["val"]),
    ):
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=curve[column],
                mode="lines+markers",
                name=name,
                line={"color": color, "width": 2},
                marker={"size": 6},
                hovertemplate=f"{name}: %{{y:.4f}} nats at {x_word} {x_fmt}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    if len(xs):
        for key, dash in (("unigram", "dot"), ("bigram", "dash")):
            value = (baselines or {}).get(key)
            if value is not None and np.isfinite(value):
                _hline(fig, xs, float(value), BASELINE_LABELS[key], COLORS[key], dash, row=1, col=1)
        if final is not None and np.isfinite(final):
            fig.add_trace(
                go.Scatter(
                    x=[xs[-1]],
                    y=[final],
                    mode="markers",
                    name=f"Final validation NLL {final:.3f}",
                    marker={
                        "symbol": "star",
                        "size": 14,
                        "color": COLORS["val"],
                        "line": {"color": "white", "width": 1},
                    },
                    hovertemplate="Final validation NLL (all windows): %{y:.4f} nats<extra></extra>",
                ),
                row=1,
                col=1,
            )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=curve["lr"],
            mode="lines",
            name="Learning rate",
            line={"color": COLORS["lr"], "width": 2},
            hovertemplate=f"learning rate %{{y:.2e}} at {x_word} {x_fmt}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    _style(fig, title, height)
    fig.update_yaxes(title_text="NLL per token (nats)", row=1, col=1)
    fig.update_yaxes(title_text="Learning rate", tickformat=".0e", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="Training step" if x == "step" else "Tokens seen", row=2, col=1)
    if x == "tokens":
        fig.update_xaxes(tickformat=".2s")
    fig.update_layout(hovermode="x unified")
    return fig


# ---- the scaling study -------------------------------------------------------------------------------


def scaling_runs(scaling: Mapping) -> list[dict]:
    """The study's runs, smallest model first."""
    return sorted((dict(r) for r in scaling.get("runs", [])), key=lambda r: r.get("params", 0))


def size_colors(n: int) -> list[str]:
    """n blues from light (smallest model) to dark (largest)."""
    if n <= 1:
        return ["#2171b5"] * n
    return sample_colorscale("Blues", [0.45 + 0.5 * i / (n - 1) for i in range(n)])


def _baseline_lines(fig: go.Figure, scaling: Mapping, x: Sequence[float], **where) -> None:
    for key, dash in (("unigram", "dot"), ("bigram", "dash")):
        value = scaling.get(f"{key}_nll")
        if value is not None and np.isfinite(value):
            _hline(fig, x, float(value), BASELINE_LABELS[key], COLORS[key], dash, **where)


def scaling_curves_figure(
    scaling: Mapping, title: str = "Loss vs tokens seen, per model size", height: int = 460
) -> go.Figure:
    """Per size: validation NLL (solid, with markers) and training loss (dotted, same colour) against tokens seen."""
    fig = go.Figure()
    runs = scaling_runs(scaling)
    xs: list[float] = []
    for run, color in zip(runs, size_colors(len(runs))):
        curve = pd.DataFrame(run.get("curve", []))
        if curve.empty:
            continue
        xs += curve["tokens"].tolist()
        fig.add_trace(
            go.Scatter(
                x=curve["tokens"],
                y=curve["val_nll"],
                mode="lines+markers",
                name=run["size"],
                legendgroup=run["size"],
                line={"color": color, "width": 2.2},
                marker={"size": 5},
                hovertemplate=f"{run['size']}: validation %{{y:.4f}} at %{{x:.3s}} tokens<extra></extra>",
            )
        )
        if "train_loss" in curve:
            fig.add_trace(
                go.Scatter(
                    x=curve["tokens"],
                    y=curve["train_loss"],
                    mode="lines",
                    name=f"{run['size']}: training",
                    legendgroup=run["size"],
                    showlegend=False,
                    line={"color": color, "width": 1.4, "dash": "dot"},
                    hovertemplate=f"{run['size']}: training %{{y:.4f}} at %{{x:.3s}} tokens<extra></extra>",
                )
            )
    if xs:
        _baseline_lines(fig, scaling, xs)
    _style(
        fig,
        title + "<br><span style='font-size:12px;color:#667085'>solid: validation NLL · dotted: training loss</span>",
        height,
    )
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0}, margin={"t": 80, "b": 90}
    )
    fig.update_xaxes(title_text="Tokens seen", tickformat=".2s")
    fig.update_yaxes(title_text="NLL per token (nats)")
    return fig


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values spanning [lo, hi] for a log axis with few labels: 1-2-5 steps over up to three
    decades, whole decades beyond (every other one beyond six)."""
    first, last = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    ticks = [m * 10.0**e for e in range(first, last + 1) for m in steps if lo <= m * 10.0**e <= hi]
    return ticks[::2] if last - first > 6 else ticks


def scaling_params_figure(
    scaling: Mapping, title: str = "Final validation loss vs model size", height: int = 460
) -> go.Figure:
    """Final validation NLL of each size against its parameter count (log x): the paper's Fig. 3 at our scale."""
    fig = go.Figure()
    runs = scaling_runs(scaling)
    if runs:
        params = [r["params"] for r in runs]
        fig.add_trace(
            go.Scatter(
                x=params,
                y=[r["val_nll"] for r in runs],
                mode="lines+markers+text",
                name="Order model (final validation NLL)",
                text=[f"{r['size']} {r['val_nll']:.3f}" for r in runs],
                textposition="top center",
                line={"color": "#2171b5", "width": 2},
                marker={"size": 11, "color": size_colors(len(runs)), "line": {"color": "#08306b", "width": 1}},
                customdata=[[r["size"], r.get("tokens_seen", np.nan)] for r in runs],
                hovertemplate="%{customdata[0]}: %{x:,} parameters, validation NLL %{y:.4f} after %{customdata[1]:.3s} tokens<extra></extra>",
            )
        )
        span = (min(params) / 1.5, max(params) * 1.5)
        _baseline_lines(fig, scaling, span)
        fig.update_xaxes(tickvals=log_ticks(*span), tickformat=".2s", range=[np.log10(span[0]), np.log10(span[1])])
    _style(fig, title + "<br><span style='font-size:12px;color:#667085'>the paper's Fig. 3 at our scale</span>", height)
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0}, margin={"t": 80, "b": 90}
    )
    fig.update_xaxes(type="log", title_text="Parameters (log scale)")
    fig.update_yaxes(title_text="NLL per token (nats)")
    return fig


def scaling_notes(scaling: Mapping) -> list[str]:
    """Plain statements of what the study shows, read off its numbers (no fitted law)."""
    runs = [r for r in scaling_runs(scaling) if r.get("val_nll") is not None]
    if not runs:
        return ["The scaling study holds no finished runs."]
    notes = []
    best = min(runs, key=lambda r: r["val_nll"])
    largest = runs[-1]
    bigram = scaling.get("bigram_nll")
    if bigram is not None:
        beat = [r["size"] for r in runs if r["val_nll"] < bigram]
        notes.append(
            f"{len(beat)} of {len(runs)} sizes beat the bigram baseline ({bigram:.3f} nats)"
            + (f"; the best, **{best['size']}**, by {bigram - best['val_nll']:.3f} nats." if beat else ".")
        )
    vals = [r["val_nll"] for r in runs]
    if len(runs) > 1 and all(b < a for a, b in zip(vals, vals[1:])):
        notes.append("Validation loss falls with every step up in size, as in the paper's Fig. 3.")
    elif len(runs) > 1 and best is not largest:
        notes.append(
            f"Bigger is not better here: **{best['size']}** ({best['params']:,} parameters) has the lowest validation loss, "
            f"and the larger {', '.join(r['size'] for r in runs if r['params'] > best['params'])} did not improve on it."
        )
    for run in runs:
        curve = pd.DataFrame(run.get("curve", []))
        if len(curve) < 3 or "val_nll" not in curve:
            continue
        low = int(curve["val_nll"].idxmin())
        if low < len(curve) - 1 and curve["val_nll"].iloc[-1] - curve["val_nll"].iloc[low] > 0.005:
            falling = "train_loss" in curve and curve["train_loss"].iloc[-1] < curve["train_loss"].iloc[low]
            notes.append(
                f"**{run['size']}** overfits: its validation loss bottomed at {curve['val_nll'].iloc[low]:.3f} after "
                f"{curve['tokens'].iloc[low]:,.0f} tokens and ended at {curve['val_nll'].iloc[-1]:.3f}"
                + (" while its training loss kept falling." if falling else ".")
            )
    train_tokens, seen = scaling.get("train_tokens"), largest.get("tokens_seen")
    if train_tokens and seen:
        notes.append(
            f"Every size saw {seen:,} tokens: {seen / train_tokens:.1f} passes over only {train_tokens:,} training tokens "
            f"({', '.join(scaling.get('days', [])) or 'the training days'}). The paper's scaling law is about far more "
            "data; with this little, the study shows where a small model stops gaining, not a law."
        )
    return notes


def study_mismatch(scaling: Mapping, size: str | None, params: int | None) -> str | None:
    """A warning when the study's run of the shipped size has another parameter count than the shipped
    model: the study was made with another version of the model (e.g. another context width)."""
    run = next((r for r in scaling_runs(scaling) if r.get("size") == size), None)
    if run is None or params is None or run.get("params") == params:
        return None
    return (
        f"The study's **{size}** run has {run['params']:,} parameters and the shipped **{size}** model {params:,}: the "
        "study was made with another version of the model (e.g. another context width), so its numbers are not the "
        "shipped model's. Rerun it with `mars train scaling` to compare like with like."
    )


# ---- generated vs real flow ------------------------------------------------------------------------------


# ---- tokens and generated orders ---------------------------------------------------------------------------
