"""The report of a market impact study: its sections, provenance and caveats (see `analysis.report`).

`build_impact_report(dir)` assembles the Report from a finished study with the
same tables and figures the dashboard shows (`analysis.impact_results`), adds
where the data came from (LOBSTER files and their message counts, seeds,
background, MarS version and git commit) and the caveats a reader must know.
Pure: no Streamlit.
"""

from __future__ import annotations

import pandas as pd

from analysis import sqrt_law
from analysis.charts import impact as impact_charts
from analysis.charts.study import (
    correlation_figure,
    factor_figure,
    fulfillment_figure,
    impact_figure,
    slippage_figure,
    sqrt_law_figure,
)
from analysis.factors import FACTOR_COLUMNS, FACTOR_LABELS
from analysis.impact_results import (
    StudyResults,
    constant_decay_factors,
    decay_table,
    delta_verdict,
    factors_table,
    fits_table,
    fulfillment_table,
    headline,
    impact_table,
    nan_float,
    symbolic_formula,
    symbolic_table,
    symbolic_verdict,
    weights_frame,
)
from analysis.report.document import Figure, Report, Section, Table

CONFIG_LABELS = {
    "name": "Study name",
    "symbols": "Stocks",
    "dates": "Trading dates",
    "start_times": "Agent start times (HH:MM)",
    "execution_minutes": "Execution window, minutes",
    "horizon_minutes": "Observation after execution, minutes",
    "side": "Direction of the TWAP programmes",
    "q_over_v": "Target sizes Q/V (fraction of the window's market volume V)",
    "configs": "TWAP configurations (L = aggressive price level, P = passive volume ratio)",
    "interval_s": "TWAP slice interval, seconds",
    "rollouts": "Paired rollouts per point",
    "background": "Simulated background traders",
    "seed": "Study seed (common random numbers)",
    "pre_trade_minutes": "Pre-trade window for volatility and resiliency, minutes",
    "alpha": "LOB pressure weight α, eq. (6)",
    "beta": "LOB depth weight β, eq. (7)",
}
BACKGROUND_CAVEATS = {
    "noise": "The background is **noise traders**: zero-intelligence order flow calibrated on the day. The impact "
    "measured is the impact among such traders, who neither anticipate nor react strategically to the agent; "
    "it is not a forecast of how real participants would respond.",
    "replay": "The background is the day's **replayed real orders**, which do not react to the agent: impact comes only "
    "from the liquidity the agent consumes, and decay only from the replayed flow refilling the book.",
    "lmm": "The background is the **generative order model**: the impact is as realistic as the model is; check its "
    "Realism evaluation before relying on these numbers.",
}


# ---- provenance and caveats ----------------------------------------------------------------------


def caveats(study: StudyResults) -> list[str]:
    """What a reader must know before relying on the study (sample sizes, skipped fits, the background)."""
    c, m = study.config, study.metrics
    out = []
    rollouts = int(c.get("rollouts", 0))
    points = m["point"].nunique() if "point" in m else 0
    out.append(
        f"Sample size: {len(m):,} paired trajectories, {rollouts} per point over {points} points"
        + (" (fewer than the 16 of the standard study; intervals are correspondingly wide)." if rollouts < 16 else ".")
    )
    out.append(BACKGROUND_CAVEATS.get(str(c.get("background")), f"Background: {c.get('background')}."))
    out.append(
        "Confidence intervals of δ and Y are 95% percentile-bootstrap intervals over trajectories (1,000 resamples, "
        "Q/V groups kept fixed); they reflect the simulated variability only, not model error."
    )
    dropped = [f"{k} ({f.n_dropped})" for k, f in study.fits().items() if f.n_dropped]
    if dropped:
        out.append(
            "Q/V groups with a non-positive mean impact cannot enter the log-log fit and were dropped: "
            + ", ".join(dropped)
            + ". Their exclusion biases δ and Y upward."
        )
    starts = len(c.get("symbols", [])) * len(c.get("dates", [])) * len(c.get("start_times", []))
    if starts == 1:
        out.append(
            "All trajectories start from one moment of one day: results are conditional on that moment's book, and "
            "pre-trade factors (σ, resiliency, LOB depth) are identical across trajectories, so their correlations and "
            "effects cannot be estimated."
        )
    for key, label in (
        ("sqrt_law", "Square-root-law fit"),
        ("symbolic", "Symbolic regression"),
        ("decay", "Decay ODE"),
    ):
        reason = study.skipped(key)
        if reason:
            out.append(f"{label} skipped: {reason}.")
    s = study.symbolic
    if "formula" in s and nan_float(s.get("test_r2")) < 0:
        out.append(
            f"The SINDy formula's held-out R² is {s['test_r2']:.2f} (< 0): it predicts held-out trajectories worse than "
            f"their mean, so treat it as descriptive of {s['n_train']} training trajectories only."
        )
    d = study.decay
    if "n_test" in d and d["n_test"] < 10:
        out.append(f"The decay ODEs are compared on {d['n_test']} held-out trajectories only.")
    out.append(
        "Impacts are relative to the arrival mid (positive = adverse to the agent); Q/V divides the target by the "
        "baselines' mean market volume in the execution window, so realised Q/V varies per trajectory."
    )
    return out


