"""What the browser tests share: where Chromium is, how to start it, where the data is."""

from __future__ import annotations

import contextlib
from pathlib import Path

import psutil
import pytest

from analysis.report import CHROMIUM_ARGS
from mars_core.paths import DEFAULT_CHROMIUM

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


__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "LOBSTER_DIR", "REPO", "needs_chromium", "server_processes"]
