"""Figures and tables of the Model page: pure functions, no Streamlit.

Inputs are what the order model ships and what `mars evaluate-model` writes:

* the training log (`metrics.jsonl`: one JSON object per evaluation, `step, tokens,
  train_loss, val_nll, lr, seconds`, and a last `{"final": true, "val_nll": ...}` line);
* the scaling study (`scaling.json`: `runs` of `size, params, tokens_seen, val_nll, curve`,
  with the `unigram_nll` and `bigram_nll` baselines);
* per-order and per-second flow features of `mars_core.experiments.model_eval` (real, lmm, noise);
* token slots (type, price, volume, interval) of generated and real orders.

Losses are negative log-likelihoods per token in nats. Nothing here knows the
model's context width or its figures: everything is read from the inputs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from analysis.charts import PRICE_SCALE, _tint
from mars_core.data.schema import NS_PER_SECOND
from mars_core.model.vocab import CANCEL_REGIONS, N_INTERVAL, N_PRICE, N_TYPES, N_VOLUME, SUBMIT_REGIONS, TYPE_NAMES

COLORS = {"train": "#4c78a8", "val": "#e45756", "lr": "#54a24b", "unigram": "#98a2b3", "bigram": "#667085"}
SOURCE_LABELS = {
    "real": "Real flow",
    "lmm": "Order model (LMM)",
    "noise": "Noise baseline",
    "noise_whole_day": "Noise, fitted on the whole day",
}
SOURCE_COLORS = {"real": "#1f2d3d", "lmm": "#e45756", "noise": "#4c78a8", "noise_whole_day": "#98a2b3"}
SOURCE_DASH = {"noise": "dash", "noise_whole_day": "dot"}
BASELINE_LABELS = {"unigram": "Unigram baseline", "bigram": "Bigram baseline"}
# (metric, panel title, x-axis title); size, interarrival and depth arrive as log10 values
FLOW_METRICS = (
    ("order_type", "Order type", "share of orders"),
    ("price_offset", "Price offset from the mid", "ticks, + passive"),
    ("size", "Order size", "shares, log"),
    ("interarrival", "Inter-arrival time", "seconds, log"),
    ("spread", "Spread, each second", "ticks"),
    ("depth", "Depth, best 5 levels", "shares, log"),
)
LOG10_METRICS = frozenset({"size", "interarrival", "depth"})
BOOK_METRICS = frozenset({"spread", "depth"})
# (field, title, number of slots): the tokenizer's layout
TOKEN_FIELDS = (
    ("type", "Order type", N_TYPES),
    ("price", "Price slot", N_PRICE),
    ("volume", "Volume slot", N_VOLUME),
    ("interval", "Interval slot", N_INTERVAL),
)
REGION_WORDS = {
    "cross": "cross the spread",
    "inside": "inside it",
    "passive": "behind the best",
    "cancel_bid": "bid side",
    "cancel_ask": "ask side",
}


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


def _finite(values: object) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


def display_range(
    samples: Mapping[str, object], reference: str = "real", coverage: float = 0.99
) -> tuple[float, float]:
    """The x range to draw: the central `coverage` of the reference sample, padded by a tenth of its width,
    and widened to hold the middle half of every other sample (so a source whose bulk lies elsewhere still
    shows, while a few far-off values of any source do not squash the rest)."""
    ref = _finite(samples.get(reference, [])) if reference in samples else np.array([])
    if len(ref) == 0:
        ref = np.concatenate([_finite(v) for v in samples.values()]) if samples else np.array([])
    if len(ref) == 0:
        return 0.0, 1.0
    tail = (1 - coverage) / 2
    lo, hi = (float(q) for q in np.quantile(ref, [tail, 1 - tail]))
    pad = 0.1 * (hi - lo) if hi > lo else 0.5
    lo, hi = lo - pad, hi + pad
    for source, values in samples.items():
        v = _finite(values)
        if source != reference and len(v):
            q25, q75 = np.quantile(v, [0.25, 0.75])
            lo, hi = min(lo, float(q25)), max(hi, float(q75))
    return lo, hi


def histogram_edges(values: np.ndarray, lo: float, hi: float, bins: int = 60) -> np.ndarray:
    """Bin edges over [lo, hi]; when every value sits on a lattice of whole or half units (ticks), the
    bins are whole multiples of it with lattice points at their centres, so no bin is favoured."""
    values = _finite(values)
    for step in (1.0, 0.5):
        if len(values) and np.allclose(values / step, np.round(values / step)):
            lo, hi = np.floor(lo / step) * step, np.ceil(hi / step) * step
            width = step * max(1, int(np.ceil((hi - lo) / step / bins)))
            n = max(1, int(np.ceil((hi - lo) / width)) + 1)
            return lo - step / 2 + width * np.arange(n + 1)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


@dataclass(frozen=True, slots=True)
class Histograms:
    """Several samples binned on common edges."""

    centres: np.ndarray  # (n,)
    shares: dict[str, np.ndarray]  # source -> (n,) share of ALL its finite values in each bin
    outside: dict[str, float]  # source -> share of its finite values outside the drawn range


def flow_histograms(samples: Mapping[str, object], bins: int = 60, reference: str = "real") -> Histograms:
    """Each sample's share of values per bin over `display_range` (see there)."""
    lo, hi = display_range(samples, reference)
    pooled = np.concatenate([_finite(v) for v in samples.values()]) if samples else np.array([])
    edges = histogram_edges(pooled, lo, hi, bins)
    shares, outside = {}, {}
    for source, values in samples.items():
        v = _finite(values)
        counts = np.histogram(v, edges)[0]
        shares[source] = counts / len(v) if len(v) else np.zeros(len(edges) - 1)
        outside[source] = 1 - counts.sum() / len(v) if len(v) else 0.0
    return Histograms((edges[:-1] + edges[1:]) / 2, shares, outside)


