"""The report of a realism evaluation (`mars realism --out DIR`): Table 6, every fact figure, Table 7, caveats.

`load_evaluation(dir)` reads a finished evaluation directory (realism.json,
facts.json, table7.json, summary.json; see `mars_core.experiments.realism`) for the
dashboard and the report alike; `build_realism_report(dir)` assembles the
`analysis.report.Report` with the same figures and tables the Realism page
shows (`analysis.realism_charts`), where the data came from (LOBSTER files and
message counts, the order-model checkpoint when the LMM was evaluated, seeds)
and the caveats a reader must know. Pure: no Streamlit.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import realism_charts as rc
from analysis import realism_reference as paper
from analysis.provenance import datasets, git_commit, mtime, sha256, versions
from analysis.report import Figure, Report, Section, Table
from analysis.similarity import METRICS
from analysis.stylized_facts import FACT_NAMES, FACT_TESTS, FACTS
from mars_core.errors import MarsInputError
from mars_core.paths import CALIBRATION_DIR, ORDER_MODEL_DIR, REPO_ROOT

DEFAULT_MODEL = ORDER_MODEL_DIR / "model.pt"
MARKER = "realism.json"
FILES = ("facts.json", "table7.json", "summary.json")
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
BACKGROUND_CAVEATS = {
    "noise": "**Noise traders** are zero-intelligence order flow calibrated on the day: they are the agent-based "
    "baseline, not a model of real participants, so facts that need memory or strategy (volatility clustering, "
    "slow decay) are not expected of them.",
    "lmm": "The **order model (LMM)** is a small model trained on the two LOBSTER sample days; the held-out window is the "
    "afternoon of a day it was trained on (its validation split), not an unseen day, and it has seen no other regime.",
}
_RUN_NAME = re.compile(r"^(?P<symbol>[A-Z.]+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<hhmm>\d{4})$")


# ---- reading an evaluation -----------------------------------------------------------------------


@dataclass
class RealismResults:
    """A finished realism evaluation as written by `run_realism`."""

    path: Path
    config: dict[str, Any]
    facts: dict[str, dict[str, dict]]  # background (replay first) -> fact -> result
    metrics: dict[str, dict[str, dict]]  # Table 7: metric -> background -> {similarity, accuracy, n, n_rollouts}
    summary: dict[str, Any]
    runs: dict[str, list[Path]] = field(default_factory=dict)  # background -> its run directories

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

    def start_times(self) -> list[str]:
        from mars_core.experiments.realism import RealismConfig

        return RealismConfig.from_dict(self.config, where=str(self.path / MARKER)).start_times()

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


def is_evaluation(path: Path) -> bool:
    return (Path(path) / MARKER).is_file()


def load_evaluation(path: str | Path) -> RealismResults:
    """Read a finished realism evaluation directory.

    Raises:
        MarsInputError: not an evaluation directory, unfinished, or a results file is unreadable.
    """
    path = Path(path).expanduser()
    if not is_evaluation(path):
        raise MarsInputError(
            f"{path}: not a realism evaluation (no {MARKER}); make one with `mars realism --symbol GOOG --out DIR`"
        )
    parsed = {}
    for name in (MARKER, *FILES):
        file = path / name
        if not file.is_file():
            raise MarsInputError(f"{path}: the evaluation has not finished ({name} is missing); run it again to resume")
        try:
            parsed[name] = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise MarsInputError(f"{file}: not readable JSON ({err})") from None
    facts = parsed["facts.json"]
    if not isinstance(facts, dict) or rc.REPLAY not in facts or any(set(FACTS) - set(v) for v in facts.values()):
        raise MarsInputError(f"{path / 'facts.json'}: expected the 11 facts for the replay and each background")
    runs = {bg: sorted(p for p in (path / "runs" / bg).glob("*") if p.is_dir()) for bg in facts if bg != rc.REPLAY}
    return RealismResults(
        path,
        parsed[MARKER],
        {bg: facts[bg] for bg in rc.ordered(facts)},
        parsed["table7.json"],
        parsed["summary.json"],
        runs,
    )


# ---- what the report says ------------------------------------------------------------------------


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


# ---- provenance ----------------------------------------------------------------------------------


def _seeds(results: RealismResults) -> str:
    by_run: dict[str, str] = {}
    for bg, runs in results.runs.items():
        for run in runs:
            seeds = []
            for done in sorted(run.glob("rollout=*/arm=main/done.json")):
                try:
                    seeds.append(str(json.loads(done.read_text())["seed"]))
                except (OSError, KeyError, json.JSONDecodeError):
                    continue
            by_run[f"{bg} {run.name}"] = ", ".join(seeds[:4]) + (f", … ({len(seeds)} in all)" if len(seeds) > 4 else "")
    head = f"evaluation seed {results.config.get('seed', 0)}"
    if not by_run:
        return head
    if len(set(by_run.values())) == 1:  # rollout r draws the same seed at every start and in every background
        return f"{head}; rollout seeds, the same at every start point and in every background: {next(iter(by_run.values())) or '—'}"
    shown = [f"{name}: {seeds or 'none recorded'}" for name, seeds in list(by_run.items())[:6]]
    more = [f"… {len(by_run) - 6} more runs"] if len(by_run) > 6 else []
    return "\n".join([f"{head}; rollout seeds per run:", *shown, *more])


def _simulated_orders(results: RealismResults) -> str:
    lines = []
    for bg, runs in results.runs.items():
        orders = trades = arms = 0
        seconds = 0.0
        for done in (d for run in runs for d in run.glob("rollout=*/arm=main/done.json")):
            try:
                summary = json.loads(done.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            arms += 1
            orders += int(summary.get("orders", 0))
            trades += int(summary.get("trades", 0))
            seconds += float(summary.get("seconds", 0.0))
        lines.append(
            f"{rc.label(bg)}: {arms:,} rollouts, {orders:,} orders, {trades:,} trades, {seconds:,.1f} s of simulation"
        )
    return "\n".join(lines) or "— (replay only)"


def model_provenance(checkpoint: Path = DEFAULT_MODEL) -> str:
    """The order-model checkpoint the LMM background loads: file, hash and its training summary."""
    if not checkpoint.is_file():
        return f"{checkpoint}: not found (the evaluation's LMM runs used a checkpoint that is no longer there)"
    where = checkpoint.relative_to(REPO_ROOT) if checkpoint.is_relative_to(REPO_ROOT) else checkpoint
    text = f"{where} (sha256 {sha256(checkpoint)}, modified {mtime(checkpoint)})"
    try:
        import torch

        s = torch.load(checkpoint, map_location="cpu", weights_only=True).get("summary", {})
    except Exception as err:  # noqa: BLE001 (a broken checkpoint must not break the report)
        return f"{text}; summary not readable ({type(err).__name__})"
    days = ", ".join(
        str(d) if not isinstance(d, dict) else " ".join(str(v) for v in d.values()) for d in s.get("days", [])
    )
    parts = [f"{s.get('size', '?')} size, {s.get('params', 0):,} parameters", f"{s.get('steps', 0):,} training steps"]
    if s.get("val_nll") is not None:
        parts.append(
            f"validation NLL {s['val_nll']:.3f} nats/token (bigram {s.get('bigram_nll', float('nan')):.3f}, "
            f"unigram {s.get('unigram_nll', float('nan')):.3f})"
        )
    if days:
        parts.append(f"trained on {days}")
    card = checkpoint.parent / "model_card.md"
    if card.is_file():
        parts.append(f"model card {card.relative_to(REPO_ROOT) if card.is_relative_to(REPO_ROOT) else card}")
    return text + "\n" + "; ".join(parts)


def provenance(results: RealismResults, data_dir: str | None = None) -> dict[str, str]:
    from mars_core import __version__

    dates = results.dates()
    starts = results.start_times()
    calibrations = [CALIBRATION_DIR / f"noise_{results.symbol}_{d}.json" for d in dates]
    out = {
        "Evaluation directory": str(results.path.resolve()),
        "Symbol and dates": f"{results.symbol} {', '.join(dates) or '(every catalogued day)'}",
        "Start points": f"{len(starts)} per day: {', '.join(starts)}",
        "LOBSTER data": datasets({"symbols": [results.symbol], "dates": dates}, data_dir),
        "Simulated": _simulated_orders(results),
    }
    if "noise" in results.simulated:
        found = [str(p.relative_to(REPO_ROOT)) for p in calibrations if p.is_file()]
        out["Noise calibration"] = ", ".join(found) or "fitted on the fly from the day"
    if "lmm" in results.simulated:
        out["Order model (LMM)"] = model_provenance()
    out.update(
        {
            "Seeds": _seeds(results),
            "Evaluation started": mtime(results.path / MARKER),
            "Results computed": mtime(results.path / "summary.json"),
            "Wall time": f"{results.summary.get('seconds', float('nan')):.1f} s",
            "Report created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "MarS version": __version__,
            "Git commit": git_commit(),
            "Software": versions(),
        }
    )
    return out


# ---- the report ----------------------------------------------------------------------------------


def build_realism_report(path: str | Path, data_dir: str | None = None) -> Report:
    """The full report of a finished realism evaluation (see `analysis.report` for rendering)."""
    results = load_evaluation(path)
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
        provenance=provenance(results, data_dir),
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
        figures.append(Figure(rc.fact_figure(results.facts, fact), caption))
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
