"""The impact-study runner: its directory, the paired trajectories it measures, resume, and its first results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mars_core.errors import MarsInputError
from mars_core.experiments.impact import (
    PartialResults,
    StudyConfig,
    base_config,
    plan,
    point_config,
    point_key,
    run_study,
    starts,
    study_dir,
)
from mars_core.store import RunDir, config_hash, finished_arms


@pytest.fixture(scope="module")
def study(tiny_study_dir: Path) -> StudyConfig:
    """conftest.TINY_STUDY, as its directory holds it."""
    return StudyConfig.from_dict(json.loads((tiny_study_dir / "study.json").read_text()))


def test_a_study_is_planned_and_named_by_its_configuration(study: StudyConfig, tmp_path: Path) -> None:
    assert plan(study) == {"starts": 1, "points": 4, "trajectories": 12, "arms": 15}
    assert study_dir(study, tmp_path) == tmp_path / "studies" / f"tiny-{config_hash(study.model_dump(mode='json'))}"
    point = point_config(study, starts(study)[0], "L5-P0.1", 700)
    assert point.twap[0].volume == 700 and (point.twap[0].ap, point.twap[0].pvr) == (5, 0.1)
    assert point.seed == base_config(study, starts(study)[0]).seed and not point.paired  # common random numbers


def test_the_runner_writes_every_run_and_one_row_per_paired_trajectory(
    study: StudyConfig, tiny_study_dir: Path
) -> None:
    start = starts(study)[0]
    assert finished_arms(tiny_study_dir) == plan(study)["arms"]
    base = RunDir(tiny_study_dir / "base" / start.key)
    for name in study.configs:
        for q in study.q_over_v:
            point = RunDir(tiny_study_dir / "points" / point_key(start, name, q))
            for r in range(study.rollouts):  # each treated rollout runs on its baseline's seed
                assert point.arm_summary(r, "main")["seed"] == base.arm_summary(r, "main")["seed"]
    metrics = pd.read_parquet(tiny_study_dir / "metrics.parquet")
    assert len(metrics) == plan(study)["trajectories"]
    assert sorted(metrics["q_over_v_target"].unique()) == [0.2, 0.5]
    assert metrics["fulfillment"].between(0, 1).all() and (metrics["fulfillment"] > 0).any()
    results = json.loads((tiny_study_dir / "results.json").read_text())
    assert {"trajectories", "sqrt_law", "fulfillment", "symbolic", "decay"} <= set(results)


def test_a_finished_study_resumes_without_simulating_and_refuses_another(
    study: StudyConfig, tiny_study_dir: Path, data_dir: Path
) -> None:
    reported: list[int] = []
    again = run_study(
        study, tiny_study_dir, data_dir=str(data_dir), workers=1, progress=lambda d, t, s: reported.append(d)
    )
    assert reported == [] and again["trajectories"] == plan(study)["trajectories"]  # every arm was on disk
    with pytest.raises(MarsInputError, match="already holds a different study"):
        run_study(study.model_copy(update={"seed": 1}), tiny_study_dir, data_dir=str(data_dir))


def test_partial_results_read_the_finished_treated_arms(study: StudyConfig, tiny_study_dir: Path) -> None:
    partial = PartialResults(study, tiny_study_dir)
    rows = partial.refresh(budget_s=60)
    assert len(rows) == plan(study)["trajectories"] and rows["fulfillment"].between(0, 1).all()
    final = pd.read_parquet(tiny_study_dir / "metrics.parquet")
    assert np.isfinite(rows["impact_end"]).all() and set(rows["config"]) == set(final["config"])
    assert partial.refresh().equals(rows)  # nothing new: the same rows
