"""Figures and tables of generated against real order flow (Order Model page): pure functions, no Streamlit.

Inputs are the per-order and per-second flow features of `mars_core.experiments.model_eval` (real, lmm,
noise) and the token slots (type, price, volume, interval) of generated and real orders. Nothing here
knows the model's context width or its figures: everything is read from the inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.charts.market import PRICE_SCALE, _tint
from analysis.charts.training import _style, log_ticks
from mars_core.data.schema import NS_PER_SECOND
from mars_core.model.vocab import CANCEL_REGIONS, N_INTERVAL, N_PRICE, N_TYPES, N_VOLUME, SUBMIT_REGIONS, TYPE_NAMES

SOURCE_LABELS = {
    "real": "Real flow",
    "lmm": "Order model (LMM)",
    "noise": "Noise baseline",
    "noise_whole_day": "Noise, fitted on the whole day",
}
SOURCE_COLORS = {"real": "#1f2d3d", "lmm": "#e45756", "noise": "#4c78a8", "noise_whole_day": "#98a2b3"}
SOURCE_DASH = {"noise": "dash", "noise_whole_day": "dot"}
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
