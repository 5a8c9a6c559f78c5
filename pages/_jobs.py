"""Long runs started from a page (a study, a simulation) in a process of their own, which Stop ends at once.

A page that ran a study in its script thread could not stop it: the script only notices a
Stop at its next Streamlit call, and leaving the runner's process pool waits for every
queued simulation (a stopped study ran its 528 arms to the end). Here the run is a spawned
process that leads its own process group, so its pool workers are in the group too, and
`Job.stop` ends them all with one signal. The page polls the job for the progress its
`progress` callback reported, and for the outcome, which is never a traceback: an error is
one line with its kind. The job also ends itself when the server that started it dies.

No Streamlit here: the runner's own cancellation can replace `stop` without the pages changing.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from mars_core.errors import MarsInputError
from mars_core.sim.pool import Cancelled

STOP_GRACE_S = 2.0  # SIGTERM, then SIGKILL for what is still alive after this long
WATCH_PARENT_S = 1.0  # how often a job checks that the server that started it is alive


@dataclass(frozen=True)
class Outcome:
    """How a job ended: "done" (with its `value`), "stopped", or an error kind ("input", "worker", "unavailable",
    "failed") with a one-line `message`."""

    kind: str
    value: Any = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "done"


@dataclass
class Job:
    """A run in a spawned process group; `events` are the (done, total, detail) its progress callback reported."""

    process: multiprocessing.process.BaseProcess
    channel: Any  # a multiprocessing queue of ("progress", (done, total, detail)) and ("outcome", Outcome)
    started: float = field(default_factory=time.perf_counter)
    outcome: Outcome | None = None
    last: tuple[int, int, dict] | None = None  # the latest progress, for a page that follows the job again

    @property
    def running(self) -> bool:
        return self.outcome is None

    def poll(self) -> list[tuple[int, int, dict]]:
        """The progress reported since the last poll; sets `outcome` once the job has ended."""
        events = self._drain()
        if self.outcome is None and not self.process.is_alive():
            self.process.join()
            events += self._drain(timeout=0.5)  # what it sent just before it ended may still be in the pipe
            if self.outcome is None:
                self.outcome = Outcome("worker", message=f"the run's process ended with code {self.process.exitcode}")
        return events

    def _drain(self, timeout: float | None = None) -> list[tuple[int, int, dict]]:
        events = []
        while True:
            try:
                kind, payload = self.channel.get(timeout=timeout) if timeout else self.channel.get_nowait()
            except queue.Empty:
                return events
            if kind == "progress":
                events.append(payload)
                self.last = payload
            else:
                self.outcome = payload

    def stop(self) -> None:
        """End the job and every worker process it started (its process group); returns once they are gone."""
        if self.outcome is not None:
            return
        # the process itself too: until it has made its group (while it imports) the group does not exist yet
        _signal_group(self.process.pid, signal.SIGTERM)
        self.process.terminate()
        self.process.join(STOP_GRACE_S)
        _signal_group(self.process.pid, signal.SIGKILL)  # workers that ignored SIGTERM, or were busy in C code
        self.process.kill()
        self.process.join()
        self.outcome = Outcome("stopped")


def start(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Job:
    """Call `run(*args, progress=..., **kwargs)` in a new process group; `run` must be importable by name."""
    context = multiprocessing.get_context("spawn")  # not fork: the server may hold torch's threads and locks
    channel = context.Queue()
    process = context.Process(target=_main, args=(run, args, kwargs, channel, os.getpid()), daemon=False)
    process.start()
    return Job(process, channel)


def _signal_group(pid: int | None, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, TypeError):
        os.killpg(pid, sig)


def _main(run: Callable[..., Any], args: tuple, kwargs: dict, channel: Any, server: int) -> None:
    """The job process: lead a process group, watch the server, run, and report the outcome in one line."""
    os.setpgid(0, 0)
    threading.Thread(target=_watch_parent, args=(server,), daemon=True).start()
    progress = lambda done, total, detail: channel.put(("progress", (done, total, _plain(detail))))  # noqa: E731
    try:
        outcome = Outcome("done", value=run(*args, progress=progress, **kwargs))
    except Cancelled:
        outcome = Outcome("stopped")
    except MarsInputError as err:
        outcome = Outcome("input", message=str(err))
    except BrokenProcessPool:
        outcome = Outcome("worker", message="a simulation worker process died (out of memory?)")
    except ImportError as err:  # a background whose code is not in this build
        outcome = Outcome("unavailable", message=str(err))
    except Exception as err:  # noqa: BLE001 (any other failure: one line for the page, the traceback for the log)
        traceback.print_exc()
        outcome = Outcome("failed", message=f"{type(err).__name__}: {err}")
    channel.put(("outcome", outcome))
    channel.close()
    channel.join_thread()


def _watch_parent(server: int) -> None:
    """End the whole job (its workers too) once the server that started it is gone."""
    while os.getppid() == server:
        time.sleep(WATCH_PARENT_S)
    os.killpg(0, signal.SIGKILL)


def _plain(detail: Any) -> dict:
    """The part of a progress detail that crosses processes: plain numbers and strings."""
    if not isinstance(detail, dict):
        return {}
    return {k: v for k, v in detail.items() if isinstance(v, (int, float, str, bool)) or v is None}
