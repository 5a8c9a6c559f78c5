"""The report of a realism evaluation: per-minute Table 7 with its ceiling, the closed-loop fidelity, Table 6, every
fact figure and the caveats.

The same figures and tables the Realism page shows (`analysis.realism_charts`), from a loaded
`RealismResults`; where the data came from (LOBSTER files, the order-model checkpoint, seeds) is
given by the caller (`mars_core.experiments.reports`).
"""

from __future__ import annotations

import pandas as pd

from analysis.charts import facts as fc
from analysis.charts import fidelity as fid
from analysis.charts import realism as rc
from analysis.realism_results import RealismResults, caveats, headline
from analysis.report.document import Figure, Report, Section, Table
from analysis.stylized_facts import FACT_NAMES, FACT_TESTS, FACTS

CONFIG_LABELS = {
    "symbol": "Stock",
    "dates": "Trading dates (empty: every catalogued day)",
    "backgrounds": "Simulated backgrounds (the replayed real day is always the reference)",
    "window": "Held-out window of each day (HH:MM), the order model's validation split",
    "minutes": "Length of each simulated future, minutes",
    "every_minutes": "Spacing of the start points, minutes",
    "ceiling_window": "Real period the ceiling scores the held-out windows against (HH:MM)",
    "bootstrap": "Block-bootstrap resamples",
    "block": "Start windows per bootstrap block",
    "rollouts": "Rollouts per start point and background",
    "seed": "Evaluation seed",
}


def realism_report(results: RealismResults, provenance: dict[str, str]) -> Report:
    """The full report of a finished realism evaluation, with where its data came from."""
    c = results.config
    bgs = ", ".join(rc.label(b)[0].lower() + rc.label(b)[1:] for b in results.simulated) or "no simulated background"
    subtitle = (
        f"{results.symbol} {', '.join(results.dates())} · held-out {results.window[0]}–{results.window[1]} · "
        f"{results.n_starts} start points every {c.get('every_minutes')} min × {c.get('rollouts')} rollouts of "
        f"{c.get('minutes')} min · {bgs} against the replayed real day"
    )
    return Report(
        title=f"Realism evaluation: {results.symbol}",
        subtitle=subtitle,
        kind="MarS realism report",
        source=str(results.path),
        sections=[_summary(results), _metrics(results), _fidelity(results), _presence(results), _figures(results)],
        caveats=caveats(results),
        config=dict(c),
        config_labels=CONFIG_LABELS,
        provenance=provenance,
    )


def _summary(results: RealismResults) -> Section:
    c = results.config
    text = [
        f"From {results.n_starts} start points in the held-out window {results.window[0]}–{results.window[1]}, each "
        f"simulated background ran {c.get('rollouts')} futures of {c.get('minutes')} minutes; the real day over the same "
        "minutes (the replay) is the reference. Every minute of every window gives one value per row of the paper's "
        "Table 7 (App. J, its unit): pooled, they give each background's distribution similarity next to the real-vs-"
        "real ceiling, with block-bootstrap intervals; the closed-loop fidelity follows the simulated market's state "
        "over the future, and the windows' minute bars are tested for Cont's 11 stylized facts (App. I)."
    ]
    agree = rc.agreement(results.facts)
    if agree:
        text.append(
            "Stylized facts with the same verdict as in the real day: "
            + "; ".join(f"**{rc.label(bg)}** {n} of {len(FACTS)}" for bg, n in agree.items())
            + "."
        )
    return Section("Summary", text=text, metrics=[card[:3] for card in headline(results)])


def _presence(results: RealismResults) -> Section:
    frame = rc.presence_frame(results.facts, with_test=False, compact=True)
    tests = pd.DataFrame(
        {
            "#": range(1, len(FACTS) + 1),
            "Stylized fact": [FACT_NAMES[f] for f in FACTS],
            "Test for “present”": [FACT_TESTS[f] for f in FACTS],
        }
    )
    who = ", ".join(f"{rc.short(b)} = {rc.label(b)[0].lower() + rc.label(b)[1:]}" for b in results.simulated)
    return Section(
        "Stylized facts (Table 6)",
        text=[
            f"{rc.PRESENT} present, {rc.ABSENT} absent, decided per background by the test listed below on all its minute "
            "bars pooled. The paper's columns are its Table 6 (historical and simulated data of the Chinese market): all "
            "facts present except gain/loss asymmetry and the leverage effect."
        ],
        tables=[
            Table(
                "Presence of the stylized facts",
                frame,
                f"Replay = the real market over the same start windows ({', '.join(results.dates())}, "
                f"{results.window[0]}–{results.window[1]}); {who}, each pooling every rollout of every start window. "
                "Paper hist. / sim. = the paper's historical and simulated columns.",
                formats={"#": "{}"},
            ),
            Table(
                "Tests for “present”",
                tests,
                "Intervals are 95% percentile intervals of a block bootstrap "
                "(30-minute blocks, 200 resamples); intermittency uses a Monte Carlo test.",
                formats={"#": "{}"},
            ),
        ],
    )