def type_shares(order_type: object) -> np.ndarray:
    """(N_TYPES,) shares of bid, ask and cancel orders."""
    t = _finite(order_type).astype(int)
    return np.bincount(t, minlength=N_TYPES)[:N_TYPES] / len(t) if len(t) else np.zeros(N_TYPES)


def _short(source: str) -> str:
    return {"real": "real", "lmm": "LMM", "noise": "noise", "noise_whole_day": "noise (day)"}.get(source, source)


def _subtitle(
    similarity: Mapping[str, Mapping[str, float]] | None,
    metric: str,
    sources: Sequence[str],
    outside: Mapping[str, float] | None = None,
) -> str:
    values = (similarity or {}).get(metric, {})
    parts = [f"{_short(s)} {values[s]:.2f}" for s in sources if s != "real" and values.get(s) is not None]
    lines = [f"overlap with real: {' · '.join(parts)}"] if parts else []
    off = [f"{_short(s)} {share:.0%}" for s, share in (outside or {}).items() if share >= 0.01]
    if off:
        lines.append(f"off the chart: {', '.join(off)}")
    return "".join(f"<br><span style='font-size:11px;color:#667085'>{line}</span>" for line in lines)


def flow_distributions_figure(
    frames: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]],
    similarity: Mapping[str, Mapping[str, float]] | None = None,
    bins: int = 60,
    title: str = "Generated vs real order flow",
    height: int = 680,
) -> go.Figure:
    """Six panels, one per metric of `model_eval`: the real flow as a grey area, each background as a line.

    Args:
        frames: source ("real", "lmm", "noise") -> (per-order features, per-second book features).
        similarity: metric -> source -> overlap coefficient with the real flow, shown in the panel titles.
    """
    sources = [s for s in SOURCE_LABELS if s in frames] + [s for s in frames if s not in SOURCE_LABELS]
    panels = {}
    for metric, _, _ in FLOW_METRICS:
        if metric != "order_type":
            part = 1 if metric in BOOK_METRICS else 0
            panels[metric] = flow_histograms({s: frames[s][part][metric] for s in sources}, bins)
    titles = [
        f"<b>{name}</b> ({unit}){_subtitle(similarity, metric, sources, getattr(panels.get(metric), 'outside', None))}"
        for metric, name, unit in FLOW_METRICS
    ]
    fig = make_subplots(rows=2, cols=3, subplot_titles=titles, vertical_spacing=0.2, horizontal_spacing=0.06)
    for k, (metric, _, _) in enumerate(FLOW_METRICS):
        row, col = k // 3 + 1, k % 3 + 1
        for source in sources:
            label, color = SOURCE_LABELS.get(source, source), SOURCE_COLORS.get(source, "#b279a2")
            common = {"name": label, "legendgroup": source, "showlegend": k == 0}
            if metric == "order_type":
                fig.add_trace(
                    go.Bar(
                        x=list(TYPE_NAMES),
                        y=type_shares(frames[source][0]["order_type"]),
                        marker_color=color,
                        opacity=0.45 if source == "real" else 0.9,
                        hovertemplate=f"{label}: %{{x}} %{{y:.1%}}<extra></extra>",
                        **common,
                    ),
                    row=row,
                    col=col,
                )
                continue
            h = panels[metric]
            x = 10**h.centres if metric in LOG10_METRICS else h.centres
            style = (
                {
                    "fill": "tozeroy",
                    "fillcolor": _tint(color, 0.16),
                    "line": {"color": _tint(color, 0.5), "width": 1, "shape": "hvh"},
                }
                if source == "real"
                else {"line": {"color": color, "width": 2, "shape": "hvh", "dash": SOURCE_DASH.get(source, "solid")}}
            )
            x_hover = "%{x:.3s}" if metric in LOG10_METRICS else "%{x:g}"
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=h.shares[source],
                    mode="lines",
                    hovertemplate=f"{label}: %{{y:.1%}} at {x_hover}<extra></extra>",
                    **style,
                    **common,
                ),
                row=row,
                col=col,
            )
        if metric in LOG10_METRICS:
            h = panels[metric]
            ticks = log_ticks(10 ** (h.centres[0]), 10 ** (h.centres[-1])) if len(h.centres) > 1 else []
            text = [fmt_duration(t * NS_PER_SECOND) if metric == "interarrival" else f"{t:,.0f}" for t in ticks]
            fig.update_xaxes(type="log", tickvals=ticks, ticktext=text, row=row, col=col)
        fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=row, col=col)
    _style(fig, title, height)
    fig.update_layout(
        barmode="group",
        bargap=0.25,
        margin={"t": 120, "b": 70},
        legend={"orientation": "h", "yanchor": "top", "y": -0.06, "xanchor": "center", "x": 0.5},
    )
    fig.update_annotations(font={"size": 13}, yshift=6)
    return fig


