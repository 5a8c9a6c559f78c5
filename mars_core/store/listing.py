"""What lies under the runs root: run directories and the study or evaluation folders that hold them."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from mars_core.store.rundir import CONFIG


@dataclass(frozen=True, slots=True)
class Listed:
    """A directory found under the root: its configuration (the marker file) and when that was written."""

    path: Path
    config: dict
    modified: float  # modification time of the marker file

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.modified)


def scan(root: Path, marker: str, what: str, depth: int = 2) -> tuple[list[Listed], list[str]]:
    """Directories root/*/ (and root/*/*/ with depth 2) holding `marker` (their configuration as a JSON mapping),
    and a line per marker that is not one ("<marker file>: not a readable <what> (<why>)")."""
    found, problems = [], []
    if not root.is_dir():
        return found, problems
    patterns = [f"*/{marker}", f"*/*/{marker}"][:depth]
    for file in sorted({p for pattern in patterns for p in root.glob(pattern)}):
        try:
            config = json.loads(file.read_text())
            if not isinstance(config, dict):
                raise ValueError("not a mapping")
        except (OSError, ValueError) as err:
            problems.append(f"{file}: not a readable {what} ({err})")
            continue
        found.append(Listed(file.parent, config, file.stat().st_mtime))
    return found, problems


def list_runs(root: Path) -> tuple[list[Listed], list[str]]:
    """The run directories directly under `root` (root/*/config.json), and a line per unreadable configuration."""
    return scan(root, CONFIG, "run configuration", depth=1)
