"""Bands, impact paths, follow statistics and figures of scenario runs (analysis.scenario_charts)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.charts import scenario as sc


def test_band_is_the_mean_and_the_10_90_quantiles() -> None:
    paths = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0], [3.0, 10.0]])
    mean, lo, hi = sc.band(paths)
    assert mean == pytest.approx([1.5, 4.0])
    assert lo == pytest.approx([0.3, 1.3]) and hi == pytest.approx([2.7, 7.9])  # numpy's linear interpolation


def test_impact_paths_are_the_paired_difference_signed_for_the_agent() -> None:
    with_agent = np.log(np.array([[1.001, 1.002]]))
    without = np.zeros((1, 2))
    assert sc.impact_paths(with_agent, without, side=1) == pytest.approx(np.array([[10.0, 20.0]]))
    assert sc.impact_paths(with_agent, without, side=-1) == pytest.approx(
        np.array([[-10.0, -20.0]])
    )  # a sell gains from a rise


def test_follow_table_scores_a_perfect_and_an_opposite_follower() -> None:
    target = np.array([-0.001, -0.002, -0.004])
    arms = {"control": np.stack([target, target]), "no_control": -target[None, :]}
    table = sc.follow_table(target, arms, {"control": "Controlled", "no_control": "Not controlled"}).set_index("Run")
    assert table.loc["Controlled", "Correlation with target (mean)"] == pytest.approx(1.0)
    assert table.loc["Controlled", "RMS distance (bps)"] == pytest.approx(0.0)
    assert table.loc["Controlled", "On the target's side at the end"] == 1.0
    assert table.loc["Controlled", "Rollouts"] == 2
    assert table.loc["Not controlled", "Correlation with target (mean)"] == pytest.approx(-1.0)
    assert table.loc["Not controlled", "On the target's side at the end"] == 0.0
    assert table.loc["Not controlled", "End return, mean (%)"] == pytest.approx(math.expm1(0.004) * 100)
    assert table.loc["Not controlled", "Target end (%)"] == pytest.approx(math.expm1(-0.004) * 100)
    flat = sc.follow_table(target, {"x": np.zeros((1, 3))})
    assert flat.loc[0, "Correlation with target (mean)"] == 0.0  # a path that never moves counts as 0


def test_figures_draw_target_bands_context_and_rescaled_cases() -> None:
    target = np.log([0.999, 0.998, 0.995])
    arms = {"control": np.tile(target, (3, 1)), "no_control": np.zeros((3, 3))}
    history = (np.arange(-3.0, 1.0), np.array([0.001, 0.0005, 0.0002, 0.0]))
    fig = sc.controlled_figure(target, arms, {"control": "Controlled"}, history, real=np.log([1.0, 0.999, 0.999]))
    names = [t.name for t in fig.data]
    assert names[:2] == ["Real, before the start", "Real, after the start"] and names[-1] == "Target"
    assert "Controlled (mean, 10–90% band)" in names and "no_control (mean, 10–90% band)" in names
    assert len(fig.data) == 2 + 2 * 2 + 1  # context, band + mean per arm, target
    assert fig.data[-1].y[-1] == pytest.approx(-0.5)  # % from the start, starting at 0
    assert fig.data[-1].y[0] == 0.0

    real, rescaled = np.array([0.0, -0.001, -0.002]), np.array([0.0, -0.005, -0.01])
    cases = sc.cases_figure([("A", real, rescaled), ("B", real, real)])
    assert [t.name for t in cases.data] == ["A", "A (real, before rescaling)", "B"]

    impact = sc.impact_figure({"control": np.array([[1.0, 2.0], [3.0, 4.0]])})
    assert impact.data[1].y == pytest.approx([0.0, 2.0, 3.0])
