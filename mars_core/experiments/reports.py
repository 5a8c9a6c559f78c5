"""Reports of finished experiments: read a study or an evaluation directory, say where its data came from, and
build its report (`analysis.report`).

`build_report(dir)` knows an impact study (`mars impact`, study.json) and a realism evaluation
(`mars realism`, realism.json); another kind adds a builder to `BUILDERS`. The loaders are shared
by the dashboard's pages, so the app and the filed report show the same numbers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from analysis.charts import realism as rc
from analysis.impact_results import StudyResults
from analysis.realism_results import RealismResults
from analysis.report.document import Report
from analysis.report.forecast import forecast_report
from analysis.report.impact import impact_report
from analysis.report.realism import realism_report
from analysis.stylized_facts import FACTS
from mars_core import __version__
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments.forecast_eval import MARKER as FORECAST_MARKER
from mars_core.experiments.impact import STUDY_MARKER
from mars_core.experiments.provenance import datasets, git_commit, mtime, sha256, versions
from mars_core.experiments.realism import FILES, MARKER, PROTOCOL, RealismConfig
from mars_core.paths import CALIBRATION_DIR, ORDER_MODEL_DIR, REPO_ROOT
from mars_core.store import RunDir


def _arm_summaries(run: Path) -> list[dict[str, Any]]:
    """The summaries of a run directory's finished main arms (unreadable ones left out)."""
    out = []
    for rollout, arm in RunDir(run).finished():
        if arm == "main":
            try:
                out.append(RunDir(run).arm_summary(rollout, arm))
            except (OSError, json.JSONDecodeError):
                continue
    return out


# ---- impact studies --------------------------------------------------------------------------------