def similarity_frame(similarity: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """One row per metric: each background's overlap with the real flow, and which one is closer."""
    names = {metric: name for metric, name, _ in FLOW_METRICS}
    backgrounds = [b for b in ("lmm", "noise", "noise_whole_day") if any(b in v for v in similarity.values())]
    rows = []
    for metric, values in similarity.items():
        row = {"Metric": names.get(metric, metric)}
        row.update({SOURCE_LABELS[b]: values.get(b, np.nan) for b in backgrounds})
        scored = {b: values[b] for b in ("lmm", "noise") if values.get(b) is not None and np.isfinite(values[b])}
        row["Closer to real"] = SOURCE_LABELS[max(scored, key=scored.get)] if len(scored) > 1 else "—"
        rows.append(row)
    return pd.DataFrame(rows)


# ---- tokens and generated orders ---------------------------------------------------------------------------


def fmt_duration(ns: float) -> str:
    """A duration in the unit that reads best: 850 ns, 12.5 µs, 3.1 ms, 2.4 s."""
    ns = float(ns)
    for scale, unit in ((NS_PER_SECOND, "s"), (1e6, "ms"), (1e3, "µs")):
        if abs(ns) >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.0f} ns"


def interval_labels(upper_ns: Sequence[int], n_slots: int = N_INTERVAL) -> list[str]:
    """Readable range of each interval slot from its bins' inclusive upper bounds (ns); the last bin
    also holds every longer gap."""
    labels, lo = [], 0
    upper = [int(u) for u in upper_ns]
    for k, hi in enumerate(upper):
        if k == len(upper) - 1:
            labels.append(f"≥ {fmt_duration(lo)}")
        else:
            labels.append(
                f"≤ {fmt_duration(hi)}"
                if lo == 0
                else fmt_duration(hi)
                if lo == hi
                else f"{fmt_duration(lo)}–{fmt_duration(hi)}"
            )
        lo = hi + 1
    return labels + ["(unused)"] * (n_slots - len(labels))


def token_formula() -> str:
    """How a token's index is made of its slots, with the tokenizer's slot counts."""
    return f"((type × {N_PRICE} + price slot) × {N_VOLUME} + volume slot) × {N_INTERVAL} + interval slot"


def price_regions_text() -> str:
    """Which price slots mean what: the submission regions, then the cancel ones ("slots 0–2 cross the spread, …")."""

    def spans(regions: Sequence[tuple[str, int]]) -> list[str]:
        out, start = [], 0
        for name, n in regions:
            out.append(
                f"{start}–{start + n - 1} {REGION_WORDS.get(name, name)}"
                if n > 1
                else f"{start} {REGION_WORDS.get(name, name)}"
            )
            start += n
        return out

    return f"slots {', '.join(spans(SUBMIT_REGIONS))}; for cancels {', '.join(spans(CANCEL_REGIONS))}"


