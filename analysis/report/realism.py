"""The report of a realism evaluation: Table 6, every fact figure, Table 7 and its caveats.

The same figures and tables the Realism page shows (`analysis.realism_charts`), from a loaded
`RealismResults`; where the data came from (LOBSTER files, the order-model checkpoint, seeds) is
given by the caller (`mars_core.experiments.reports`).
"""

from __future__ import annotations

import pandas as pd

from analysis.charts import facts as fc
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
        sections=[_summary(results), _presence(results), _figures(results), _metrics(results)],
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
        "minutes (the replay) is the reference. Their minute bars are tested for Cont's 11 stylized facts (paper App. I), "
        "and per start point the window metrics of the paper's Table 7 (App. J) give each background's distribution "
        "similarity and 3-class accuracy against the real day."
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
                f"Replay = the real day ({', '.join(results.dates())}, {results.window[0]}–{results.window[1]}); {who}, each "
                "pooling every rollout of every start point. Paper hist. / sim. = the paper's historical and simulated "
                "columns.",
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
    frame = rc.metrics_frame(results.metrics, compact=True)
    three = {col: "{:.3f}" for col in frame.columns if col.endswith(("sim.", "acc."))}
    rollouts = results.config.get("rollouts")
    return Section(
        "Quantitative metrics (Table 7)",
        text=[
            "For every start point the minutes after it give one value per metric: volatility (std of 1-minute mid "
            "returns), mean spread, mean order volume, the shares of aggressive and of buy orders among submissions, and "
            "the 1–5 minute returns. **Distribution similarity** is the overlap coefficient Σ min(p, q) of the histograms "
            "of the real and the simulated values (1 = identical). **3-class accuracy** splits values into the real "
            f"values' tertiles (low / medium / high) and counts the start points where the simulated class, the majority "
            f"over the {rollouts} rollouts, equals the real one (chance ⅓)."
        ],
        figures=[
            Figure(
                rc.metrics_figure(results.metrics),
                "Hatched grey: the paper's Table 7 (MarS on the Chinese market, "
                "128 rollouts per start for the returns). Whiskers: the 95% "
                "Wilson interval of our accuracy over the start points.",
            )
        ],
        tables=[
            Table(
                "Distribution similarity and 3-class accuracy",
                frame,
                "Ours per simulated background next to the paper's values (sim. = distribution similarity, acc. = "
                "3-class accuracy, acc. CI = its 95% Wilson interval over the start points, which takes the tertiles as "
                "fixed); starts = start points with a value in both the real and the simulated windows. The "
                "similarity has no interval: the evaluation keeps only its value, not the values per start point.",
                formats=three,
            )
        ],
    )