def load_study(path: str | Path) -> StudyResults:
    """Read a finished study directory.

    Raises:
        MarsInputError: not a study, or a study whose results are not written yet.
    """
    path = Path(path).expanduser()
    if not (path / STUDY_MARKER).is_file():
        raise MarsInputError(
            f"{path}: not a MarS study directory (no study.json); studies are written by "
            "`mars impact --config FILE --out DIR` or the Market Impact page"
        )
    try:
        config = json.loads((path / "study.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MarsInputError(f"{path / 'study.json'}: unreadable ({err})") from None
    missing = [name for name in ("results.json", "metrics.parquet") if not (path / name).is_file()]
    if missing:
        raise MarsInputError(
            f"{path}: the study has not finished ({', '.join(missing)} missing); run it again with the same "
            "config and --out to resume it"
        )
    try:
        results = json.loads((path / "results.json").read_text())
        metrics = pd.read_parquet(path / "metrics.parquet")
    except (OSError, ValueError) as err:
        raise MarsInputError(f"{path}: cannot read the study's results ({err})") from None
    return StudyResults(path, config, metrics, results)


def _study_seeds(path: Path, config: dict) -> str:
    lines = []
    for base in sorted((path / "base").glob("*")):
        seeds = [str(s["seed"]) for s in _arm_summaries(base) if "seed" in s]
        shown = ", ".join(seeds[:6]) + (f", … ({len(seeds)} in all)" if len(seeds) > 6 else "")
        lines.append(f"{base.name}: {shown or 'none recorded'}")
    return (
        f"study seed {config.get('seed', 0)}; rollout seeds per start (shared by each baseline and its treated rollouts):\n"
        + "\n".join(lines)
    )


def impact_provenance(study: StudyResults, data_dir: str | None = None) -> dict[str, str]:
    """Where a study's data came from: files, background, seeds, times, software."""
    c = study.config
    background = str(c.get("background", "?"))
    if background == "noise":
        calibrations = [f"{s}_{d}" for s in c.get("symbols", []) for d in c.get("dates", [])]
        found = [n for n in calibrations if (CALIBRATION_DIR / f"noise_{n}.json").is_file()]
        background += (
            f" (calibration: {', '.join(f'assets/calibration/noise_{n}.json' for n in found) or 'fitted on the fly'})"
        )
    return {
        "Study directory": str(study.path.resolve()),
        "Symbols and dates": ", ".join(f"{s} {d}" for s in c.get("symbols", []) for d in c.get("dates", [])),
        "Start times": ", ".join(c.get("start_times", [])),
        "LOBSTER data": datasets(c, data_dir),
        "Background": background,
        "Seeds": _study_seeds(study.path, c),
        "Study started": mtime(study.path / "study.json"),
        "Results computed": mtime(study.path / "results.json"),
        "Report created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "MarS version": __version__,
        "Git commit": git_commit(),
        "Software": versions(),
    }


# ---- realism evaluations ---------------------------------------------------------------------------


def load_evaluation(path: str | Path) -> RealismResults:
    """Read a finished realism evaluation directory.

    Raises:
        MarsInputError: not an evaluation directory, unfinished, or a results file is unreadable.
    """
    path = Path(path).expanduser()
    if not (path / MARKER).is_file():
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
    if parsed["summary.json"].get("protocol") != PROTOCOL:
        raise MarsInputError(
            f"{path}: written by an older realism evaluation (not the {PROTOCOL} protocol); run `mars realism` again"
        )
    if not isinstance(facts, dict) or rc.REPLAY not in facts or any(set(FACTS) - set(v) for v in facts.values()):
        raise MarsInputError(f"{path / 'facts.json'}: expected the 11 facts for the replay and each background")
    runs = {bg: sorted(p for p in (path / "runs" / bg).glob("*") if p.is_dir()) for bg in facts if bg != rc.REPLAY}
    try:
        starts = RealismConfig.from_dict(parsed[MARKER], where=str(path / MARKER)).start_times()
    except ConfigError:  # written by another version: the report lists no start times
        starts = []
    return RealismResults(
        path,
        parsed[MARKER],
        {bg: facts[bg] for bg in rc.ordered(facts)},
        parsed["summary.json"],
        runs,
        starts,
    )


def _realism_seeds(results: RealismResults) -> str:
    by_run: dict[str, str] = {}
    for bg, runs in results.runs.items():
        for run in runs:
            seeds = [str(s["seed"]) for s in _arm_summaries(run) if "seed" in s]
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
        for summary in (s for run in runs for s in _arm_summaries(run)):
            arms += 1
            orders += int(summary.get("orders", 0))
            trades += int(summary.get("trades", 0))
            seconds += float(summary.get("seconds", 0.0))
        lines.append(
            f"{rc.label(bg)}: {arms:,} rollouts, {orders:,} orders, {trades:,} trades, {seconds:,.1f} s of simulation"
        )
    return "\n".join(lines) or "— (replay only)"


def model_provenance(checkpoint: Path = ORDER_MODEL_DIR / "model.pt") -> str:
    """The order-model checkpoint the LMM background loads: file, hash and its training summary."""
    if not checkpoint.is_file():
        return f"{checkpoint}: not found (the evaluation's LMM runs used a checkpoint that is no longer there)"
    where = checkpoint.relative_to(REPO_ROOT) if checkpoint.is_relative_to(REPO_ROOT) else checkpoint
    text = f"{where} (sha256 {sha256(checkpoint)}, modified {mtime(checkpoint)})"
    try:
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


def realism_provenance(results: RealismResults, data_dir: str | None = None) -> dict[str, str]:
    """Where a realism evaluation's data came from: files, checkpoint, seeds, times, software."""
    dates = results.dates()
    starts = results.starts
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
            "Seeds": _realism_seeds(results),
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


# ---- reports ---------------------------------------------------------------------------------------


def _impact(path: Path, data_dir: str | None) -> Report:
    study = load_study(path)
    return impact_report(study, impact_provenance(study, data_dir))


def _realism(path: Path, data_dir: str | None) -> Report:
    results = load_evaluation(path)
    return realism_report(results, realism_provenance(results, data_dir))


def _forecast(path: Path, data_dir: str | None) -> Report:
    if not (path / "summary.json").is_file():
        raise MarsInputError(f"{path}: the forecast evaluation has not finished (no summary.json); run it again")
    result = json.loads((path / "summary.json").read_text())
    config = json.loads((path / FORECAST_MARKER).read_text())
    provenance = {
        "Git commit": git_commit(),
        "Versions": versions(),
        "Order model": model_provenance(),
        "DeepLOB": json.dumps(result.get("deeplob")),
    }
    return forecast_report(result, config, provenance)


BUILDERS: list[tuple[str, str, Callable[[Path, str | None], Report]]] = [
    ("impact study (mars impact)", STUDY_MARKER, _impact),
    ("realism evaluation (mars realism)", MARKER, _realism),
    ("forecast evaluation (mars forecast evaluate)", FORECAST_MARKER, _forecast),
]
"""(what it is, the marker file of its directory, build its Report); the first match builds."""


def build_report(results_dir: str | Path, data_dir: str | None = None) -> Report:
    """The Report of a results directory: an impact study (`mars impact --out DIR`) or a realism evaluation
    (`mars realism --out DIR`).

    Args:
        results_dir: the directory.
        data_dir: where to look up the LOBSTER files for provenance (default: resolved as everywhere).

    Raises:
        MarsInputError: the directory does not exist, or holds nothing a builder knows.
    """
    path = Path(results_dir).expanduser()
    if not path.is_dir():
        raise MarsInputError(f"{path}: no such directory")
    for _, marker, build in BUILDERS:
        if (path / marker).is_file():
            return build(path, data_dir)
    kinds = "; ".join(what for what, _, _ in BUILDERS)
    run = " It looks like a simulation run (it has config.json)." if (path / "config.json").is_file() else ""
    raise MarsInputError(
        f"{path}: not a MarS study directory (no study.json) nor a realism evaluation (no realism.json).{run} Reports are made of: "
        f"{kinds} — the --out DIR of `mars impact --config study.yaml --out DIR` or "
        "`mars realism --symbol GOOG --out DIR`."
    )
