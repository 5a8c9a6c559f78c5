"""The run store itself: atomic arms, resumable directories, per-arm reads, identity, listing and DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mars_core.errors import MarsInputError
from mars_core.store import (
    ArmWriter,
    RunDir,
    catalog,
    claim_directory,
    config_hash,
    finished_arms,
    named_dir,
    scan,
    stamped_dir,
    write_json,
)

CONFIG = {"symbol": "TINY", "seed": 3, "twap": [{"volume": 100}]}


def write_arm(run: RunDir, rollout: int, arm: str, orders: int = 3) -> None:
    writer = ArmWriter(run, rollout, arm)
    for start in range(0, orders, 2):  # streamed in chunks
        chunk = pd.DataFrame({"ts": range(start, min(start + 2, orders)), "agent": 1, "qty": 10})
        writer.write("orders", chunk)
    writer.write("trades", pd.DataFrame({"ts": [5], "qty": [7]}))
    writer.commit({"rollout": rollout, "arm": arm, "orders": orders})


def test_an_arm_appears_only_when_committed_and_an_aborted_one_leaves_nothing(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "run", CONFIG)
    writer = ArmWriter(run, 0, "main")
    writer.write("orders", pd.DataFrame({"ts": [1], "agent": [1], "qty": [10]}))
    assert run.finished() == [] and not run.is_done(0, "main")
    writer.commit({"orders": 1})
    assert run.finished() == [(0, "main")] and run.arm_summary(0, "main") == {"orders": 1}
    assert run.arm_stamp(0, "main") == (run.arm_dir(0, "main") / "done.json").stat().st_mtime
    aborted = ArmWriter(run, 1, "main")
    aborted.write("orders", pd.DataFrame({"ts": [1], "agent": [1], "qty": [10]}))
    aborted.abort()
    assert run.finished() == [(0, "main")]
    assert sorted(p.name for p in (run.path / "rollout=0001").iterdir()) == []  # no temporary directory left


def test_reads_one_arm_by_columns_and_filters_or_every_arm_with_keys(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "run", CONFIG)
    write_arm(run, 0, "treated", orders=5)
    write_arm(run, 0, "baseline", orders=2)
    one = run.read(0, "treated", "orders", columns=["ts"], filters=[("ts", ">=", 2)])
    assert one["ts"].tolist() == [2, 3, 4] and list(one.columns) == ["ts"]
    assert run.read(0, "treated", "bars").empty  # a table the arm does not have
    both = run.table("orders")
    assert list(both.columns[:2]) == ["rollout", "arm"] and len(both) == 7
    assert set(run.table("orders", arm="baseline")["arm"]) == {"baseline"}
    with pytest.raises(MarsInputError, match="unknown table 'fills'"):
        run.read(0, "treated", "fills")


def test_a_directory_is_reopened_for_the_same_configuration_only(tmp_path: Path) -> None:
    RunDir.create(tmp_path / "run", CONFIG)
    assert RunDir.create(tmp_path / "run", json.loads(json.dumps(CONFIG))).config == CONFIG
    with pytest.raises(MarsInputError, match="already holds a different run"):
        RunDir.create(tmp_path / "run", CONFIG | {"seed": 4})
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(MarsInputError, match="is not a MarS study directory"):
        claim_directory(tmp_path / "other", "study.json", CONFIG, "study")
    with pytest.raises(MarsInputError, match="not a MarS run directory"):
        RunDir.open(tmp_path / "other")


def test_write_json_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    write_json(path, {"a": 1})
    write_json(path, {"b": 2})
    assert json.loads(path.read_text()) == {"b": 2} and [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_identity_is_the_configuration_hash(tmp_path: Path) -> None:
    assert config_hash(CONFIG) == config_hash(dict(reversed(CONFIG.items()))) != config_hash(CONFIG | {"seed": 4})
    assert len(config_hash(CONFIG)) == 8
    path, reused = stamped_dir(tmp_path, CONFIG, "TINY")
    assert not reused and path.name.endswith(f"-TINY-{config_hash(CONFIG)}")
    RunDir.create(path, CONFIG)
    assert stamped_dir(tmp_path, CONFIG, "TINY") == (path, True)
    assert named_dir(tmp_path / "studies", "my study!", CONFIG).name == f"my-study-{config_hash(CONFIG)}"
    assert named_dir(tmp_path / "studies", "!!", CONFIG, "study").name == f"study-{config_hash(CONFIG)}"


def test_scan_lists_marked_directories_two_levels_deep_and_names_bad_markers(tmp_path: Path) -> None:
    for folder, text in (("a", '{"x": 1}'), ("group/b", '{"x": 2}'), ("bad", "[1, 2]"), ("deep/er/c", "{}")):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "study.json").write_text(text)
    found, problems = scan(tmp_path, "study.json", "study")
    assert sorted(f.path.name for f in found) == ["a", "b"] and {f.config["x"] for f in found} == {1, 2}
    assert len(problems) == 1 and "bad/study.json: not a readable study (not a mapping)" in problems[0]


def test_finished_arms_and_the_catalog_see_every_run_below_a_folder(tmp_path: Path) -> None:
    for name in ("base/a", "points/b"):
        run = RunDir.create(tmp_path / name, CONFIG)
        write_arm(run, 0, "main")
        write_arm(run, 1, "main")
    assert finished_arms(tmp_path) == 4 and finished_arms(tmp_path / "base") == 2
    con = catalog(tmp_path)
    rows = con.sql("select run, count(*) as n from orders group by run order by run").fetchall()
    assert rows == [("base/a", 6), ("points/b", 6)]
