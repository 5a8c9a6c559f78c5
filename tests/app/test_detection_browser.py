"""Drive the real dashboard in headless Chromium: inject a quote-stuffing episode on the Detection page and watch
its window get flagged, with the Fig. 8 spread distributions of the window."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import needs_chromium, open_page, wait_idle

pytestmark = [pytest.mark.browser, needs_chromium]


def _fill(page, label: str, value: str) -> None:  # noqa: ANN001 - a Playwright page
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")


def test_an_injected_episode_is_flagged_on_the_timeline(app: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, _ = app
    with open_page(height=3000) as page:
        page.goto(f"{url}/detection", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Detection", exact=True)).to_be_visible(timeout=20_000)
        wait_idle(page)
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="GOOG").click()
        wait_idle(page)
        _fill(page, "From", "14:40")
        _fill(page, "To", "14:46")
        _fill(page, "Rollouts", "2")
        page.get_by_text("Noise traders").click()
        page.get_by_test_id("stCheckbox").get_by_text("Inject an episode").click()
        page.get_by_test_id("stSelectbox").nth(2).click()
        page.get_by_role("option", name="quote stuffing").click()
        _fill(page, "At", "14:43:05")
        wait_idle(page)
        flagged = page.get_by_test_id("stMarkdown").filter(has_text="Flagged windows:")
        wait_idle(page)
        page.get_by_role("button", name="Score", exact=True).click()  # injecting and simulating take a while
        expect(flagged).to_be_visible(timeout=240_000)
        timeline = page.locator(".js-plotly-plot").first
        expect(timeline.locator(".gtitle")).to_have_text(
            "GOOG 2012-06-21: similarity per 1-minute window", timeout=120_000
        )
        assert timeline.locator(".scatterlayer .trace").count() == 3  # MarS, baseline, flagged markers
        expect(flagged).to_contain_text("14:43:00 (order_size")
        spread = page.locator(".js-plotly-plot").nth(1)
        expect(spread.locator(".gtitle")).to_have_text("Spread distribution of 14:43:00 (Fig. 8)")
        assert page.get_by_test_id("stException").count() == 0
        page.screenshot(path=str(tmp_path / "detection.png"))
