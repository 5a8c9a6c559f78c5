"""Simulation runs under the runs root: a configuration names its directory by its hash and finds it again."""

from __future__ import annotations

from pathlib import Path

from mars_core.sim.config import SimConfig
from mars_core.sim.runs import list_simulations, simulation_dir
from mars_core.store import RunDir, config_hash


def test_a_configuration_names_its_run_by_time_symbol_and_hash(paired_run: Path) -> None:
    config = SimConfig.from_dict(RunDir.open(paired_run).config)
    digest = config_hash(config.model_dump(mode="json"))
    assert paired_run.name == f"20240102-030405-GOOG-{digest}"  # made at conftest.PAIRED_RUN_TIME


def test_the_same_settings_find_their_run_again(paired_run: Path) -> None:
    config = SimConfig.from_dict(RunDir.open(paired_run).config)
    assert simulation_dir(config, paired_run.parent) == (paired_run, True)
    other = config.model_copy(update={"seed": 1})
    assert simulation_dir(other, paired_run.parent)[1] is False
    variant, reused = simulation_dir(config, paired_run.parent, suffix="-lmmabcd1234")  # another model's run
    assert not reused and variant.name.endswith(f"-{config_hash(config.model_dump(mode='json'))}-lmmabcd1234")


def test_list_simulations_describes_runs_and_skips_broken_dirs(paired_run: Path, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    root.mkdir()
    (root / paired_run.name).symlink_to(paired_run)
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text("{not json")
    (root / "invalid").mkdir()
    (root / "invalid" / "config.json").write_text('{"symbol": "GOOG"}')
    runs, problems = list_simulations(root)
    assert [r.path.name for r in runs] == [paired_run.name]
    assert runs[0].complete and runs[0].finished == runs[0].expected == 4
    assert (
        "GOOG 2012-06-21 10:00:00 +1 min · noise · 2 rollouts · seed 0 · TWAP buy 300 L1-P0.9 · paired" in runs[0].label
    )
    assert len(problems) == 2
    assert "broken/config.json: not a readable run configuration" in problems[0]
    assert problems[1].startswith("invalid: ") and "date" in problems[1]
    assert list_simulations(root / "nowhere") == ([], [])
