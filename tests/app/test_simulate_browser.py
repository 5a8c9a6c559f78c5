"""Drive the real dashboard in headless Chromium: one short Simulate run with a TWAP agent, clicked through."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import pytest
from browser import assert_gone_within, click_until_shown, needs_chromium, open_page, wait_idle

pytestmark = [pytest.mark.browser, needs_chromium]


def test_a_short_paired_twap_run_draws_its_fan_chart(app: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, runs = app
    with open_page(height=4000) as page:
        # A deep link as the server's first request: it must still go through app.py's router.
        page.goto(f"{url}/simulate", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Simulate", exact=True)).to_be_visible(timeout=20_000)
        # routed through app.py: its navigation titles the page "Simulate" (the legacy pages/ mode shows "simulate")
        expect(page.get_by_test_id("stSidebarNavLink").filter(has_text=re.compile(r"Simulate$"))).to_have_count(
            1, timeout=20_000
        )
        expect(page.get_by_text("No runs yet")).to_be_visible(timeout=20_000)

        # GOOG, 1 minute, 2 rollouts, one TWAP buyer (paired by default): 4 simulations.
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="GOOG").click()
        for name, value in (("Length (minutes)", "1"), ("Rollouts", "2")):
            box = page.get_by_role("spinbutton", name=name)
            box.fill(value)
            box.press("Enter")
            expect(box).to_have_value(value)
        page.get_by_text("Your orders: TWAP execution agents").click()
        add = page.get_by_role("button", name=re.compile("Add a TWAP agent"))
        click_until_shown(page, add, page.get_by_text("L1-P0.9"))
        expect(page.get_by_role("switch", name=re.compile("Paired"))).to_be_checked()
        expect(page.get_by_text(re.compile(r"2 rollouts × 2 .* = 4 simulations of 1 min"))).to_be_visible()

        page.get_by_role("button", name=re.compile("Run simulation")).click()
        expect(page.get_by_text(re.compile(r"Finished: 4 of 4 simulations"))).to_be_visible(timeout=45_000)

        charts = page.locator(".js-plotly-plot")
        expect(charts).to_have_count(3, timeout=20_000)
        fan = charts.first
        expect(fan.locator(".gtitle")).to_have_text(
            "GOOG 2012-06-21 — mid price: real day vs 2 simulated futures (noise)"
        )
        # bands, medians and the real day are line traces; the TWAP's fills are marker points
        expect(fan.locator(".scatterlayer .trace path.js-line").first).to_be_attached(timeout=20_000)
        assert fan.locator(".scatterlayer .trace").count() >= 11  # 2 arms x (4 band edges + median) + real day
        expect(fan.locator(".scatterlayer .trace .points path").first).to_be_attached()
        legend = fan.locator(".legendtext").all_text_contents()
        assert "With your orders: median of 2 rollouts" in legend and "Real day (LOBSTER)" in legend
        expect(charts.nth(1).locator(".gtitle")).to_contain_text("effect of your orders on the mid")
        expect(page.get_by_test_id("stMetricValue").first).to_have_text("4 / 4")
        expect(page.get_by_role("button", name=re.compile("Whole run \\(Parquet, zip\\)"))).to_be_visible()
        assert page.get_by_test_id("stException").count() == 0
        # one simulation run folder (<date>-<time>-<symbol>-<hash>); the other pages' folders (studies, detect,
        # forecast, ...) share this runs root with the browser tests that ran before on the same server
        assert len([d for d in runs.iterdir() if d.is_dir() and re.match(r"\d{8}-\d{6}-", d.name)]) == 1

        # the download buttons build their zip on click: one rollout as LOBSTER message + orderbook files
        with page.expect_download(timeout=30_000) as download:
            page.get_by_role("button", name=re.compile("Rollout as LOBSTER CSVs")).click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        with zipfile.ZipFile(saved) as archive:
            kinds = sorted(name.split("_")[-2] for name in archive.namelist())
        assert kinds == ["message", "orderbook"] and saved.name.endswith("_rollout0000_treated_lobster.zip")

        page.screenshot(path=str(tmp_path / "simulate_paired_twap.png"), full_page=True)
        assert (tmp_path / "simulate_paired_twap.png").stat().st_size > 100_000


def test_problems_show_as_typed_and_arms_are_drawn_as_they_finish(app: tuple[str, Path]) -> None:
    from playwright.sync_api import expect

    url, _ = app
    with open_page(height=4000) as page:
        page.goto(f"{url}/simulate", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Simulate", exact=True)).to_be_visible(timeout=20_000)
        run = page.get_by_role("button", name=re.compile("Run simulation"))

        def enter(name: str, value: str) -> None:
            box = page.get_by_role("spinbutton", name=name, exact=True)
            box.fill(value)
            box.press("Enter")
            wait_idle(page)

        # a problem shows as soon as it is typed, and Run stays disabled until it is fixed
        enter("Rollouts", "0")
        expect(page.get_by_text("Rollouts: choose between 1 and 64 (was 0).")).to_be_visible()
        expect(run).to_be_disabled()
        enter("Rollouts", "8")
        expect(run).to_be_enabled()

        # a TWAP far larger than the market gets a warning naming the figures before any run
        page.get_by_text("Your orders: TWAP execution agents").click()
        add = page.get_by_role("button", name=re.compile("Add a TWAP agent"))
        click_until_shown(page, add, page.get_by_role("spinbutton", name="Volume (shares)", exact=True))
        enter("Volume (shares)", "1000000000")
        warning = page.get_by_test_id("stAlertContentWarning").filter(has_text="TWAP 1 wants")
        expect(warning).to_contain_text(
            re.compile(r"TWAP 1 wants 1,000,000,000 shares in 5 min: [\d,.]+× the [\d,]+ shares")
        )
        expect(warning).to_contain_text("expect a fulfilment near 0%")
        page.get_by_role("button", name=re.compile("Remove")).click()
        expect(warning).to_have_count(0, timeout=20_000)

        # 64 rollouts of 30 minutes: the fan chart appears while the later arms still run
        enter("Length (minutes)", "30")
        enter("Rollouts", "64")
        run.click()
        progress = page.get_by_text(re.compile(r"Simulating… \d+ of 64 done"))
        fan_title = page.locator(".js-plotly-plot .gtitle").filter(has_text="simulated futures (noise)")
        seen, deadline = None, time.monotonic() + 120
        while seen is None and time.monotonic() < deadline:
            texts = progress.all_inner_texts()
            done = int(re.search(r"(\d+) of 64", texts[0]).group(1)) if texts else 0
            if done and fan_title.count():
                seen = done
            time.sleep(0.2)
        assert seen is not None and 0 < seen < 64, seen  # drawn from the finished arms, before the run ends
        # Streamlit's own Stop (the status widget's, not the page's button) ends the run and its workers too
        page.get_by_test_id("stStatusWidget").get_by_role("button", name="Stop").click()
        assert_gone_within(url, 10)
        page.get_by_role("spinbutton", name="Seed", exact=True).fill("1")  # the next rerun says what happened
        page.get_by_role("spinbutton", name="Seed", exact=True).press("Enter")
        expect(page.get_by_text(re.compile("Stopped. The finished simulations are kept"))).to_be_visible(timeout=20_000)
        expect(run).to_be_visible()
        assert page.get_by_test_id("stException").count() == 0
