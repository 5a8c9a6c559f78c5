"""`mars control-eval --stress`: the stress-scenario suite (issue 15), run and printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tqdm import tqdm

from mars_core.cli.options import emit
from mars_core.experiments.executor import Executor
from mars_core.experiments.stress_eval import FIDELITY, StressSettings, run_stress


def num(x: float | None) -> float:
    """A figure of the summary (written NaN-free: a missing one is None) as a number to format."""
    return float("nan") if x is None else x


def with_interval(x: dict[str, Any]) -> str:
    """ "+1.2 [+0.3, +2.1]" from {"mean", "ci"}."""
    return f"{num(x['mean']):+.1f} [{num(x['ci'][0]):+.1f}, {num(x['ci'][1]):+.1f}]"


def stress_table(s: dict[str, Any]) -> str:
    """One line per scenario: realised/target with its interval, target side, correlation, RMS, flow fidelity."""
    lines = [
        f"stress scenarios, {s['starts']} starts ({s['window']}) x {s['rollouts']} rollouts, controlled (uncontrolled)",
        f"{'scenario':30s} {'target':>8s} {'realised/target [95% CI]':>32s} {'side':>11s} {'corr':>13s} "
        + " ".join(f"{c[:8]:>8s}" for c in FIDELITY),
    ]
    for name, f in s["scenarios"].items():
        free = f["arms"].get("no_control", {})
        ratio = f"{f['ratio']['mean']:+.2f} [{f['ratio']['ci'][0]:+.2f}, {f['ratio']['ci'][1]:+.2f}]"
        if free:
            ratio += f" ({free['ratio']['mean']:+.2f})"
        side = f"{f['target_side']:.2f}" + (f" ({free['target_side']:.2f})" if free else "")
        corr = f"{f['corr']:+.2f}" + (f" ({free['corr']:+.2f})" if free else "")
        fid = " ".join(f"{num(f['fidelity'].get(c)):8.2f}" for c in FIDELITY)
        lines.append(f"{name:30s} {f['target_bps']:+8.1f} {ratio:>32s} {side:>11s} {corr:>13s} {fid}")
    costs = [(name, f["twap_cost_bps"]) for name, f in s["scenarios"].items() if f.get("twap_cost_bps")]
    if costs:
        lines.append("TWAP against the move: implementation shortfall vs the arrival mid (bps) [95% CI]")
        lines.append(f"{'scenario':30s} {'controlled':>24s} {'uncontrolled':>24s} {'difference':>24s}")
        for name, c in costs:
            cells = [c[k] for k in ("control", "no_control", "control_minus_no_control")]
            lines.append(f"{name:30s} " + " ".join(f"{with_interval(x):>24s}" for x in cells))
    lines.append(f"{s['seconds']:.0f}s")
    return "\n".join(lines)


def stress_command(
    settings: StressSettings,
    data_dir: str | None,
    workers: int | None,
    executor: Executor,
    as_json: bool,
    out: Path | None = None,
) -> None:
    """Run the suite with a progress bar and print the table (and the JSON line)."""
    with tqdm(total=None, desc="stress groups", disable=as_json) as bar:  # closed before an error is printed

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        s = run_stress(settings, data_dir, workers, progress, executor, out)
    emit(s, as_json, stress_table(s))
