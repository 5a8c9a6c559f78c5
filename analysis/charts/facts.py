"""One figure per stylized fact (paper App. I, Figs. 17-21): the replayed real day against each simulated background.

Inputs are `facts`, a mapping background -> `analysis.stylized_facts.evaluate_facts` output (the replay first).
Every figure draws 95% bootstrap bands and names the sample size of each background in its subtitle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.charts.realism import (
    ABSENT,
    PRESENT,
    REPLAY,
    Z95,
    ZERO_LINE,
    Facts,
    _arr,
    _extremes,
    _num,
    _tint,
    color,
    label,
    ordered,
    short,
)
from analysis.stylized_facts import FACT_NAMES, FACTS


def _subtitle(facts: Facts, fact: str) -> str:
    parts = []
    for bg in ordered(facts):
        result = facts[bg].get(fact, {})
        mark = PRESENT if result.get("present") else ABSENT
        parts.append(f"{short(bg)} n = {int(result.get('n', 0)):,} {mark}")
    return " · ".join(parts) + f"   ({PRESENT} present, {ABSENT} absent by the stated test)"


def _style(fig: go.Figure, fact: str, what: str, facts: Facts, x_title: str, y_title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={
            "text": f"{FACT_NAMES[fact]}: {what}",
            "x": 0,
            "xanchor": "left",
            "subtitle": {"text": _subtitle(facts, fact), "font": {"size": 11.5, "color": "#667085"}},
        },
        height=height,
        margin={"l": 64, "r": 20, "t": 92, "b": 96},
        template="plotly_white",
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.01, "xanchor": "left", "x": 0},
        hoverlabel={"namelength": -1},
        hovermode="x unified",
    )
    fig.update_xaxes(title_text=x_title, showline=True, linecolor="#d0d5dd", zeroline=False)
    fig.update_yaxes(title_text=y_title, showline=True, linecolor="#d0d5dd", zeroline=False)
    return fig


def _curve(
    fig: go.Figure,
    bg: str,
    x: Sequence,
    y: object,
    lo: object,
    hi: object,
    fmt: str = ".3f",
    row: int | None = None,
    col: int | None = None,
    showlegend: bool = True,
) -> None:
    """A background's curve with its 95% band (lower edge, then upper edge filled to it)."""
    where = {"row": row, "col": col} if row is not None else {}
    c, x = color(bg), list(x)
    y, lo, hi = _arr(y), _arr(lo), _arr(hi)
    if np.isfinite(lo).any() and np.isfinite(hi).any():
        fig.add_trace(
            go.Scatter(
                x=x,
                y=lo,
                mode="lines",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=bg,
                connectgaps=False,
            ),
            **where,
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=hi,
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=_tint(c, 0.16),
                hoverinfo="skip",
                showlegend=False,
                legendgroup=bg,
                connectgaps=False,
            ),
            **where,
        )
    custom = np.stack([lo, hi], axis=-1)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines+markers",
            name=label(bg),
            legendgroup=bg,
            showlegend=showlegend,
            line={"color": c, "width": 2.2 if bg == REPLAY else 1.8, "dash": None},
            marker={"size": 5, "color": c},
            customdata=custom,
            hovertemplate=f"{short(bg)}: %{{y:{fmt}}} [%{{customdata[0]:{fmt}}}, %{{customdata[1]:{fmt}}}]<extra></extra>",
        ),
        **where,
    )


def _curves(
    fig: go.Figure,
    facts: Facts,
    fact: str,
    x_key: str,
    y_key: str,
    sub: str | None = None,
    lo_key: str = "ci_low",
    hi_key: str = "ci_high",
    **where,
) -> None:
    for bg in ordered(facts):
        result = facts[bg].get(fact)
        if not result:
            continue
        part = result[sub] if sub else result
        _curve(fig, bg, result[x_key], part[y_key], part[lo_key], part[hi_key], **where)


def _zero(fig: go.Figure, text: str = "", **where) -> None:
    """The dotted zero line; with `text`, named in the legend (an annotation on the line would sit on the curves)."""
    fig.add_hline(y=0, line=ZERO_LINE, **where)
    if text:
        fig.add_trace(
            go.Scatter(x=[None], y=[None], mode="lines", line=ZERO_LINE, name=text, hoverinfo="skip"), **where
        )


