"""The Ray executor: a study run on a local Ray gives byte for byte the tables of the local run, and a run
interrupted under Ray resumes from the store. One local Ray (2 CPUs) serves the module."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mars_core.experiments.executor import Executor, ray_session, run_units
from mars_core.experiments.impact import StudyConfig, plan, run_study
from mars_core.sim import lockstep
from mars_core.sim.config import SimConfig
from mars_core.sim.pool import Cancelled
from mars_core.sim.runner import run_simulation
from mars_core.store import RunDir, finished_arms
from tests.conftest import TINY_STUDY

ray = pytest.importorskip("ray")
RAY = Executor("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch_module.delenv("RAY_ADDRESS", raising=False)  # never a cluster the machine happens to name
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_units_come_back_in_order_and_errors_keep_their_type() -> None:
    assert ray_session() is ray  # the module's Ray is reused, not a second one started
    seen: list[int] = []  # module-level functions of an installed module (a worker imports them by name)
    assert run_units(math.factorial, [4, 1, 3], RAY, workers=2, on_result=seen.append) == [24, 1, 6]
    assert sorted(seen) == [1, 6, 24]
    with pytest.raises(ValueError, match="negative"):
        run_units(math.factorial, [2, -1], RAY)


def _parquet_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


def test_a_study_on_ray_writes_the_same_bytes_as_the_local_run(tiny_study_dir: Path, data_dir: Path, tmp_path: Path):
    study = StudyConfig.from_dict(TINY_STUDY)
    out = tmp_path / "ray-study"
    summary = run_study(study, out, data_dir=str(data_dir), executor=RAY)
    assert summary["trajectories"] == plan(study)["trajectories"] and finished_arms(out) == plan(study)["arms"]
    local, remote = _parquet_bytes(tiny_study_dir), _parquet_bytes(out)
    assert {"metrics.parquet", "curves.parquet"} <= set(remote) and len(remote) > plan(study)["arms"]
    assert remote.keys() == local.keys()
    assert [name for name in remote if remote[name] != local[name]] == []  # every table, byte for byte
    local_results = json.loads((tiny_study_dir / "results.json").read_text())
    assert json.loads((out / "results.json").read_text())["sqrt_law"] == local_results["sqrt_law"]


def test_a_run_stopped_under_ray_resumes_from_the_store(data_dir: Path, tmp_path: Path) -> None:
    config = SimConfig(symbol="GOOG", date="2012-06-21", start="10:00", minutes=1, rollouts=3, background="noise")
    stop = threading.Event()
    with pytest.raises(Cancelled):  # one task in flight: the stop comes after the first arm
        run_simulation(config, tmp_path / "ray", str(data_dir), 1, lambda *a: stop.set(), stop=stop, executor=RAY)
    assert len(RunDir(tmp_path / "ray").finished()) == 1  # what finished before the stop is kept ...
    resumed: list[int] = []
    run_simulation(config, tmp_path / "ray", str(data_dir), progress=lambda d, t, s: resumed.append(d), executor=RAY)
    assert sorted(resumed) == [2, 3]  # ... and only the rest runs on resume
    run_simulation(config, tmp_path / "local", str(data_dir), workers=1)
    assert len(RunDir(tmp_path / "ray").finished()) == 3
    assert _parquet_bytes(tmp_path / "ray") == _parquet_bytes(tmp_path / "local")


def test_generative_groups_on_ray_write_the_bytes_of_the_local_run(data_dir: Path, tmp_path: Path) -> None:
    twap = {"side": 1, "volume": 300, "duration_s": 20, "interval_s": 10}
    config = SimConfig(
        symbol="GOOG", date="2012-06-21", start="11:00", minutes=0.4, rollouts=2, background="lmm", twap=(twap,)
    )
    run_simulation(config, tmp_path / "ray", str(data_dir), executor=RAY)  # two groups: treated and baseline
    run_simulation(config, tmp_path / "local", str(data_dir), workers=1)
    assert (
        RunDir(tmp_path / "ray").finished()
        == RunDir(tmp_path / "local").finished()
        == [(r, arm) for r in range(2) for arm in ("baseline", "treated")]
    )
    assert _parquet_bytes(tmp_path / "ray") == _parquet_bytes(tmp_path / "local")
    assert not list((tmp_path / "ray").glob("generating-*"))


def test_a_generative_study_runs_its_groups_together_and_ray_matches_local(data_dir: Path, tmp_path: Path) -> None:
    study = StudyConfig.from_dict(
        TINY_STUDY | {"background": "lmm", "rollouts": 2, "q_over_v": [0.2], "horizon_minutes": 1}
    )
    groups: list[int] = []  # units per map: the baselines', then every point's
    real = run_units

    def counting(fn, units, *args, **kwargs):  # noqa: ANN001, ANN202 (a spy on the executor)
        groups.append(len(units))
        return real(fn, units, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lockstep, "run_units", counting)
        on_ray = run_study(study, tmp_path / "ray", data_dir=str(data_dir), executor=RAY)
    run_study(study, tmp_path / "local", data_dir=str(data_dir), workers=1)
    assert groups == [1, 2] and on_ray["trajectories"] == 4  # the two points' groups went to Ray together
    assert _parquet_bytes(tmp_path / "ray") == _parquet_bytes(tmp_path / "local")


def test_a_forecast_evaluation_on_ray_scores_as_the_local_one(data_dir: Path, tmp_path: Path) -> None:
    import numpy as np

    from mars_core.experiments.forecast_eval import ForecastConfig, evaluate

    config = ForecastConfig(symbols=("GOOG",), backgrounds=("noise",), rollouts=2, every_minutes=30, bootstrap=20)
    none = str(tmp_path / "no-deeplob")
    local = evaluate(config, tmp_path / "local", str(data_dir), 1, deeplob_path=none)
    on_ray = evaluate(config, tmp_path / "ray", str(data_dir), 2, deeplob_path=none, executor=RAY)
    assert on_ray["accuracy"] == local["accuracy"] and on_ray["regression"] == local["regression"]
    for path in (tmp_path / "local" / "units").glob("*.npz"):
        a, b = np.load(path), np.load(tmp_path / "ray" / "units" / path.name)
        assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in ("starts", "labels", "vol", "spread"))
