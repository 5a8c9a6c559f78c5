"""Scenario specs, the built-in prompt parser, and the language-model parser against a stub endpoint on 127.0.0.1."""

from __future__ import annotations

import pytest
from llm_stub import StubLLM

from mars_core.control.scenarios import EXAMPLES, ScenarioSpec, chat_url, parse_prompt, parse_with_llm, spec_from_dict
from mars_core.errors import ConfigError, MarsInputError


# ---- the spec ----------------------------------------------------------------------------------------
def test_spec_defaults_and_description() -> None:
    spec = spec_from_dict({"kind": "sharp_drop", "magnitude_pct": 2, "symbol": "goog"})
    assert (spec.duration_min, spec.symbol, spec.direction) == (10, "GOOG", None)
    assert spec.describe() == "Sharp drop of 2% over 10 minutes (GOOG)"
    reversal = spec_from_dict({"kind": "trend_reversal", "direction": "down_up", "duration_min": 20})
    assert reversal.describe() == "Trend reversal (down, then up) over 20 minutes"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"kind": "meltdown"}, "kind"),
        ({"kind": "sharp_drop", "magnitude_pct": 0}, "magnitude_pct"),
        ({"kind": "sharp_drop", "magnitude_pct": 35}, "magnitude_pct"),
        ({"kind": "sharp_drop", "duration_min": 1}, "duration_min"),
        ({"kind": "sharp_drop", "duration_min": 2.5}, "duration_min"),
        ({"kind": "sharp_drop", "direction": "down_up"}, "direction applies to trend_reversal only"),
        ({"kind": "trend_reversal", "duration_min": 3}, "at least 4 minutes"),
        ({"kind": "sharp_drop", "symbol": "GO OG"}, "symbol"),
        ({"kind": "sharp_drop", "code": "import os"}, "code"),
    ],
)
def test_invalid_specs_name_the_field(fields: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        spec_from_dict(fields)


# ---- the built-in parser ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sharp drop of 2% over 10 minutes", ("sharp_drop", 2.0, 10, None, None)),
        ("GOOG rises sharply 1.5% in 5 min", ("sharp_rise", 1.5, 5, None, "GOOG")),
        ("trend reversal", ("trend_reversal", None, 10, None, None)),
        ("volatility spike for 15 minutes", ("volatility_spike", None, 15, None, None)),
        ("steady decline of 0.5% over 30 minutes", ("steady_drop", 0.5, 30, None, None)),
        ("AMZN drops 1% then recovers, 20 minutes", ("trend_reversal", 1.0, 20, "down_up", "AMZN")),
        ("the price rallies 50 bps in half an hour, then falls", ("trend_reversal", 0.5, 30, "up_down", None)),
        ("a 10-minute crash of 1.2%", ("sharp_drop", 1.2, 10, None, None)),
        ("gradual climb of 0.8 percent over 1 hour", ("steady_rise", 0.8, 60, None, None)),
        ("goog tanks 3 pct", ("sharp_drop", 3.0, 10, None, "GOOG")),
        ("V-shaped rebound over 12 min", ("trend_reversal", None, 12, "down_up", None)),
        ("the rally peaks and reverses", ("trend_reversal", None, 10, "up_down", None)),
        ("Choppy, volatile market of 0.4% over a quarter of an hour", ("volatility_spike", 0.4, 15, None, None)),
    ],
)
def test_parse_prompt_reads_common_phrasings(text: str, expected: tuple) -> None:
    spec = parse_prompt(text, symbols=["GOOG", "AMZN"])
    assert (spec.kind, spec.magnitude_pct, spec.duration_min, spec.direction, spec.symbol) == expected


def test_every_listed_example_parses() -> None:
    for text in EXAMPLES:
        assert isinstance(parse_prompt(text), ScenarioSpec)