# ---- the report ----------------------------------------------------------------------------------


def impact_report(study: StudyResults, provenance: dict[str, str]) -> Report:
    """The full report of a finished study, with where its data came from."""
    c = study.config
    starts = ", ".join(f"{s} {d}" for s in c.get("symbols", []) for d in c.get("dates", []))
    subtitle = (
        f"{len(c.get('configs', []))} TWAP configurations × {len(c.get('q_over_v', []))} Q/V values × {c.get('rollouts')} "
        f"paired rollouts · {starts} at {', '.join(c.get('start_times', []))} · {c.get('side', 'buy')} · "
        f"{c.get('execution_minutes'):g} min execution + {c.get('horizon_minutes'):g} min observation · "
        f"{c.get('background')} background"
    )
    sections = [
        _summary(study),
        _impact_section(study),
        _fulfillment_section(study),
        _sqrt_section(study),
        _factors_section(study),
        _symbolic_section(study),
        _decay_section(study),
    ]
    return Report(
        title=f"Market impact study: {study.name}",
        subtitle=subtitle,
        kind="MarS market impact report",
        source=str(study.path),
        sections=sections,
        caveats=caveats(study),
        config=dict(c),
        config_labels=CONFIG_LABELS,
        provenance=provenance,
    )


def _summary(study: StudyResults) -> Section:
    pooled = study.fits().get(sqrt_law.POOLED)
    text = [
        "Each trajectory pairs a simulated future with a TWAP agent and the same future without it (common random "
        "numbers); the difference of their mid prices, relative to the arrival mid, is the agent's market impact."
    ]
    text.append(
        f"Pooled square-root-law fit impact = Y·σ·(Q/V)^δ: {delta_verdict(pooled)}"
        if pooled
        else f"The square-root-law fit was skipped: {study.skipped('sqrt_law') or 'no fit'}."
    )
    return Section("Summary", text=text, metrics=headline(study))


def _impact_section(study: StudyResults) -> Section:
    return Section(
        "Market impact over time",
        text=[
            f"Mean impact per configuration with its 95% band (Student-t over trajectories), during the "
            f"{study.execution_min:g}-minute execution (short-term) and after it (long-term decay), as in the paper's Fig. 23b."
        ],
        figures=[
            Figure(
                impact_figure(study),
                "Impact in basis points of the arrival mid; the dotted line marks the end of execution.",
            ),
            Figure(
                impact_figure(study, normalize=True),
                "The same curves, each divided by its peak |mean|, to compare shapes.",
            ),
        ],
        tables=[Table("Impact per configuration", impact_table(study), formats={"Peak at (min)": "{:.1f}"})],
    )


def _fulfillment_section(study: StudyResults) -> Section:
    pct = lambda v: f"{v:.1%}"  # noqa: E731
    return Section(
        "Fulfillment and slippage",
        text=[
            "Fulfillment is the share of the target Q actually traded by the end of execution (Fig. 23a); slippage is the "
            "execution VWAP against the arrival mid, positive when the agent paid more (buy) or received less (sell)."
        ],
        figures=[
            Figure(
                fulfillment_figure(study.metrics),
                "Dots: trajectories at their realised Q/V; lines: mean per target Q/V.",
            ),
            Figure(slippage_figure(study.metrics), "Mean slippage per target Q/V with ±1 standard error."),
        ],
        tables=[
            Table(
                "By configuration and Q/V",
                fulfillment_table(study),
                formats={
                    "Fulfillment": pct,
                    "Q/V target": "{:g}",
                    "Q/V realised": "{:.4f}",
                    "Impact, end (bps)": "{:+.2f}",
                    "Slippage (bps)": "{:+.2f}",
                },
            )
        ],
    )


def _sqrt_section(study: StudyResults) -> Section:
    binned, points = study.fits(), study.fits("points")
    fig = sqrt_law_figure(study)
    notes = [] if binned else [f"Skipped: {study.skipped('sqrt_law')}"]
    tables = []
    if binned:
        tables.append(
            Table(
                "Fits over Q/V groups (Fig. 6b)",
                fits_table(binned),
                "Regression of log(mean impact / mean σ) on log Q/V per Q/V group; 95% bootstrap intervals.",
                {"δ": "{:.3f}", "Y": "{:.4g}", "R²": "{:.3f}"},
            )
        )
    if points:
        tables.append(
            Table(
                "Fits over single trajectories",
                fits_table(points),
                "One point per trajectory with positive impact (others dropped): noisier, shown for comparison.",
                {"δ": "{:.3f}", "Y": "{:.4g}", "R²": "{:.3f}"},
            )
        )
    return Section(
        "Square-root law",
        text=[
            "impact = Y·σ·(Q/V)^δ, fitted by least squares in log-log space per configuration and pooled. Empirical studies "
            "find δ between about 0.4 and 0.7 (shaded band); the dashed line is δ = 0.5."
        ],
        figures=[Figure(fig, "Log-log: mean impact/σ per Q/V group and the fitted lines.")] if fig is not None else [],
        tables=tables,
        notes=notes,
    )


