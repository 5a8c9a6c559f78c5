"""The image -> minute-return map the controller elects candidates with."""

from __future__ import annotations

import numpy as np
import pytest

from mars_core.model.order_images import mirror_sides
from mars_core.model.return_map import ReturnMap, image_features


def test_the_return_map_is_antisymmetric_in_buy_and_sell() -> None:
    rng = np.random.default_rng(0)
    img = rng.poisson(1.0, (5, 3, 32, 32)).astype(np.float64)
    rmap = ReturnMap(rng.normal(size=image_features(img).shape[-1]))
    assert np.allclose(rmap.predict(mirror_sides(img)), -rmap.predict(img))
    assert np.allclose(rmap.predict(np.zeros((2, 3, 32, 32))), 0)  # an empty minute predicts no move
    buys = np.zeros((3, 32, 32))
    buys[0, 0:3] = 5  # aggressive bids
    assert image_features(buys)[0] == pytest.approx(np.log1p(15 * 32))
