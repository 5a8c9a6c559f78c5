"""Worker processes that stop when asked and die with their parent.

`run_in_pool` runs calls in a process pool and hands each result back as it finishes. It stops
promptly: when the run is cancelled (`stop_run` on its directory, or its `Event` set), when a result
callback raises (a page that reruns raises out of its progress callback), or when a call fails, the
pending calls are dropped and the workers are killed at once, not left to finish. Finished arms are
committed, so a stopped run resumes where it was.

Workers also die with their parent: on Linux each asks the kernel for SIGKILL when the parent goes
(`prctl(PR_SET_PDEATHSIG)`), and a watchdog thread checks the parent's pid twice a second in case
the signal was missed (a parent that died before the worker started, or another platform).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_S = 0.5  # the watchdog's period
POLL_S = 0.2  # how often the parent looks at the stop flag while it waits


class Cancelled(Exception):
    """The run was stopped on request; what finished is kept and the run resumes from there."""


_running: dict[str, threading.Event] = {}  # the stop flag of every run going on in this process, by directory
_running_lock = threading.Lock()


@contextlib.contextmanager
def stoppable(path: str | Path, stop: threading.Event | None = None) -> Iterator[threading.Event]:
    """Register a run into `path` so that `stop_run(path)` can stop it; yields its stop flag."""
    key, flag = str(Path(path).resolve()), stop or threading.Event()
    with _running_lock:
        _running[key] = flag
    try:
        yield flag
    finally:
        with _running_lock:
            if _running.get(key) is flag:
                del _running[key]


def stop_run(path: str | Path) -> bool:
    """Ask the run (or study) going on in this process into `path` to stop; False when none is running there.

    The run raises `Cancelled` within a fraction of a second, its workers killed."""
    with _running_lock:
        flag = _running.get(str(Path(path).resolve()))
    if flag is None:
        return False
    flag.set()
    return True


def check_stop(stop: threading.Event | None) -> None:
    """Raise `Cancelled` when `stop` is set."""
    if stop is not None and stop.is_set():
        raise Cancelled("stopped on request; the finished arms are kept and the run resumes from them")


def worker_init(parent_pid: int) -> None:
    """Pool initializer: die with the parent (kernel signal on Linux, plus a parent-pid watchdog)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent went before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watchdog", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_S)
    os.kill(os.getpid(), signal.SIGKILL)


def make_pool(workers: int, start_method: str) -> ProcessPoolExecutor:
    """A process pool whose workers die with this process."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(start_method),
        initializer=worker_init,
        initargs=(os.getpid(),),
    )


def kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's worker processes now (running calls included) and drop its pending calls."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public handle before Python 3.14
    for process in processes:
        with contextlib.suppress(OSError, AttributeError):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)


def run_in_pool(
    pool: ProcessPoolExecutor,
    calls: Iterable[tuple[Callable[..., Any], tuple]],
    on_result: Callable[[Any], None],
    stop: threading.Event | None = None,
) -> None:
    """Run `calls` (function, args) in `pool`, passing each result to `on_result` as it finishes.

    Raises:
        Cancelled: `stop` was set; the workers are killed.
        Whatever a call or `on_result` raised; the workers are killed first.
    """
    try:
        pending: set[Future] = {pool.submit(fn, *args) for fn, args in calls}
        while pending:
            check_stop(stop)
            done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                on_result(future.result())
    except BaseException:
        kill_workers(pool)
        raise
    pool.shutdown(wait=True)
