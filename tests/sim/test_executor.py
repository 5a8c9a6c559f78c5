"""The local executor: results in the order of the units, each handed over as it finishes, and a stop that
drops the rest."""

from __future__ import annotations

import threading

import pytest

from mars_core.sim.executor import LOCAL, Executor, default_executor, run_units
from mars_core.sim.pool import Cancelled


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_back_in_unit_order_and_each_is_seen_once(workers: int) -> None:
    seen: list[int] = []
    assert run_units(square, range(7), LOCAL, workers, seen.append, start_method="fork") == [0, 1, 4, 9, 16, 25, 36]
    assert sorted(seen) == [0, 1, 4, 9, 16, 25, 36]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_unit_raises_its_own_error(workers: int) -> None:
    with pytest.raises(ValueError, match="three"):
        run_units(fail_on_three, range(6), LOCAL, workers, start_method="fork")


def test_a_stop_after_the_first_result_drops_the_rest() -> None:
    stop, seen = threading.Event(), []

    def first(result: int) -> None:
        seen.append(result)
        stop.set()

    with pytest.raises(Cancelled):
        run_units(square, range(5), LOCAL, 1, first, stop)
    assert seen == [0]


def test_executors_are_named_and_ray_is_the_default_only_with_an_address(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="local, ray"):
        Executor("dask")  # type: ignore[arg-type]
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert default_executor() == LOCAL and Executor("ray").describe() == "a local Ray on this machine"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert default_executor() == Executor("ray") and Executor("ray").describe() == "Ray cluster at 10.0.0.1:6379"
    assert not LOCAL.remote and Executor("ray").remote
