"""A finished realism evaluation: the facts and the per-minute scores of each background, its key figures and caveats.

The value the Realism page and the report share (`analysis.report.realism`), so both show the
same numbers. `mars_core.experiments.reports.load_evaluation` reads one from its directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.charts import realism as rc

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
    summary: dict[str, Any]  # the result of `mars realism`: ceiling, backgrounds, paired, facts' statistics, ...
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


def headline(results: RealismResults) -> list[tuple[str, str, str, str]]:
    """Key figures (label, value, small print, what it means): the sample, the ceiling, each background's similarity
    and fidelity, the paired difference."""
    c, s = results.config, results.summary
    ceiling = s.get("ceiling", {})
    cards = [
        (
            "Start windows × rollouts",
            f"{results.n_starts} × {c.get('rollouts')}",
            f"{c.get('minutes')}-min futures every {c.get('every_minutes')} min",
            f"Start points in {results.window[0]}–{results.window[1]} of {', '.join(results.dates()) or 'each day'}; "
            "every minute of every window is one value (the paper's unit).",
        ),
        (
            "Ceiling (real vs real)",
            _fmt(ceiling.get("mean"), ".3f"),
            f"95% CI {_ci(ceiling.get('ci'))}",
            str(ceiling.get("definition", "")),
        ),
    ]
    for bg in results.simulated:
        sim = s.get("backgrounds", {}).get(bg, {})
        f = sim.get("fidelity", {})
        cards.append(
            (
                rc.label(bg),
                _fmt(sim.get("similarity", {}).get("mean"), ".3f"),
                f"95% CI {_ci(sim.get('similarity', {}).get('ci'))} · "
                f"{_fmt(sim.get('similarity', {}).get('share_of_ceiling'), '.0%')} of the ceiling",
                "Mean per-minute similarity over the ten Table 7 rows; 1-minute volatility "
                f"{_fmt(f.get('volatility'), '.2f')}× real, variance-ratio ratio {_fmt(f.get('variance_ratio'), '.2f')}.",
            )
        )
    for pair, v in s.get("paired", {}).items():
        cards.append(
            (
                "Paired " + " − ".join(rc.short(b) for b in pair.split("-")),
                _fmt(v.get("mean"), "+.3f"),
                f"95% CI {_ci(v.get('ci'), '+.3f')}",
                "Difference of mean similarity on the same resampled start windows; established only if the interval "
                "excludes 0.",
            )
        )
    return cards


def _ci(ci: object, spec: str = ".3f") -> str:
    lo, hi = (list(ci) + [None, None])[:2] if isinstance(ci, list | tuple) else (None, None)
    return f"[{_fmt(lo, spec)}, {_fmt(hi, spec)}]"


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:{spec}}"


def caveats(results: RealismResults) -> list[str]:
    """What a reader must know before relying on the evaluation."""
    c, dates = results.config, results.dates()
    out = [
        f"Sample size: {results.n_starts} start window{'s' * (results.n_starts != 1)} on {len(dates) or 'each catalogued'} "
        f"day{'s' * (len(dates) != 1)}, {c.get('rollouts')} rollout{'s' * (c.get('rollouts') != 1)} each, one value per "
        "minute. Windows starting every few minutes and lasting "
        f"{c.get('minutes')} overlap, so the intervals come from a circular block bootstrap over consecutive start "
        "windows (basic 95% intervals), resampling the real and every simulated background's windows jointly.",
        "The ceiling is real data scored against real data of another period of the same day by the same protocol: "
        "a background near its ceiling is as close to the held-out afternoon as the market's own earlier hours are. "
        "Similarity intervals are clipped to [0, 1]; resamples repeat windows, which lowers the overlap coefficient, "
        "so basic intervals sit mostly above the estimate.",
        str(results.summary.get("accuracy_note", "")),
        "Both sides are measured the same way: the book sampled as the simulator records it (after the first event "
        "of each second) and time-weighted per minute, depth on the levels the real file has, visible executions only "
        "(no background produces hidden ones), the real flow being the replay's messages of the same windows.",
        "“Present” is decided by our own stated tests (listed under the presence table: 95% block-bootstrap "
        "intervals or a Monte Carlo test); the paper does not state its tests and shows only check marks. The facts' "
        "intervals resample whole start windows as independent blocks: windows a few minutes apart share most of "
        "their minutes, so these intervals are too narrow (unlike the similarity's, which resample runs of "
        "consecutive starts).",
    ]
    out += [BACKGROUND_CAVEATS[bg] for bg in results.simulated if bg in BACKGROUND_CAVEATS]
    out.append(
        "The paper's values come from a different market (the top 500 liquid Chinese stocks, March–July 2023) and "
        "a far larger model; they show what the method reached there, not a target for these sample days."
    )
    return out
