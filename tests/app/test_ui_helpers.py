"""The dashboard's UI-side helpers (pages/_ui.py): formatting, tables and the model status."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `pages` is the app's folder, not an installed package
    sys.path.insert(0, str(REPO))

from pages import _ui  # noqa: E402

NS = 1_000_000_000


def test_times_convert_between_ns_and_wall_clock() -> None:
    ns = (9 * 3600 + 30 * 60 + 5) * NS + 123
    assert _ui.fmt_hms(ns) == "09:30:05"
    assert _ui.to_time(ns) == dt.time(9, 30, 5)
    assert _ui.to_ns(dt.time(9, 30, 5)) == ns - 123
    assert _ui.to_time(-5) == dt.time(0, 0) and _ui.to_time(30 * 3600 * NS) == dt.time(23, 59, 59)


def test_grid_step_and_price_bins_read_naturally() -> None:
    assert _ui.fmt_step(np.array([0, 2 * NS])) == "2 s"
    assert _ui.fmt_step(np.array([0, 90 * NS])) == "1 min 30 s"
    assert _ui.fmt_price_bin(np.array([1_000_000, 1_000_300])) == "3¢ bins"


def test_bars_table_shows_dollars_cents_and_shares() -> None:
    bars = pd.DataFrame(
        {
            "minute": [34_200 * NS],
            "time": [pd.Timestamp("2012-06-21 09:30")],
            **{f"{k}_{p}": [5_801_250.0] for k in ("mid", "last") for p in ("open", "high", "low", "close")},
            "volume": [300],
            "trades": [2],
            "spread": [2_500.0],
            "bid_depth": [1000.0],
            "ask_depth": [800.0],
            "submits": [10],
            "cancels": [7],
            "executions": [2],
        }
    )
    row = _ui.bars_table(bars).iloc[0]
    assert row["Time"] == "09:30" and row["Mid open ($)"] == 580.125 and row["Mean spread (¢)"] == 25.0
    assert row["Volume (sh)"] == 300 and row["Executions"] == 2
    assert set(_ui.BARS_COLUMN_CONFIG) <= set(row.index)


def test_model_status_without_a_model(tmp_path: Path) -> None:
    status = _ui.model_status(tmp_path)
    assert not status.found and status.summary == "No trained order model shipped yet."


def test_model_status_finds_checkpoints_and_cards(tmp_path: Path) -> None:
    (tmp_path / "order_model").mkdir()
    (tmp_path / "order_model" / "model_card.md").write_text("# LMM small")
    assert "no checkpoint" in _ui.model_status(tmp_path).summary
    (tmp_path / "vqvae").mkdir()
    (tmp_path / "vqvae" / "model.pt").write_bytes(b"\0")
    status = _ui.model_status(tmp_path)
    assert not status.found and "No order_model checkpoint" in status.summary  # another model is not the LMM
    (tmp_path / "order_model" / "model.pt").write_bytes(b"\0")
    status = _ui.model_status(tmp_path)
    assert status.found and "order_model, vqvae" in status.summary and len(status.cards) == 1
