"""The hostile corpus through the `mars` command: every bad input ends in one clear line, a non-zero exit, no
traceback, within a few seconds (issue 14).

A case is (argument list, a fragment the error line must contain, exit code). `{name}` in an argument is a
file of the `hostile` fixture; `{tmp}` is the test's own temporary folder; `{data}` the real sample days.
"""

from __future__ import annotations

import io
import time
import tracemalloc
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from mars_core.cli.app import main
from mars_core.paths import RUNS_ENV

LIMIT_S = 8.0  # every case is refused long before the work would start (the real day loads in ~1-2 s)
GOOG = ["--symbol", "GOOG", "--date", "2012-06-21"]
SIM = ["simulate", *GOOG, "--start", "10:00", "--minutes", "1", "--rollouts", "1", "--workers", "1"]
REPLAY_RUN = [
    *SIM[:-6],
    "--minutes",
    "0.5",
    "--rollouts",
    "1",
    "--background",
    "replay",
    "--data-dir",
    "{data}",
    "--out",
]
IMPACT = ["impact", "--workers", "1", "--data-dir", "{data}", "--out", "{tmp}/study", "--config"]
RAY_JUNK = ["--executor", "ray", "--ray-address", "junk"]
FORECAST_EVAL = ["forecast", "evaluate", "--data-dir", "{data}", "--out", "{tmp}/run"]
RL_TRAIN = ["rl", "train", "--timesteps", "10", "--data-dir", "{data}", "--out", "{tmp}/run"]
DETECT = ["detect", *GOOG, "--data-dir", "{data}", "--out", "{tmp}/run"]
INJECT = ["detect", "inject", *GOOG, "--data-dir", "{data}", "--episode"]
DETECT_EVAL = ["detect", "evaluate", "--data-dir", "{data}", "--out", "{tmp}/run"]


def run_cli(argv: list[str]) -> tuple[int, str, float]:
    """Run `mars argv` in this process: (exit code, stdout + stderr, seconds); a traceback escapes as an exception."""
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
    return code, out.getvalue() + err.getvalue(), time.perf_counter() - started


def fill(argv: list[str], names: dict[str, Path]) -> list[str]:
    return [a.format(**{k: str(v) for k, v in names.items()}) for a in argv]


def _replay(folder: str) -> list[str]:
    return ["replay", "GOOG", "2012-06-21", "--data-dir", folder]


def sim(*extra: str) -> list[str]:
    return [*SIM, "--out", "{tmp}/run", "--data-dir", "{data}", *extra]


def twap(spec: str) -> list[str]:
    return sim("--twap", spec)