def absence_figure(facts: Facts, height: int = 430) -> go.Figure:
    """Fact 1 (Fig. 17): ACF of 1-min returns of the last and the mean trade price, with the ±1.96/√n band."""
    fact = "absence_of_autocorrelations"
    mean_kind = next((facts[b][fact].get("mean_price") for b in facts if fact in facts[b]), "vwap")
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.06,
        subplot_titles=(
            "Last trade price",
            "Mean trade price" + (" (VWAP)" if mean_kind == "vwap" else " (last price: no VWAP)"),
        ),
    )
    for col, sub in ((1, "last"), (2, "mean")):
        for bg in ordered(facts):
            result = facts[bg].get(fact)
            if not result:
                continue
            n = _arr(result[sub]["n_by_lag"])
            with np.errstate(divide="ignore", invalid="ignore"):
                band = np.where(n > 0, Z95 / np.sqrt(n), np.nan)
            if bg == REPLAY:  # the white-noise band of the reference sample, shaded
                fig.add_trace(
                    go.Scatter(
                        x=result["lags"],
                        y=-band,
                        mode="lines",
                        line={"width": 0},
                        hoverinfo="skip",
                        showlegend=False,
                        legendgroup="band",
                    ),
                    row=1,
                    col=col,
                )
                fig.add_trace(
                    go.Scatter(
                        x=result["lags"],
                        y=band,
                        mode="lines",
                        line={"width": 0},
                        fill="tonexty",
                        fillcolor="rgba(152,162,179,0.22)",
                        name="±1.96/√n, replay",
                        legendgroup="band",
                        showlegend=col == 1,
                        hoverinfo="skip",
                    ),
                    row=1,
                    col=col,
                )
            else:  # narrower for the larger simulated samples: dotted edges in the background's colour
                for sign in (-1, 1):
                    fig.add_trace(
                        go.Scatter(
                            x=result["lags"],
                            y=sign * band,
                            mode="lines",
                            hoverinfo="skip",
                            line={"color": color(bg), "width": 1, "dash": "dot"},
                            showlegend=False,
                            legendgroup=bg,
                        ),
                        row=1,
                        col=col,
                    )
            _curve(
                fig,
                bg,
                result["lags"],
                result[sub]["acf"],
                result[sub]["ci_low"],
                result[sub]["ci_high"],
                row=1,
                col=col,
                showlegend=col == 1,
            )
        _zero(fig, row=1, col=col)
        fig.update_xaxes(title_text="Lag (minutes)", dtick=1, row=1, col=col)
    _style(fig, fact, "autocorrelation of 1-minute returns", facts, "Lag (minutes)", "", height)
    fig.update_yaxes(title_text="Autocorrelation", row=1, col=1)
    fig.update_annotations(font={"size": 12.5})
    return fig


def _kurtosis_figure(facts: Facts, fact: str, what: str, height: int) -> go.Figure:
    fig = go.Figure()
    _curves(fig, facts, fact, "periods", "kurtosis")
    if fact == "conditional_heavy_tails":  # the unconditional 1-min kurtosis, for "less heavy than unconditional"
        for bg in ordered(facts):
            raw = facts[bg].get(fact, {}).get("unconditional_kurtosis")
            if raw is not None:
                fig.add_trace(
                    go.Scatter(
                        x=[1],
                        y=[raw],
                        mode="markers",
                        legendgroup=bg,
                        showlegend=False,
                        marker={"symbol": "diamond-open", "size": 11, "color": color(bg), "line": {"width": 2}},
                        hovertemplate=f"{short(bg)}: unconditional 1-min kurtosis %{{y:.3f}}<extra></extra>",
                    )
                )
    if fact == "aggregational_gaussianity":  # the tested drop, kurtosis(1 min) - kurtosis(K min), in the legend
        for trace in fig.data:
            r = facts.get(trace.legendgroup, {}).get(fact, {})
            if trace.mode == "lines+markers" and r.get("kurtosis_drop") is not None:
                trace.name = (
                    f"{label(trace.legendgroup)} (drop 1→{r['longest_period']} min: {_num(r['kurtosis_drop'], '.2f')})"
                )
    _zero(fig, "0 = normal distribution")
    fig.update_xaxes(dtick=2)
    return _style(fig, fact, what, facts, "Return period (minutes)", "Excess kurtosis", height)


