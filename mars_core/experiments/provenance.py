"""Provenance of a result: the code, software, data files and times it came from (for reports)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from mars_core.data import find_dataset, resolve_data_dir
from mars_core.errors import MarsInputError
from mars_core.paths import REPO_ROOT


def git_commit() -> str:
    """The checkout's commit (and whether it has uncommitted changes)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "not available"
    if head.returncode != 0:
        return "not available (not a git checkout)"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def mtime(path: Path) -> str:
    """Modification time of a file, UTC ISO; "—" when missing."""
    if not path.exists():
        return "—"
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(timespec="seconds")


def sha256(path: Path) -> str:
    """First 16 hex digits of a file's SHA-256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def versions() -> str:
    """Python and the numeric packages' versions."""
    parts = [f"Python {platform.python_version()}"]
    for package in ("numpy", "pandas", "pysindy", "torch", "torchdiffeq", "plotly"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            parts.append(f"{package} {metadata.version(package)}")
    return ", ".join(parts)


def datasets(config: dict, data_dir: str | None) -> str:
    """One line per (symbol, date) of a config: the LOBSTER file, its size and checksum."""
    lines = []
    try:
        folder = resolve_data_dir(data_dir)
    except MarsInputError as err:
        return f"data folder not available ({err})"
    for symbol in config.get("symbols", []):
        for date in config.get("dates", []):
            try:
                info = find_dataset(symbol, date, folder)
            except MarsInputError:
                lines.append(f"{symbol} {date}: not found in {folder} (cannot confirm the files the study used)")
                continue
            member = f" ({info.message_member})" if info.message_member else ""
            lines.append(
                f"{info.symbol} {info.date.isoformat()}: {info.message_path.name}{member}, {info.messages:,} messages, "
                f"{info.levels} levels, sha256 {sha256(info.message_path)}"
            )
    return "\n".join(lines) or "—"
