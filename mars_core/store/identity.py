"""Run identity: a configuration names its directory by its hash, so the same configuration finds its run again.

Runs are deterministic by seed, so a directory that holds the same configuration is reused:
its finished arms are kept and an interrupted run resumes where it stopped. Two naming schemes:

* stamped (`stamped_dir`): `<YYYYMMDD-HHMMSS>-<NAME>-<hash><suffix>` under the root, for runs a
  user makes many of (Simulate page, `mars simulate`); a new one gets the time it was made;
* named (`named_dir`): `<name>-<hash>` under a folder, for studies and evaluations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from mars_core.store.rundir import CONFIG


def normalized(config: dict[str, Any]) -> dict[str, Any]:
    """A configuration as its directory stores it (JSON types only)."""
    return json.loads(json.dumps(config, default=str))


def config_hash(config: dict[str, Any]) -> str:
    """A short, stable hash of a configuration (8 hex digits of the SHA-256 of its sorted JSON)."""
    return hashlib.sha256(json.dumps(normalized(config), sort_keys=True).encode()).hexdigest()[:8]


def stamped_dir(
    root: Path, config: dict[str, Any], name: str, suffix: str = "", now: dt.datetime | None = None
) -> tuple[Path, bool]:
    """The directory to run `config` in under `root`, and whether it already holds this configuration."""
    digest, wanted = config_hash(config), normalized(config)
    for candidate in sorted(root.glob(f"*-{digest}{suffix}"), reverse=True):
        try:
            if json.loads((candidate / CONFIG).read_text()) == wanted:
                return candidate, True
        except (OSError, ValueError):
            continue
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return root / f"{stamp}-{name}-{digest}{suffix}", False


def named_dir(folder: Path, name: str, config: dict[str, Any], fallback: str = "run") -> Path:
    """`<folder>/<name>-<hash>` (`name` made file-safe, `fallback` when nothing of it is): the same configuration
    reopens (and resumes) the same directory."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or fallback
    return folder / f"{slug}-{config_hash(config)}"
