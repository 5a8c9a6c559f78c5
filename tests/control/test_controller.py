"""Controlled generation (paper Sec. 2.2, 3.3): the choice of a candidate and the controlled lockstep loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mars_core.control.controller import ControlSettings, cached_control_kit, choose, tilted
from mars_core.control.run import run_controlled
from mars_core.control.signals import ControlSignal, replay_curve
from mars_core.data import LobsterDay
from mars_core.engine import parse_clock
from mars_core.errors import MarsInputError
from mars_core.model.order_images import mirror_sides
from mars_core.model.return_map import ReturnMap
from mars_core.sim.agents.twap import TWAPConfig

ENSEMBLE = Path(__file__).resolve().parents[2] / "assets" / "models" / "ensemble" / "ensemble.pt"
needs_models = pytest.mark.skipif(not ENSEMBLE.is_file(), reason="no shipped ensemble")


def test_choose_takes_the_candidate_closest_to_each_target() -> None:
    predicted = np.array([[-3.0, 0.5, 4.0], [1.0, -1.0, 2.0]])
    assert choose(predicted, np.array([3.0, -5.0])).tolist() == [2, 1]


@needs_models
def test_controlled_rollouts_are_deterministic_by_seed_and_differ_from_uncontrolled(goog_day: LobsterDay) -> None:
    start = parse_clock("14:40")
    signal = ControlSignal("drop", np.array([0.0, -0.002, -0.004]))
    twap = TWAPConfig(side=1, volume=300, duration_s=120.0, interval_s=30.0)
    a = run_controlled(goog_day, start, signal, 2, seed=3, twap=twap, settings=ControlSettings(candidates=2))
    b = run_controlled(goog_day, start, signal, 2, seed=3, twap=twap, settings=ControlSettings(candidates=2))
    off = run_controlled(goog_day, start, signal, 2, seed=3, twap=twap, control=False)
    assert a.paths.shape == (2, 2) and np.isfinite(a.paths).all() and a.target.tolist() == signal.logret[1:].tolist()
    assert np.array_equal(a.paths, b.paths) and a.orders == b.orders and a.orders > 100
    assert a.orders != off.orders or not np.array_equal(a.paths, off.paths)
    assert a.candidate_seconds > 0 and off.candidate_seconds == 0 and a.twap_volume == 300
    assert (a.fills <= 300).all() and (a.fills > 0).any()


@needs_models
def test_an_ensemble_of_another_order_model_is_refused(goog_day: LobsterDay) -> None:
    import dataclasses

    kit = cached_control_kit()
    other = dataclasses.replace(kit, order_model={**kit.order_model, "params": 1})
    with pytest.raises(MarsInputError, match="retrain it with `mars train ensemble"):
        run_controlled(goog_day, parse_clock("14:40"), ControlSignal("flat", np.zeros(2)), 1, kit=other)


@needs_models
def test_tokens_that_delete_nothing_count_toward_the_pace_so_no_rollout_loops(goog_day: LobsterDay) -> None:
    """A cancel token with nothing near its slot takes its turn like an order; before it counted toward the
    minute's pace, the ensemble asked such a rollout for ever shorter waits (GOOG 15:06: 95k steps for 20k orders)."""
    start = parse_clock("15:06")
    signal = replay_curve(goog_day, start, 4)  # without the fix: 21,920 steps for 10,093 orders of 8 rollouts
    on = run_controlled(goog_day, start, signal, 8, seed=0)
    off = run_controlled(goog_day, start, signal, 8, seed=0, control=False)
    assert on.steps < 1.5 * off.steps, (on.steps, off.steps)
    assert on.orders > 0.5 * off.orders


def test_tilting_pushes_an_image_along_its_imbalance_and_keeps_it_a_count() -> None:
    rng = np.random.default_rng(0)
    sells = rng.poisson(2.0, (3, 32, 32)).astype(float)
    image = sells.copy()
    image[0] = 2 * sells[1]  # bids twice the asks, cells by cells
    image[2, 16:] = 2 * sells[2, :16]  # ask cancels twice the bid cancels
    balanced = image + mirror_sides(image)
    assert np.array_equal(tilted(balanced, 3.0), balanced) and np.array_equal(tilted(image, 0.0), image)
    assert (tilted(image, 8.0) >= 0).all()
    predicted = [float(ReturnMap(np.ones(14)).predict(tilted(image, t))) for t in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert predicted[0] > 0 and np.all(np.diff(predicted) > 0)
    assert float(ReturnMap(np.ones(14)).predict(tilted(mirror_sides(image), 2.0))) == pytest.approx(-predicted[3])
