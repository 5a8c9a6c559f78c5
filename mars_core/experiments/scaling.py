"""How a study scales over workers: local processes against Ray, on one node and on a simulated two-node cluster.

`mars bench executor --json` runs one small impact study (noise background) several ways and reports the wall
time of each, and the executors' overhead per task (empty units). The two-node cluster is Ray's own
`ray.cluster_utils.Cluster`: two raylets on this machine, one CPU each, the driver connected to the head; the
tasks of each node are counted to show that both took work. Every executor runs the study once untimed first
(workers started, the day loaded and cached in them), then once per worker count, timed. On a machine with other
work running the times are an upper bound; the result says how loaded it was (the load average before and after).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from mars_core.experiments.impact import StudyConfig, plan, run_study
from mars_core.sim.executor import LOCAL, Executor, ray_session, run_units

STUDY = {
    "name": "scaling",
    "symbols": ["GOOG"],
    "dates": ["2012-06-21"],
    "start_times": ["11:00"],
    "execution_minutes": 1,
    "horizon_minutes": 3,
    "q_over_v": [0.2, 0.5],
    "configs": ["L1-P0.9", "L5-P0.1"],
    "rollouts": 4,
    "background": "noise",
}
EMPTY_UNITS = 200  # units of no work, to time an executor's overhead per task
NODE_PROBES = 8  # units of about half a second that report the node they ran on


def node_of(seconds: float) -> str:
    """A unit that works `seconds` and names the Ray node it ran on."""
    import ray

    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass
    return ray.get_runtime_context().get_node_id()


def per_task_ms(executor: Executor, workers: int) -> float:
    """Milliseconds per empty unit (`abs`) mapped over `workers` (pool start or Ray connection excluded)."""
    run_units(abs, [0] * workers, executor, workers)  # warm: processes started, Ray connected
    started = time.perf_counter()
    run_units(abs, list(range(EMPTY_UNITS)), executor, workers)
    return round((time.perf_counter() - started) / EMPTY_UNITS * 1000, 3)


def study_seconds(executor: Executor, workers: int, data_dir: str | None) -> float:
    """Wall seconds of `STUDY` from scratch (a fresh directory) with `workers`."""
    with tempfile.TemporaryDirectory(prefix="mars-scaling-") as tmp:
        started = time.perf_counter()
        run_study(StudyConfig.from_dict(STUDY), Path(tmp) / "study", data_dir, workers, executor=executor)
        return round(time.perf_counter() - started, 2)


def run(data_dir: str | None = None) -> dict[str, Any]:
    """The figures of the README's "Running on a Ray cluster" section (see the module docstring)."""
    import ray
    from ray.cluster_utils import Cluster

    load_before = os.getloadavg()[0]
    result: dict[str, Any] = {
        "study": STUDY,
        "arms": plan(StudyConfig.from_dict(STUDY))["arms"],
        "cores": os.cpu_count(),
    }
    study_seconds(LOCAL, 1, data_dir)  # warm: the day loaded in this process (forked workers inherit it)
    result["local_seconds"] = {w: study_seconds(LOCAL, w, data_dir) for w in (1, 2)}
    result["local_task_ms"] = per_task_ms(LOCAL, 2)

    ray_session()  # a local Ray on this machine's cores
    local_ray = Executor("ray")
    study_seconds(local_ray, 2, data_dir)  # warm: both Ray workers started, the day loaded in each
    result["ray_seconds"] = {w: study_seconds(local_ray, w, data_dir) for w in (1, 2)}
    result["ray_task_ms"] = per_task_ms(local_ray, 2)
    ray.shutdown()

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        two_nodes = Executor("ray", cluster.address)
        ray_session(cluster.address)
        nodes = run_units(node_of, [0.5] * NODE_PROBES, two_nodes, workers=2)
        study_seconds(two_nodes, 2, data_dir)  # warm
        result["cluster"] = {
            "nodes": len(ray.nodes()),
            "probe_tasks_per_node": sorted((nodes.count(n) for n in set(nodes)), reverse=True),
            "seconds": study_seconds(two_nodes, 2, data_dir),
            "task_ms": per_task_ms(two_nodes, 2),
        }
    finally:
        ray.shutdown()
        cluster.shutdown()
    result["speedup_local"] = round(result["local_seconds"][1] / result["local_seconds"][2], 2)
    result["speedup_ray"] = round(result["ray_seconds"][1] / result["ray_seconds"][2], 2)
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result
