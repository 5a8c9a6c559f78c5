"""Training streams: the depth augmentation scales levels 2-10 and nothing else; batches are seeded."""

from __future__ import annotations

import numpy as np
import torch

from mars_core.data import LobsterDay
from mars_core.model.dataset import DEEP_COLUMNS, build_stream, get_batch
from mars_core.model.tokenizer import OrderTokenizer


def test_depth_augmentation_rebins_levels_2_to_10_and_keeps_the_best_levels_and_the_spread(
    goog_day: LobsterDay, tokenizer: OrderTokenizer
) -> None:
    stream = build_stream(goog_day, tokenizer)
    plain, scaled = stream.window(5000, 64)[1], stream.window(5000, 64, depth_scale=3.0)[1]
    keep = np.setdiff1d(np.arange(21), DEEP_COLUMNS)  # ask L1, bid L1 and the spread
    assert keep.tolist() == [0, 10, 20]
    assert torch.equal(plain[..., keep], scaled[..., keep])
    expected = tokenizer.lob.bin((stream.volumes[5000:5064].astype(np.float64) * 3.0).astype(np.int64))
    assert np.array_equal(scaled[0, :, DEEP_COLUMNS].numpy(), expected[:, DEEP_COLUMNS])
    assert (scaled[0, :, DEEP_COLUMNS] >= plain[0, :, DEEP_COLUMNS]).all() and not torch.equal(plain, scaled)


def test_batches_are_seeded_and_the_augmentation_draws_one_factor_per_window(
    goog_day: LobsterDay, tokenizer: OrderTokenizer
) -> None:
    streams = [build_stream(goog_day, tokenizer)]
    a = get_batch(streams, 4, 32, np.random.default_rng([0, 1]), depth_sigma=0.7)
    b = get_batch(streams, 4, 32, np.random.default_rng([0, 1]), depth_sigma=0.7)
    plain = get_batch(streams, 4, 32, np.random.default_rng([0, 1]))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert torch.equal(a[0], plain[0]) and not torch.equal(a[1], plain[1])  # same windows, other depths
