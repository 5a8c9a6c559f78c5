"""What the browser tests share: where Chromium is, how to start it, where the data is."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest

from analysis.report import CHROMIUM_ARGS
from mars_core.paths import DEFAULT_CHROMIUM

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(DEFAULT_CHROMIUM)
LOBSTER_DIR = REPO.parent / "shared" / "data" / "lobster"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (CI installs Debian's chromium)"
)


def server_processes(url: str) -> list[psutil.Process]:
    """Every process the Streamlit server at `url` started (a running study's job and its workers)."""
    port = url.rsplit(":", 1)[1]
    (server,) = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "streamlit" in " ".join(p.info["cmdline"] or []) and port in p.info["cmdline"]
    ]
    alive = []
    for child in server.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # it may end while we look
            # multiprocessing's resource tracker serves the server as long as it runs
            if child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(child.cmdline()):
                alive.append(child)
    return alive


@contextlib.contextmanager
def open_page(height: int) -> Iterator[Page]:
    """A page of a fresh headless Chromium, 1400 px wide and `height` tall; the browser is closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            yield browser.new_page(viewport={"width": 1400, "height": height})
        finally:
            browser.close()


def wait_for_job(url: str, processes: int = 1, timeout_s: float = 30.0, why: str = "") -> None:
    """Wait until the server at `url` runs at least `processes` processes of a job (the job and its workers)."""
    deadline = time.monotonic() + timeout_s
    while len(server_processes(url)) < processes and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(server_processes(url)) >= processes, why


def wait_idle(page: Page, timeout_ms: int = 30_000) -> None:
    """Wait until the app has no script run in progress (Streamlit's status widget is gone)."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout_ms)


def click_until_shown(page: Page, button: Locator, shown: Locator, tries: int = 3) -> None:
    """Click `button` until `shown` is visible.

    A click that lands while the script reruns can be dropped when Streamlit merges the rerun
    requests (seen on a loaded CI machine). It is repeated only once the app is idle and
    `shown` is still absent, so a slow but registered click is never counted twice.
    """
    from playwright.sync_api import expect

    for _ in range(tries):
        wait_idle(page)
        button.click()
        with contextlib.suppress(AssertionError):
            expect(shown).to_be_visible(timeout=10_000)
            return
        wait_idle(page)
        if shown.count():
            return
    expect(shown).to_be_visible(timeout=10_000)


def assert_gone_within(url: str, seconds: float = 10.0) -> None:
    """Every process the server at `url` started ends within `seconds` from now (call it right after a Stop)."""
    stopped = time.monotonic()
    while server_processes(url):
        assert time.monotonic() - stopped < seconds, [p.cmdline()[:3] for p in server_processes(url)]
        time.sleep(0.2)


__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "LOBSTER_DIR",
    "REPO",
    "assert_gone_within",
    "click_until_shown",
    "needs_chromium",
    "open_page",
    "server_processes",
    "wait_for_job",
    "wait_idle",
]
