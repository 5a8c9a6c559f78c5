"""Drive the Scenarios page in headless Chromium: typed prompts are read as written, or refused in the user's words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import assert_gone_within, needs_chromium, open_page, wait_for_job, wait_idle

pytestmark = [pytest.mark.browser, needs_chromium]


def test_signs_durations_and_tickers_are_read_as_typed(app: tuple[str, Path]) -> None:
    from playwright.sync_api import expect

    url, _ = app
    with open_page(height=2400) as page:
        page.goto(f"{url}/scenarios", wait_until="domcontentloaded")
        box = page.get_by_role("textbox", name="Scenario", exact=True)
        errors = page.get_by_test_id("stAlertContentError")

        def say(text: str) -> None:
            box.fill(text)
            box.press("Enter")
            wait_idle(page)

        say("\u22123% over \u221210 minutes")  # unicode minus signs, as pasted from a document
        expect(errors.first).to_contain_text("the duration -10 minutes is negative", timeout=20_000)
        say("\u22123% over 10 minutes")
        expect(page.get_by_text("Parsed: Sharp drop of 3% over 10 minutes")).to_be_visible(timeout=20_000)
        say("PWNED drops 1% over 10 minutes")
        expect(errors.first).to_contain_text("PWNED is not a symbol of the data catalogue (AMZN, GOOG)")
        say("drop of 50% over 10 minutes")
        expect(errors.first).to_contain_text("the size 50% is out of range")
        assert "magnitude_pct" not in errors.first.inner_text()
        assert page.get_by_test_id("stException").count() == 0


def test_stop_ends_a_scenario_simulation(app: tuple[str, Path]) -> None:
    from playwright.sync_api import expect

    url, _ = app
    with open_page(height=3000) as page:
        page.goto(f"{url}/scenarios", wait_until="domcontentloaded")
        box = page.get_by_role("textbox", name="Scenario", exact=True)
        box.fill("sharp drop of 1% over 10 minutes")
        box.press("Enter")
        run = page.get_by_role("button", name=re.compile("Run simulations"))
        expect(run).to_be_enabled(timeout=60_000)
        run.click()
        stop = page.get_by_role("button", name=re.compile("Stop simulations"))
        expect(stop).to_be_visible(timeout=30_000)
        wait_for_job(url, 1, 30, why="the simulation runs in a job of its own")
        stop.click()
        assert_gone_within(url, 10)
        expect(page.get_by_text(re.compile("Stopped. The finished simulations are kept"))).to_be_visible(timeout=20_000)
        expect(run).to_be_visible()
        assert page.get_by_test_id("stException").count() == 0
