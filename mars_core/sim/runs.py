"""Simulation runs under the runs root: where a configuration runs, and which runs are there.

`mars simulate` and the Simulate page share this: a configuration's run directory is
`<runs root>/<YYYYMMDD-HHMMSS>-<SYMBOL>-<config hash>`, and a directory holding the same
configuration is reused (runs are deterministic by seed: finished arms are kept, an
interrupted run resumes). See `mars_core.store.identity`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from mars_core.errors import MarsInputError
from mars_core.paths import runs_root
from mars_core.sim.config import SimConfig
from mars_core.store import RunDir, list_runs, stamped_dir


def simulation_dir(
    config: SimConfig, root: Path | None = None, suffix: str = "", now: dt.datetime | None = None
) -> tuple[Path, bool]:
    """The directory to run `config` in (under the runs root by default), and whether it already holds it.

    `suffix` names a variant of the same configuration (e.g. the order model that generated it)."""
    return stamped_dir(
        runs_root() if root is None else root, config.model_dump(mode="json"), config.symbol, suffix, now
    )


@dataclass(frozen=True, slots=True)
class SimulationRun:
    """A run directory under the runs root, as run pickers list it."""

    path: Path
    config: SimConfig
    finished: int  # finished rollout arms
    created: dt.datetime  # when config.json was written

    @property
    def expected(self) -> int:
        return self.config.rollouts * len(self.config.arms)

    @property
    def complete(self) -> bool:
        return self.finished >= self.expected

    @property
    def label(self) -> str:
        state = "" if self.complete else f" · incomplete ({self.finished}/{self.expected} arms)"
        return f"{self.created:%Y-%m-%d %H:%M} · {self.config.describe()}{state}"


def list_simulations(root: Path | None = None) -> tuple[list[SimulationRun], list[str]]:
    """Every run under `root` (default: the runs root), newest first, and a line per directory that is not a usable run."""
    listed, problems = list_runs(runs_root() if root is None else root)
    runs = []
    for entry in listed:
        try:
            config = SimConfig.from_dict(entry.config, where=f"{entry.path / 'config.json'}")
        except MarsInputError as err:
            problems.append(f"{entry.path.name}: {err}")
            continue
        runs.append(SimulationRun(entry.path, config, len(RunDir(entry.path).finished()), entry.created))
    runs.sort(key=lambda r: (r.created, r.path.name), reverse=True)
    return runs, problems