def _figures(results: RealismResults) -> Section:
    figures = []
    rows = []
    for i, fact in enumerate(FACTS, 1):
        verdicts = "; ".join(
            f"{rc.short(bg)} {rc.PRESENT if results.facts[bg][fact]['present'] else rc.ABSENT} "
            f"{rc.statistic(fact, results.facts[bg][fact])}"
            for bg in results.backgrounds
        )
        caption = (
            f"Fact {i}, {FACT_NAMES[fact]} (paper {rc.PAPER_FIGURES[fact]}). Bands: 95% block-bootstrap intervals. "
            f"Test: {FACT_TESTS[fact]}. {verdicts}."
        )
        figures.append(Figure(fc.fact_figure(results.facts, fact), caption))
        for _, row in rc.statistics_frame(results.facts, fact).iterrows():
            rows.append({"#": i, "Fact": FACT_NAMES[fact], **row.to_dict()})
    return Section(
        "The facts, figure by figure",
        text=[
            "Each figure draws the real day (replay) against every simulated background, like the paper's Figs. 17–21, "
            "with the number of observations behind each background's test in its subtitle. Curves of the simulated "
            "backgrounds pool all their rollouts; no return or lag spans two trajectories."
        ],
        figures=figures,
        tables=[
            Table(
                "Tested statistics",
                pd.DataFrame(rows),
                "The number each presence test looks at, with its 95% interval.",
                formats={"#": "{}"},
            )
        ],
    )


def _metrics(results: RealismResults) -> Section:
    s = results.summary
    similarity = rc.similarity_frame(s)
    means = rc.similarity_means_frame(s)
    accuracy = rc.accuracy_frame(s)
    three = {c: "{:.3f}" for c in similarity.columns if c != "Row"}
    return Section(
        "Per-minute similarity, its ceiling and accuracy (Table 7)",
        text=[
            "Every minute of every start window gives one value per Table 7 row: volatility of the one-second mid "
            "returns within the minute, mean spread, mean order size, the shares of aggressive and of buy orders among "
            "submissions, and the 1–5 minute mid returns from the minute's start. Pooled over the start windows (and "
            "rollouts), **distribution similarity** is the overlap coefficient Σ min(p, q) of the real and the "
            "simulated histograms (1 = identical), and the background's similarity is its mean over the rows.",
            f"**Ceiling**: {s['ceiling'].get('definition', '')}. **Intervals**: 95% basic intervals of a circular "
            f"block bootstrap over start windows ({s.get('bootstrap', {}).get('resamples')} resamples, blocks of "
            f"{s.get('bootstrap', {}).get('block')} consecutive starts), real and simulated windows resampled jointly.",
            "**3-class accuracy** splits values into the real per-minute values' tertiles and counts the simulated "
            "minutes in the class of the real minute they stand for; chance is the exact Σ p_real p_sim of the class "
            "frequencies (about ⅓), persistence predicts a real minute by the previous one. "
            + str(s.get("accuracy_note", "")),
        ],
        figures=[
            Figure(
                rc.similarity_figure(s),
                "Grey: the real-vs-real ceiling; hatched: the paper's Table 7 (MarS on the Chinese market).",
            )
        ],
        tables=[
            Table(
                "Mean similarity over the rows, with its ceiling",
                means,
                "95% basic block-bootstrap intervals (clipped to [0, 1]); share of the ceiling = mean / ceiling mean.",
                {c: "{:.3f}" for c in means.columns if c != "Mean similarity of"},
            ),
            Table("Per-minute distribution similarity per row", similarity, "", three),
            Table(
                "Paired difference",
                rc.paired_frame(s),
                "The same resampled start windows for both backgrounds; established only if the interval excludes 0.",
            ),
            Table(
                "3-class accuracy",
                accuracy,
                "Accuracy per background with its exact chance level, the persistence baseline and the paper's.",
                {c: "{:.3f}" for c in accuracy.columns if c != "Row"},
            ),
            Table(
                "Stylized facts: statistic [95% CI] and verdict",
                rc.facts_frame(s),
                "The same start windows and minute bars for the replay and the simulations.",
            ),
        ],
    )


def _fidelity(results: RealismResults) -> Section:
    s = results.summary
    buckets = fid.fidelity_frame(s)
    scalars = fid.fidelity_scalars_frame(s)
    return Section(
        "Closed-loop fidelity",
        text=[
            "Does each background stay in the real market's state over the whole future? Per 5-minute bucket since "
            "the start, the ratio of the simulated to the real mean (over start windows and rollouts; real = the "
            "replay of the same windows) of spread, best-level size, depth of the other visible levels, traded "
            "volume, executions, submissions, mean and median order size, and the shares of passive submissions at "
            "the best and inside the spread. The shaded band is [0.8, 1.25]."
        ],
        figures=[Figure(fid.fidelity_figure(s), "Log scale: a ratio of 2 is as far from 1 as 0.5.")],
        tables=[
            Table(
                "Sim/real ratio per bucket",
                buckets,
                "",
                {c: "{:.2f}" for c in buckets.columns if c not in ("Background", "Metric")},
            ),
            Table(
                "Volatility, variance ratio and afternoon trends",
                scalars,
                "Variance ratio = E[r_30²] / (30 E[r_1²]) of the mid log returns, uncentred; trend slopes per hour of "
                "start time of each window's mean.",
                {c: "{:.3g}" for c in scalars.columns if c != "Background"},
            ),
        ],
    )