def _factors_section(study: StudyResults) -> Section:
    figures, notes = [], []
    corr = correlation_figure(study)
    if corr is not None:
        figures.append(
            Figure(corr, "Pearson correlations over trajectories of the factors that vary in this study (Fig. 25).")
        )
    else:
        notes.append("No factor correlations: fewer than two factors vary over trajectories with all factors finite.")
    for factor in study.varying_factors(list(FACTOR_COLUMNS)):
        figures.append(
            Figure(
                factor_figure(study.metrics, factor),
                f"Impact at the end of execution against {FACTOR_LABELS.get(factor, factor)} (Figs. 9a, 24).",
            )
        )
    constant = [FACTOR_LABELS.get(f, f) for f in FACTOR_COLUMNS if f not in study.varying_factors()]
    if constant:
        notes.append(f"Constant across this study, so neither correlated nor plotted: {', '.join(constant)}.")
    c = study.config
    return Section(
        "Impact factors",
        text=[
            f"The App. K factors, eqs. (5)–(13), computed per trajectory with a {c.get('pre_trade_minutes', 30)}-minute pre-trade "
            f"window, LOB pressure weight α = {c.get('alpha', 0.5)} and LOB depth weight β = {c.get('beta', 0.5)}."
        ],
        figures=figures,
        tables=[Table("Factors over the study's trajectories", factors_table(study))],
        notes=notes,
    )


def _symbolic_section(study: StudyResults) -> Section:
    s = study.symbolic
    if "formula" not in s:
        return Section("Symbolic regression", notes=[f"Skipped: {s.get('skipped', 'no result')}"])
    return Section(
        "Symbolic regression",
        text=[
            f"A sparse formula for the impact at the end of execution in terms of {', '.join(s['factors'])}, found by SINDy's "
            f"sequentially thresholded least squares (threshold {s['threshold']:g}, chosen by cross-validation) on "
            f"{s['n_train']} training trajectories and scored on {s['n_test']} held-out ones, next to the square-root law "
            "fitted on the same training trajectories. " + symbolic_verdict(s)
        ],
        formulas=[symbolic_formula(s)],
        tables=[
            Table(
                "Fit on training and held-out trajectories",
                symbolic_table(study),
                formats={
                    "Train R²": "{:.3f}",
                    "Held-out R²": "{:.3f}",
                    "Train RMSE (bps)": "{:.3f}",
                    "Held-out RMSE (bps)": "{:.3f}",
                },
            )
        ],
    )


def _decay_section(study: StudyResults) -> Section:
    d = study.decay
    if "learned" not in d:
        return Section("Impact decay", notes=[f"Skipped: {d.get('skipped', 'no result')}"])
    acf = pd.DataFrame(d["acf"])
    better = "learned" if d["test_mse_learned"] < d["test_mse_base"] else "base"
    constant = constant_decay_factors(study)
    notes = (
        [
            f"The weights of {', '.join(constant)} are not interpretable: these factors are constant in this study "
            "(their standardised values are zero or rounding noise)."
        ]
        if constant
        else []
    )
    return Section(
        "Impact decay",
        text=[
            "The learned ODE dY/dt = Σᵢⱼ Wᵢⱼ Xᵢ Fⱼ(t) over seven factors and the decay functions {1/t, 1/√t} (eq. 2), trained "
            "with MSE plus L1 on the long-term impact curves, against the base ODE dY/dt = c·σ·√(Q/V)/√t (eq. 14). "
            f"On {d['n_test']} held-out trajectories the {better} ODE has the lower error."
        ],
        figures=[
            Figure(
                impact_charts.decay_acf_figure(acf),
                "Autocorrelation of the decay at each lag on held-out trajectories (Fig. 26).",
            ),
            Figure(
                impact_charts.weights_heatmap(weights_frame(study)),
                "Learned interaction weights W of eq. (2) on z-scored factors (Fig. 9b).",
            ),
        ],
        tables=[
            Table(
                "Held-out error of the decay models",
                decay_table(study),
                "Mean squared error of relative impact over the held-out curves.",
                {"Held-out MSE": "{:.3e}", "Train MSE": "{:.3e}"},
            ),
            Table(
                "Decay autocorrelation",
                acf.rename(
                    columns={
                        "lag_min": "Lag (min)",
                        "ground_truth": "Ground truth",
                        "learned": "Learned ODE",
                        "base": "Base ODE",
                    }
                ),
                formats={"Lag (min)": "{:g}", "Ground truth": "{:.3f}", "Learned ODE": "{:.3f}", "Base ODE": "{:.3f}"},
            ),
        ],
        notes=notes,
    )
