"""A finished realism evaluation: the facts and Table 7 of each background, its key figures and caveats.

The value the Realism page and the report share (`analysis.report.realism`), so both show the
same numbers. `mars_core.experiments.reports.load_evaluation` reads one from its directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis import realism_reference as paper
from analysis.charts import realism as rc
from analysis.similarity import METRICS
from analysis.stylized_facts import FACTS

BACKGROUND_CAVEATS = {
    "noise": "**Noise traders** are zero-intelligence order flow calibrated on the day: they are the agent-based "
    "baseline, not a model of real participants, so facts that need memory or strategy (volatility clustering, "
    "slow decay) are not expected of them.",
    "lmm": "The **order model (LMM)** is a small model trained on the two LOBSTER sample days; the held-out window is the "
    "afternoon of a day it was trained on (its validation split), not an unseen day, and it has seen no other regime.",
}


_RUN_NAME = re.compile(r"^(?P<symbol>[A-Z.]+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<hhmm>\d{4})$")


@dataclass
class RealismResults:
    """A finished realism evaluation (loaded by `mars_core.experiments.reports.load_evaluation`)."""

    path: Path
    config: dict[str, Any]
    facts: dict[str, dict[str, dict]]  # background (replay first) -> fact -> result
    metrics: dict[str, dict[str, dict]]  # Table 7: metric -> background -> {similarity, accuracy, n, n_rollouts}
    summary: dict[str, Any]
    runs: dict[str, list[Path]] = field(default_factory=dict)  # background -> its run directories
    starts: list[str] = field(default_factory=list)  # start times (HH:MM) of each day

    @property
    def symbol(self) -> str:
        return str(self.config.get("symbol", "?"))

    @property
    def backgrounds(self) -> list[str]:
        """Replay first, then the simulated backgrounds."""
        return rc.ordered(self.facts)

    @property
    def simulated(self) -> list[str]:
        return [b for b in self.backgrounds if b != rc.REPLAY]

    @property
    def window(self) -> tuple[str, str]:
        first, last = self.config.get("window", ("14:30", "16:00"))
        return str(first), str(last)

    def dates(self) -> list[str]:
        """The evaluated days: the configured ones, else those the run directories name."""
        if self.config.get("dates"):
            return [str(d) for d in self.config["dates"]]
        found = {m["date"] for paths in self.runs.values() for p in paths if (m := _RUN_NAME.match(p.name))}
        return sorted(found)

    @property
    def n_starts(self) -> int:
        return int(self.summary.get("starts", 0))

    @property
    def stamp(self) -> float:
        """Changes whenever the results are rewritten: the key of caches."""
        return (self.path / "summary.json").stat().st_mtime


def mean_scores(results: RealismResults) -> dict[str, dict[str, float]]:
    """Per simulated background (and "paper"), the mean similarity and accuracy over the Table 7 metrics."""
    out = {}
    for bg in rc.metric_backgrounds(results.metrics):
        values = {
            k: [results.metrics[m][bg][k] for m in METRICS if results.metrics.get(m, {}).get(bg, {}).get(k) is not None]
            for k in ("similarity", "accuracy")
        }
        out[bg] = {k: float(np.mean(v)) if v else float("nan") for k, v in values.items()}
    out["paper"] = {k: float(np.mean([paper.TABLE7[m][k] for m in METRICS])) for k in ("similarity", "accuracy")}
    return out


def headline(results: RealismResults) -> list[tuple[str, str, str, str]]:
    """Key figures (label, value, small print, what it means): the sample, each background's verdicts and scores, the paper's."""
    c = results.config
    cards = [
        (
            "Start points × rollouts",
            f"{results.n_starts} × {c.get('rollouts')}",
            f"{c.get('minutes')}-min futures every {c.get('every_minutes')} min",
            f"Start points in {results.window[0]}–{results.window[1]} of {', '.join(results.dates()) or 'each day'}.",
        )
    ]
    agree, scores = rc.agreement(results.facts), mean_scores(results)
    for bg in results.simulated:
        s = scores.get(bg, {})
        cards.append(
            (
                rc.label(bg),
                f"{agree.get(bg, 0)} / {len(FACTS)} facts",
                f"similarity {_fmt(s.get('similarity'), '.2f')} · accuracy {_fmt(s.get('accuracy'), '.2f')}",
                "Facts present or absent exactly as in the real day; similarity and accuracy are the means over the "
                "ten Table 7 metrics.",
            )
        )
    paper_agree = sum(v["historical"] == v["simulated"] for v in paper.TABLE6.values())
    cards.append(
        (
            "Paper (MarS, Tables 6–7)",
            f"{paper_agree} / {len(FACTS)} facts",
            f"similarity {scores['paper']['similarity']:.2f} · accuracy {scores['paper']['accuracy']:.2f}",
            "The paper's generative model on 500 Chinese stocks (2023): facts as in its historical data, and the "
            "means of its Table 7.",
        )
    )
    return cards


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:{spec}}"


def caveats(results: RealismResults) -> list[str]:
    """What a reader must know before relying on the evaluation."""
    c, dates = results.config, results.dates()
    replay_n = results.facts[rc.REPLAY]["heavy_tails"]["n"]
    out = [
        f"Sample size: {results.n_starts} start point{'s' * (results.n_starts != 1)} on {len(dates) or 'each catalogued'} "
        f"day{'s' * (len(dates) != 1)}, {c.get('rollouts')} rollout{'s' * (c.get('rollouts') != 1)} each. The real day's "
        f"facts rest on {replay_n:,} one-minute returns of the held-out window; the paper pooled 11,591 simulated "
        "trajectories of 500 Chinese stocks over four months. Wide intervals and many “absent” verdicts are the expected "
        "result of so little data, not evidence that a fact is missing.",
        "“Present” is decided by our own stated tests (listed under the presence table: 95% block-bootstrap "
        "intervals or a Monte Carlo test). The paper does not state its tests and shows only check marks, so its "
        "columns are a reference, not a like-for-like comparison.",
        f"The replay column is one real day per date: a single realisation of the market over {results.window[0]}–"
        f"{results.window[1]}, not a distribution. Simulated futures start every {c.get('every_minutes')} minutes and "
        f"last {c.get('minutes')} minutes, so they overlap and are not independent samples.",
        f"Distribution similarity (the overlap coefficient of two histograms) on {results.n_starts} start point"
        f"{'s' * (results.n_starts != 1)} is coarse: with so few values the histogram has few bins and the coefficient "
        f"moves in large steps. 3-class accuracy moves in steps of 1/{max(results.n_starts, 1)} around the chance level of ⅓.",
    ]
    short = [bg for bg in results.simulated if int(c.get("minutes", 0)) < 20]
    if short:
        out.append(
            f"Each simulated future lasts {c.get('minutes')} minutes, so returns over longer periods and lags beyond "
            "it are undefined for the simulated backgrounds: their curves stop early and some statistics have no "
            "interval (shown as —)."
        )
    out += [BACKGROUND_CAVEATS[bg] for bg in results.simulated if bg in BACKGROUND_CAVEATS]
    out.append(
        "The paper's values come from a different market (the top 500 liquid Chinese stocks, March–July 2023) and "
        "a far larger model; they show what the method reached there, not a target for these sample days."
    )
    return out
