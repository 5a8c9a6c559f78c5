"""Injected manipulation: the written day replays and verifies, the labels round-trip, each kind leaves its mark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mars_core.data import find_dataset, load_day
from mars_core.data.schema import EventType, LobsterDay
from mars_core.engine import parse_clock, replay_day
from mars_core.errors import ConfigError
from mars_core.experiments.manipulation import EpisodeSpec, ManipulatedDay, inject, read_labels, write_day

SPECS = [
    EpisodeSpec(kind="spoofing", start="10:30", intensity=3, side=1),
    EpisodeSpec(kind="layering", start="11:00", intensity=2, side=-1),
    EpisodeSpec(kind="quote_stuffing", start="11:30", intensity=2, seconds=10),
    EpisodeSpec(kind="momentum_ignition", start="12:30", intensity=5, side=-1),
]


@pytest.fixture(scope="module")
def manipulated(goog_day: LobsterDay) -> ManipulatedDay:
    return inject(goog_day, SPECS, seed=1)


def _episode(m: ManipulatedDay, kind: str):
    return next(e for e in m.episodes if e.kind == kind)


def _messages_of(m: ManipulatedDay, ids: list[int]) -> np.ndarray:
    return np.flatnonzero(np.isin(m.day.events.order_id, ids))


def test_the_manipulated_day_verifies_like_the_real_one(manipulated: ManipulatedDay, goog_day: LobsterDay) -> None:
    _, real = replay_day(goog_day)
    _, report = replay_day(manipulated.day)
    assert report.l1_match_rate == 1.0
    assert report.mismatch_causes["in_view"] == 0
    assert report.anomalies["overdrawn_level"] == 0
    assert report.messages == len(manipulated.day.events) > real.messages


def test_a_deep_sweep_of_a_five_level_book_verifies(amzn_day: LobsterDay) -> None:
    # the sweep empties AMZN's visible bids, so levels the real file only corrected come into view: their changes
    # are reconciling messages
    m = inject(amzn_day, [EpisodeSpec(kind="momentum_ignition", start="12:30", intensity=5, side=-1)])
    _, report = replay_day(m.day)
    assert report.l1_match_rate == 1.0 and report.mismatch_causes["in_view"] == 0
    assert m.reconciling > 0


def test_the_book_outside_the_episodes_is_the_real_one(manipulated: ManipulatedDay, goog_day: LobsterDay) -> None:
    first = parse_clock("10:30")
    n = int(np.searchsorted(goog_day.events.ts, first))
    assert np.array_equal(manipulated.day.book[:n], goog_day.book[:n])
    assert np.array_equal(manipulated.day.events.order_id[:n], goog_day.events.order_id[:n])
    # the last hour is untouched too (every taken order has left the real book by then)
    tail = int(np.searchsorted(goog_day.events.ts, parse_clock("15:00")))
    shift = len(manipulated.day.events) - len(goog_day.events)
    assert np.array_equal(manipulated.day.book[tail + shift :], goog_day.book[tail:])


@pytest.mark.parametrize("kind", ["spoofing", "layering"])
def test_spoof_orders_are_large_far_from_the_touch_and_cancelled_unexecuted(
    manipulated: ManipulatedDay, kind: str
) -> None:
    episode = _episode(manipulated, kind)
    ev = manipulated.day.events
    rows = _messages_of(manipulated, episode.order_ids)
    assert len(episode.order_ids) == (1 if kind == "spoofing" else 3)
    assert sorted(ev.type[rows].tolist()) == [EventType.SUBMIT] * len(episode.order_ids) + [EventType.DELETE] * len(
        episode.order_ids
    )
    submits = rows[ev.type[rows] == EventType.SUBMIT]
    before = manipulated.day.book[submits - 1]
    best = before[:, 2] if episode.side > 0 else before[:, 0]
    assert np.all(episode.side * (best - ev.price[submits]) >= 2 * manipulated.day.info.tick_size)
    assert np.all(ev.side[submits] == episode.side)
    # large relative to the book: at least the mean size of a visible level of its side
    sizes = before[:, 3::4] if episode.side > 0 else before[:, 1::4]
    assert np.all(ev.size[submits] >= sizes.mean(axis=1))
    # and the manipulator trades against its own side's orders (aggressive orders of the other side)
    executed = _messages_of(manipulated, episode.executed_ids)
    takes = executed[(ev.type[executed] == EventType.EXECUTE) & (ev.ts[executed] <= episode.end_ns)]
    assert len(takes) >= 1 and np.all(ev.side[takes] == episode.side)


def test_quote_stuffing_is_bursts_of_orders_cancelled_within_milliseconds(manipulated: ManipulatedDay) -> None:
    episode = _episode(manipulated, "quote_stuffing")
    ev = manipulated.day.events
    rows = _messages_of(manipulated, episode.order_ids)
    assert len(episode.order_ids) == 10 * 20  # one burst a second for 10 s, 10 x intensity orders each
    submit = {int(o): int(t) for o, t, k in zip(ev.order_id[rows], ev.ts[rows], ev.type[rows]) if k == 1}
    delete = {int(o): int(t) for o, t, k in zip(ev.order_id[rows], ev.ts[rows], ev.type[rows]) if k == 3}
    assert submit.keys() == delete.keys()
    life = np.array([delete[o] - submit[o] for o in submit])
    assert np.all((life >= 0) & (life < 20_000_000))


def test_momentum_ignition_pushes_the_price_then_reverses(manipulated: ManipulatedDay, goog_day: LobsterDay) -> None:
    episode = _episode(manipulated, "momentum_ignition")  # side -1: sells first (takes bids), then buys back
    ev, book = manipulated.day.events, manipulated.day.book
    rows = _messages_of(manipulated, episode.executed_ids)
    rows = rows[(ev.type[rows] == EventType.EXECUTE) & (ev.ts[rows] <= episode.end_ns)]
    first_phase = ev.ts[rows] < episode.start_ns + 10**9
    assert np.all(ev.side[rows][first_phase] == 1) and np.all(ev.side[rows][~first_phase] == -1)
    start, end = rows[first_phase][[0, -1]]
    assert book[end, 2] < book[start - 1, 2]  # the sweep lowered the best bid
    real_at = np.searchsorted(goog_day.events.ts, ev.ts[end], side="right") - 1
    assert book[end, 2] < goog_day.book[real_at, 2]  # below where the real market stood


def test_labels_round_trip_and_the_folder_is_a_data_dir(manipulated: ManipulatedDay, tmp_path: Path) -> None:
    message, orderbook, labels = write_day(manipulated, tmp_path)
    assert message.name.startswith("GOOG_2012-06-21_") and message.name.endswith("_message_10.csv")
    assert orderbook.exists()
    assert read_labels(labels) == manipulated.episodes
    day = load_day(find_dataset("GOOG", "2012-06-21", tmp_path))
    assert np.array_equal(day.events.ts, manipulated.day.events.ts)
    assert np.array_equal(day.events.size, manipulated.day.events.size)
    assert np.array_equal(day.book, manipulated.day.book)


def test_overlapping_episodes_are_refused(goog_day: LobsterDay) -> None:
    with pytest.raises(ConfigError, match="overlap"):
        inject(
            goog_day,
            [
                EpisodeSpec(kind="quote_stuffing", start="10:00", seconds=30),
                EpisodeSpec(kind="spoofing", start="10:00:10"),
            ],
        )
