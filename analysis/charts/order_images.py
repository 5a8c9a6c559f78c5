"""Plotly figures of order images (3 x 32 x 32 count histograms): pure functions, no Streamlit.

An image is `image[type, price_slot, volume_slot]` (see `mars_core.model.order_images`);
each channel is drawn as a heatmap with the price slot on x and the volume slot on y,
coloured by log(1 + count) so that the few busy cells do not wash out the rest; hover
text gives the slot ranges (ticks from the quotes, shares) and the count.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

CHANNEL_TITLES = ("Bid submissions", "Ask submissions", "Cancels")
COLORSCALES = ("Greens", "Reds", "Oranges")
ZMAX = float(np.log1p(100))  # colour scale top: the pixel clip


def _hover(labels: dict[str, list[str]] | None, channel: int, counts: np.ndarray) -> np.ndarray:
    """(32 volume, 32 price) hover strings of one channel."""
    n_price, n_vol = counts.shape
    price = (
        labels["cancel_price" if channel == 2 else "submit_price"] if labels else [f"slot {i}" for i in range(n_price)]
    )
    vol = labels["volume"] if labels else [f"slot {j}" for j in range(n_vol)]
    fmt = "{:.1f}" if counts.dtype.kind == "f" else "{:d}"
    return np.array(
        [
            [
                f"price slot {i}: {price[i]}<br>volume slot {j}: {vol[j]}<br>orders: {fmt.format(counts[i, j])}"
                for i in range(n_price)
            ]
            for j in range(n_vol)
        ]
    )


def order_image_figure(
    image: np.ndarray, labels: dict[str, list[str]] | None = None, title: str | None = None, height: int = 330
) -> go.Figure:
    """Three heatmaps (bid, ask, cancel) side by side of one order image (3, 32, 32).

    Args:
        image: counts (uint8 real images, or float expected counts of a reconstruction/sample).
        labels: `order_images.slot_labels(tokenizer)` for hover text with slot ranges (optional).
        title: figure title.
    """
    image = np.asarray(image)
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=[f"{t} ({image[c].sum():,.0f})" for c, t in enumerate(CHANNEL_TITLES)],
        horizontal_spacing=0.06,
    )
    for c in range(3):
        counts = image[c] if image.dtype.kind == "f" else image[c].astype(np.int64)
        fig.add_trace(
            go.Heatmap(
                z=np.log1p(counts.T.astype(np.float64)),  # rows = volume slots, columns = price slots
                text=_hover(labels, c, counts),
                hoverinfo="text",
                colorscale=COLORSCALES[c],
                zmin=0.0,
                zmax=ZMAX,
                showscale=c == 2,
                colorbar={
                    "title": "log(1+n)",
                    "tickvals": np.log1p([0, 1, 3, 10, 30, 100]).tolist(),
                    "ticktext": ["0", "1", "3", "10", "30", "100"],
                },
            ),
            row=1,
            col=c + 1,
        )
        fig.update_xaxes(
            title_text="price slot" + (" (bid | ask side)" if c == 2 else " (cross | inside | passive)"),
            row=1,
            col=c + 1,
            range=[-0.5, 31.5],
        )
        fig.update_yaxes(title_text="volume slot" if c == 0 else None, row=1, col=c + 1, range=[-0.5, 31.5])
    fig.update_layout(height=height, margin={"l": 50, "r": 20, "t": 60 if title else 40, "b": 45}, title=title)
    return fig


def totals_figure(minutes_labels: list[str], counts: np.ndarray, selected: int | None = None) -> go.Figure:
    """Orders per minute and type (M, 3) as lines, with the selected minute marked."""
    fig = go.Figure()
    colors = ("#1a9850", "#d73027", "#f58518")
    for c, name in enumerate(("bid", "ask", "cancel")):
        fig.add_trace(
            go.Scatter(
                x=minutes_labels, y=counts[:, c], name=name, mode="lines", line={"color": colors[c], "width": 1.5}
            )
        )
    if selected is not None and 0 <= selected < len(minutes_labels):
        fig.add_vline(x=selected, line={"color": "#1f2d3d", "dash": "dot"})
    fig.update_layout(
        height=220,
        margin={"l": 50, "r": 20, "t": 10, "b": 30},
        yaxis_title="orders / minute",
        legend={"orientation": "h", "y": 1.15},
    )
    return fig
