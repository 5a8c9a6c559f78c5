"""Order images: known counts on hand-made orders, real-day totals, simulated runs, mirroring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mars_core.data.orderflow import order_flow
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.errors import MarsInputError
from mars_core.model.dataset import fit_tokenizer, slice_day
from mars_core.model.order_images import (
    PIXEL_CLIP,
    day_images,
    images_from_run,
    images_from_tokens,
    mirror_sides,
    run_raw_orders,
    slot_labels,
)
from mars_core.model.tokenizer import raw_orders
from mars_core.model.vocab import ASK, BID, CANCEL, join_token
from mars_core.store import ArmWriter, RunDir

M0 = 600  # 10:00


def at(minute: int, second: float = 0.0) -> int:
    return int(minute * NS_PER_MINUTE + second * 1e9)


def test_tokens_become_counts_per_minute_type_price_and_volume_with_clipping() -> None:
    tokens = np.array(
        [join_token(BID, 3, 5, 0)] * 2
        + [join_token(ASK, 31, 0, 7)]
        + [join_token(CANCEL, 16, 2, 1)] * 150
        + [join_token(BID, 3, 5, 15)]  # same cell as the first two: the interval slot is ignored
    )
    ts = np.array([at(M0, 1), at(M0, 2), at(M0, 59.9)] + [at(M0 + 2, 3)] * 150 + [at(M0 + 2, 4)])
    minutes, images, counts = images_from_tokens(tokens, ts)
    assert minutes.tolist() == [M0, M0 + 1, M0 + 2]
    assert images.shape == (3, 3, 32, 32) and images.dtype == np.uint8
    assert images[0, BID, 3, 5] == 2 and images[0, ASK, 31, 0] == 1 and images[0].sum() == 3
    assert images[1].sum() == 0  # a minute without orders is an empty image
    assert images[2, CANCEL, 16, 2] == PIXEL_CLIP  # 150 clipped to 100
    assert images[2, BID, 3, 5] == 1
    assert counts.tolist() == [[2, 1, 0], [0, 0, 0], [1, 0, 150]]  # unclipped counts per type


def test_explicit_minute_range_drops_orders_outside_it() -> None:
    tokens = np.array([join_token(BID, 0, 0, 0)] * 3)
    minutes, images, counts = images_from_tokens(tokens, np.array([at(M0), at(M0 + 1), at(M0 + 5)]), M0 + 1, M0 + 2)
    assert minutes.tolist() == [M0 + 1, M0 + 2] and counts[:, BID].tolist() == [1, 0]
    with pytest.raises(MarsInputError, match="no orders"):
        images_from_tokens(np.array([], dtype=np.int64), np.array([], dtype=np.int64))


@pytest.fixture(scope="module")
def goog_slice(goog_day):
    return slice_day(goog_day, at(600), at(610))  # 10:00-10:10


@pytest.fixture(scope="module")
def slice_tokenizer(goog_slice):
    return fit_tokenizer([goog_slice])


def test_real_day_images_count_every_order_of_each_minute(goog_slice, slice_tokenizer) -> None:
    flow = order_flow(goog_slice)
    imgs = day_images(goog_slice, slice_tokenizer, flow)
    assert imgs.minutes.tolist() == list(range(600, 610))
    per_minute = np.bincount(flow.ts // NS_PER_MINUTE - 600, minlength=10)
    assert imgs.counts.sum(1).tolist() == per_minute.tolist()
    assert imgs.counts.sum() == len(flow)
    sums = imgs.images.reshape(10, 3, -1).sum(-1)
    unclipped = imgs.images.reshape(10, -1).max(1) < PIXEL_CLIP
    assert unclipped.any()
    assert (sums[unclipped] == imgs.counts[unclipped]).all()  # pixels sum to the orders when nothing is clipped
    assert (sums <= imgs.counts).all()
    # the channels follow the order types
    tokens = slice_tokenizer.encode(raw_orders(goog_slice, flow))
    assert imgs.counts[:, CANCEL].sum() == (tokens // (32 * 32 * 16) == CANCEL).sum()
    assert (imgs.mid2_close > 0).all()


def test_slot_labels_give_32_ranges_per_axis(slice_tokenizer) -> None:
    labels = slot_labels(slice_tokenizer)
    assert {k: len(v) for k, v in labels.items()} == {"submit_price": 32, "cancel_price": 32, "volume": 32}
    assert labels["submit_price"][0].startswith("cross 0") and labels["cancel_price"][16].startswith("cancel ask, 0")


def test_mirror_swaps_sides_and_is_an_involution() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 5, (2, 3, 32, 32)).astype(np.uint8)
    m = mirror_sides(img)
    assert (m[:, 0] == img[:, 1]).all() and (m[:, 1] == img[:, 0]).all()
    assert (m[:, 2, :16] == img[:, 2, 16:]).all() and (m[:, 2, 16:] == img[:, 2, :16]).all()
    assert (mirror_sides(m) == img).all()


def _book(ts: list[int], bid: list[int], ask: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"ts": ts, "ask_price_1": ask, "ask_size_1": 100, "bid_price_1": bid, "bid_size_1": 100})


def _orders(rows: list[tuple]) -> pd.DataFrame:
    cols = ["ts", "event", "order_id", "agent", "side", "price", "qty", "kind", "status"]
    return pd.DataFrame(rows, columns=cols)


def test_run_orders_use_the_last_snapshot_before_them(slice_tokenizer) -> None:
    bid, ask = 1_000_000, 1_000_300  # 3-tick spread (tick 100)
    book = _book([at(M0), at(M0, 30)], [bid, bid - 200], [ask, ask])
    orders = _orders(
        [
            (at(M0, 10), 1, 1, 0, 1, bid, 100, 1, 0),  # bid at the best: passive, 0 ticks behind
            (at(M0, 11), 1, 2, 0, -1, 0, 50, 2, 0),  # market sell: crosses at the best bid
            (at(M0, 12), 1, 3, 0, 1, bid - 500, 10, 1, 6),  # rejected: skipped
            (at(M0, 13), 4, 4, 0, 1, bid, 10, 1, 0),  # replayed execution: not an order of the flow
            (at(M0, 40), 3, 1, 1, 1, bid, 100, 1, 0),  # delete, after the second snapshot (best bid - 2 ticks)
        ]
    )
    raw, ts = run_raw_orders(orders, book)
    assert raw.tick == 100 and len(raw) == 3 and ts.tolist() == [at(M0, 10), at(M0, 11), at(M0, 40)]
    assert raw.bid.tolist() == [bid, bid, bid - 200]
    assert raw.price[1] == bid and raw.is_cancel.tolist() == [False, False, True]
    tokens = slice_tokenizer.encode(raw)
    _, images, counts = images_from_tokens(tokens, ts)
    assert counts.tolist() == [[1, 1, 1]]
    only_agent_1, _ = run_raw_orders(orders, book, agents=[1])
    assert len(only_agent_1) == 1 and only_agent_1.is_cancel[0]


def test_images_from_a_run_directory(tmp_path, slice_tokenizer) -> None:
    run = RunDir.create(tmp_path / "run", {"symbol": "TEST"})
    writer = ArmWriter(run, 0, "main")
    writer.write("book", _book([at(M0), at(M0 + 1)], [1_000_000, 1_000_100], [1_000_200, 1_000_300]))
    writer.write(
        "orders",
        _orders([(at(M0, 5), 1, 1, 0, 1, 1_000_000, 100, 1, 0), (at(M0 + 2, 5), 1, 2, 0, -1, 1_000_300, 100, 1, 0)]),
    )
    writer.commit({})
    imgs = images_from_run(run.path, 0, "main", slice_tokenizer)
    assert imgs.minutes.tolist() == [M0, M0 + 1, M0 + 2]
    assert imgs.counts.tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 0]]
    assert imgs.mid2_close.tolist() == [2_000_200, 2_000_400, 2_000_400]
    with pytest.raises(MarsInputError, match="not a finished arm"):
        images_from_run(run, 1, "main", slice_tokenizer)
