"""A finished market impact study read back from its directory, and the tables and figures shown of it.

`StudyResults` holds a finished study (read by `mars_core.experiments.reports.load_study`),
turning the JSON of results.json back into frames and fits. The tables below are shared by
the Market Impact and Impact Factors pages and by the report (`analysis.report.impact`), so
the app and the filed report show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import sqrt_law
from analysis.factors import FACTOR_COLUMNS, FACTOR_LABELS

BPS = 1e4
PRICE_SCALE = 10_000  # LOBSTER prices are dollars x 10000
OTHER_FACTORS = ["agent_rollout", "agent_replay", "mid_price"]


# ---- loading -------------------------------------------------------------------------------------


def nan_float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def fit_from_dict(data: dict) -> sqrt_law.SqrtLawFit:
    """A `SqrtLawFit` from its `to_dict()` (NaN comes back from JSON null)."""
    return sqrt_law.SqrtLawFit(
        delta=nan_float(data["delta"]),
        delta_ci=tuple(map(nan_float, data["delta_ci"])),
        Y=nan_float(data["Y"]),
        Y_ci=tuple(map(nan_float, data["Y_ci"])),
        r2=nan_float(data["r2"]),
        n=int(data["n"]),
        n_dropped=int(data["n_dropped"]),
        method=str(data["method"]),
    )


@dataclass(frozen=True, eq=False)
class StudyResults:
    """A finished study, read back from its directory."""

    path: Path
    config: dict[str, Any]
    metrics: pd.DataFrame
    results: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.config.get("name", self.path.name))

    @property
    def execution_min(self) -> float:
        return float(self.config.get("execution_minutes", 5.0))

    @cached_property
    def bands(self) -> pd.DataFrame:
        return pd.DataFrame(self.results.get("bands", {}))

    def fits(self, method: str = "binned") -> dict[str, sqrt_law.SqrtLawFit]:
        """The square-root-law fits ("binned" as in Fig. 6b, or "points"); empty when skipped."""
        raw = self.results.get("sqrt_law" if method == "binned" else "sqrt_law_points", {})
        return {k: fit_from_dict(v) for k, v in raw.items() if isinstance(v, dict)}

    def skipped(self, key: str) -> str | None:
        """Why a fit in results.json was skipped, or None."""
        value = self.results.get(key)
        return value.get("skipped") if isinstance(value, dict) else None

    @cached_property
    def fulfillment(self) -> pd.DataFrame:
        return pd.DataFrame(self.results.get("fulfillment", []))

    @cached_property
    def correlation(self) -> pd.DataFrame:
        corr = self.results.get("correlation") or {}
        return pd.DataFrame(corr).astype(float) if corr else pd.DataFrame()

    @property
    def symbolic(self) -> dict[str, Any]:
        return self.results.get("symbolic") or {}

    @property
    def decay(self) -> dict[str, Any]:
        return self.results.get("decay") or {}

    def varying_factors(self, columns: list[str] | None = None) -> list[str]:
        """Factor columns that take more than one finite value in this study (the others cannot be compared)."""
        return [
            col
            for col in columns or [*FACTOR_COLUMNS, *OTHER_FACTORS]
            if col in self.metrics and varies(self.metrics[col])
        ]


def varies(values: pd.Series) -> bool:
    """More than one finite value, beyond rounding noise."""
    finite = values.replace([np.inf, -np.inf], np.nan).dropna().to_numpy(dtype=float)
    return finite.size > 1 and float(np.ptp(finite)) > 1e-9 * max(1.0, float(np.max(np.abs(finite))))


# ---- numbers -------------------------------------------------------------------------------------


def fmt_ci(lo: float, hi: float, digits: int = 2) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "—"
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def delta_verdict(fit: sqrt_law.SqrtLawFit) -> str:
    """One sentence on how δ relates to the square-root law and the empirical range."""
    lo, hi = fit.delta_ci
    low, high = sqrt_law.EMPIRICAL_DELTA_RANGE
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"δ = {fit.delta:.2f}, without a usable confidence interval."
    text = f"δ = {fit.delta:.2f} (95% CI {lo:.2f}–{hi:.2f})"
    if lo <= 0.5 <= hi:
        verdict = "is consistent with the square-root law: δ = 0.5 lies inside its interval"
    else:
        verdict = f"departs from the square-root law: δ = 0.5 lies {'below' if lo > 0.5 else 'above'} its interval"
    overlap = "overlaps" if lo <= high and hi >= low else "does not overlap"
    width = " The interval is wide, so the data constrain δ only loosely." if hi - lo > 0.5 else ""
    return f"{text} {verdict}, and the interval {overlap} the empirical range {low}–{high}.{width}"


def headline(study: StudyResults) -> list[tuple[str, str, str]]:
    """Key figures: (label, value, small print)."""
    m = study.metrics
    pooled = study.fits().get(sqrt_law.POOLED)
    cards = [
        (
            "Paired trajectories",
            f"{len(m):,}",
            f"{m['config'].nunique()} configurations × {m['q_over_v_target'].nunique() if 'q_over_v_target' in m else '?'} Q/V",
        )
    ]
    if pooled is not None:
        cards += [
            ("Exponent δ (pooled)", f"{pooled.delta:.2f}", f"95% CI {fmt_ci(*pooled.delta_ci)}"),
            ("Coefficient Y", f"{pooled.Y:.3g}", f"95% CI {fmt_ci(*pooled.Y_ci, digits=3)}"),
            ("R² (log-log)", f"{pooled.r2:.2f}", f"{pooled.n} Q/V groups, {pooled.n_dropped} dropped"),
        ]
    cards += [
        (
            "Impact at end of execution",
            f"{m['impact_end'].mean() * BPS:+.2f} bps",
            "mean over trajectories; + = adverse",
        ),
        ("Fulfillment", f"{m['fulfillment'].mean():.1%}", "mean share of the target traded"),
        ("Slippage vs arrival", f"{m['slippage_bps'].mean():+.2f} bps", "mean execution VWAP vs arrival mid"),
    ]
    return cards


# ---- tables --------------------------------------------------------------------------------------


def fits_table(fits: dict[str, sqrt_law.SqrtLawFit]) -> pd.DataFrame:
    rows = [
        {
            "Configuration": k,
            "δ": f.delta,
            "δ 95% CI": fmt_ci(*f.delta_ci),
            "Y": f.Y,
            "Y 95% CI": fmt_ci(*f.Y_ci, digits=3),
            "R²": f.r2,
            "Points": f.n,
            "Dropped": f.n_dropped,
        }
        for k, f in fits.items()
    ]
    return pd.DataFrame(rows)


def _with_band(mean: float, lo: float, hi: float) -> str:
    return f"{mean * BPS:+.2f}  {fmt_ci(lo * BPS, hi * BPS)}" if np.isfinite(mean) else "—"


def impact_table(study: StudyResults) -> pd.DataFrame:
    """Mean impact (bps) with its 95% band per configuration: at the end of execution, at the peak, at the horizon."""
    bands = study.bands
    if bands.empty:
        return pd.DataFrame()
    rows = []
    end_s = study.execution_min * 60
    for config, part in bands.groupby("config", sort=True):
        part = part.sort_values("t_s")
        at_end = part.iloc[int(np.argmin(np.abs(part["t_s"].to_numpy() - end_s)))]
        last = part.iloc[-1]
        peak = part.iloc[int(np.nanargmax(part["mean"].to_numpy()))] if part["mean"].notna().any() else last
        rows.append(
            {
                "Configuration": config,
                "Trajectories": int(at_end["n"]),
                "End of execution (bps)": _with_band(at_end["mean"], at_end["lo"], at_end["hi"]),
                "Peak (bps)": f"{peak['mean'] * BPS:+.2f} at {peak['minute']:.1f} min",
                f"At {last['minute']:g} min (bps)": _with_band(last["mean"], last["lo"], last["hi"]),
            }
        )
    return pd.DataFrame(rows)


def fulfillment_table(study: StudyResults) -> pd.DataFrame:
    f = study.fulfillment
    if f.empty:
        return f
    return pd.DataFrame(
        {
            "Configuration": f["config"],
            "Q/V target": f.get("q_over_v_target", f["q_over_v"]),
            "Q/V realised": f["q_over_v"],
            "Trajectories": f["trajectories"],
            "Fulfillment": f["fulfillment"],
            "Impact, end (bps)": f["impact_end"] * BPS,
            "Slippage (bps)": f["slippage_bps"],
        }
    )


def factors_table(study: StudyResults) -> pd.DataFrame:
    """Per factor: its spread over the study and its correlation with the impact at the end of execution."""
    m = study.metrics.replace([np.inf, -np.inf], np.nan)
    rows = []
    for col in [*FACTOR_COLUMNS, *OTHER_FACTORS]:
        if col not in m:
            continue
        values = m[col] / PRICE_SCALE if col == "mid_price" else m[col]
        changes = varies(values)
        both = m[[col, "impact_end"]].dropna()
        corr = both[col].corr(both["impact_end"]) if len(both) > 2 and changes else float("nan")
        label = "mid price ($)" if col == "mid_price" else FACTOR_LABELS.get(col, col)
        rows.append(
            {
                "Factor": label,
                "Mean": values.mean(),
                "Std": values.std() if changes else 0.0,
                "Min": values.min(),
                "Max": values.max(),
                "Corr. with impact": corr,
                "Varies": changes,
            }
        )
    return pd.DataFrame(rows)


def symbolic_formula(s: dict[str, Any]) -> str:
    """The SINDy formula with its unit: the impact is a fraction of the arrival mid, so the constant is also in bps."""
    constant = nan_float(s.get("coefficients", {}).get("1"))
    if len(s.get("coefficients", {})) <= 1:
        return f"{s['formula']}  ({constant * BPS:.2f} bps of the arrival mid for every trajectory: no factor term was kept)"
    return f"{s['formula']}\n(impact as a fraction of the arrival mid; the constant {constant:.4g} = {constant * BPS:.2f} bps)"


def symbolic_verdict(s: dict[str, Any]) -> str:
    """Which model predicts the held-out trajectories better, and "neither" when no held-out R² is positive."""
    sindy, law = nan_float(s.get("test_r2")), nan_float(s.get("sqrt_law_test_r2"))
    if not (sindy > 0 or law > 0):
        return (
            f"On held-out trajectories **neither predicts better than their mean impact** (held-out R² {sindy:.2f} for "
            f"SINDy, {law:.2f} for the square-root law): treat both as descriptive of the training trajectories."
        )
    better = (
        "SINDy formula" if nan_float(s.get("test_rmse")) < nan_float(s.get("sqrt_law_test_rmse")) else "square-root law"
    )
    return f"On held-out trajectories the **{better}** predicts better (lower held-out RMSE)."


def symbolic_table(study: StudyResults) -> pd.DataFrame:
    s = study.symbolic
    if "formula" not in s:
        return pd.DataFrame()
    return pd.DataFrame(
        [
            {
                "Model": f"SINDy formula ({len(s.get('coefficients', {})) - 1} terms)",
                "Train R²": s["train_r2"],
                "Train RMSE (bps)": nan_float(s["train_rmse"]) * BPS,
                "Held-out R²": s["test_r2"],
                "Held-out RMSE (bps)": nan_float(s["test_rmse"]) * BPS,
            },
            {
                "Model": "Square-root law Y·σ·(Q/V)^δ",
                "Train R²": None,
                "Train RMSE (bps)": None,
                "Held-out R²": s["sqrt_law_test_r2"],
                "Held-out RMSE (bps)": nan_float(s["sqrt_law_test_rmse"]) * BPS,
            },
        ]
    )


def decay_table(study: StudyResults) -> pd.DataFrame:
    d = study.decay
    if "learned" not in d:
        return pd.DataFrame()
    return pd.DataFrame(
        [
            {
                "Model": "Learned ODE, eq. (2)",
                "Held-out MSE": d["test_mse_learned"],
                "Train MSE": d["learned"].get("train_mse"),
                "Parameters": f"W 7×2 + b 2 (L1, {d['learned'].get('method', 'rk4')})",
            },
            {
                "Model": "Base ODE, eq. (14)",
                "Held-out MSE": d["test_mse_base"],
                "Train MSE": None,
                "Parameters": f"scale c = {nan_float(d['base'].get('scale')):.3g}",
            },
        ]
    )


def constant_decay_factors(study: StudyResults) -> list[str]:
    """Factors of the learned ODE that do not vary in the study: their weights in W carry no information."""
    learned = study.decay.get("learned", {})
    varying = set(study.varying_factors(list(learned.get("factors", []))))
    return [FACTOR_LABELS.get(f, f) for f in learned.get("factors", []) if f not in varying]


def weights_frame(study: StudyResults) -> pd.DataFrame:
    learned = study.decay.get("learned", {})
    return pd.DataFrame(learned.get("W", []), index=learned.get("factors"), columns=learned.get("decay_functions"))


# ---- figures -------------------------------------------------------------------------------------