def test_a_lowercase_symbol_is_found_only_when_known() -> None:
    assert parse_prompt("amzn drops 1%", symbols=["AMZN"]).symbol == "AMZN"
    assert parse_prompt("amzn drops 1%").symbol is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("make it interesting", "could not find a scenario in 'make it interesting'"),
        ("", "the scenario is empty"),
        ("drop of 2 over 10 minutes", "could not understand the number '2'"),
        ("drop 1% or 2% in 5 minutes", "more than one magnitude (1%, 2%)"),
        ("drop 1% in 5 minutes over 10 minutes", "more than one duration"),
        ("GOOG and AMZN drop", "more than one symbol (GOOG, AMZN)"),
    ],
)
def test_unreadable_prompts_say_what_and_list_examples(text: str, says: str) -> None:
    with pytest.raises(MarsInputError) as err:
        parse_prompt(text)
    assert says in str(err.value)
    assert all(example in str(err.value) for example in EXAMPLES)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("drop of 50% over 10 minutes", "the size 50% is out of range: a scenario's size is above 0% and at most 20%"),
        ("drop of 0% over 10 minutes", "the size 0% is out of range"),
        ("drop of 1% over 3 hours", "the duration 180 minutes is out of range: a scenario's duration is 2–120 minutes"),
        ("trend reversal over 3 minutes", "'trend reversal over 3 minutes': a trend reversal needs at least 4 minutes"),
        ("drop over 2.5 minutes", "the duration (minutes): Input should be a valid integer"),
    ],
)
def test_out_of_range_numbers_are_refused_in_the_prompts_words(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_prompt(text)
    assert says in str(err.value)
    assert (
        "magnitude_pct" not in str(err.value)
        and "duration_min" not in str(err.value)
        and "value:" not in str(err.value)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u22123% over 10 minutes", ("sharp_drop", 3.0, 10, None)),  # a unicode minus: the sign says "drop"
        ("sharp drop of \u22123% over 10 minutes", ("sharp_drop", 3.0, 10, None)),
        ("+0.5% in 5 min", ("sharp_rise", 0.5, 5, None)),
        ("steady decline of -1% over 30 minutes", ("steady_drop", 1.0, 30, None)),
        ("-1% then recovers over 10 minutes", ("trend_reversal", 1.0, 10, "down_up")),
        ("a 10\u2013minute crash of 1.2%", ("sharp_drop", 1.2, 10, None)),  # an en dash
    ],
)
def test_a_signed_size_gives_the_direction(text: str, expected: tuple) -> None:
    spec = parse_prompt(text)
    assert (spec.kind, spec.magnitude_pct, spec.duration_min, spec.direction) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("\u22123% over \u221210 minutes", "the duration -10 minutes is negative"),
        ("drop of 1% over - 5 min", "the duration - 5 min is negative"),
        ("drop of 1% over minus 5 minutes", "the duration minus 5 minutes is negative"),
        ("rise of -3% in 5 min", "a rise of -3% contradicts itself"),
        ("sharp drop of +2%", "a drop of +2% contradicts itself"),
        ("a rally of -1% that reverses", "the first leg of -1% goes the other way"),
        ("volatility spike of -1%", "a volatility spike has a size but no sign"),
    ],
)
def test_negative_durations_and_contradicting_signs_are_refused(text: str, says: str) -> None:
    with pytest.raises(MarsInputError) as err:
        parse_prompt(text)
    assert says in str(err.value)


def test_with_a_catalogue_only_its_symbols_are_tickers() -> None:
    catalogue = ["AMZN", "GOOG"]
    assert parse_prompt("GOOG drops 1%", symbols=catalogue).symbol == "GOOG"
    assert parse_prompt("US stocks drop 1%", symbols=catalogue).symbol is None  # a known non-ticker word
    with pytest.raises(MarsInputError) as err:
        parse_prompt("PWNED drops 1%", symbols=catalogue)
    assert "PWNED is not a symbol of the data catalogue (AMZN, GOOG)" in str(err.value)
    assert parse_prompt("PWNED drops 1%").symbol == "PWNED"  # no catalogue given: a word in capitals is a ticker


