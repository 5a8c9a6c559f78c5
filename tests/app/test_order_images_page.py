"""AppTest of the Order Images page: a real day's minute as three heatmaps, and a simulated run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mars_core.data.schema import NS_PER_MINUTE
from mars_core.store import ArmWriter, RunDir

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
LOBSTER_DIR = REPO.parent / "shared" / "data" / "lobster"
PAGE = "pages/order_images.py"
HAS_VQVAE = (REPO / "assets" / "models" / "vqvae" / "vqvae.pt").is_file()
HAS_BATCH = (REPO / "assets" / "models" / "batch_model" / "batch_model.pt").is_file()


@pytest.fixture
def lobster_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    if not LOBSTER_DIR.is_dir():
        pytest.skip(f"the LOBSTER sample data is not at {LOBSTER_DIR}")
    monkeypatch.setenv("MARS_DATA_DIR", str(LOBSTER_DIR))
    monkeypatch.setenv("MARS_RUNS_DIR", str(tmp_path / "runs"))
    return LOBSTER_DIR


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def heatmaps(at: AppTest) -> list[dict]:
    """Every figure on the page made of three heatmaps (an order image)."""
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return [f for f in figs if [t["type"] for t in f["data"]] == ["heatmap"] * 3]


def test_a_real_minute_shows_bid_ask_cancel_heatmaps_with_slot_ranges(lobster_dir: Path) -> None:
    at = open_page()
    assert at.title[0].value == "Order images"
    assert at.session_state["oi_symbol"] == "AMZN"  # the first symbol
    slider = at.select_slider[0]
    assert slider.value == 600  # 10:00 by default
    images = heatmaps(at)
    assert len(images) == 1 + HAS_VQVAE + HAS_BATCH
    real = images[0]
    titles = [a["text"] for a in real["layout"]["annotations"]]
    assert titles[0].startswith("Bid submissions") and titles[2].startswith("Cancels")
    hover = real["data"][0]["text"]  # rows = volume slots, columns = price slots
    assert hover[0][0].startswith("price slot 0: cross 0 t beyond opposite best")
    assert "volume slot 5:" in hover[5][0] and " sh" in hover[5][0]
    shown = sum(int(m.value.replace(",", "")) for m in at.metric[1:4])
    assert int(at.metric[0].value.replace(",", "")) == shown > 0
    z_before = real["data"][0]["z"]
    slider.set_value(601).run()
    assert not at.exception
    assert heatmaps(at)[0]["data"][0]["z"] != z_before  # another minute, another image


@pytest.mark.skipif(not HAS_BATCH, reason="no shipped order-batch model")
def test_batch_model_candidates_follow_the_seed(lobster_dir: Path) -> None:
    at = open_page()
    first = heatmaps(at)[-1]["data"][0]["z"]
    at.number_input(key="oi_seed").set_value(1).run()
    assert not at.exception
    assert heatmaps(at)[-1]["data"][0]["z"] != first


def test_a_simulated_run_becomes_images(lobster_dir: Path, tmp_path: Path) -> None:
    config = {
        "symbol": "GOOG",
        "date": "2012-06-21",
        "start": "10:00",
        "minutes": 2.0,
        "rollouts": 1,
        "background": "noise",
        "seed": 0,
        "twap": [],
        "inject_csv": None,
        "paired": False,
        "snapshot_levels": 10,
        "snapshot_interval_ms": 1000,
        "depth": 10,
        "latency_ms": 0.0,
    }
    run = RunDir.create(tmp_path / "runs" / "20260101-000000-GOOG-abcdef12", config)
    writer = ArmWriter(run, 0, "main")
    t0 = 600 * NS_PER_MINUTE
    writer.write(
        "book",
        pd.DataFrame(
            {
                "ts": [t0, t0 + NS_PER_MINUTE],
                "ask_price_1": [5_800_100, 5_800_200],
                "ask_size_1": 100,
                "bid_price_1": [5_800_000, 5_800_000],
                "bid_size_1": 100,
            }
        ),
    )
    writer.write(
        "orders",
        pd.DataFrame(
            {
                "ts": [t0 + 10**9, t0 + 2 * 10**9, t0 + NS_PER_MINUTE + 10**9],
                "event": [1, 1, 3],
                "order_id": [1, 2, 1],
                "agent": 0,
                "side": [1, -1, 1],
                "price": [5_800_000, 5_800_100, 5_800_000],
                "qty": 100,
                "kind": 1,
                "status": 0,
            }
        ),
    )
    writer.commit({})
    at = open_page()
    at.radio(key="oi_source").set_value("Simulated run").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "GOOG 2012-06-21" in at.selectbox(key="oi_run").value.label
    assert [m.value for m in at.metric[:4]] == ["2", "1", "1", "0"]  # 10:00: one bid, one ask
    assert len(heatmaps(at)) >= 1
