"""Drive the Market Impact page in headless Chromium: numbers out of range block Run, and Stop stops a study."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from browser import assert_gone_within, needs_chromium, open_page, wait_for_job, wait_idle

pytestmark = [pytest.mark.browser, needs_chromium]


def settled_count(locator, still_s: float = 1.5, timeout_s: float = 30.0) -> int:  # noqa: ANN001 (a Locator)
    """How many elements `locator` finds once that number has not changed for `still_s` seconds."""
    deadline, count, since = time.monotonic() + timeout_s, locator.count(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < still_s:
        time.sleep(0.25)
        now = locator.count()
        if now != count:
            count, since = now, time.monotonic()
    return count


def test_out_of_range_numbers_block_run_and_stop_ends_a_study(app: tuple[str, Path]) -> None:
    from playwright.sync_api import expect

    url, runs = app
    with open_page(height=3000) as page:
        page.goto(f"{url}/market_impact", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Market impact")).to_be_visible(timeout=30_000)
        run = page.get_by_role("button", name=re.compile("Run study"))
        expect(run).to_be_enabled(timeout=30_000)
        error = page.get_by_test_id("stAlertContentError")

        def enter(name: str, value: str, role: str = "spinbutton") -> None:
            box = page.get_by_role(role, name=name, exact=True)
            box.fill(value)
            box.press("Enter")
            wait_idle(page)

        # out of range: Run is disabled and the message names the field and its range, for every bad value
        for value in ("0", "100000"):
            enter("Rollouts", value)
            expect(error).to_contain_text(f"Rollouts must be a whole number from 1 to 256, was {value}")
            expect(run).to_be_disabled()
        enter("Rollouts", "16")
        enter("Observation after (min)", "400")
        expect(error).to_contain_text("Observation after (min) must be a number from 0 to 120, was 400")
        expect(run).to_be_disabled()
        enter("Observation after (min)", "1")
        enter("Q/V values", "0", role="textbox")  # a typed 0 adds nothing: it is rejected by name
        expect(error).to_contain_text("Q/V values: rejected 0 is outside (0, 1]")
        expect(run).to_be_disabled()
        enter("Q/V values", "0.01, 0.02, 0.05, 0.1, 0.2", role="textbox")
        enter("Execution (min)", "1")
        expect(page.get_by_text(re.compile(r"= 336 paired trajectories: 336 simulations"))).to_have_count(0)
        expect(page.get_by_text(re.compile(r"320 paired trajectories.*336 simulations of 2 min"))).to_be_visible()
        expect(run).to_be_enabled()

        # Stop: the study's job and its workers are gone within seconds, and the study can be resumed
        run.click()
        stop = page.get_by_role("button", name=re.compile("Stop study"))
        expect(stop).to_be_visible(timeout=30_000)
        wait_for_job(url, 3, 60)  # the job and its 2 workers
        stop.click()
        assert_gone_within(url, 10)
        expect(page.get_by_text(re.compile("Stopped. The finished simulations are kept"))).to_be_visible(timeout=20_000)
        expect(page.get_by_text(re.compile(r"This study has not finished: \d+ of 336 simulations"))).to_be_visible()
        expect(page.get_by_role("button", name=re.compile("Resume this study"))).to_be_visible()
        expect(run).to_be_visible()
        (study,) = runs.glob("studies/impact-study-*")
        assert not (study / "results.json").exists()
        assert page.get_by_test_id("stException").count() == 0

        page.goto(f"{url}/market_data", wait_until="domcontentloaded")  # the server answers at once
        expect(page.get_by_role("heading", name="Market data")).to_be_visible(timeout=20_000)


def test_skipped_fits_and_poor_formulas_are_told_as_they_are(app: tuple[str, Path], tiny_study_dir: Path) -> None:
    from playwright.sync_api import expect

    url, runs = app
    study = runs / "studies" / "tiny-ui"
    shutil.copytree(tiny_study_dir, study, ignore=shutil.ignore_patterns("base", "points"))
    results = json.loads((study / "results.json").read_text())
    results["sqrt_law_points"] = {"skipped": "needs at least 3 trajectories with a positive impact, has 2"}
    results["symbolic"] |= {
        "formula": "impact = 0.0001075",
        "coefficients": {"1": 0.0001075},
        "test_r2": -0.04,
        "sqrt_law_test_r2": -0.35,
    }
    (study / "results.json").write_text(json.dumps(results))  # rewritten last: the newest study, shown first
    with open_page(height=5000) as page:
        page.goto(f"{url}/market_impact", wait_until="domcontentloaded")
        expect(page.get_by_text("Square-root law", exact=True)).to_be_visible(timeout=30_000)
        tables = page.get_by_test_id("stDataFrame")
        # the page draws charts before its tables: on a loaded machine (load 10 on 2 cores) that took over 20 s
        expect(tables.first).to_be_visible(timeout=60_000)
        binned = settled_count(tables)  # the page draws its tables one after another
        page.get_by_text("single trajectories", exact=True).click()
        expect(page.get_by_text("No fit to draw: needs at least 3 trajectories")).to_be_visible(timeout=20_000)
        expect(tables).to_have_count(binned - 1)  # no fit table under the box that says there is no fit

        page.goto(f"{url}/impact_factors", wait_until="domcontentloaded")
        expect(page.get_by_text(re.compile("neither predicts better than their mean impact"))).to_be_visible(
            timeout=30_000
        )
        assert page.get_by_text(re.compile(r"predicts better\.")).count() == 0
        expect(page.get_by_test_id("stCode")).to_contain_text(re.compile(r"impact = 0\.0001075 +\(1\.0\d bps"))
