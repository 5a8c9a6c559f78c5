"""The hostile corpus: bad LOBSTER days, injected-order CSVs, study YAMLs and run directories, written once per session.

`hostile` maps a short name to a path; the corpus tests put those paths into `mars` argument lists.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from lobster_tiny import SAMPLE_DATE, TINY_MESSAGES, tiny_book_rows

STEM = f"GOOG_{SAMPLE_DATE}_34200000_57600000"
GOOD_ORDERS = "time,action,side,price,qty,client_id\n10:00:10,limit,buy,580.00,100,a\n"

# A day of the tiny LOBSTER pair (named GOOG) with one file changed: (message lines, orderbook lines) edits.
BAD_DAYS = {
    "day_price_abc": ("message", 3, "34201.25,2,1,50,abc,-1"),
    "day_book_short_row": ("orderbook", 4, "1000100,50,999900"),
    "day_book_nan": ("orderbook", 4, "1000100,nan,999900,100,9999999999,0,-9999999999,0"),
    "day_book_negative_size": ("orderbook", 4, "1000100,-50,999900,100,9999999999,0,-9999999999,0"),
    "day_seven_columns": ("message", 5, "34260.123456789,5,0,30,1000000,-1,7"),
    "day_time_backwards": ("message", 5, "34260.1,5,0,30,1000000,-1"),
    "day_event_type_9": ("message", 2, "34200.5,9,2,200,999900,1"),
    "day_direction_2": ("message", 2, "34200.5,1,2,200,999900,2"),
    "day_time_text": ("message", 4, "nine thirty,4,2,100,999900,1"),
    "day_huge_size": ("message", 2, "34200.5,1,2,99999999999999999999999,999900,1"),
    "day_blank_line": ("message", 4, ""),
}

CSVS = {
    "inject_qty_nan": "10:00:10,limit,buy,580.00,nan,a",
    "inject_qty_inf": "10:00:10,limit,buy,580.00,inf,a",
    "inject_qty_1e30": "10:00:10,limit,buy,580.00,1e30,a",
    "inject_qty_int64_max": "10:00:10,limit,buy,580.00,9223372036854775807,a",
    "inject_price_inf": "10:00:10,limit,buy,inf,100,a",
    "inject_price_nan": "10:00:10,limit,buy,nan,100,a",
    "inject_price_1e30": "10:00:10,limit,buy,1e30,100,a",
    "inject_price_int64_max": "10:00:10,limit,buy,9223372036854775807,100,a",
    "inject_8_fields": "10:00:10,limit,buy,580.00,100,a,x,y",
    "inject_before_start": "09:59:00,limit,buy,580.00,100,a",
    "inject_after_end": "10:01:30,limit,buy,580.00,100,a",
    "inject_time_garbage": "25:99:00,limit,buy,580.00,100,a",
    "inject_negative_qty": "10:00:10,limit,buy,580.00,-5,a",
    "inject_bad_action": "10:00:10,teleport,buy,580.00,100,a",
    "inject_off_tick": "10:00:10,limit,buy,580.005,100,a",
}

STUDY = {
    "name": "hostile",
    "symbols": ["GOOG"],
    "dates": [SAMPLE_DATE],
    "start_times": ["11:00"],
    "execution_minutes": 1,
    "horizon_minutes": 1,
    "q_over_v": [0.2],
    "configs": ["L1-P0.9"],
    "rollouts": 1,
}

# Study files: the tiny study with these keys changed (None removes the key).
YAMLS = {
    "study_ok": {},
    "study_seed_negative": {"seed": -1},
    "study_interval_longer": {"interval_s": 120},
    "study_interval_inf": {"interval_s": ".inf"},
    "study_interval_tiny": {"interval_s": 0.000001},
    "study_configs_empty": {"configs": []},
    "study_configs_duplicate": {"configs": ["L1-P0.9", "l1-p0.9"]},
    "study_qv_duplicate": {"q_over_v": [0.2, 0.2]},
    "study_rollouts_true": {"rollouts": True},
    "study_rollouts_float": {"rollouts": 2.5},
    "study_huge_grid": {
        "start_times": ["10:00", "10:30", "11:00", "11:30", "12:00"],
        "configs": ["L1-P0.1", "L1-P0.9", "L5-P0.1", "L5-P0.9"],
        "q_over_v": [round(0.05 * k, 2) for k in range(1, 21)],
        "rollouts": 1000,
    },
    "study_symbol_missing": {"symbols": ["XYZ"]},
    "study_start_late": {"start_times": ["15:59"]},
    "study_unknown_key": {"colour": "red"},
    "study_qv_zero": {"q_over_v": [0]},
    "study_qv_nan": {"q_over_v": [".nan"]},
    "study_execution_inf": {"execution_minutes": ".inf"},
    "study_bad_config_name": {"configs": ["L9-P2"]},
    "study_start_bad_clock": {"start_times": ["noon"]},
}


def _yaml(data: dict) -> str:
    """The study as YAML (".inf"/".nan" strings become YAML's bare floats)."""
    lines = []
    for key, value in data.items():
        text = json.dumps(value)
        for special in (".inf", ".nan"):
            text = text.replace(f'"{special}"', special)
        lines.append(f"{key}: {text}")
    return "\n".join(lines) + "\n"


def write_day(folder: Path, kind: str | None = None, line: int = 0, text: str = "") -> Path:
    """The tiny two-level day, named GOOG, in `folder`; with `kind`, line `line` of that file is `text`."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"message": list(TINY_MESSAGES), "orderbook": tiny_book_rows(2)}
    if kind is not None:
        files[kind][line - 1] = text
    for name, lines in files.items():
        (folder / f"{STEM}_{name}_2.csv").write_text("".join(f"{x}\n" for x in lines))
    return folder


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every hostile file of the corpus, by name (see the tables above)."""
    root = tmp_path_factory.mktemp("hostile")
    paths: dict[str, Path] = {"root": root}
    for name, edit in BAD_DAYS.items():
        paths[name] = write_day(root / name, *edit)
    folder = root / "day_directory_named_like_a_file"
    folder.mkdir()
    (folder / f"{STEM}_message_2.csv").mkdir()
    (folder / f"{STEM}_orderbook_2.csv").mkdir()
    paths["day_directory_named_like_a_file"] = folder
    paths["day_empty"] = root / "day_empty"
    paths["day_empty"].mkdir()
    for name, change in {
        "day_empty_message": lambda d: (d / f"{STEM}_message_2.csv").write_text(""),
        "day_no_orderbook": lambda d: (d / f"{STEM}_orderbook_2.csv").unlink(),
        "day_short_orderbook": lambda d: (d / f"{STEM}_orderbook_2.csv").write_text(
            "".join(f"{r}\n" for r in tiny_book_rows(2)[:5])
        ),
        "day_binary_message": lambda d: (d / f"{STEM}_message_2.csv").write_bytes(bytes(range(256)) * 64),
        "day_crlf": lambda d: (d / f"{STEM}_message_2.csv").write_bytes(
            (d / f"{STEM}_message_2.csv").read_bytes().replace(b"\n", b"\r\n")
        ),
    }.items():
        change(write_day(root / name))
        paths[name] = root / name
    paths["day_fake_zip"] = root / "day_fake_zip"
    paths["day_fake_zip"].mkdir()
    (paths["day_fake_zip"] / f"LOBSTER_SampleFile_GOOG_{SAMPLE_DATE}_2.zip").write_bytes(b"PK\x03\x04 not really")
    paths["day_bad_name_date"] = write_day(root / "day_bad_name_date")
    for kind in ("message", "orderbook"):
        source = paths["day_bad_name_date"] / f"{STEM}_{kind}_2.csv"
        source.rename(source.with_name(source.name.replace(SAMPLE_DATE, "2012-13-45")))
    for name, row in CSVS.items():
        paths[name] = root / f"{name}.csv"
        paths[name].write_text(GOOD_ORDERS.splitlines()[0] + "\n" + row + "\n")
    paths["inject_good"] = root / "inject_good.csv"
    paths["inject_good"].write_text(GOOD_ORDERS)
    paths["inject_latin1"] = root / "inject_latin1.csv"
    paths["inject_latin1"].write_bytes(GOOD_ORDERS.encode() + b"10:00:20,limit,buy,580.00,100,caf\xe9\n")
    for name, change in YAMLS.items():
        study = {k: v for k, v in (STUDY | change).items() if v is not None}
        paths[name] = root / f"{name}.yaml"
        paths[name].write_text(_yaml(study))
    paths["study_not_utf8"] = root / "study_not_utf8.yaml"
    paths["study_not_utf8"].write_bytes(_yaml(STUDY).replace("hostile", "caf\xe9").encode("latin-1"))
    paths["study_duplicate_key"] = root / "study_duplicate_key.yaml"
    paths["study_duplicate_key"].write_text(_yaml(STUDY) + "seed: 1\nseed: 2\n")
    paths["study_laughs"] = root / "study_laughs.yaml"  # YAML aliases nested 8 deep: 43 million strings
    laughs = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    laughs += [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefg", "bcdefgh")]
    paths["study_laughs"].write_text("\n".join([*laughs, "symbols: *h", "dates: *h", "start_times: *h", ""]))
    paths["study_list"] = root / "study_list.yaml"
    paths["study_list"].write_text("- 1\n- 2\n")
    paths["study_broken_yaml"] = root / "study_broken_yaml.yaml"
    paths["study_broken_yaml"].write_text("symbols: [GOOG\nq_over_v: {")
    paths["a_file"] = root / "a_file.txt"
    paths["a_file"].write_text("not a directory\n")
    paths["day_good"] = write_day(root / "day_good")
    paths["rl_resume_broken"] = root / "rl_resume_broken"  # a training folder whose configuration is cut short
    paths["rl_resume_broken"].mkdir()
    (paths["rl_resume_broken"] / "checkpoint.zip").write_bytes(b"PK not really")
    (paths["rl_resume_broken"] / "train_config.json").write_text('{"symbols": ["GOOG"')
    paths["policy_runs_code"] = root / "policy_runs_code.pt"
    torch.save({"data": RunsCode(), "state_dict": {}}, paths["policy_runs_code"])
    return paths


class RunsCode:
    """Unpickled, it would call os.getpid (harmless here; a real attack would call os.system)."""

    def __reduce__(self) -> tuple:
        return os.getpid, ()


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """One finished replay minute (one rollout), to corrupt in copies."""
    from mars_core.sim.config import SimConfig
    from mars_core.sim.runner import run_simulation

    config = SimConfig(symbol="GOOG", date=SAMPLE_DATE, start="10:00", minutes=0.5, rollouts=1, background="replay")
    out = tmp_path_factory.mktemp("finished") / "run"
    run_simulation(config, out, str(data_dir), workers=1)
    return out


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path):
    """A copy of the finished run with one file overwritten: run_copy("config.json", "{") -> its path."""

    def make(relative: str | None = None, text: str = "") -> Path:
        target = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
        shutil.copytree(finished_run, target)
        if relative is not None:
            (target / relative).write_text(text)
        return target

    return make
