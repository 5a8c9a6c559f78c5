"""What the browser tests share: where Chromium is, how to start it, where the data is."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.report import CHROMIUM_ARGS
from mars_core.paths import DEFAULT_CHROMIUM

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(DEFAULT_CHROMIUM)
LOBSTER_DIR = REPO.parent / "shared" / "data" / "lobster"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (CI installs Debian's chromium)"
)

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "LOBSTER_DIR", "REPO", "needs_chromium"]
