"""Tables and figures of a realism evaluation (paper Table 6; App. J Table 7 on its per-minute unit), and the
backgrounds' labels and colours (the fact figures are `facts`, the fidelity figure `fidelity`).

Inputs are what `mars_core.experiments.realism.run_realism` writes: `facts`, a mapping background ->
`analysis.stylized_facts.evaluate_facts` output (the replay, i.e. the real windows, first), and the result
(summary.json, `Summary`): per-minute similarity per row with the real-vs-real ceiling and 95% intervals, paired
differences, accuracy with chance and persistence, each fact's statistic with its interval. The tables put our
results next to the paper's (`analysis.realism_reference`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis import realism_reference as paper
from analysis.similarity import METRIC_NAMES, METRICS
from analysis.stylized_facts import FACT_NAMES, FACT_TESTS, FACTS

Facts = Mapping[str, Mapping[str, dict]]  # background -> fact -> result
REPLAY = "replay"
BACKGROUND_LABELS = {"replay": "Replay (real day)", "noise": "Noise traders", "lmm": "Order model (LMM)"}
BACKGROUND_SHORT = {"replay": "Replay", "noise": "Noise", "lmm": "LMM"}
BACKGROUND_COLORS = {"replay": "#1f2d3d", "noise": "#4c78a8", "lmm": "#e45756"}
PAPER_COLOR = "#b8c0cc"
CEILING_COLOR = "#475467"
EXTRA_COLORS = ("#54a24b", "#b279a2", "#f58518")
ZERO_LINE = {"color": "#98a2b3", "width": 1, "dash": "dot"}
PRESENT, ABSENT = "✓", "✗"
Z95 = 1.959964  # two-sided 95% normal quantile (the white-noise ACF band)


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


# ---- Table 6, the per-minute Table 7 and the facts' statistics -------------------------------------------------------------------------


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


Summary = Mapping[str, Any]  # the result of `mars realism` (summary.json)


def simulated(summary: Summary) -> list[str]:
    """The simulated backgrounds of a result (the replay, scored as a check, left out)."""
    return [bg for bg in summary.get("backgrounds", {}) if bg != REPLAY]


def _interval(v: Mapping[str, Any], fmt: str = ".3f") -> str:
    lo, hi = (v.get("ci") or [None, None])[:2]
    return f"{_num(v.get('mean'), fmt)} {_ci(lo, hi, fmt)}"


def similarity_frame(summary: Summary) -> pd.DataFrame:
    """Per-minute similarity per Table-7 row: the ceiling, each background, the paper's."""
    bgs = simulated(summary)
    rows = []
    for m in METRICS:
        row: dict[str, object] = {
            "Row": METRIC_NAMES[m],
            "Ceiling (real vs real)": _float(summary["ceiling"]["rows"].get(m)),
        }
        for bg in bgs:
            row[label(bg)] = _float(summary["backgrounds"][bg]["similarity"]["rows"].get(m))
        row["Paper"] = paper.TABLE7[m]["similarity"]
        rows.append(row)
    return pd.DataFrame(rows)


def similarity_means_frame(summary: Summary) -> pd.DataFrame:
    """The mean similarity over the rows of the ceiling and of each background, its 95% interval and its share of
    the ceiling; the paper's mean last."""
    ceiling = summary["ceiling"]
    entries = [("Ceiling (real vs real)", ceiling, 1.0)]
    entries += [
        (
            label(bg),
            summary["backgrounds"][bg]["similarity"],
            summary["backgrounds"][bg]["similarity"].get("share_of_ceiling"),
        )
        for bg in simulated(summary)
    ]
    rows = [
        {
            "Mean similarity of": name,
            "Mean": _float(v.get("mean")),
            "95% CI low": _float((v.get("ci") or [None, None])[0]),
            "95% CI high": _float((v.get("ci") or [None, None])[1]),
            "Share of the ceiling": _float(share),
        }
        for name, v, share in entries
    ]
    paper_mean = float(np.mean([paper.TABLE7[m]["similarity"] for m in METRICS]))
    rows.append({"Mean similarity of": "Paper (MarS, Table 7)", "Mean": paper_mean})
    return pd.DataFrame(rows)