# ---- the language-model parser -------------------------------------------------------------------------
def test_llm_answer_becomes_a_validated_spec(llm: StubLLM) -> None:
    llm.answer('{"kind": "sharp_rise", "magnitude_pct": 1.5, "duration_min": 5, "direction": null, "symbol": "GOOG"}')
    spec = parse_with_llm("GOOG rises sharply 1.5% in 5 min", llm.url, "tiny-model", api_key="secret", timeout=5)
    assert spec == ScenarioSpec(kind="sharp_rise", magnitude_pct=1.5, duration_min=5, symbol="GOOG")
    request = llm.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer secret"
    assert request["json"]["model"] == "tiny-model" and request["json"]["temperature"] == 0
    system, user = request["json"]["messages"]
    assert system["role"] == "system" and "JSON object only" in system["content"] and "sharp_drop" in system["content"]
    assert user == {"role": "user", "content": "GOOG rises sharply 1.5% in 5 min"}


def test_llm_fenced_json_and_nulls_take_the_defaults(llm: StubLLM) -> None:
    llm.answer(
        '```json\n{"kind": "trend_reversal", "magnitude_pct": null, "duration_min": null, "direction": "up_down"}\n```'
    )
    spec = parse_with_llm("a rally that reverses", llm.url + "/chat/completions", "m", timeout=5)
    assert (spec.kind, spec.magnitude_pct, spec.duration_min, spec.direction) == ("trend_reversal", None, 10, "up_down")
    assert "Authorization" not in llm.requests[0]["headers"] and llm.requests[0]["path"] == "/v1/chat/completions"


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (
            dict(content="Sure! The scenario is a sharp drop."),
            "did not answer with JSON: 'Sure! The scenario is a sharp drop.'",
        ),
        (dict(content='["sharp_drop"]'), "JSON that is not an object"),
        (dict(content='{"kind": "meltdown"}'), "the language model's scenario: kind: Input should be"),
        (
            dict(content='{"kind": "sharp_drop", "run": "__import__(\'os\').system(\'rm -rf /\')"}'),
            "run: Extra inputs are not permitted",
        ),
        (dict(content='{"kind": "sharp_drop", "magnitude_pct": -3}'), "magnitude_pct: Input should be greater than 0"),
        (
            dict(content='{"error": "no market scenario in the text"}'),
            "could not read a scenario in 'hello': no market scenario",
        ),
        (dict(status=401, body={"error": {"message": "bad key"}}), "answered HTTP 401"),
        (dict(status=200, body={"id": "x"}), "did not answer like an OpenAI-compatible chat endpoint"),
        (dict(status=200, body="<html>not json</html>"), "did not answer like an OpenAI-compatible chat endpoint"),
    ],
)
def test_llm_bad_answers_are_clear_errors(llm: StubLLM, reply: dict, says: str) -> None:
    llm.answer(**reply)
    with pytest.raises(MarsInputError) as err:
        parse_with_llm("hello", llm.url, "m", timeout=5)
    assert says in str(err.value)


def test_llm_timeout_and_unreachable_endpoint(llm: StubLLM) -> None:
    llm.answer('{"kind": "sharp_drop"}', delay=2.0)
    with pytest.raises(MarsInputError, match=r"did not answer within 0.3 s"):
        parse_with_llm("sharp drop", llm.url, "m", timeout=0.3)
    with pytest.raises(
        MarsInputError, match=r"could not reach the language model at http://127.0.0.1:9/v1/chat/completions"
    ):
        parse_with_llm("sharp drop", "http://127.0.0.1:9/v1", "m", timeout=2)


def test_llm_settings_are_checked_before_any_request() -> None:
    assert chat_url("http://localhost:8080/v1/") == "http://localhost:8080/v1/chat/completions"
    with pytest.raises(ConfigError, match="give an http"):
        parse_with_llm("sharp drop", "ftp://example", "m")
    with pytest.raises(ConfigError, match="model name"):
        parse_with_llm("sharp drop", "http://127.0.0.1:9/v1", " ")
