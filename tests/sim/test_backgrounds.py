"""Backgrounds by name: how each is driven, and a name a runner cannot drive is refused with what to use instead."""

from __future__ import annotations

import pytest

from mars_core.data import LobsterDay
from mars_core.errors import ConfigError
from mars_core.sim.agent import AgentId
from mars_core.sim.agents.noise import NoiseBackground
from mars_core.sim.agents.replay import ReplayBackground
from mars_core.sim.backgrounds import BACKGROUNDS, background, make_background
from mars_core.sim.config import BACKGROUNDS as CONFIG_NAMES
from mars_core.sim.simulator import Simulator


def test_every_name_the_config_accepts_has_a_driver() -> None:
    assert tuple(BACKGROUNDS) == CONFIG_NAMES
    assert [name for name, b in BACKGROUNDS.items() if b.lockstep] == ["lmm"]
    assert all((b.make is None) == b.lockstep for b in BACKGROUNDS.values())


def test_per_arm_backgrounds_make_their_agent(goog_day: LobsterDay) -> None:
    assert isinstance(make_background("replay", goog_day), ReplayBackground)
    noise = make_background("noise", goog_day)
    assert isinstance(noise, NoiseBackground) and noise.agent_id == AgentId.BACKGROUND


def test_the_lockstep_background_cannot_drive_one_simulator(goog_day: LobsterDay) -> None:
    """An LMMBackground alone never acts: a simulator driven with it would run with no background order at all."""
    with pytest.raises(ConfigError) as err:
        make_background("lmm", goog_day)
    message = str(err.value)
    assert "'lmm' background cannot drive a single simulator" in message
    assert "run_simulation" in message and "use replay, noise" in message
    with pytest.raises(ConfigError, match="unknown background 'hawkes'; choose replay, noise, lmm"):
        background("hawkes")


def test_a_noise_background_makes_the_market_of_a_lone_simulator(goog_day: LobsterDay) -> None:
    start = 11 * 3600 * 10**9
    sim = Simulator(goog_day, start, start + 10 * 10**9, make_background("noise", goog_day), seed=1)
    result = sim.run()
    assert result.orders > 0  # the refused lmm case would give 0 here
