"""Control (paper Sec. 2.2, 3.3): signals, the return map, candidate draws, the controlled loop and its metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mars_core.control.controller import ControlSettings, cached_control_kit, choose
from mars_core.control.evaluate import CONFIGS, path_correlation, pick_starts, summarize
from mars_core.control.run import run_controlled
from mars_core.control.signals import ControlSignal, mid2_at, replay_curve
from mars_core.data import LobsterDay
from mars_core.data.schema import BPS, NS_PER_MINUTE
from mars_core.engine import parse_clock
from mars_core.errors import MarsInputError
from mars_core.model.batch_model import KVCache
from mars_core.model.order_images import mirror_sides
from mars_core.model.return_map import ReturnMap, image_features
from mars_core.sim.agents.twap import TWAPConfig

ENSEMBLE = Path(__file__).resolve().parents[2] / "assets" / "models" / "ensemble" / "ensemble.pt"
needs_models = pytest.mark.skipif(not ENSEMBLE.is_file(), reason="no shipped ensemble")


def test_choose_takes_the_candidate_closest_to_each_target() -> None:
    predicted = np.array([[-3.0, 0.5, 4.0], [1.0, -1.0, 2.0]])
    assert choose(predicted, np.array([3.0, -5.0])).tolist() == [2, 1]


def test_the_return_map_is_antisymmetric_in_buy_and_sell() -> None:
    rng = np.random.default_rng(0)
    img = rng.poisson(1.0, (5, 3, 32, 32)).astype(np.float64)
    rmap = ReturnMap(rng.normal(size=image_features(img).shape[-1]))
    assert np.allclose(rmap.predict(mirror_sides(img)), -rmap.predict(img))
    assert np.allclose(rmap.predict(np.zeros((2, 3, 32, 32))), 0)  # an empty minute predicts no move
    buys = np.zeros((3, 32, 32))
    buys[0, 0:3] = 5  # aggressive bids
    assert image_features(buys)[0] == pytest.approx(np.log1p(15 * 32))


def test_a_signal_is_relative_to_its_start_and_interpolates_between_minutes() -> None:
    s = ControlSignal("t", np.array([0.01, 0.02, 0.0]))
    assert s.minutes == 2 and s.logret[0] == 0 and s.logret[1] == pytest.approx(0.01)
    assert s.target_logret(NS_PER_MINUTE // 2) == pytest.approx(0.005)
    assert s.target_logret(10 * NS_PER_MINUTE) == pytest.approx(-0.01)  # flat after the last point
    assert ControlSignal.from_dict(s.to_dict()).logret.tolist() == s.logret.tolist()
    with pytest.raises(MarsInputError, match="at least 2 finite minute points"):
        ControlSignal("bad", np.array([0.0, np.nan]))


def test_a_replay_curve_is_the_real_mid_path(goog_day: LobsterDay) -> None:
    start = parse_clock("14:40")
    curve = replay_curve(goog_day, start, 5)
    mids = mid2_at(goog_day, start + np.arange(6) * NS_PER_MINUTE).astype(float)
    assert np.allclose(curve.logret, np.log(mids / mids[0])) and curve.minutes == 5
    assert "GOOG 2012-06-21 14:40-14:45" in curve.source
    with pytest.raises(MarsInputError, match="runs past the end of the data"):
        replay_curve(goog_day, parse_clock("15:58"), 10)


def test_held_out_starts_move_enough_and_do_not_overlap(goog_day: LobsterDay) -> None:
    starts = pick_starts(goog_day, 10, 3, 10.0)
    assert starts and len(starts) <= 3
    ts = [s.start_ts for s in starts]
    assert ts == sorted(ts) and min(ts) >= parse_clock("14:30") and np.all(np.diff(ts) >= 10 * NS_PER_MINUTE)
    for s in starts:
        a, b = mid2_at(goog_day, [s.start_ts, s.start_ts + 10 * NS_PER_MINUTE]).astype(float)
        assert abs(s.move_bps) >= 10 and s.move_bps == pytest.approx(np.log(b / a) * BPS, abs=0.01)
    assert pick_starts(goog_day, 10, 3, 10_000.0) == []


def test_the_metric_is_the_mean_path_correlation() -> None:
    target = np.array([0.0, 1.0, 2.0, 3.0])
    assert path_correlation(target * 2 + 1, target) == pytest.approx(1.0)
    assert path_correlation(-target, target) == pytest.approx(-1.0) and path_correlation(np.ones(4), target) == 0.0
    results = [
        {
            "config": c,
            "start": "s",
            "paths": np.stack([target, -target]) if c.startswith("no") else np.stack([target, target]),
            "target": target,
            "seconds": 1.0 if c.startswith("no") else 1.5,
            "orders": 100 if c.startswith("no") else 50,
        }
        for c in CONFIGS
    ]
    s = summarize(results)
    assert s["no_control_no_interaction"] == 0.0 and s["control_interaction"] == 1.0 and s["n"] == 2
    assert s["detail"]["cost_ratio_interaction"] == 1.5 and s["detail"]["cost_ratio_per_order_interaction"] == 3.0
    assert s["detail"]["control_no_interaction"]["end_on_target_side"] == 1.0


@needs_models
def test_the_fast_candidate_step_equals_the_batch_models_step() -> None:
    kit = cached_control_kit()
    m = kit.batch.model
    hist = torch.randint(0, m.config.vocab_size, (2, 128), generator=torch.Generator().manual_seed(0))
    new = torch.randint(0, m.config.vocab_size, (6, 64), generator=torch.Generator().manual_seed(1))
    seq = torch.cat([hist.repeat_interleave(3, 0), new], dim=1)  # 3 candidates of each of 2 histories
    ref = KVCache(m.config.n_layer, m.config.length)
    prefix, suffix = KVCache(m.config.n_layer, 128), KVCache(m.config.n_layer, 64)
    with torch.inference_mode():
        m.step(seq, 0, 128, ref)
        m.step(hist, 0, 128, prefix)
        for pos in range(128, 134):
            want = m.step(seq, pos, 1, ref)[:, -1]
            torch.testing.assert_close(kit.sampler.step_one(seq, pos, prefix, suffix, 3), want, atol=1e-5, rtol=1e-5)
        empty = KVCache(m.config.n_layer, 0)  # no history: the candidates' own cells only
        ref, suffix = KVCache(m.config.n_layer, 64), KVCache(m.config.n_layer, 64)
        for pos in range(3):
            want = m.step(new, pos, 1, ref)[:, -1]
            torch.testing.assert_close(kit.sampler.step_one(new, pos, empty, suffix, 3), want, atol=1e-5, rtol=1e-5)


@needs_models
def test_candidates_are_deterministic_given_their_uniforms() -> None:
    kit = cached_control_kit()
    hist = np.random.default_rng(0).integers(0, kit.batch.model.config.vocab_size, (2, 15, 8, 8))
    u = np.random.default_rng(1).random((2, 3, 64))
    a, b = kit.sampler.sample(hist, 3, u), kit.sampler.sample(hist, 3, u)
    assert a.shape == (2, 3, 8, 8) and np.array_equal(a, b)
    same = np.stack([hist[1], hist[1]])  # identical histories run once: the same draws as one by one
    assert np.array_equal(
        kit.sampler.sample(same, 3, u), np.stack([kit.sampler.sample(same[:1], 3, u[i : i + 1])[0] for i in (0, 1)])
    )
    with pytest.raises(MarsInputError, match=r"uniforms must be \(2, 3, 64\)"):
        kit.sampler.sample(hist, 3, u[:, :2])


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
