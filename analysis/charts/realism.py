"""Tables and the metrics figure of a realism evaluation (paper Table 6; App. J Table 7), and the backgrounds' labels and colours (the fact figures are `facts`).

Inputs are what `mars_core.experiments.realism.run_realism` writes: `facts`, a mapping
background -> `analysis.stylized_facts.evaluate_facts` output (the replay, i.e.
the real day, first), and `metrics`, Table 7 as {metric: {background:
{"similarity", "accuracy", "n", "n_rollouts"}}}. Every fact figure draws the
replay against each simulated background with 95% bootstrap bands and names
the sample size of each in its subtitle; the tables put our results next to
the paper's (`analysis.realism_reference`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis import realism_reference as paper
from analysis.similarity import METRIC_NAMES, METRICS
from analysis.stylized_facts import FACT_NAMES, FACT_TESTS, FACTS

Facts = Mapping[str, Mapping[str, dict]]  # background -> fact -> result
REPLAY = "replay"
BACKGROUND_LABELS = {"replay": "Replay (real day)", "noise": "Noise traders", "lmm": "Order model (LMM)"}
BACKGROUND_SHORT = {"replay": "Replay", "noise": "Noise", "lmm": "LMM"}
BACKGROUND_COLORS = {"replay": "#1f2d3d", "noise": "#4c78a8", "lmm": "#e45756"}
PAPER_COLOR = "#b8c0cc"
EXTRA_COLORS = ("#54a24b", "#b279a2", "#f58518")
ZERO_LINE = {"color": "#98a2b3", "width": 1, "dash": "dot"}
PRESENT, ABSENT = "✓", "✗"
Z95 = 1.959964  # two-sided 95% normal quantile (the white-noise ACF band, the accuracy's Wilson interval)


def label(background: str) -> str:
    return BACKGROUND_LABELS.get(background, background)


def short(background: str) -> str:
    return BACKGROUND_SHORT.get(background, background)


def color(background: str) -> str:
    if background in BACKGROUND_COLORS:
        return BACKGROUND_COLORS[background]
    return EXTRA_COLORS[sum(map(ord, background)) % len(EXTRA_COLORS)]


def _tint(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _arr(values: object) -> np.ndarray:
    """JSON lists (None for undefined) as float arrays (NaN)."""
    return np.array([np.nan if v is None else float(v) for v in (values or [])], dtype=float)


def ordered(facts: Facts) -> list[str]:
    """Backgrounds with the replay first, then the simulated ones in their given order."""
    return [b for b in facts if b == REPLAY] + [b for b in facts if b != REPLAY]


# ---- the headline statistic of each fact ---------------------------------------------------------


def _extremes(r: dict) -> str:
    """How many extreme returns fell in how many full windows (or why there is no window)."""
    extremes, windows = int(r.get("n_extreme", 0)), int(r.get("n_windows", 0))
    if windows == 0:
        return "no full 15-minute window of returns"
    return f"{extremes} extreme{'s' * (extremes != 1)} in {windows} window{'s' * (windows != 1)}"


def _num(x: object, fmt: str = ".3f") -> str:
    return "—" if x is None or not np.isfinite(float(x)) else f"{float(x):{fmt}}".replace("-", "−")


def _ci(lo: object, hi: object, fmt: str = ".3f") -> str:
    if lo is None or hi is None or not (np.isfinite(float(lo)) and np.isfinite(float(hi))):
        return "(no interval)"
    return f"[{_num(lo, fmt)}, {_num(hi, fmt)}]"


MEAN_STATISTICS = {  # facts tested on a mean over lags or periods: what is averaged, and the key of the mean
    "gain_loss_asymmetry": ("mean skewness", "mean_skewness"),
    "volatility_clustering": ("mean |r| ACF, lags 1–10", "mean_acf"),
    "leverage_effect": ("mean corr(r, later |r|)", "mean_corr"),
    "asymmetry_in_timescales": ("mean D(k), k = 1–10", "mean_asymmetry"),
}


def statistic(fact: str, r: dict) -> str:
    """The number the presence test of `fact` looks at, with its 95% interval, in words."""
    first = lambda key: (r.get(key) or [None])[0]  # noqa: E731
    if fact == "absence_of_autocorrelations":
        acf = _arr(r["last"]["acf"])[1:]
        worst = np.nanmax(np.abs(acf)) if np.isfinite(acf).any() else None
        return f"lag-1 ACF {_num(r['last']['acf'][0])}; largest |ACF| at lags 2–10 {_num(worst)}"
    if fact in ("heavy_tails", "conditional_heavy_tails"):
        return f"1-min excess kurtosis {_num(first('kurtosis'))} {_ci(first('ci_low'), first('ci_high'))}"
    if fact == "aggregational_gaussianity":
        if r.get("kurtosis_drop") is None:
            return "kurtosis drop: too few long-period returns"
        return (
            f"kurtosis(1 min) − kurtosis({r['longest_period']} min) {_num(r['kurtosis_drop'])} "
            f"{_ci(r['drop_ci_low'], r['drop_ci_high'])}"
        )
    if fact in MEAN_STATISTICS:
        what, key = MEAN_STATISTICS[fact]
        return f"{what} {_num(r.get(key))} {_ci(r.get('mean_ci_low'), r.get('mean_ci_high'))}"
    if fact == "intermittency":
        return f"Fano factor {_num(r.get('fano_factor'))}, p = {_num(r.get('p_value'))} ({_extremes(r)})"
    if fact == "slow_decay_of_absolute_autocorrelation":
        last = lambda key: (r.get(key) or [None])[-1]  # noqa: E731
        return f"|r| ACF at lag {r['lags'][-1]} {_num(last('acf'))} {_ci(last('ci_low'), last('ci_high'))}"
    if fact == "volume_volatility_correlation":
        return f"corr(volume, |r|) {_num(first('corr'))} {_ci(first('ci_low'), first('ci_high'))}"
    raise ValueError(f"unknown fact {fact!r}")


def statistics_frame(facts: Facts, fact: str) -> pd.DataFrame:
    """One row per background: present?, n and the tested statistic."""
    rows = [
        {
            "Background": label(bg),
            "Present": PRESENT if facts[bg][fact]["present"] else ABSENT,
            "n": int(facts[bg][fact].get("n", 0)),
            "Statistic (95% CI)": statistic(fact, facts[bg][fact]),
        }
        for bg in ordered(facts)
        if fact in facts[bg]
    ]
    return pd.DataFrame(rows, columns=["Background", "Present", "n", "Statistic (95% CI)"])


# ---- Table 6 and Table 7 -------------------------------------------------------------------------


def presence_frame(facts: Facts, with_test: bool = True, compact: bool = False) -> pd.DataFrame:
    """Table 6: per fact ✓/✗ for each background, then the paper's historical and simulated columns and our test.

    `compact` uses short column names (for print, where every column must fit the page).
    """
    name = short if compact else label
    historical, simulated = ("Paper hist.", "Paper sim.") if compact else ("Paper: historical", "Paper: simulated")
    rows = []
    for i, fact in enumerate(FACTS, 1):
        row: dict[str, object] = {"#": i, "Stylized fact": FACT_NAMES[fact]}
        for bg in ordered(facts):
            result = facts[bg].get(fact)
            row[name(bg)] = "—" if result is None else (PRESENT if result["present"] else ABSENT)
        row[historical] = PRESENT if paper.TABLE6[fact]["historical"] else ABSENT
        row[simulated] = PRESENT if paper.TABLE6[fact]["simulated"] else ABSENT
        if with_test:
            row["Test for “present”"] = FACT_TESTS[fact]
        rows.append(row)
    return pd.DataFrame(rows)


def agreement(facts: Facts) -> dict[str, int]:
    """Per simulated background, how many of the 11 facts it has present/absent exactly as the replay does."""
    replay = facts.get(REPLAY, {})
    return {
        bg: sum(
            1
            for f in FACTS
            if f in replay and f in facts[bg] and bool(facts[bg][f]["present"]) == bool(replay[f]["present"])
        )
        for bg in ordered(facts)
        if bg != REPLAY
    }


def accuracy_interval(accuracy: float | None, n: int | None) -> tuple[float, float]:
    """95% Wilson score interval of a 3-class accuracy measured on `n` start points (NaN if undefined).

    The accuracy is a share of start points classified right, k/n, so its
    interval is the binomial one; it takes the replay tertiles as fixed and the
    start points as independent, so it is, if anything, too narrow.
    """
    if accuracy is None or not n or not np.isfinite(accuracy):
        return float("nan"), float("nan")
    p = round(float(accuracy) * n) / n  # k/n exactly
    centre, spread = p + Z95**2 / (2 * n), Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    scale = 1 + Z95**2 / n
    return float(max(0.0, (centre - spread) / scale)), float(min(1.0, (centre + spread) / scale))


def metric_backgrounds(metrics: Mapping[str, Mapping[str, dict]]) -> list[str]:
    seen: list[str] = []
    for by_bg in metrics.values():
        seen += [bg for bg in by_bg if bg not in seen]
    return seen


def metrics_frame(metrics: Mapping[str, Mapping[str, dict]], compact: bool = False) -> pd.DataFrame:
    """Table 7: similarity, accuracy and the accuracy's 95% interval per metric for each background, the paper's
    values, and the start points used.

    `compact` abbreviates the column names ("Noise sim.", "Noise acc.", "Noise acc. CI", "Starts") for print.
    """
    frame = _metrics_frame(metrics)
    if compact:
        frame.columns = [
            c.replace(" similarity", " sim.")
            .replace(" accuracy", " acc.")
            .replace("start points", "starts")
            .replace("Start points", "Starts")
            .replace(" 95% CI", " CI")
            for c in frame.columns
        ]
    return frame


def _metrics_frame(metrics: Mapping[str, Mapping[str, dict]]) -> pd.DataFrame:
    bgs = metric_backgrounds(metrics)
    counts = {bg: [metrics.get(m, {}).get(bg, {}).get("n") for m in METRICS] for bg in bgs}
    rows = []
    for i, m in enumerate(METRICS):
        row: dict[str, object] = {"Metric": METRIC_NAMES[m]}
        for bg in bgs:
            cell = metrics.get(m, {}).get(bg, {})
            row[f"{short(bg)} similarity"] = _float(cell.get("similarity"))
            row[f"{short(bg)} accuracy"] = _float(cell.get("accuracy"))
            row[f"{short(bg)} accuracy 95% CI"] = _ci(*accuracy_interval(cell.get("accuracy"), cell.get("n")), ".2f")
        row["Paper similarity"] = paper.TABLE7[m]["similarity"]
        row["Paper accuracy"] = paper.TABLE7[m]["accuracy"]
        if len({tuple(c) for c in counts.values()}) <= 1:  # the same start points for every background
            row["Start points"] = _int(counts[bgs[0]][i]) if bgs else None
        else:
            for bg in bgs:
                row[f"{short(bg)} start points"] = _int(counts[bg][i])
        rows.append(row)
    return pd.DataFrame(rows)


def _float(x: object) -> float:
    return float("nan") if x is None else float(x)


def _int(x: object) -> int | None:
    return None if x is None else int(x)


def metrics_figure(metrics: Mapping[str, Mapping[str, dict]], height: int | None = None) -> go.Figure:
    """Table 7 as grouped bars: distribution similarity and 3-class accuracy per metric, ours next to the paper's;
    our accuracies carry their 95% Wilson interval over the start points as whiskers."""
    bgs = metric_backgrounds(metrics)
    names = [METRIC_NAMES[m] for m in METRICS]
    height = height or 300 + 26 * len(METRICS) * (len(bgs) + 1) // 2  # room for every bar of a group
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("Distribution similarity (overlap coefficient)", "Accuracy (3-class), 95% interval"),
    )
    for col, key in ((1, "similarity"), (2, "accuracy")):
        for bg in bgs:
            cells = [metrics.get(m, {}).get(bg, {}) for m in METRICS]
            x = [_float(c.get(key)) for c in cells]
            error, interval = None, [""] * len(cells)
            if key == "accuracy":  # the Wilson interval over the start points
                lo, hi = np.array([accuracy_interval(c.get(key), c.get("n")) for c in cells]).T
                error = {
                    "type": "data",
                    "symmetric": False,
                    "array": hi - x,
                    "arrayminus": x - lo,
                    "color": "#667085",
                    "thickness": 1.2,
                    "width": 3,
                }
                interval = [f", 95% CI {_ci(a, b)}" for a, b in zip(lo, hi)]
            fig.add_trace(
                go.Bar(
                    y=names,
                    x=x,
                    orientation="h",
                    name=label(bg),
                    legendgroup=bg,
                    error_x=error,
                    marker_color=color(bg),
                    showlegend=col == 1,
                    customdata=[[c.get("n"), c.get("n_rollouts"), i] for c, i in zip(cells, interval)],
                    # the number at the bar's end; not on the accuracy bars, where the whisker is (the table has them)
                    text=None if error else [_num(c.get(key), ".2f") for c in cells],
                    textposition="outside",
                    cliponaxis=False,
                    textfont={"size": 10, "color": color(bg)},
                    hovertemplate=f"{short(bg)} {key} %{{x:.3f}}%{{customdata[2]}} (%{{customdata[0]}} start points × "
                    "%{customdata[1]} rollouts)<extra></extra>",
                ),
                row=1,
                col=col,
            )
        fig.add_trace(
            go.Bar(
                y=names,
                x=[paper.TABLE7[m][key] for m in METRICS],
                orientation="h",
                name="Paper (MarS, Table 7)",
                legendgroup="paper",
                marker={"color": PAPER_COLOR, "pattern": {"shape": "/", "fgcolor": "#8a94a6", "size": 5}},
                showlegend=col == 1,
                hovertemplate=f"paper {key} %{{x:.3f}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    fig.add_vline(x=1 / 3, line=ZERO_LINE, row=1, col=2)
    fig.add_trace(
        go.Scatter(x=[None], y=[None], mode="lines", line=ZERO_LINE, name="Chance accuracy (⅓)"), row=1, col=2
    )
    fig.update_xaxes(
        range=[0, 1.12], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0], tickformat=".1f", showline=True, linecolor="#d0d5dd"
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        barmode="group",
        bargap=0.25,
        bargroupgap=0.05,
        height=height,
        template="plotly_white",
        title={"text": "Quantitative realism (Table 7): ours next to the paper's", "x": 0, "xanchor": "left"},
        margin={"l": 150, "r": 20, "t": 80, "b": 40},
        hovermode="closest",
        legend={"orientation": "h", "yanchor": "top", "y": -0.06, "xanchor": "left", "x": 0},
    )
    fig.update_annotations(font={"size": 12.5})
    return fig


PAPER_FIGURES = {
    "absence_of_autocorrelations": "Fig. 17",
    "heavy_tails": "Fig. 18a",
    "gain_loss_asymmetry": "Fig. 19a",
    "aggregational_gaussianity": "Fig. 18a",
    "intermittency": "Fig. 20a",
    "volatility_clustering": "Fig. 19b",
    "conditional_heavy_tails": "Fig. 18b",
    "slow_decay_of_absolute_autocorrelation": "Fig. 19b",
    "leverage_effect": "Fig. 20b",
    "volume_volatility_correlation": "Fig. 21a",
    "asymmetry_in_timescales": "Fig. 21b",
}


def paper_figure_groups() -> dict[str, list[str]]:
    """The facts grouped as the paper draws them: "Fig. 17" -> [facts], in the order of the figures and of `FACTS`."""
    groups: dict[str, list[str]] = {}
    for fact in sorted(FACTS, key=lambda f: (PAPER_FIGURES[f].rstrip("ab"), FACTS.index(f))):
        groups.setdefault(PAPER_FIGURES[fact].rstrip("ab"), []).append(fact)
    return groups