def heavy_tails_figure(facts: Facts, height: int = 400) -> go.Figure:
    """Fact 2 (Fig. 18a): excess kurtosis of k-minute returns."""
    return _kurtosis_figure(facts, "heavy_tails", "excess kurtosis of returns", height)


def aggregational_figure(facts: Facts, height: int = 400) -> go.Figure:
    """Fact 4 (Fig. 18a): kurtosis falls toward 0 as the period grows."""
    return _kurtosis_figure(facts, "aggregational_gaussianity", "kurtosis against the aggregation period", height)


def conditional_figure(facts: Facts, height: int = 400) -> go.Figure:
    """Fact 7 (Fig. 18b): kurtosis of returns normalised by time-of-day volatility; ◇ the unconditional 1-min value."""
    return _kurtosis_figure(facts, "conditional_heavy_tails", "kurtosis of volatility-normalised returns", height)


def gain_loss_figure(facts: Facts, height: int = 400) -> go.Figure:
    """Fact 3 (Fig. 19a): skewness of k-minute returns."""
    fig = go.Figure()
    _curves(fig, facts, "gain_loss_asymmetry", "periods", "skewness")
    _zero(fig, "0 = symmetric")
    fig.update_xaxes(dtick=2)
    return _style(
        fig, "gain_loss_asymmetry", "skewness of returns", facts, "Return period (minutes)", "Skewness", height
    )


def intermittency_figure(facts: Facts, height: int = 340) -> go.Figure:
    """Fact 5 (Fig. 20a): Fano factor of the counts of extreme returns per window, with its 95% interval."""
    fact = "intermittency"
    fig = go.Figure()
    for bg in (b for b in ordered(facts) if fact in facts[b]):
        r = facts[bg][fact]
        f, lo, hi, p = r.get("fano_factor"), r.get("ci_low"), r.get("ci_high"), r.get("p_value")
        detail = _extremes(r)
        if f is None:  # no Fano factor: fewer than two full windows
            fig.add_trace(
                go.Scatter(
                    x=[1],
                    y=[label(bg)],
                    mode="text",
                    text=[f"undefined: {detail}"],
                    showlegend=False,
                    textfont={"size": 11, "color": color(bg)},
                    hoverinfo="skip",
                )
            )
            continue
        error = (
            {
                "type": "data",
                "symmetric": False,
                "array": [hi - f],
                "arrayminus": [f - lo],
                "color": color(bg),
                "thickness": 2,
                "width": 8,
            }
            if None not in (lo, hi)
            else None
        )
        detail += (f", p = {p:.3f}" if p is not None else "") + ("" if error else ", no interval")
        fig.add_trace(
            go.Scatter(
                x=[f],
                y=[label(bg)],
                mode="markers+text",
                name=label(bg),
                error_x=error,
                showlegend=False,
                marker={"size": 12, "color": color(bg)},
                text=[detail],
                textposition="top center",
                textfont={"size": 10.5, "color": "#667085"},
                hovertemplate=f"{short(bg)}: F = %{{x:.3f}} ({detail})<extra></extra>",
            )
        )
    fig.add_vline(x=1, line=ZERO_LINE)
    fig.add_trace(
        go.Scatter(x=[None], y=[None], mode="lines", line=ZERO_LINE, name="F = 1: Poisson, no bursts", hoverinfo="skip")
    )
    fig = _style(
        fig,
        fact,
        "Fano factor of extreme-return counts",
        facts,
        "Fano factor F = variance / mean of the counts per window",
        "",
        height,
    )
    rows = sum(1 for b in facts if fact in facts[b])
    fig.update_yaxes(range=[rows - 0.5, -0.9], showline=False)  # reversed, with room for the labels above the top row
    fig.update_layout(hovermode="closest")
    return fig


def _lag_figure(facts: Facts, fact: str, y_key: str, what: str, x_title: str, y_title: str, height: int) -> go.Figure:
    """Each background's curve over the lags (one minute apart) with its 95% band, and the zero line."""
    fig = go.Figure()
    _curves(fig, facts, fact, "lags", y_key)
    _zero(fig)
    fig.update_xaxes(dtick=1)
    return _style(fig, fact, what, facts, x_title, y_title, height)


def volatility_clustering_figure(facts: Facts, height: int = 400) -> go.Figure:
    """Fact 6 (Fig. 19b): autocorrelation of absolute 1-min returns."""
    return _lag_figure(
        facts,
        "volatility_clustering",
        "acf",
        "autocorrelation of |returns|",
        "Lag (minutes)",
        "Autocorrelation",
        height,
    )


