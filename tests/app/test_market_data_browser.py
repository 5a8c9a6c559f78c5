"""Drive the real dashboard in headless Chromium: the Market Data page draws its charts."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LOBSTER_DIR = REPO.parent / "shared" / "data" / "lobster"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (CI installs Debian's chromium)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}:\n{server.stdout.read() if server.stdout else ''}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not become healthy at {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not LOBSTER_DIR.is_dir():
        pytest.skip(f"the LOBSTER sample data is not at {LOBSTER_DIR}")
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, "MARS_DATA_DIR": str(LOBSTER_DIR)}
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             # no file watching: other tests writing files must not trigger reruns mid-test
             "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", server)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def test_market_data_page_draws_plotly_charts(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            # A deep link as the server's first request: it must still go through app.py's router.
            page.goto(f"{app_url}/market_data", wait_until="domcontentloaded")
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
        finally:
            browser.close()
