"""Runs started from a page in their own process group: progress, outcomes in one line, and a Stop that ends them."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `pages` is the app's folder, not an installed package
    sys.path.insert(0, str(REPO))

from mars_core.errors import ConfigError  # noqa: E402
from pages import _jobs  # noqa: E402


def count_to(n: int, progress: Callable) -> int:
    for k in range(1, n + 1):
        progress(k, n, {"rollout": k - 1, "agents": {"nested": 1}})
    return n * 10


def refuse(progress: Callable) -> None:
    raise ConfigError("rollouts must be 1–256, was 0")


def _sleep(_: int) -> None:
    time.sleep(600)


def busy_workers(progress: Callable) -> None:
    """Two pool workers that would run for ten minutes, as a study's simulations do."""
    with multiprocessing.get_context("fork").Pool(2) as pool:
        progress(0, 2, {"pids": " ".join(str(p.pid) for p in pool._pool)})
        pool.map(_sleep, range(2))


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it has ended)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def finish(job: _jobs.Job, timeout: float = 60.0) -> list:
    events, deadline = [], time.monotonic() + timeout
    while job.running and time.monotonic() < deadline:
        events += job.poll()
        time.sleep(0.05)
    return events


def test_a_job_reports_its_progress_and_its_value() -> None:
    job = _jobs.start(count_to, 3)
    events = finish(job)
    assert events == [(1, 3, {"rollout": 0}), (2, 3, {"rollout": 1}), (3, 3, {"rollout": 2})]  # plain values only
    assert job.outcome == _jobs.Outcome("done", value=30) and job.last == (3, 3, {"rollout": 2})


def test_every_event_sent_just_before_the_end_is_read_and_the_outcome_kept() -> None:
    job = _jobs.start(count_to, 3000)
    events = finish(job)
    assert len(events) == 3000 and events[-1][:2] == (3000, 3000)
    assert job.outcome == _jobs.Outcome("done", value=30_000)


def test_bad_input_ends_a_job_with_its_message_not_a_traceback() -> None:
    job = _jobs.start(refuse)
    finish(job)
    assert job.outcome == _jobs.Outcome("input", message="rollouts must be 1–256, was 0")


def test_stop_ends_the_job_and_every_worker_within_seconds() -> None:
    job = _jobs.start(busy_workers)
    events: list = []
    deadline = time.monotonic() + 60
    while not events and time.monotonic() < deadline:
        events = job.poll()
        time.sleep(0.05)
    workers = [int(pid) for pid in events[0][2]["pids"].split()]
    group = [job.process.pid, *workers]
    assert all(alive(pid) for pid in group) and os.getpgid(workers[0]) == job.process.pid
    started = time.monotonic()
    job.stop()
    while any(alive(pid) for pid in group):
        assert time.monotonic() - started < 5, "workers still running 5 s after Stop"
        time.sleep(0.05)
    assert job.outcome == _jobs.Outcome("stopped") and not job.running
    assert job.poll() == [] and job.outcome.kind == "stopped"


def serve(pids: Any) -> None:
    """A stand-in for the Streamlit server: start a study-like job, say its processes, and wait to be killed."""
    job = _jobs.start(busy_workers)
    events: list = []
    while not events:
        events = job.poll()
        time.sleep(0.05)
    pids.put([job.process.pid, *(int(pid) for pid in events[0][2]["pids"].split())])
    time.sleep(600)


def test_a_job_and_its_workers_die_with_the_server_that_started_it() -> None:
    context = multiprocessing.get_context("spawn")
    pids = context.Queue()
    server = context.Process(target=serve, args=(pids,))
    server.start()
    group = pids.get(timeout=60)
    assert len(group) == 3 and all(alive(pid) for pid in group)
    os.kill(server.pid, signal.SIGKILL)  # kill -9: no chance to clean up
    server.join()
    killed = time.monotonic()
    while any(alive(pid) for pid in group):
        assert time.monotonic() - killed < 5, "the job outlived its server by 5 s"
        time.sleep(0.1)


def test_stop_right_after_start_ends_the_job_before_it_has_its_own_group() -> None:
    job = _jobs.start(busy_workers)
    job.stop()  # the spawned interpreter is still starting: its process group does not exist yet
    assert job.outcome == _jobs.Outcome("stopped") and not alive(job.process.pid)
