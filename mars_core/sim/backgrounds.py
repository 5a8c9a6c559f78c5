"""The background flows a run can have, by name, and how each one is driven.

* Per arm (`replay`, `noise`): an agent is made for each rollout arm, so every arm is one
  task of the runner's process pool (`Background.make`).
* In lockstep (`lmm`): the order model samples the next order of a batch of rollouts at
  once, so an arm's rollouts advance together in one process (`Background.drive`, `lockstep`).

A new background registers here. A background that a caller cannot drive is refused by
name: `make_background("lmm", ...)` raises, because an `LMMBackground` on its own never
acts (it sends only what its lockstep group decoded for it), so a simulator driven with it
one rollout at a time would run without any background order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mars_core.data.schema import LobsterDay
from mars_core.errors import ConfigError
from mars_core.sim import lockstep
from mars_core.sim.agent import BackgroundAgent
from mars_core.sim.agents.noise import NoiseBackground, noise_params
from mars_core.sim.agents.replay import ReplayBackground
from mars_core.sim.config import BACKGROUNDS as NAMES


@dataclass(frozen=True)
class Background:
    """How a background is driven: `make` an agent per arm (fitted until a time, for the noise traders), or
    `drive` every pending arm of a list of runs in lockstep."""

    name: str
    make: Callable[[LobsterDay, int | None], BackgroundAgent] | None = None
    drive: Callable[..., None] | None = None

    @property
    def lockstep(self) -> bool:
        return self.drive is not None


BACKGROUNDS = {
    "replay": Background("replay", make=lambda day, fit_until: ReplayBackground()),
    "noise": Background("noise", make=lambda day, fit_until: NoiseBackground(noise_params(day, until_ts=fit_until))),
    "lmm": Background("lmm", drive=lockstep.run_groups),
}
assert tuple(BACKGROUNDS) == NAMES, "SimConfig validates the names of the registered backgrounds"


def background(name: str) -> Background:
    """The registered background `name`."""
    if name not in BACKGROUNDS:
        raise ConfigError(f"unknown background {name!r}; choose {', '.join(BACKGROUNDS)}")
    return BACKGROUNDS[name]


def per_arm(name: str) -> Background:
    """The registered background `name`, if it can drive a single simulator (one rollout arm on its own).

    Raises:
        ConfigError: an unknown name, or a background that only the lockstep runner can drive ("lmm").
    """
    found = background(name)
    if found.make is None:
        others = ", ".join(n for n, b in BACKGROUNDS.items() if b.make is not None)
        raise ConfigError(
            f"the {name!r} background cannot drive a single simulator: its orders are sampled in lockstep for a "
            f"batch of rollouts, which only `run_simulation` does (background={name!r}); here use {others}"
        )
    return found


def make_background(name: str, day: LobsterDay, noise_fit_until: int | None = None) -> BackgroundAgent:
    """The agent of a per-arm background: "replay", or "noise" (fitted on the whole day, or on the orders before
    `noise_fit_until` ns). Raises `ConfigError` for another name (see `per_arm`)."""
    return per_arm(name).make(day, noise_fit_until)