CASES: list[tuple[str, list[str], str, int]] = [
    # ---- errors that hide the problem: bad days name the file, the line and the problem
    ("replay bad price", ["replay", "GOOG", "2012-06-21", "--data-dir", "{day_price_abc}"], "line 3", 2),
    ("replay bad price names column", ["replay", "GOOG", "2012-06-21", "--data-dir", "{day_price_abc}"], "'abc'", 2),
    ("simulate bad price", [*SIM, "--data-dir", "{day_price_abc}", "--out", "{tmp}/r"], "line 3", 2),
    ("data show bad price", ["data", "show", "GOOG", "2012-06-21", "--data-dir", "{day_price_abc}"], "line 3", 2),
    ("data list bad price", ["data", "list", "--data-dir", "{day_price_abc}"], "line 3", 1),
    ("data list short book row", ["data", "list", "--data-dir", "{day_book_short_row}"], "line 4", 1),
    ("data list nan in book", ["data", "list", "--data-dir", "{day_book_nan}"], "'nan'", 1),
    ("data list negative book size", ["data", "list", "--data-dir", "{day_book_negative_size}"], "-50", 1),
    (
        "data list folder named like a file",
        ["data", "list", "--data-dir", "{day_directory_named_like_a_file}"],
        "is a folder",
        1,
    ),
    ("data list empty", ["data", "list", "--data-dir", "{day_empty}"], "no datasets", 1),
    ("replay seven columns", _replay("{day_seven_columns}"), "line 5", 2),
    ("replay time backwards", _replay("{day_time_backwards}"), "line 5", 2),
    ("replay event type 9", _replay("{day_event_type_9}"), "line 2", 2),
    ("replay direction 2", _replay("{day_direction_2}"), "line 2", 2),
    ("replay time text", _replay("{day_time_text}"), "'nine thirty'", 2),
    ("replay huge size", _replay("{day_huge_size}"), "line 2", 2),
    ("replay blank line", _replay("{day_blank_line}"), "line 4", 2),
    ("replay empty message file", _replay("{day_empty_message}"), "empty", 2),
    ("replay no orderbook", _replay("{day_no_orderbook}"), "no orderbook file", 2),
    ("replay short orderbook", _replay("{day_short_orderbook}"), "orderbook has 5 rows but the message file has 8", 2),
    ("replay binary message", _replay("{day_binary_message}"), "line 1", 2),
    ("replay fake zip", _replay("{day_fake_zip}"), "not a readable zip", 2),
    ("replay bad date in name", _replay("{day_bad_name_date}"), "not a calendar date", 2),
    ("data list fake zip", ["data", "list", "--data-dir", "{day_fake_zip}"], "not a readable zip", 1),
    ("replay book nan", ["replay", "GOOG", "2012-06-21", "--data-dir", "{day_book_nan}"], "line 4", 2),
    ("replay no folder", ["replay", "GOOG", "2012-06-21", "--data-dir", "{tmp}/nowhere"], "does not exist", 2),
    ("replay data dir is a file", ["replay", "GOOG", "2012-06-21", "--data-dir", "{a_file}"], "is not a folder", 2),
    ("replay bad date", ["replay", "GOOG", "21/06/2012", "--data-dir", "{data}"], "not YYYY-MM-DD", 2),
    ("replay unknown symbol", ["replay", "XYZ", "2012-06-21", "--data-dir", "{data}"], "no dataset XYZ", 2),
    # ---- injected orders: the file, the row and the field
    ("inject qty nan", sim("--inject", "{inject_qty_nan}"), "row 2: qty 'nan' is not a finite number", 2),
    ("inject qty inf", sim("--inject", "{inject_qty_inf}"), "row 2: qty 'inf'", 2),
    ("inject qty 1e30", sim("--inject", "{inject_qty_1e30}"), "row 2: qty '1e30'", 2),
    ("inject qty int64 max", sim("--inject", "{inject_qty_int64_max}"), "row 2: qty '9223372036854775807'", 2),
    ("inject negative qty", sim("--inject", "{inject_negative_qty}"), "row 2: qty must be positive", 2),
    ("inject price inf", sim("--inject", "{inject_price_inf}"), "row 2: price 'inf'", 2),
    ("inject price nan", sim("--inject", "{inject_price_nan}"), "row 2: price 'nan'", 2),
    ("inject price 1e30", sim("--inject", "{inject_price_1e30}"), "row 2: price '1e30'", 2),
    ("inject price int64 max", sim("--inject", "{inject_price_int64_max}"), "row 2: price '9223372036854775807'", 2),
    ("inject 8 fields", sim("--inject", "{inject_8_fields}"), "row 2 has 8 fields", 2),
    ("inject before start", sim("--inject", "{inject_before_start}"), "row 2: time 09:59:00", 2),
    ("inject after end", sim("--inject", "{inject_after_end}"), "row 2: time 10:01:30", 2),
    ("inject bad time", sim("--inject", "{inject_time_garbage}"), "row 2: time '25:99:00'", 2),
    ("inject bad action", sim("--inject", "{inject_bad_action}"), "row 2: action 'teleport'", 2),
    ("inject off tick", sim("--inject", "{inject_off_tick}"), "row 2: price 580.005 is not on the tick grid", 2),
    ("inject not utf-8", sim("--inject", "{inject_latin1}"), "not UTF-8", 2),
    ("inject directory", sim("--inject", "{root}"), "is a folder", 2),
    ("inject missing", sim("--inject", "{tmp}/none.csv"), "not found", 2),
    # ---- flags that used to end in a traceback
    ("minutes 1e-12", sim("--minutes", "1e-12"), "minutes", 2),
    ("minutes nan", sim("--minutes", "nan"), "minutes", 2),
    ("minutes inf", sim("--minutes", "inf"), "minutes", 2),
    ("seed -1", sim("--seed", "-1"), "seed", 2),
    ("seed 2**64", sim("--seed", str(2**64)), "seed", 2),
    ("rollouts 0", sim("--rollouts", "0"), "rollouts", 2),
    ("rollouts huge", sim("--rollouts", "100000000"), "rollouts", 2),
    ("workers 0", sim("--workers", "0"), "--workers", 2),
    ("snapshot negative", sim("--snapshot-interval-ms", "-1"), "snapshot_interval_ms", 2),
    ("background unknown", sim("--background", "magic"), "background", 2),
    ("start garbage", sim("--start", "lunch"), "lunch", 2),
    ("start outside day", sim("--start", "17:00"), "trading window", 2),
    ("date garbage", ["simulate", "--symbol", "GOOG", "--date", "yesterday", "--data-dir", "{data}"], "yesterday", 2),
    ("out is a file", [*SIM, "--data-dir", "{data}", "--out", "{a_file}"], "is a file", 2),
    ("out not a run", [*SIM, "--data-dir", "{data}", "--out", "{root}"], "not a MarS run directory", 2),
    # ---- TWAP specs
    ("twap duration inf", twap("side=buy,volume=100,duration=inf"), "duration", 2),
    ("twap duration nan", twap("side=buy,volume=100,duration=nan"), "duration", 2),
    ("twap volume huge", twap("side=buy,volume=99999999999999999999,duration=60"), "volume", 2),
    ("twap volume float", twap("side=buy,volume=1.5,duration=60"), "volume", 2),
    ("twap interval tiny", twap("side=buy,volume=100,duration=60,interval=0.000001"), "intervals", 2),
    ("twap interval zero", twap("side=buy,volume=100,interval=0"), "interval", 2),
    (
        "twap interval tiny no aggression",
        twap("side=buy,volume=100,duration=60,interval=0.001,aggressive=0"),
        "60,000 intervals",
        2,
    ),
    ("twap repeated side", twap("side=buy,side=sell,volume=100,duration=60"), "side is given twice", 2),
    ("twap repeated volume", twap("side=buy,volume=100,volume=200,duration=60"), "volume is given twice", 2),
    ("twap unknown key", twap("side=buy,volume=100,colour=red"), "'colour=red'", 2),
    ("twap no value", twap("side=buy,volume"), "'volume'", 2),
    ("twap pvr 2", twap("side=buy,volume=100,pvr=2,duration=60"), "pvr", 2),
    ("twap ap 9", twap("side=buy,volume=100,ap=9,duration=60"), "ap", 2),
    ("twap longer than run", twap("side=buy,volume=100,duration=120"), "longer than the run", 2),
    ("twap aggressive inf", twap("side=buy,volume=100,duration=60,aggressive=inf"), "aggressive", 2),
    # ---- studies: the whole study is validated before anything runs
    ("study seed -1", [*IMPACT, "{study_seed_negative}"], "seed", 2),
    ("study interval longer", [*IMPACT, "{study_interval_longer}"], "interval", 2),
    ("study interval inf", [*IMPACT, "{study_interval_inf}"], "interval_s", 2),
    ("study interval tiny", [*IMPACT, "{study_interval_tiny}"], "intervals", 2),
    ("study configs empty", [*IMPACT, "{study_configs_empty}"], "configs", 2),
    ("study configs duplicate", [*IMPACT, "{study_configs_duplicate}"], "L1-P0.9 twice", 2),
    ("study q/v duplicate", [*IMPACT, "{study_qv_duplicate}"], "0.2 twice", 2),
    ("study rollouts true", [*IMPACT, "{study_rollouts_true}"], "rollouts", 2),
    ("study rollouts 2.5", [*IMPACT, "{study_rollouts_float}"], "rollouts", 2),
    ("study huge grid", [*IMPACT, "{study_huge_grid}"], "arms", 2),
    ("study symbol missing", [*IMPACT, "{study_symbol_missing}"], "no dataset XYZ", 2),
    ("study start late", [*IMPACT, "{study_start_late}"], "15:59", 2),
    ("study unknown key", [*IMPACT, "{study_unknown_key}"], "colour", 2),
    ("study q/v zero", [*IMPACT, "{study_qv_zero}"], "Q/V", 2),
    ("study q/v nan", [*IMPACT, "{study_qv_nan}"], "q_over_v.0: Input should be a finite number", 2),
    ("study execution inf", [*IMPACT, "{study_execution_inf}"], "execution_minutes", 2),
    ("study bad config name", [*IMPACT, "{study_bad_config_name}"], "L9-P2", 2),
    ("study bad clock", [*IMPACT, "{study_start_bad_clock}"], "noon", 2),
    ("study not utf-8", [*IMPACT, "{study_not_utf8}"], "not UTF-8", 2),
    ("study duplicate key", [*IMPACT, "{study_duplicate_key}"], "key 'seed' is given twice", 2),
    ("study billion laughs", [*IMPACT, "{study_laughs}"], "more", 2),
    ("study a list", [*IMPACT, "{study_list}"], "expected a mapping", 2),
    ("study broken yaml", [*IMPACT, "{study_broken_yaml}"], "not valid YAML", 2),
    ("study missing", [*IMPACT, "{tmp}/none.yaml"], "not found", 2),
    ("study is a folder", [*IMPACT, "{root}"], "is a folder, not a study file", 2),
    (
        "study out is a file",
        ["impact", "--data-dir", "{data}", "--out", "{a_file}", "--config", "{study_seed_negative}"],
        "seed",
        2,
    ),
    # ---- scenario prompts: a size or duration that is not a number is refused, never replaced by a default
    (
        "scenario nan size",
        ["scenario", "sharp drop of nan% over inf minutes"],
        "could not understand the number 'nan'",
        2,
    ),
    (
        "scenario inf duration",
        ["scenario", "sharp drop of 2% over inf minutes"],
        "could not understand the number 'inf'",
        2,
    ),
    ("scenario exponent", ["scenario", "sharp drop of 1e309% over 10 minutes"], "the number '1e309'", 2),
    ("scenario 100 kB", ["scenario", "a" * 100_000], "the scenario is 100,000 characters long; describe", 2),
    (
        "scenario 5 kB for the language model",
        ["scenario", "drop " * 1000, "--llm-url", "http://127.0.0.1:1/v1", "--llm-model", "m"],
        "the scenario is 4,999 characters long",
        2,
    ),
    # ---- the scenario command's language-model settings
    ("llm timeout zero", ["scenario", "sharp drop", "--llm-timeout", "0"], "--llm-timeout", 2),
    ("llm timeout inf", ["scenario", "sharp drop", "--llm-timeout", "inf"], "--llm-timeout", 2),
    (
        "llm url not http",
        ["scenario", "sharp drop", "--llm-url", "ftp://x", "--llm-model", "m"],
        "give an http(s) URL",
        2,
    ),
    # ---- the other commands
    ("train steps 0", ["train", "order-model", "--out", "{tmp}/m", "--steps", "0"], "--steps", 2),
    ("train vqvae steps -1", ["train", "vqvae", "--out", "{tmp}/m", "--steps", "-1"], "--steps", 2),
    ("train ensemble steps 0", ["train", "ensemble", "--out", "{tmp}/m", "--steps", "0"], "--steps", 2),
    ("train out is a file", ["train", "order-model", "--out", "{a_file}"], "is a file", 2),
    ("realism window past midnight", ["realism", "--symbol", "GOOG", "--window", "25:00", "10:00"], "25:00", 2),
    (
        "realism window backwards",
        ["realism", "--symbol", "GOOG", "--window", "15:00", "14:00"],
        "does not end after",
        2,
    ),
    ("realism seed -3", ["realism", "--symbol", "GOOG", "--seed", "-3"], "seed", 2),
    ("realism rollouts huge", ["realism", "--symbol", "GOOG", "--rollouts", "100000"], "rollouts", 2),
    (
        "realism out is a file",
        ["realism", "--symbol", "GOOG", "--data-dir", "{data}", "--out", "{a_file}"],
        "is a file",
        2,
    ),
    ("control-eval twap share nan", ["control-eval", "--twap-share", "nan"], "finite number", 2),
    ("control-eval seed -1", ["control-eval", "--seed", "-1"], "seed", 2),
    ("control-eval stress unknown", ["control-eval", "--stress", "--scenario", "crash"], "unknown scenario crash", 2),
    ("report no directory", ["report", "{tmp}/none"], "no such directory", 2),
    ("report not a study", ["report", "{root}"], "not a MarS study directory", 2),
    ("fetch timeout -1", ["data", "fetch-samples", "--timeout", "-1", "--dest", "{tmp}/f"], "--timeout", 2),
    ("fetch levels abc", ["data", "fetch-samples", "--levels", "abc", "--dest", "{tmp}/f"], "--levels 'abc'", 2),
    (
        "show levels -1",
        ["data", "show", "GOOG", "2012-06-21", "--levels", "-1", "--data-dir", "{data}"],
        "-1 levels",
        2,
    ),
    # ---- export
    ("export levels huge", ["export", "{run}", "--levels", "100000", "--out", "{tmp}/x"], "--levels", 2),
    ("export levels zero", ["export", "{run}", "--levels", "0", "--out", "{tmp}/x"], "--levels", 2),
    ("export out is a file", ["export", "{run}", "--out", "{a_file}"], "is a file", 2),
    ("export no such rollout", ["export", "{run}", "--rollout", "7", "--out", "{tmp}/x"], "no finished rollout 7", 2),
    ("export no such arm", ["export", "{run}", "--arm", "treated", "--out", "{tmp}/x"], "no arm 'treated'", 2),
    ("export config broken", ["export", "{run_bad_config}", "--out", "{tmp}/x"], "config.json: not a readable", 2),
    ("export config a list", ["export", "{run_list_config}", "--out", "{tmp}/x"], "not a run configuration", 2),
    ("resume with done broken", [*REPLAY_RUN, "{run_bad_done}"], "done.json: not a readable", 2),
    ("resume into broken config", sim("--out", "{run_bad_config}"), "config.json: not a readable", 2),
    ("export not a run", ["export", "{root}"], "not a MarS run directory", 2),
    ("export format", ["export", "{root}", "--format", "xls"], "not a MarS run directory", 2),
    ("export out under a file", ["export", "{run}", "--out", "{a_file}/x"], "which is a file", 2),
    ("simulate out under a file", [*SIM, "--data-dir", "{data}", "--out", "{a_file}/run"], "which is a file", 2),
    ("detect out under a file", [*DETECT[:-1], "{a_file}/run"], "which is a file; give a folder", 2),
    ("control-eval out without --stress", ["control-eval", "--out", "{tmp}/run"], "go with --stress", 2),
    ("control-eval scenario without --stress", ["control-eval", "--scenario", "sharp_drop_1pct_3min"], "--stress", 2),
    ("export format of a run", ["export", "{run}", "--format", "xls", "--out", "{tmp}/x"], "choose lobster or", 2),
    # ---- the commands added since: forecast, rl, detect, control-eval --stress, bench, --executor ray
    ("forecast bad clock", ["forecast", "--at", "25:99", "--data-dir", "{data}"], "time '25:99'", 2),
    ("forecast after the day", ["forecast", "--at", "16:30", "--data-dir", "{data}"], "16:30 leaves no 5", 2),
    ("forecast bad background", ["forecast", "--background", "magic", "--data-dir", "{data}"], "'magic'", 2),
    ("forecast bad day", ["forecast", "--data-dir", "{day_price_abc}"], "line 3", 2),
    ("train-deeplob out is a file", ["forecast", "train-deeplob", "--out", "{a_file}"], "is a file; give a folder", 2),
    ("fetch dest is a file", ["data", "fetch-samples", "--dest", "{a_file}"], "is a file; give a folder", 2),
    ("forecast evaluate out is a file", [*FORECAST_EVAL[:-1], "{a_file}"], "is a file", 2),
    ("forecast evaluate DeepLOB missing", [*FORECAST_EVAL, "--deeplob", "{tmp}/none.pt"], "no DeepLOB model", 2),
    (
        "forecast evaluate DeepLOB not a checkpoint",
        [*FORECAST_EVAL, "--deeplob", "{a_file}"],
        "a_file.txt: not a checkpoint of weights",
        2,
    ),
    ("forecast evaluate bad background", [*FORECAST_EVAL, "--backgrounds", "magic"], "background 'magic'", 2),
    ("forecast evaluate ray junk", [*FORECAST_EVAL, *RAY_JUNK], "Ray address 'junk' is not host:port", 2),
    (
        "forecast evaluate ray answers nothing",
        [*FORECAST_EVAL, "--executor", "ray", "--ray-address", "127.0.0.1:1"],
        "Ray cluster at 127.0.0.1:1: nothing answers there",
        2,
    ),
    ("rl train threads -1", [*RL_TRAIN, "--threads", "-1"], "--threads", 2),
    ("rl train background magic", [*RL_TRAIN, "--background", "magic"], "unknown background 'magic'", 2),
    ("rl train volume 1e30", [*RL_TRAIN, "--volume", str(10**30)], "volume: Input should be less than", 2),
    ("rl evaluate policy missing", ["rl", "evaluate", "--policy", "{tmp}/none.pt"], "no policy at", 2),
    ("rl evaluate policy not a policy", ["rl", "evaluate", "--policy", "{a_file}"], "not a saved stable-b", 2),
    (
        "rl evaluate policy that runs code",
        ["rl", "evaluate", "--policy", "{policy_runs_code}"],
        "refused unread: it asks for posix.getpid",
        2,
    ),
    (
        "rl resume broken config",
        ["rl", "train", "--out", "{rl_resume_broken}", "--resume", "--timesteps", "10", "--data-dir", "{data}"],
        "train_config.json: not a readable training configuration file",
        2,
    ),
    ("rl evaluate out a folder", ["rl", "evaluate", "--out", "{root}"], "is a folder; give the JSON file", 2),
    ("rl evaluate ray junk", ["rl", "evaluate", *RAY_JUNK], "Ray address 'junk'", 2),
    ("detect out is a file", [*DETECT[:-1], "{a_file}"], "is a file", 2),
    ("detect workers 0", [*DETECT, "--workers", "0"], "--workers", 2),
    ("detect span bad clock", [*DETECT, "--span", "25:99", "26:00"], "time '25:99'", 2),
    ("detect span backwards", [*DETECT, "--span", "14:30", "14:00"], "14:30-14:00 does not end after", 2),
    ("detect ray junk", [*DETECT, *RAY_JUNK], "Ray address 'junk'", 2),
    ("detect bad day", [*DETECT[:-2], "--data-dir", "{day_price_abc}", "--out", "{tmp}/run"], "line 3", 2),
    ("inject bad clock", [*INJECT, "spoofing@25:99", "--out", "{tmp}/run"], "start: time '25:99'", 2),
    ("inject intensity nan", [*INJECT, "spoofing@14:40,intensity=nan", "--out", "{tmp}/run"], "finite", 2),
    ("inject intensity 1e30", [*INJECT, "spoofing@14:40,intensity=1e30", "--out", "{tmp}/run"], "intensity", 2),
    ("inject out is a file", [*INJECT, "spoofing@14:40", "--out", "{a_file}"], "is a file", 2),
    (
        "inject into the data folder",
        ["detect", "inject", *GOOG, "--episode", "spoofing@14:40", "--data-dir", "{day_good}", "--out", "{day_good}"],
        "is inside the data folder",
        2,
    ),
    ("detect evaluate span backwards", [*DETECT_EVAL, "--span", "14:30", "14:00"], "does not end after", 2),
    ("detect evaluate out is a file", [*DETECT_EVAL[:-1], "{a_file}"], "is a file", 2),
    ("detect evaluate intensities abc", [*DETECT_EVAL, "--intensities", "abc"], "--intensities 'abc'", 2),
    ("detect evaluate intensities inf", [*DETECT_EVAL, "--intensities", "inf"], "finite number", 2),
    ("stress window junk", ["control-eval", "--stress", "--window", "junk"], "window", 2),
    # ---- repeated values would be counted twice, repeated keys would silently keep the last
    ("inject key twice", [*INJECT, "spoofing@14:40,intensity=3,intensity=4", "--out", "{tmp}/run"], "given twice", 2),
    ("inject kind overridden", [*INJECT, "spoofing@14:40,kind=layering", "--out", "{tmp}/run"], "kind is given", 2),
    ("forecast evaluate symbol twice", [*FORECAST_EVAL, "--symbols", "GOOG", "--symbols", "GOOG"], "GOOG twice", 2),
    (
        "forecast evaluate background twice",
        [*FORECAST_EVAL, "--backgrounds", "lmm", "--backgrounds", "lmm"],
        "lmm twice",
        2,
    ),
    ("detect evaluate intensity twice", [*DETECT_EVAL, "--intensities", "2,2"], "intensities: 2 twice", 2),
    ("detect evaluate kind twice", [*DETECT_EVAL, "--kinds", "spoofing,spoofing"], "spoofing twice", 2),
    ("stress scenario twice", ["control-eval", "--stress", *["--scenario", "sharp_drop_1pct_3min"] * 2], "twice", 2),
    ("rl evaluate symbol twice", ["rl", "evaluate", "--symbols", "GOOG", "--symbols", "GOOG"], "GOOG twice", 2),
    ("rl train symbol twice", [*RL_TRAIN, "--symbols", "GOOG,GOOG"], "GOOG twice", 2),
    (
        "stress on a bad day",
        ["control-eval", "--stress", "--scenario", "sharp_drop_1pct_3min", "--data-dir", "{day_price_abc}"],
        "_message_2.csv, line 3: column 5 (price) is 'abc'",
        2,
    ),
    ("control-eval unknown symbol", ["control-eval", "--symbols", "XYZ", "--data-dir", "{data}"], "XYZ", 2),
    (
        "detect evaluate on a bad day",
        [*DETECT_EVAL[:2], "--data-dir", "{day_price_abc}", *DETECT_EVAL[4:]],
        "line 3",
        2,
    ),
    ("train on a bad day", ["train", "order-model", "--out", "{tmp}/m", "--data-dir", "{day_price_abc}"], "line 3", 2),
    ("train seed -1", ["train", "order-model", "--out", "{tmp}/m", "--seed", "-1"], "--seed", 2),
    ("forecast seed 2**64", ["forecast", "--seed", str(2**64)], "--seed", 2),
    ("forecast evaluate seed -1", [*FORECAST_EVAL, "--seed", "-1"], "--seed", 2),
    ("stress ray junk", ["control-eval", "--stress", *RAY_JUNK], "Ray address 'junk'", 2),
    ("simulate ray junk", sim(*RAY_JUNK), "Ray address 'junk'", 2),
    ("impact ray junk", [*IMPACT[:-1], *RAY_JUNK, "--config", "{study_ok}"], "Ray address 'junk'", 2),
    ("bench sampler batches abc", ["bench", "sampler", "--batches", "abc"], "--batches 'abc'", 2),
    ("bench sampler steps -1", ["bench", "sampler", "--steps", "-1"], "--steps", 2),
    ("bench sampler threads 0", ["bench", "sampler", "--threads", "0"], "--threads", 2),
    ("bench generate steps 0", ["bench", "generate", "--steps", "0"], "--steps", 2),
    ("bench batch-sampler samples 1e30", ["bench", "batch-sampler", "--samples", str(10**30)], "1 to 1,024", 2),
    ("bench control minutes -1", ["bench", "control", "--minutes", "-1"], "--minutes", 2),
    ("bench control batches 0", ["bench", "control", "--batches", "0"], "1 to 1,024", 2),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("argv", "fragment", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_ends_in_one_clear_line(
    argv: list[str],
    fragment: str,
    code: int,
    hostile: dict[str, Path],
    tmp_path: Path,
    data_dir: Path,
    run_copy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs_root"))  # where commands without --out would write
    names = hostile | {"tmp": tmp_path, "data": data_dir}
    if any("{run" in a for a in argv):
        names |= {
            "run": run_copy(),
            "run_bad_config": run_copy("config.json", '{"symbol": "GOOG", '),
            "run_list_config": run_copy("config.json", "[1, 2]"),
            "run_bad_done": run_copy("rollout=0000/arm=main/done.json", "{not json"),
        }
    done, output, seconds = run_cli(fill(argv, names))
    assert "Traceback" not in output
    assert done == code, output
    assert fragment in output, output
    errors = [line for line in output.splitlines() if line.lower().startswith(("error:", "problem:"))]
    assert errors and all(len(line) < 1000 for line in errors), output
    assert seconds < LIMIT_S, f"took {seconds:.1f}s"
    for fresh in ("run", "study"):  # validated before anything ran: a new output directory is not even created
        if f"{{tmp}}/{fresh}" in argv:
            assert not (tmp_path / fresh).exists()
    assert not (tmp_path / "runs_root").exists()  # nor a default one


def test_a_day_with_windows_line_ends_is_read(hostile: dict[str, Path]) -> None:
    done, output, _ = run_cli(["replay", "GOOG", "2012-06-21", "--data-dir", str(hostile["day_crlf"]), "--json"])
    assert done == 0 and '"messages":8' in output, output


UNBOUNDED = ["twap interval tiny no aggression", "study interval tiny", "study huge grid", "study billion laughs"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", UNBOUNDED)
def test_work_that_would_be_unbounded_is_refused_before_allocating(
    name: str, hostile: dict[str, Path], tmp_path: Path, data_dir: Path
) -> None:
    """Inputs that once ran for minutes and gigabytes are refused by size checks: Python's peak allocation stays small."""
    argv, _, code = next(c[1:] for c in CASES if c[0] == name)
    argv = fill(argv, hostile | {"tmp": tmp_path, "data": data_dir})
    run_cli(argv)  # the day and the imports load once, outside the measurement
    tracemalloc.start()
    try:
        done, output, _ = run_cli(argv)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert done == code, output
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MB"
