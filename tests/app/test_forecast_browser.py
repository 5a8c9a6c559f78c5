"""Drive the real dashboard in headless Chromium: forecast one moment on the Forecast page from noise futures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import click_until_shown, needs_chromium, open_page, wait_idle

pytestmark = [pytest.mark.browser, needs_chromium]


def test_forecast_one_moment_draws_the_fan_and_the_probabilities(app: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, _ = app
    with open_page(height=3000) as page:
        page.goto(f"{url}/forecast", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Forecast", exact=True)).to_be_visible(timeout=20_000)
        expect(page.get_by_test_id("stSidebarNavLink").filter(has_text=re.compile(r"Forecast$"))).to_have_count(
            1, timeout=20_000
        )
        wait_idle(page)
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="GOOG").click()
        wait_idle(page)
        box = page.get_by_role("spinbutton", name="Rollouts")
        box.fill("3")
        box.press("Enter")
        expect(box).to_have_value("3")
        page.get_by_test_id("stRadioGroup").get_by_text("Noise traders").click()
        wait_idle(page)
        title = page.get_by_text(re.compile(r"GOOG 2012-06-21 at 15:00:00: noise traders"))
        click_until_shown(page, page.get_by_role("button", name="Forecast", exact=True), title)
        fan = page.locator(".js-plotly-plot").first
        expect(fan.locator(".gtitle")).to_have_text("3 simulated mids and the real one", timeout=60_000)
        assert fan.locator(".scatterlayer .trace").count() == 4  # 3 rollouts and the real mid
        legend = fan.locator(".legendtext").all_text_contents()
        assert legend == ["simulated", "real"]
        expect(page.get_by_text("3 rollouts in")).to_be_visible()
        board = page.locator(".js-plotly-plot").nth(1)  # the shipped held-out scoreboard (no local evaluation)
        expect(board.locator(".gtitle")).to_have_text("Held-out trend accuracy: 86 start points, 16 rollouts each")
        assert "DeepLOB" in board.locator(".legendtext").all_text_contents()
        assert page.get_by_test_id("stException").count() == 0
        page.screenshot(path=str(tmp_path / "forecast.png"))