def paired_frame(summary: Summary) -> pd.DataFrame:
    """Each paired difference of mean similarity (e.g. lmm - noise) with its 95% interval."""
    rows = [
        {
            "Difference": " − ".join(label(b) for b in pair.split("-")),
            "Mean similarity difference [95% CI]": _interval(v),
            "Interval excludes 0": bool(v.get("ci_excludes_zero")),
        }
        for pair, v in summary.get("paired", {}).items()
    ]
    return pd.DataFrame(rows, columns=["Difference", "Mean similarity difference [95% CI]", "Interval excludes 0"])


def accuracy_frame(summary: Summary) -> pd.DataFrame:
    """3-class accuracy per row and background with the exact chance level beside it, and the persistence baseline."""
    bgs = simulated(summary)
    rows = []
    for m in METRICS:
        row: dict[str, object] = {"Row": METRIC_NAMES[m]}
        persistence = None
        for bg in bgs:
            cell = summary["backgrounds"][bg]["accuracy"][m]
            row[f"{short(bg)} accuracy"] = _float(cell.get("accuracy"))
            row[f"{short(bg)} chance"] = _float(cell.get("chance_exact"))
            persistence = cell.get("persistence")
        row["Persistence"] = _float(persistence)
        row["Paper"] = paper.TABLE7[m]["accuracy"]
        rows.append(row)
    return pd.DataFrame(rows)


def similarity_figure(summary: Summary, height: int | None = None) -> go.Figure:
    """Per-minute similarity per row as grouped bars: the real-vs-real ceiling, each background, the paper's."""
    bgs = simulated(summary)
    names = [METRIC_NAMES[m] for m in METRICS]
    series = [("ceiling", "Ceiling (real vs real)", CEILING_COLOR, summary["ceiling"]["rows"])]
    series += [(bg, label(bg), color(bg), summary["backgrounds"][bg]["similarity"]["rows"]) for bg in bgs]
    fig = go.Figure()
    for key, name, colour, values in series:
        x = [_float(values.get(m)) for m in METRICS]
        fig.add_trace(
            go.Bar(
                y=names,
                x=x,
                orientation="h",
                name=name,
                marker_color=colour,
                text=[_num(v, ".2f") for v in x],
                textposition="outside",
                cliponaxis=False,
                textfont={"size": 10, "color": colour},
                hovertemplate=f"{name} %{{x:.3f}}<extra>{key}</extra>",
            )
        )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[paper.TABLE7[m]["similarity"] for m in METRICS],
            orientation="h",
            name="Paper (MarS, Table 7)",
            marker={"color": PAPER_COLOR, "pattern": {"shape": "/", "fgcolor": "#8a94a6", "size": 5}},
            hovertemplate="paper %{x:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1.12], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0], tickformat=".1f")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        barmode="group",
        bargap=0.25,
        height=height or 300 + 22 * len(METRICS) * (len(series) + 1) // 2,
        template="plotly_white",
        title={"text": "Per-minute distribution similarity (overlap coefficient)", "x": 0, "xanchor": "left"},
        margin={"l": 150, "r": 20, "t": 60, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.06, "xanchor": "left", "x": 0},
    )
    return fig


def facts_frame(summary: Summary) -> pd.DataFrame:
    """Each fact's headline statistic with its 95% interval for the replay and every background, and its verdict."""
    facts = summary.get("facts", {})
    rows = []
    for fact in FACTS:
        first = next((facts[bg][fact] for bg in facts if fact in facts[bg]), None)
        row: dict[str, object] = {"Stylized fact": FACT_NAMES[fact], "Statistic": first["statistic"] if first else ""}
        for bg in ordered(facts):
            r = facts[bg].get(fact)
            row[label(bg)] = (
                "—"
                if r is None
                else f"{_num(r.get('value'))} {_ci(*(r.get('ci') or [None, None]))} "
                f"{PRESENT if r.get('present') else ABSENT}"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _float(x: object) -> float:
    return float("nan") if x is None else float(x)


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
