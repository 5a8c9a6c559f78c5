"""The report of a forecasting evaluation (`mars forecast evaluate`): the held-out scoreboard (paper Fig. 7a), its
table with intervals and macro-F1, the confusion matrices and the volatility and spread forecasts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from analysis.charts import forecast as charts
from analysis.forecast_labels import CLASSES
from analysis.report.document import Figure, Report, Section, Table

CONFIG_LABELS = {
    "symbols": "Stocks (one held-out afternoon each)",
    "date": "Trading date",
    "backgrounds": "Simulated backgrounds (lmm: MarS's order model)",
    "rollouts": "Rollouts per start point",
    "every_minutes": "Spacing of the start points, minutes",
    "starts_per_unit": "Start points per lockstep batch",
    "bootstrap": "Block-bootstrap resamples",
    "seed": "Evaluation seed",
}


def forecast_report(result: Mapping[str, Any], config: dict, provenance: dict[str, str]) -> Report:
    """The report of a finished evaluation (its summary.json `result` and forecast.json `config`)."""
    days = ", ".join(" ".join(d) for d in result["days"])
    mean = {n: sum(a) / len(a) for n, a in result["accuracy"].items()}
    text = [
        f"At {result['starts']} start points every {result.get('every_minutes', '?')} minutes of the held-out "
        f"afternoons (14:30-16:00) of {days}, each forecaster predicts the trend class (down / flat / up) of the mean "
        f"mid over the next 1-5 minutes. MarS reads it off {result['rollouts']} simulated futures per start (the "
        "majority vote); DeepLOB is trained directly on the same labels before 14:30. The class thresholds split the "
        "training period (before 14:30) in thirds, so chance is about 1/3.",
    ]
    metrics = [
        (charts.FORECASTER_LABELS.get(n, n), f"{m:.3f}", "mean accuracy over the 5 horizons") for n, m in mean.items()
    ]
    sections = [
        Section(
            "Held-out accuracy",
            text=text,
            metrics=metrics,
            figures=[
                Figure(
                    charts.scoreboard_figure(result),
                    "Accuracy per horizon with 95% block-bootstrap intervals over start points.",
                )
            ],
            tables=[Table("Accuracy [95% interval] and macro-F1", charts.scoreboard_table(result))],
        ),
        Section("Confusion matrices", tables=_confusions(result)),
        Section("Volatility and spread", tables=[Table("Mean absolute error, next 5 minutes", _regression(result))]),
    ]
    return Report(
        title="Forecasting by simulation",
        subtitle=f"{days} · {result['starts']} held-out start points × {result['rollouts']} rollouts",
        kind="MarS forecast report",
        source=str(result.get("dir", "")),
        sections=sections,
        caveats=[
            "Two stock-days train every model and one afternoon per stock is held out: the intervals are wide.",
            *result.get("notes", []),
        ],
        config=config,
        config_labels=CONFIG_LABELS,
        provenance=provenance,
    )


def _confusions(result: Mapping[str, Any]) -> list[Table]:
    tables = []
    for name in ("mars", "deeplob"):
        for k, matrix in zip(result["horizons"], result["confusion"].get(name, [])):
            frame = pd.DataFrame(matrix, columns=[f"forecast {c}" for c in CLASSES])
            frame.insert(0, "actual", list(CLASSES))
            tables.append(Table(f"{charts.FORECASTER_LABELS.get(name, name)}, {k} min", frame))
    return tables


def _regression(result: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for target, by in result["regression"].items():
        for name, e in by.items():
            ci = e.get("mae_ci") or [None, None]
            rows.append(
                {
                    "target": target,
                    "forecaster": name,
                    "MAE": e.get("mae"),
                    "95% low": ci[0],
                    "95% high": ci[1],
                    "n": e.get("n"),
                }
            )
    return pd.DataFrame(rows)
