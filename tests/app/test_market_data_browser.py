"""Drive the real dashboard in headless Chromium: the Market Data page draws its charts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import needs_chromium, open_page

pytestmark = [pytest.mark.browser, needs_chromium]


def test_market_data_page_draws_plotly_charts(app: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, _ = app
    with open_page(height=2400) as page:
        # A deep link as the server's first request: it must still go through app.py's router.
        page.goto(f"{url}/market_data", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Market data")).to_be_visible(timeout=20_000)
        links = page.get_by_test_id("stSidebarNavLink")
        expect(links.first).to_have_text(re.compile(r"Home$"), timeout=20_000)  # the icon's ligature name comes first
        names = [text.rsplit("\n", 1)[-1].strip() for text in links.all_inner_texts()]
        assert "Market Data" in names[1]
        # the router's pages only: no helper modules of pages/ listed as pages (Streamlit's legacy mode)
        assert not [n for n in names if n.lower().endswith(("ui", "app"))], names
        charts = page.locator(".js-plotly-plot")
        expect(charts).to_have_count(4, timeout=20_000)
        # A trace really drawn inside the first chart's SVG: the mid-price line.
        price = charts.first
        expect(price.locator(".main-svg .scatterlayer .trace path.js-line").first).to_be_attached(timeout=20_000)
        expect(price.locator(".gtitle")).to_have_text("AMZN 2012-06-21 — mid price and trades")
        expect(charts.nth(3).locator(".main-svg .heatmaplayer image").first).to_be_attached()
        page.screenshot(path=str(tmp_path / "market_data_amzn.png"))

        # The main flow: pick another symbol; every chart redraws for it.
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="GOOG").click()
        expect(price.locator(".gtitle")).to_have_text("GOOG 2012-06-21 — mid price and trades", timeout=20_000)
        expect(charts.nth(3).locator(".gtitle")).to_contain_text("10 levels per side")
        assert page.get_by_test_id("stException").count() == 0
        page.screenshot(path=str(tmp_path / "market_data_goog.png"))
        assert (tmp_path / "market_data_goog.png").stat().st_size > 50_000
