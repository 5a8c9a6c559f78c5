"""Processes and files of a run: workers die with their parent, Stop stops, one run per directory, no stale temp
directories, and a resumed run reports its speed over every session."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from mars_core.errors import MarsInputError
from mars_core.sim.config import SimConfig
from mars_core.sim.pool import Cancelled, stop_run
from mars_core.sim.runner import run_simulation
from mars_core.store import RunDir
from tests.run_lock import held_by_another_run

LONG = dict(symbol="GOOG", date="2012-06-21", start="10:00", minutes=60, rollouts=40, background="noise")


def wait_for(condition, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def _live(process: psutil.Process, tracker_too: bool = True) -> bool:
    try:  # a process may go between two questions
        running = process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        return running and (tracker_too or "resource_tracker" not in " ".join(process.cmdline()))
    except psutil.Error:
        return False


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if _live(p)]


def children() -> set[int]:
    """Pids of the test process's live children (other tests' servers included, e.g. the session's Streamlit)."""
    return {p.pid for p in psutil.Process(os.getpid()).children(recursive=True) if _live(p)}


def workers_started_since(before: set[int]) -> list[psutil.Process]:
    """Live children of the test process that were not there `before`, but multiprocessing's resource tracker
    (one per interpreter, kept)."""
    found = psutil.Process(os.getpid()).children(recursive=True)
    return [p for p in found if p.pid not in before and _live(p, tracker_too=False)]


@pytest.mark.timeout(120)
def test_workers_die_within_5_s_of_a_kill_9_of_their_parent(tmp_path: Path, data_dir: Path) -> None:
    command = [sys.executable, "-m", "mars_core", "simulate", "--symbol", "GOOG", "--date", "2012-06-21"]
    command += ["--minutes", "60", "--rollouts", "40", "--workers", "2", "--out", str(tmp_path / "run")]
    parent = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        me = psutil.Process(parent.pid)
        assert wait_for(lambda: len(me.children()) >= 2, 60), parent.stderr.read().decode() if parent.poll() else ""
        workers = me.children(recursive=True)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        killed_at = time.monotonic()
        assert wait_for(lambda: not alive(workers), 5.0), [p.pid for p in alive(workers)]
        assert time.monotonic() - killed_at < 5.0
    finally:  # whatever the test left running: the workers, and the parent if the kill never came
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for process in alive(workers):
            with contextlib.suppress(psutil.Error):
                process.kill()


@pytest.mark.timeout(120)
def test_a_second_process_into_a_running_directory_is_refused_at_once(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "run"
    command = [sys.executable, "-m", "mars_core", "simulate", "--symbol", "GOOG", "--date", "2012-06-21"]
    command += [
        "--minutes",
        "60",
        "--rollouts",
        "400",
        "--workers",
        "1",
        "--out",
        str(out),
        "--data-dir",
        str(data_dir),
    ]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: any(out.glob("rollout=*")), 60)  # running, under the lock
        started = time.monotonic()
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2, second.stderr
        assert time.monotonic() - started < 40  # a process start and the day's load, not the other run's minutes
        assert f"error: {out} is in use by another run" in second.stderr and "Traceback" not in second.stderr
        assert first.poll() is None  # the first run goes on
    finally:
        first.kill()
        first.wait()


@pytest.mark.timeout(120)
def test_stop_run_stops_a_pool_at_once_and_the_run_resumes(tmp_path: Path, data_dir: Path) -> None:
    out, config = tmp_path / "run", SimConfig(**LONG)
    finished: list[float] = []
    before = children()

    def progress(done: int, total: int, summary: dict) -> None:
        finished.append(time.monotonic())
        stop_run(out)  # what a page's Stop button calls

    with pytest.raises(Cancelled):
        run_simulation(config, out, str(data_dir), workers=2, progress=progress)
    stopped_at = time.monotonic()
    assert stopped_at - finished[0] < 2.0  # not the other arms' minutes
    assert not workers_started_since(before)  # the workers are gone with it
    done = len(RunDir(out).finished())
    assert 1 <= done < config.rollouts
    assert not stop_run(out)  # nothing left running there


@pytest.mark.timeout(120)
def test_a_progress_callback_that_raises_kills_the_workers(tmp_path: Path, data_dir: Path) -> None:
    """A page rerun raises out of the progress callback: the pool must not run the queued arms to the end."""

    def progress(done: int, total: int, summary: dict) -> None:
        raise KeyboardInterrupt

    before, started = children(), time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_simulation(SimConfig(**LONG), tmp_path / "run", str(data_dir), workers=2, progress=progress)
    assert time.monotonic() - started < 30
    assert not workers_started_since(before)


def test_a_second_run_into_the_same_directory_is_refused_or_waits(tmp_path: Path, data_dir: Path) -> None:
    config = SimConfig(symbol="GOOG", date="2012-06-21", start="10:00", minutes=0.5, rollouts=1, background="replay")
    out = tmp_path / "run"
    run_simulation(config, out, str(data_dir), workers=1)
    with held_by_another_run(out) as release:
        with pytest.raises(MarsInputError, match="is in use by another run; wait for it to finish"):
            run_simulation(config, out, str(data_dir), workers=1)
        threading.Timer(0.5, release.set).start()
        started = time.monotonic()
        summary = run_simulation(config, out, str(data_dir), workers=1, wait=True)
        assert time.monotonic() - started >= 0.4 and summary.arms == 1


def test_resume_removes_stale_arm_temp_dirs_and_times_every_session(tmp_path: Path, data_dir: Path) -> None:
    config = SimConfig(symbol="GOOG", date="2012-06-21", start="10:00", minutes=0.5, rollouts=2, background="replay")
    out = tmp_path / "run"
    first = run_simulation(config, out, str(data_dir), workers=1)
    run = RunDir(out)
    # a killed session: one arm never committed, its temp dir left behind, 100 s already spent
    (run.arm_dir(1, "main") / "done.json").unlink()
    stale = run.arm_dir(1, "main").parent / ".arm=main.x1y2"
    stale.mkdir()
    (stale / "orders.parquet").write_bytes(b"half")
    run.set_elapsed(100.0)
    second = run_simulation(config, out, str(data_dir), workers=1)
    assert not stale.exists()
    assert second.orders == first.orders  # both arms count
    assert 100.0 < second.seconds < 100.0 + 60
    saved = json.loads((out / "summary.json").read_text())
    assert saved["orders_per_s"] == round(second.orders / second.seconds, 1)


def test_a_twap_that_executes_nothing_writes_null_vwap_with_a_reason(tmp_path: Path, data_dir: Path) -> None:
    twap = {"side": 1, "volume": 100, "pvr": 0.0, "ap": 0, "duration_s": 30.0, "interval_s": 30.0}
    config = SimConfig(
        symbol="GOOG", date="2012-06-21", start="10:00", minutes=0.5, rollouts=1, background="replay", twap=(twap,)
    )
    out = tmp_path / "run"
    run_simulation(config, out, str(data_dir), workers=1)
    text = (RunDir(out).arm_dir(0, "treated") / "done.json").read_text()
    agent = json.loads(text)["agents"]["3"]
    assert "NaN" not in text and agent["executed"] == 0
    assert agent["vwap"] is None and agent["vwap_reason"] == "nothing executed"
    summary = (out / "summary.json").read_text()  # the run's summary repeats every arm's agents
    (treated,) = [a for a in json.loads(summary)["arms_detail"] if a["arm"] == "treated"]
    assert "NaN" not in summary and treated["agents"]["3"]["vwap"] is None
