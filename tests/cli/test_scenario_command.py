"""`mars scenario`: the spec, the filter and the retrieved windows, with one JSON object last (built-in and stub LLM)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from llm_stub import StubLLM
from typer.testing import CliRunner

from mars_core.cli.app import app as mars_app
from mars_core.control.retrieval import NoMatchError
from mars_core.errors import MarsInputError
from mars_core.paths import LLM_KEY_ENV


def invoke(*args: str, env: dict | None = None):  # noqa: ANN201 (click's Result)
    return CliRunner().invoke(mars_app, ["scenario", *args], env=env)


def test_scenario_prints_spec_filter_windows_and_json_last(data_dir: Path) -> None:
    result = invoke("sharp drop of 1% over 10 minutes", "--top", "3", "--data-dir", str(data_dir), "--json")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "scenario: Sharp drop of 1% over 10 minutes, read by the built-in parser"
    assert "  - the return over the 10 minutes is -2 σ or beyond" in lines
    assert "  1. AMZN 2012-06-21 12:20-12:30: real -0.758%, score 3.37, scale x1.32 -> target ends -1.000%" in lines
    out = json.loads(lines[-1])
    assert out["parser"] == "built-in" and out["spec"] == {
        "kind": "sharp_drop",
        "magnitude_pct": 1.0,
        "duration_min": 10,
        "direction": None,
        "symbol": None,
    }
    assert len(out["windows"]) == 3 and out["windows"][0]["label"] == "AMZN 2012-06-21 12:20-12:30"
    for w in out["windows"]:
        assert len(w["target_logret"]) == 11 and math.expm1(w["target_logret"][-1]) == pytest.approx(-0.01, abs=1e-6)
    assert out["filter"].startswith("Sharp drop: every 10-minute window of every catalogued day")


def test_unreadable_prompt_and_no_match_raise_input_errors(data_dir: Path) -> None:
    result = invoke("make it interesting", "--data-dir", str(data_dir), "--json")
    assert isinstance(result.exception, MarsInputError) and "could not find a scenario" in str(result.exception)
    result = invoke("GOOG sharp rise over 10 minutes", "--data-dir", str(data_dir))
    assert isinstance(result.exception, NoMatchError) and "the closest, GOOG 2012-06-21 14:33-14:43" in str(
        result.exception
    )
    assert result.output.startswith("scenario: Sharp rise over 10 minutes (GOOG), read by the built-in parser")
    result = invoke("sharp drop", "--llm-url", "http://127.0.0.1:9/v1", "--data-dir", str(data_dir))
    assert isinstance(result.exception, MarsInputError) and "--llm-url needs --llm-model" in str(result.exception)


def test_scenario_through_a_language_model(llm: StubLLM, data_dir: Path) -> None:
    llm.answer('{"kind": "trend_reversal", "direction": "up_down", "duration_min": 10, "magnitude_pct": 0.5}')
    result = invoke(
        "a rally that fades",
        "--llm-url",
        llm.url,
        "--llm-model",
        "m",
        "--data-dir",
        str(data_dir),
        "--json",
        env={LLM_KEY_ENV: "k123"},
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["parser"] == "llm" and out["spec"]["kind"] == "trend_reversal" and out["spec"]["direction"] == "up_down"
    assert out["windows"] and all(w["direction"] == "up_down" for w in out["windows"])
    assert all(max(w["target_logret"]) == pytest.approx(math.log(1.005), abs=1e-6) for w in out["windows"])
    assert llm.requests[0]["headers"]["Authorization"] == "Bearer k123"