def slot_shares(slots: object, n: int) -> np.ndarray:
    """(n,) share of the tokens in each slot."""
    s = np.asarray(slots, dtype=np.int64).ravel()
    return np.bincount(s, minlength=n)[:n] / len(s) if len(s) else np.zeros(n)


def token_slots_figure(
    sources: Mapping[str, Mapping[str, object]],
    labels: Mapping[str, Sequence[str]] | None = None,
    names: Mapping[str, str] | None = None,
    colors: Mapping[str, str] | None = None,
    title: str = "Tokens: generated vs real",
    height: int = 560,
) -> go.Figure:
    """Share of tokens in each slot of the four token fields, one bar series per source.

    Args:
        sources: source -> {"type", "price", "volume", "interval"} -> slot of each token.
        labels: field -> readable slot labels (hover text); missing fields show the slot number only.
        names, colors: display name and colour per source.
    """
    names, colors, labels = names or {}, colors or {}, labels or {}
    counts = {s: len(np.asarray(v["type"])) for s, v in sources.items()}
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=[name for _, name, _ in TOKEN_FIELDS],
        vertical_spacing=0.2,
        horizontal_spacing=0.07,
    )
    palette = ("#e45756", "#1f2d3d", "#4c78a8", "#54a24b")
    for k, (field, name, n) in enumerate(TOKEN_FIELDS):
        row, col = k // 2 + 1, k % 2 + 1
        x = list(TYPE_NAMES) if field == "type" else list(range(n))
        text = list(labels.get(field, [])) + [""] * n
        for i, (source, slots) in enumerate(sources.items()):
            label = names.get(source, source)
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=slot_shares(slots[field], n),
                    name=f"{label} ({counts[source]:,} tokens)",
                    legendgroup=source,
                    showlegend=k == 0,
                    marker_color=colors.get(source, palette[i % len(palette)]),
                    customdata=text[:n],
                    hovertemplate=f"{label}: %{{y:.1%}} in {name.lower()} %{{x}}"
                    + ("<br>%{customdata}" if field in labels else "")
                    + "<extra></extra>",
                ),
                row=row,
                col=col,
            )
        fig.update_yaxes(tickformat=".0%", row=row, col=col)
        if field != "type":
            fig.update_xaxes(dtick=4 if n > 16 else 1, title_text="slot", row=row, col=col)
    _style(fig, title, height)
    fig.update_layout(
        barmode="group",
        bargap=0.15,
        bargroupgap=0.05,
        margin={"b": 80},
        legend={"orientation": "h", "yanchor": "top", "y": -0.1, "xanchor": "center", "x": 0.5},
    )
    return fig


def fmt_clock_ms(ns: int) -> str:
    """HH:MM:SS.mmm of a time in ns since midnight."""
    ms = int(ns) // 1_000_000
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def orders_frame(
    orders: pd.DataFrame, tokens: Mapping[str, object] | None = None, limit: int | None = None
) -> pd.DataFrame:
    """Generated orders for display: time, type, side, price ($), size (shares) and, when given, each one's token.

    Args:
        orders: accepted orders of one background, in time order: ts, event (1 submit, 2 partial
            cancel, 3 delete), side (+1 buy, -1 sell), price (dollars x 10000), qty, rollout (optional).
        tokens: {"token", "type", "price", "volume", "interval"} arrays aligned with `orders`.
        limit: at most this many rows (the first ones).
    """
    shown = orders.iloc[:limit] if limit is not None else orders
    event, side = shown["event"].to_numpy(), shown["side"].to_numpy()
    frame = pd.DataFrame(
        {
            "Time": [fmt_clock_ms(t) for t in shown["ts"]],
            "Type": np.where(
                event == 1, np.where(side > 0, "bid", "ask"), np.where(event == 3, "cancel (all)", "cancel (part)")
            ),
            "Side": np.where(side > 0, "buy", "sell"),
            "Price ($)": shown["price"].to_numpy() / PRICE_SCALE,
            "Size (sh)": shown["qty"].to_numpy(),
        }
    )
    if "rollout" in shown:
        frame.insert(0, "Rollout", shown["rollout"].to_numpy())
    if tokens is not None:
        n = len(shown)
        frame["Token"] = np.asarray(tokens["token"])[:n]
        for field, name in (("price", "Price slot"), ("volume", "Volume slot"), ("interval", "Interval slot")):
            frame[name] = np.asarray(tokens[field])[:n]
    return frame
