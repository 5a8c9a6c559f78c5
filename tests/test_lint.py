"""The whole tree passes ruff's lint rules and is formatted by `ruff format`, as configured in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", str(REPO)], capture_output=True, text=True, cwd=REPO
    )


def test_ruff_finds_nothing() -> None:
    done = ruff("check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_tree_is_formatted() -> None:
    done = ruff("format", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
