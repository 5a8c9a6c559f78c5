"""Execution Agent page: the shipped agent's held-out scoreboard and learning curve, and one episode next to L1-P0.9."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser import needs_chromium, open_page, wait_idle
from streamlit.testing.v1 import AppTest

from mars_core.paths import MODELS_DIR

REPO = Path(__file__).resolve().parents[2]
LOBSTER_DIR = REPO.parent / "shared" / "data" / "lobster"
AGENT = MODELS_DIR / "execution_agent"


@pytest.fixture
def lobster_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    if not LOBSTER_DIR.is_dir():
        pytest.skip(f"the LOBSTER sample data is not at {LOBSTER_DIR}")
    monkeypatch.setenv("MARS_DATA_DIR", str(LOBSTER_DIR))
    return LOBSTER_DIR


def test_the_page_shows_the_shipped_scoreboard_and_runs_an_episode(lobster_dir: Path) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    at.switch_page("pages/execution_agent.py").run()
    assert not at.exception, [e.value for e in at.exception]
    board = at.dataframe[0].value
    noise = json.loads((AGENT / "heldout_noise.json").read_text())
    row = board[(board.Background == "noise") & (board.Versus == "L1-P0.9")].iloc[0]
    assert row["Advantage (bps)"] == pytest.approx(noise["advantage_bps"]) and row.Starts == noise["starts"]
    assert len(board) == 4 * len(list(AGENT.glob("heldout_*.json")))
    assert len(at.get("plotly_chart")) == 1  # the learning curve
    at.session_state["ea_shown"] = ("AMZN", "14:30", 0, "noise")  # what Run stores (the browser test clicks it)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [m.label for m in at.metric]
    assert labels == ["agent: advantage vs arrival", "L1-P0.9: advantage vs arrival"]
    assert all(re.fullmatch(r"[+-]\d+\.\d\d bps", m.value) for m in at.metric)
    assert len(at.get("plotly_chart")) == 2


@pytest.mark.browser
@needs_chromium
def test_an_episode_in_the_browser(app: tuple[str, Path]) -> None:
    from playwright.sync_api import expect

    url, _ = app
    with open_page(height=3000) as page:
        page.goto(f"{url}/execution_agent", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Execution Agent", exact=True)).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Held-out scoreboard")).to_be_visible()
        wait_idle(page)
        page.get_by_role("button", name=re.compile("Run the episode")).click()
        charts = page.locator(".js-plotly-plot")
        expect(charts).to_have_count(2, timeout=60_000)
        expect(charts.nth(1).locator(".gtitle")).to_have_text("AMZN 2012-06-21 from 14:30, seed 0 (noise background)")
        expect(page.get_by_test_id("stMetricLabel").first).to_contain_text("agent: advantage vs arrival")
        legend = charts.nth(1).locator(".legendtext").all_text_contents()
        assert legend == ["agent", "L1-P0.9"]
        assert page.get_by_test_id("stException").count() == 0
