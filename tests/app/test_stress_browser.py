"""Drive the Scenarios page's stress suite in headless Chromium: a tiny suite runs as a job, is stopped and resumed,
and its table shows the figures of the run's summary.json (what `mars control-eval --stress --json` prints)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser import (
    REPO,
    assert_gone_within,
    click_until_shown,
    needs_chromium,
    open_page,
    wait_for_job,
    wait_idle,
)

from mars_core.experiments.stress_eval import DEFAULT_SUITE, FIDELITY, MARKER
from pages import _stress_ui as ui

if TYPE_CHECKING:
    from playwright.sync_api import Locator

ENSEMBLE = REPO / "assets" / "models" / "ensemble" / "ensemble.pt"
pytestmark = [
    pytest.mark.browser,
    needs_chromium,
    pytest.mark.skipif(not ENSEMBLE.is_file(), reason="no shipped ensemble"),
]


def rows(table: Locator) -> list[list[str]]:
    """The cells of every body row of a static table (st.table), as shown."""
    return [row.locator("th, td").all_inner_texts() for row in table.locator("tbody tr").all()]


def test_a_tiny_suite_runs_stops_resumes_and_shows_its_json(app: tuple[str, Path]) -> None:
    from playwright.sync_api import expect

    url, runs = app
    name = "sharp_drop_1pct_3min"
    with open_page(height=4000) as page:
        page.goto(f"{url}/scenarios", wait_until="domcontentloaded")
        run = page.get_by_role("button", name=re.compile("Run stress suite"))
        expect(run).to_be_visible(timeout=60_000)
        for other in DEFAULT_SUITE[1:]:  # one scenario, one symbol's day, 2 rollouts, no TWAP
            wait_idle(page)
            page.get_by_role("button", name=ui.scenario_label(other), exact=True).click()
        wait_idle(page)
        page.get_by_role("button", name="AMZN", exact=True).last.click()
        wait_idle(page)
        rollouts = page.get_by_role("spinbutton", name="Rollouts per start")
        rollouts.fill("2")
        rollouts.press("Enter")
        expect(page.get_by_text(re.compile(r"1 scenario × 1 start × 2 runs = 2 groups of 2 rollouts"))).to_be_visible(
            timeout=30_000
        )
        expect(page.get_by_text(re.compile("1 start × 2 rollouts is too small to judge"))).to_be_visible()
        # Stop once the suite holds its directory: its job ends, and the page offers to resume it
        stop = page.get_by_role("button", name=re.compile("Stop stress suite"))
        click_until_shown(page, run, stop)
        wait_for_job(url, 1, 30, why="the suite runs in a job of its own")
        deadline = time.monotonic() + 120
        while not list(runs.glob(f"stress/*/{MARKER}")) and time.monotonic() < deadline:
            time.sleep(0.5)
        stop.click()
        assert_gone_within(url, 10)
        expect(page.get_by_text(re.compile("Stopped. The finished simulations are kept"))).to_be_visible(timeout=20_000)
        expect(page.get_by_text(re.compile("This stress suite has not finished"))).to_be_visible(timeout=20_000)
        finished = page.get_by_text(re.compile(r"Finished in \d+ s"))
        click_until_shown(page, page.get_by_role("button", name=re.compile("Resume this stress suite")), stop)
        expect(finished).to_be_visible(timeout=300_000)
        wait_idle(page, 60_000)

        (summary,) = runs.glob("stress/*/summary.json")
        s = json.loads(summary.read_text())
        assert s["starts"] == 1 and s["rollouts"] == 2 and list(s["scenarios"]) == [name]
        f = s["scenarios"][name]
        tables = page.get_by_test_id("stTable")
        expect(tables.first).to_be_visible(timeout=30_000)
        reach, flow = rows(tables.nth(0)), rows(tables.nth(1))
        for arm, label in (("control", "Controlled"), ("no_control", "Uncontrolled")):
            a = f["arms"][arm]
            (cells,) = [r for r in reach if label in r]
            assert ui.fmt_interval(a["ratio"]) in cells and ui.fmt(a["target_side"]) in cells
            assert ui.fmt(a["corr"], sign=True) in cells and ui.fmt(a["rms_bps"], 1) in cells
            assert ui.fmt(f["target_bps"], 1, sign=True) in cells
        (cells,) = [r for r in flow if ui.scenario_label(name) in r]
        assert all(ui.fmt(f["fidelity"][c]) in cells for c in FIDELITY)
        expect(page.get_by_text(re.compile("1 start × 2 rollouts is too small to judge")).last).to_be_visible()
        assert page.get_by_test_id("stException").count() == 0