def slow_decay_figure(facts: Facts, height: int = 400) -> go.Figure:
    """Fact 8 (Fig. 19b): the |r| autocorrelation on a log lag axis; the power-law exponent β in the legend."""
    fact = "slow_decay_of_absolute_autocorrelation"
    fig = go.Figure()
    _curves(fig, facts, fact, "lags", "acf")
    for trace in fig.data:
        bg = trace.legendgroup
        beta = facts.get(bg, {}).get(fact, {}).get("power_law_exponent")
        if trace.showlegend is not False and beta is not None:
            trace.name = f"{label(bg)} (β = {beta:.2f})"
    _zero(fig)
    fig.update_xaxes(type="log", tickvals=list(range(1, 11)))
    return _style(
        fig,
        fact,
        "decay of the |returns| autocorrelation",
        facts,
        "Lag (minutes, log scale)",
        "Autocorrelation",
        height,
    )


def leverage_figure(facts: Facts, height: int = 400) -> go.Figure:
    """Fact 9 (Fig. 20b): correlation of returns with later volatility, corr(r_t, |r_t+k|)."""
    return _lag_figure(
        facts, "leverage_effect", "corr", "corr(return, later |return|)", "Lag k (minutes)", "Correlation", height
    )


def volume_volatility_figure(facts: Facts, height: int = 400) -> go.Figure:
    """Fact 10 (Fig. 21a): correlation of volume with later volatility, corr(volume_t, |r_t+k|)."""
    return _lag_figure(
        facts,
        "volume_volatility_correlation",
        "corr",
        "corr(volume, later |return|)",
        "Lag k (minutes)",
        "Correlation",
        height,
    )


def timescales_figure(facts: Facts, height: int = 430) -> go.Figure:
    """Fact 11 (Fig. 21b): rho(k) = corr(coarse vol_t+k, fine vol_t), k = -10..10, and D(k) = rho(k) - rho(-k)."""
    fact = "asymmetry_in_timescales"
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.6, 0.4],
        horizontal_spacing=0.09,
        subplot_titles=("ρ(k) = corr(coarse vol at t+k, fine vol at t)", "Asymmetry D(k) = ρ(k) − ρ(−k)"),
    )
    for bg in ordered(facts):
        r = facts[bg].get(fact)
        if not r:
            continue
        _curve(fig, bg, r["lags"], r["corr"], r["ci_low"], r["ci_high"], row=1, col=1)
        _curve(
            fig,
            bg,
            r["asymmetry_lags"],
            r["asymmetry"],
            r["asymmetry_ci_low"],
            r["asymmetry_ci_high"],
            row=1,
            col=2,
            showlegend=False,
        )
    for col in (1, 2):
        _zero(fig, row=1, col=col)
    fig.update_xaxes(title_text="Lag k (minutes)", dtick=2, row=1, col=1)
    fig.update_xaxes(title_text="Lag k (minutes)", dtick=1, row=1, col=2)
    _style(fig, fact, "coarse and fine volatility", facts, "Lag k (minutes)", "", height)
    fig.update_yaxes(title_text="Correlation", row=1, col=1)
    fig.update_yaxes(title_text="D(k)", row=1, col=2)
    fig.update_annotations(font={"size": 12.5})
    return fig


FACT_FIGURES: dict[str, Callable[..., go.Figure]] = {
    "absence_of_autocorrelations": absence_figure,
    "heavy_tails": heavy_tails_figure,
    "gain_loss_asymmetry": gain_loss_figure,
    "aggregational_gaussianity": aggregational_figure,
    "intermittency": intermittency_figure,
    "volatility_clustering": volatility_clustering_figure,
    "conditional_heavy_tails": conditional_figure,
    "slow_decay_of_absolute_autocorrelation": slow_decay_figure,
    "leverage_effect": leverage_figure,
    "volume_volatility_correlation": volume_volatility_figure,
    "asymmetry_in_timescales": timescales_figure,
}


def fact_figure(facts: Facts, fact: str, **kwargs) -> go.Figure:
    """The figure of one of `FACTS` over every background in `facts`."""
    if fact not in FACT_FIGURES:
        raise ValueError(f"unknown fact {fact!r}; one of {', '.join(FACTS)}")
    return FACT_FIGURES[fact](facts, **kwargs)
