"""Where a run's work units run: local worker processes or a Ray cluster, behind one function.

    from mars_core.sim.executor import Executor, run_units
    results = run_units(fn, units, Executor("ray"), workers=None, on_result=print)

`run_units(fn, units, executor, workers, on_result, stop)` calls `fn(unit)` for every unit and returns the
results in the order of `units`; `on_result(result)` sees each as it finishes (in the calling process). `fn` must
be a module-level function and the units picklable. The executors:

- `Executor("local")` (the default): a process pool of `workers` processes (default: one per core), whose
  workers are killed when the run stops (`pool`); with one worker (or one unit) the units run in this process.
- `Executor("ray", address)`: one Ray task per unit, at most `workers` in flight (default: as many as the
  cluster has CPUs). Ray is started once per process: at `address`, else at `$RAY_ADDRESS`, else a local Ray on
  this machine's cores (no dashboard, no usage report, worker logs not echoed). A stop cancels the pending tasks.

Results travel back to the calling process (the driver), which writes the run store: workers on other machines
need neither the store nor a shared filesystem, only this package and the LOBSTER data at the same path
(`runner.ship_arm` packs a finished arm for the trip). The same seeds give the same bytes on either executor.
Stopping: `stop` set (or `on_result` raising, or a unit failing) drops the pending units and raises
(`pool.Cancelled` for a stop); units already finished stay finished, so a rerun resumes from them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mars_core.errors import MarsInputError
from mars_core.sim.pool import POLL_S, check_stop, make_pool, run_in_pool

ExecutorKind = Literal["local", "ray"]
KINDS: tuple[ExecutorKind, ...] = ("local", "ray")
RAY_ADDRESS_ENV = "RAY_ADDRESS"
RAY_CONNECT_S = 5.0  # how long a cluster address may take to answer before it is refused


@dataclass(frozen=True)
class Executor:
    """Where work units run: `local` processes, or `ray` at `address` (None: `$RAY_ADDRESS`, else a local Ray)."""

    kind: ExecutorKind = "local"
    address: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"executor {self.kind!r}: choose one of {', '.join(KINDS)}")

    @property
    def remote(self) -> bool:
        """Whether units may run on another machine (their results then come back to be written here)."""
        return self.kind == "ray"

    def describe(self) -> str:
        """One line naming the executor (for pages and logs)."""
        if self.kind == "local":
            return "local processes"
        address = self.address or os.environ.get(RAY_ADDRESS_ENV)
        return f"Ray cluster at {address}" if address else "a local Ray on this machine"


LOCAL = Executor()


def default_executor() -> Executor:
    """Ray when `$RAY_ADDRESS` names a cluster (the dashboard's choice), else local processes."""
    return Executor("ray") if os.environ.get(RAY_ADDRESS_ENV) else LOCAL


def run_units(
    fn: Callable[[Any], Any],
    units: Sequence[Any],
    executor: Executor = LOCAL,
    workers: int | None = None,
    on_result: Callable[[Any], None] | None = None,
    stop: threading.Event | None = None,
    start_method: str = "spawn",
) -> list[Any]:
    """`[fn(u) for u in units]` on `executor`, with `on_result` called on each result as it finishes.

    Args:
        workers: local processes, or Ray tasks in flight (default: every core of the machine or cluster).
        start_method: how local workers start ("fork" is quicker; "spawn" is safe once torch has threads).

    Raises:
        pool.Cancelled: `stop` was set; pending units are dropped, running ones killed.
        Whatever `fn` or `on_result` raised (the rest dropped first).
    """
    results: list[Any] = [None] * len(units)

    def finished(indexed: tuple[int, Any]) -> None:
        results[indexed[0]] = indexed[1]
        if on_result is not None:
            on_result(indexed[1])

    if executor.kind == "ray":
        _run_on_ray(fn, units, executor.address, workers, finished, stop)
        return results
    workers = min(workers or os.cpu_count() or 1, max(len(units), 1))
    if workers <= 1:
        for i, unit in enumerate(units):
            check_stop(stop)
            finished((i, fn(unit)))
        return results
    calls = [(_indexed, (fn, i, unit)) for i, unit in enumerate(units)]
    run_in_pool(make_pool(workers, start_method), calls, finished, stop)
    return results


def _indexed(fn: Callable[[Any], Any], i: int, unit: Any) -> tuple[int, Any]:
    return i, fn(unit)


_ray_lock = threading.Lock()


def ray_session(address: str | None = None) -> Any:
    """The `ray` module, connected: to `address`, else `$RAY_ADDRESS`, else a new local Ray on this machine's cores.

    A Ray already started in this process (by a test, or an earlier study) is reused."""
    import ray

    with _ray_lock:
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no report home: runs work offline
            address = address or os.environ.get(RAY_ADDRESS_ENV)
            check_ray_address(address)
            try:
                ray.init(
                    address=address,
                    num_cpus=None if address else os.cpu_count(),
                    include_dashboard=False,
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                )
            except (ValueError, ConnectionError, RuntimeError) as err:
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise MarsInputError(f"Ray cluster at {address or 'auto'}: cannot connect ({first})") from None
    return ray


def check_ray_address(address: str | None) -> None:
    """Refuse, within `RAY_CONNECT_S`, a Ray address that is not host:port (or ray://host:port, auto, local) or
    where nothing answers: Ray itself retries an unreachable address for minutes."""
    if address is None or address in ("auto", "local"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise MarsInputError(f"Ray address {address!r} is not host:port (or ray://host:port, auto)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=RAY_CONNECT_S).close()
    except OSError as err:
        raise MarsInputError(
            f"Ray cluster at {address}: nothing answers there ({err.strerror or err}); start one with "
            "`ray start --head`, or leave out --ray-address for a local Ray"
        ) from None


def _run_on_ray(
    fn: Callable[[Any], Any],
    units: Sequence[Any],
    address: str | None,
    workers: int | None,
    finished: Callable[[tuple[int, Any]], None],
    stop: threading.Event | None,
) -> None:
    ray = ray_session(address)
    task = ray.remote(_indexed)
    limit = workers or max(int(ray.cluster_resources().get("CPU", 1)), 1)
    queue = list(enumerate(units))[::-1]
    pending: list[Any] = []
    try:
        while queue or pending:
            check_stop(stop)
            while queue and len(pending) < limit:
                i, unit = queue.pop()
                pending.append(task.remote(fn, i, unit))
            done, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
            for ref in done:
                finished(ray.get(ref))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
