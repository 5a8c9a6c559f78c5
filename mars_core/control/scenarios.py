"""Scenario prompts (paper App. E): words such as "sharp drop of 2% over 10 minutes" -> a `ScenarioSpec`.

A scenario spec is validated data, never code: a kind (sharp drop or rise, steady drop
or rise, trend reversal, volatility spike), an optional magnitude in percent, a
duration in minutes and an optional symbol. `mars_core.control.retrieval` turns it into
historical windows of the catalogued days and those into control signals.

Two parsers produce a spec:
  * `parse_prompt`, built in: keyword and number rules (below), no network. A prompt
    it cannot read raises `MarsInputError` naming the part it could not understand and
    listing `EXAMPLES`.
  * `parse_with_llm`, optional: asks a language model behind an OpenAI-compatible
    `/chat/completions` endpoint the user configured for the spec as one JSON object,
    and validates that object against `ScenarioSpec` (unknown fields, wrong kinds and
    out-of-range numbers are refused with the field named). Nothing it returns is run.

Built-in rules, in order:
  1. volatility words (volatile, volatility, turbulence, choppy, whipsaw, swings)
     -> volatility_spike;
  2. reversal words (reversal, reverses, V-shape, turnaround, rebound, recovery,
     bounce, peak), or both a falling and a rising word ("drops then recovers")
     -> trend_reversal, down-then-up or up-then-down by which comes first;
  3. a falling word (drop, fall, decline, plunge, crash, sell-off, ...) -> a drop,
     a rising word (rise, rally, surge, jump, climb, soar, ...) -> a rise; steady
     when it says so (steady, gradual, slow, drift, trend) and nothing sharp,
     else sharp.
Magnitudes are numbers with a unit (2%, 2 percent, 1.5 pct, 50 bps); durations are
numbers with minutes or hours (10 minutes, 5 min, 10-minute, 1 hour), or "half an
hour" / "an hour". Unicode minus signs and dashes read as "-". A signed magnitude gives
the direction ("-3% over 10 minutes" is a sharp drop of 3%) and must agree with the words
("a rise of -3%" is refused); a negative duration is refused. With a catalogue
(`symbols`), a ticker is one of its symbols in any case, and another word in capitals
that looks like a ticker is refused by name; without one, any word in capitals is a ticker.
Errors speak of the size and the duration as the prompt does, not of the spec's fields.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
import urllib.parse
from collections.abc import Iterable
from typing import Literal

from pydantic import Field, field_validator, model_validator

from mars_core.errors import ConfigError, MarsInputError
from mars_core.settings import Settings

Kind = Literal["sharp_drop", "sharp_rise", "steady_drop", "steady_rise", "trend_reversal", "volatility_spike"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
KIND_LABELS = {
    "sharp_drop": "Sharp drop",
    "sharp_rise": "Sharp rise",
    "steady_drop": "Steady drop",
    "steady_rise": "Steady rise",
    "trend_reversal": "Trend reversal",
    "volatility_spike": "Volatility spike",
}
DIRECTION_LABELS = {"down_up": "down, then up", "up_down": "up, then down"}
DEFAULT_DURATION = 10
MAX_MAGNITUDE_PCT = 20.0
MAX_REPLY_BYTES = 1_000_000  # a chat reply with one small JSON object is a few kB
MAX_PROMPT_CHARS = 1_000  # a scenario is a sentence or two; a longer text is refused, not echoed back
EXAMPLES = (
    "sharp drop of 2% over 10 minutes",
    "GOOG rises sharply 1.5% in 5 min",
    "steady decline of 0.5% over 30 minutes",
    "trend reversal",
    "AMZN drops 1% then recovers, 20 minutes",
    "volatility spike for 15 minutes",
)


class ScenarioSpec(Settings):
    """A market scenario to steer a simulation toward (see the module docstring)."""

    kind: Kind = Field(description="what the price does")
    magnitude_pct: float | None = Field(
        None,
        gt=0,
        le=MAX_MAGNITUDE_PCT,
        description=(
            "size in percent: the net move (drops, rises), the first leg (reversals) or the realised volatility "
            "over the window (volatility spikes); none = as retrieved"
        ),
    )
    duration_min: int = Field(DEFAULT_DURATION, ge=2, le=120, description="length of the window in minutes")
    direction: Literal["down_up", "up_down"] | None = Field(None, description="trend reversals only; none = either")
    symbol: str | None = Field(None, description="retrieve from this symbol's days only; none = every catalogued day")

    @field_validator("symbol")
    @classmethod
    def _ticker(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().upper()
        if not re.fullmatch(r"[A-Z][A-Z0-9.]{0,9}", value):
            raise ValueError(f"{value!r} is not a ticker (letters, digits and dots, e.g. GOOG)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioSpec:
        if self.direction is not None and self.kind != "trend_reversal":
            raise ValueError(f"direction applies to trend_reversal only, not {self.kind}")
        if self.kind == "trend_reversal" and self.duration_min < 4:
            raise ValueError(f"a trend reversal needs at least 4 minutes, got {self.duration_min}")
        return self

    def describe(self) -> str:
        """One line in words, e.g. 'Sharp drop of 2% over 10 minutes (GOOG)'."""
        text = KIND_LABELS[self.kind]
        if self.direction:
            text += f" ({DIRECTION_LABELS[self.direction]})"
        if self.magnitude_pct is not None:
            text += f" of {self.magnitude_pct:g}%" + (" realised volatility" if self.kind == "volatility_spike" else "")
        text += f" over {self.duration_min} minutes"
        return text + (f" ({self.symbol})" if self.symbol else "")


def spec_from_dict(data: object, where: str = "scenario") -> ScenarioSpec:
    """Validate a mapping (JSON, a form) as a `ScenarioSpec`; `ConfigError` names each bad field."""
    try:
        return ScenarioSpec.from_dict(data, where=where)
    except ConfigError as err:  # pydantic's "Value error, " prefix says nothing to a user
        raise ConfigError(str(err).replace("Value error, ", "")) from None


# ------------------------------------------------------------------ built-in parser
def _words(*stems: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(stems) + r")\b")


VOLATILE = _words(r"volatil\w*", r"vol", r"turbulen\w*", r"choppy", r"whipsaw\w*", r"swings?", r"erratic")
REVERSAL = _words(r"revers\w*", r"v[- ]?shaped?", r"turn(?:s|ed|ing)? ?around", r"turnaround", r"u-?turn")
REBOUND = _words(r"rebound\w*", r"recover\w*", r"bounc\w*", r"comes? back")  # a reversal that ends up
PEAK = _words(r"peaks?", r"peaking", r"tops? out", r"inverted v")  # a reversal that ends down
DOWN = _words(
    r"drops?",
    r"dropp\w+",
    r"falls?",
    r"falling",
    r"fell",
    r"declin\w*",
    r"plung\w*",
    r"crash\w*",
    r"tumbl\w*",
    r"sell-?offs?",
    r"selloffs?",
    r"slump\w*",
    r"div(?:e|es|ing)",
    r"tank\w*",
    r"sink\w*",
    r"sank",
    r"slid\w*",
    r"collaps\w*",
    r"dumps?",
    r"down",
    r"downwards?",
    r"downtrend",
    r"bearish",
    r"lower",
    r"loses?",
    r"losing",
)
UP = _words(
    r"rises?",
    r"rising",
    r"rose",
    r"rall(?:y|ies|ied|ying)",
    r"surg\w*",
    r"jump\w*",
    r"climb\w*",
    r"soar\w*",
    r"bumps?",
    r"pops?",
    r"spikes? up",
    r"up",
    r"upwards?",
    r"uptrend",
    r"bullish",
    r"higher",
    r"gains?",
    r"gaining",
)
SHARP = _words(
    r"sharp\w*",
    r"sudden\w*",
    r"fast",
    r"quick\w*",
    r"rapid\w*",
    r"steep\w*",
    r"abrupt\w*",
    r"flash",
    r"crash\w*",
    r"plung\w*",
    r"surg\w*",
    r"spik\w*",
    r"jump\w*",
    r"soar\w*",
    r"tank\w*",
    r"tumbl\w*",
    r"collaps\w*",
)
STEADY = _words(
    r"stead\w*",
    r"gradual\w*",
    r"slow\w*",
    r"gentl\w*",
    r"drift\w*",
    r"grind\w*",
    r"creep\w*",
    r"trend(?:s|ing)?",
    r"uptrend",
    r"downtrend",
    r"smooth\w*",
    r"orderly",
)
# a number starts a word: the 309 of "1e309%" is not a size (the whole "1e309" is refused as a number)
MAGNITUDE = re.compile(r"(?<![\w.])([+-]?\d+(?:\.\d+)?)\s*(%|percent|per cent|pct|bps|bp|basis points?)(?![a-z])")
DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*-?\s*(minutes?|mins?|m|hours?|hrs?|h)\b")
DURATION_WORDS = {
    r"\bhalf an hour\b": 30,
    r"\bquarter of an hour\b": 15,
    r"\bquarter hour\b": 15,
    r"\b(?:an|one) hour\b": 60,
    r"\ba minute\b": 1,
}
NEGATIVE_DURATION = re.compile(
    r"(?<![\w.%])-\s*\d+(?:\.\d+)?\s*-?\s*(?:minutes?|mins?|m|hours?|hrs?|h)\b|\bminus\s+\d+(?:\.\d+)?\s*(?:minutes?|mins?|hours?)\b"
)
NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?")
NOT_A_NUMBER = re.compile(r"[+-]?\b(?:nan|inf|infinity)\b")  # where a size or a duration would go
MINUS_SIGNS = str.maketrans(dict.fromkeys("−‐‑‒–—﹣－", "-"))
FIELD_WORDS = {
    "magnitude_pct": "the size (%)",
    "duration_min": "the duration (minutes)",
    "kind": "the kind of scenario",
}
NOT_TICKERS = {
    "US",
    "USA",
    "UK",
    "EU",
    "AM",
    "PM",
    "ET",
    "EST",
    "LLM",
    "API",
    "OK",
    "TWAP",
    "VWAP",
    "LOB",
    "BPS",
    "BP",
    "PCT",
    "MIN",
    "MINS",
    "MAX",
    "AI",
    "CEO",
    "IPO",
    "FED",
    "CPI",
    "GDP",
    "NYSE",
    "NASDAQ",
    "V",
    "U",
}


def examples_text() -> str:
    return "Try for example: " + "; ".join(f'"{e}"' for e in EXAMPLES) + "."


def _fail(problem: str) -> MarsInputError:
    return MarsInputError(f"{problem}. {examples_text()}")


def _described(text: str | None) -> str:
    """The description, stripped; refused when empty or longer than `MAX_PROMPT_CHARS`."""
    text = (text or "").strip()
    if not text:
        raise _fail("the scenario is empty")
    if len(text) > MAX_PROMPT_CHARS:
        raise _fail(f"the scenario is {len(text):,} characters long; describe it in at most {MAX_PROMPT_CHARS:,}")
    return text


def _take(pattern: re.Pattern[str], text: str) -> tuple[list[re.Match[str]], str]:
    """The matches of a pattern and the text with them blanked out (so numbers are not read twice)."""
    found = list(pattern.finditer(text))
    for m in found:
        text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    return found, text


def _magnitude(text: str) -> tuple[float | None, str, str]:
    """The size in percent, signed when the prompt gives a sign (-3%, +50 bps); the words it was said in; the rest."""
    found, rest = _take(MAGNITUDE, text)
    if len(found) > 1:
        raise _fail(f"found more than one magnitude ({', '.join(m.group(0) for m in found)}); give one")
    if not found:
        return None, "", rest
    value, unit = float(found[0][1]), found[0][2]
    return (value / 100 if unit.startswith("b") else value), found[0].group(0), rest


def _signed(kind: str, direction: str | None, magnitude: float, said: str) -> tuple[str, str | None]:
    """The kind and direction once a signed size ("-3%") is taken into account; a sign against the words raises."""
    falling = magnitude < 0
    if kind == "volatility_spike":
        raise _fail(f"a volatility spike has a size but no sign; write {abs(magnitude):g}%, not {said}")
    moves = {"sharp_drop": True, "steady_drop": True, "sharp_rise": False, "steady_rise": False}
    if kind in moves and moves[kind] != falling:
        word = "drop" if moves[kind] else "rise"
        raise _fail(
            f"a {word} of {said} contradicts itself; write the size without a sign (a {word} of {abs(magnitude):g}%)"
        )
    if kind == "trend_reversal":
        first = "down_up" if falling else "up_down"
        if direction not in (None, first):
            raise _fail(f"the first leg of {said} goes the other way than the words say")
        return kind, first
    return kind, direction


def _duration(text: str) -> tuple[float | None, str]:
    negative = NEGATIVE_DURATION.search(text)
    if negative is not None:
        raise _fail(f"the duration {negative.group(0).strip()} is negative; say how long, e.g. over 10 minutes")
    values: list[tuple[str, float]] = []
    for phrase, minutes in DURATION_WORDS.items():
        found, text = _take(re.compile(phrase), text)
        values += [(m.group(0), minutes) for m in found]
    found, text = _take(DURATION, text)
    values += [(m.group(0), float(m[1]) * (60 if m[2].startswith("h") else 1)) for m in found]
    if len(values) > 1:
        raise _fail(f"found more than one duration ({', '.join(v for v, _ in values)}); give one")
    return (values[0][1] if values else None), text


def _symbol(original: str, symbols: Iterable[str] | None) -> str | None:
    known = {s.upper() for s in symbols or ()}
    found = [w for w in re.findall(r"\$?\b[A-Za-z][A-Za-z0-9.]{0,9}\b", original) if w.lstrip("$").upper() in known]
    capitals = [
        w.lstrip("$")
        for w in re.findall(r"\$?\b[A-Z]{2,5}\b", original)
        if w.lstrip("$") not in NOT_TICKERS
        and not any(p.search(w.lower()) for p in (VOLATILE, REVERSAL, REBOUND, PEAK, DOWN, UP, SHARP, STEADY))
    ]
    if symbols is None:
        found += capitals
    elif unknown := [w for w in dict.fromkeys(capitals) if w not in known]:
        raise _fail(
            f"{', '.join(unknown)} {'is not a symbol' if len(unknown) == 1 else 'are not symbols'} of the data "
            f"catalogue ({', '.join(sorted(known)) or 'none'}); name one of those, or none to search every day"
        )
    tickers = list(dict.fromkeys(w.lstrip("$").upper() for w in found))
    if len(tickers) > 1:
        raise _fail(
            f"found more than one symbol ({', '.join(tickers)}); a scenario retrieves from one symbol or from all"
        )
    return tickers[0] if tickers else None


def _first(pattern: re.Pattern[str], text: str) -> int | None:
    m = pattern.search(text)
    return m.start() if m else None


def _kind(text: str, original: str) -> tuple[str, str | None]:
    """(kind, reversal direction) from the words of a lowercased prompt; see the module docstring."""
    down, up = _first(DOWN, text), _first(UP, text)
    if VOLATILE.search(text):
        return "volatility_spike", None
    rebound, peak = _first(REBOUND, text), _first(PEAK, text)
    if REVERSAL.search(text) or rebound is not None or peak is not None or (down is not None and up is not None):
        if down is not None and up is not None:
            return "trend_reversal", "down_up" if down < up else "up_down"
        if rebound is not None or down is not None:  # "reversal of the drop", "rebound"
            return "trend_reversal", "down_up"
        if peak is not None or up is not None:  # "rally reverses", "peaks"
            return "trend_reversal", "up_down"
        return "trend_reversal", None
    if down is None and up is None:
        raise _fail(
            f"could not find a scenario in {original!r}: no word for a drop, a rise, a trend reversal "
            "or a volatility spike"
        )
    pace = "steady" if STEADY.search(text) and not SHARP.search(text) else "sharp"
    return f"{pace}_{'drop' if down is not None else 'rise'}", None


def parse_prompt(text: str, symbols: Iterable[str] | None = None) -> ScenarioSpec:
    """The built-in parser: a scenario description in words -> a validated spec.

    Args:
        text: e.g. "sharp drop of 2% over 10 minutes", "GOOG rises sharply 1.5% in 5 min".
        symbols: the catalogued tickers, recognised in any case; other capitalised words are refused. None: any
            capitalised word is a ticker.

    Raises:
        MarsInputError: what it could not understand, with example phrasings; `ConfigError` (a subclass)
            when the numbers are out of range (e.g. a 50% drop).
    """
    original = _described(text).translate(MINUS_SIGNS)
    lowered = " ".join(original.lower().split())
    magnitude, said, rest = _magnitude(lowered)
    duration, rest = _duration(rest)
    stray = NUMBER.search(rest) or NOT_A_NUMBER.search(rest)
    if stray is not None:
        raise _fail(
            f"could not understand the number {stray.group(0)!r} in {original!r}: give a magnitude with a unit "
            "(2%, 50 bps) and a duration in minutes or hours (over 10 minutes)"
        )
    signed = magnitude is not None and said[:1] in "+-"
    if signed and not _has_move(rest):  # "-3% over 10 minutes": the sign is the only word for the direction
        rest += " drop" if magnitude < 0 else " rise"
    kind, direction = _kind(rest, original)
    if signed:
        kind, direction = _signed(kind, direction, magnitude, said)
    fields: dict[str, object] = {"kind": kind, "direction": direction, "symbol": _symbol(original, symbols)}
    if magnitude is not None:
        fields["magnitude_pct"] = _in_words_range("size", abs(magnitude), "%", 0, MAX_MAGNITUDE_PCT, said)
    if duration is not None:
        minutes = _in_words_range("duration", duration, " minutes", 2, 120, f"{duration:g} minutes")
        fields["duration_min"] = int(minutes) if float(minutes).is_integer() else minutes
    try:
        return spec_from_dict(fields, where=f"scenario {original!r}")
    except ConfigError as err:  # what is left (a reversal too short, a fractional minute) in the prompt's words
        text = str(err)
        for field, words in (*FIELD_WORDS.items(), ("value", "")):  # "value": a rule over several fields
            text = text.replace(f"{field}: ", f"{words}: " if words else "")
        raise ConfigError(text) from None


def _has_move(text: str) -> bool:
    return any(p.search(text) for p in (VOLATILE, REVERSAL, REBOUND, PEAK, DOWN, UP))


def _in_words_range(what: str, value: float, unit: str, low: float, high: float, said: str) -> float:
    """`value` if it lies in (low, high] for a size or [low, high] for a duration; else a ConfigError in words."""
    inside = (low < value <= high) if what == "size" else (low <= value <= high)
    if not inside:
        bounds = f"above {low:g}{unit} and at most {high:g}{unit}" if what == "size" else f"{low:g}–{high:g}{unit}"
        raise ConfigError(
            f"the {what} {said.strip()} is out of range: a scenario's {what} is {bounds}. {examples_text()}"
        )
    return value


# ------------------------------------------------------------------ language-model parser
LLM_SYSTEM_PROMPT = f"""You turn a description of a stock-market scenario into one JSON object. Reply with the JSON \
object only: no prose, no code, no markdown.
Fields:
- "kind": one of {", ".join(f'"{k}"' for k in KINDS)} (required);
- "magnitude_pct": positive number, the size in percent (net move for drops and rises, first leg for \
trend_reversal, realised volatility for volatility_spike), or null when the text gives none; at most {MAX_MAGNITUDE_PCT:g};
- "duration_min": whole number of minutes from 2 to 120, or null when the text gives none;
- "direction": "down_up" or "up_down" for trend_reversal (null when unclear), null for every other kind;
- "symbol": the ticker in capitals when the text names one, else null.
If the text does not describe a market scenario, reply {{"error": "<what is missing>"}}.
Example: "GOOG rises sharply 1.5% in 5 min" -> {{"kind": "sharp_rise", "magnitude_pct": 1.5, "duration_min": 5, \
"direction": null, "symbol": "GOOG"}}"""


def chat_url(base_url: str) -> str:
    """The `/chat/completions` URL of an OpenAI-compatible base URL (e.g. http://127.0.0.1:8080/v1)."""
    url = (base_url or "").strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"language model URL {base_url!r}: give an http(s) URL such as http://127.0.0.1:8080/v1")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def _reply_json(content: str) -> dict:
    """The JSON object of a reply (a ```json fence around it is tolerated); MarsInputError otherwise."""
    body = content.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, flags=re.S)
    if fenced:
        body = fenced[1]
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, RecursionError):  # RecursionError: brackets nested thousands deep
        raise MarsInputError(f"the language model did not answer with JSON: {content[:200]!r}") from None
    if not isinstance(data, dict):
        raise MarsInputError(f"the language model answered JSON that is not an object: {content[:200]!r}")
    return data


def post_json(url: str, payload: dict, headers: dict[str, str], timeout: float) -> bytes:
    """POST `payload` to `url` and return the reply's body, all within `timeout` seconds.

    A redirect is not followed (it would carry the API key to wherever it points): it is an error naming
    its target. The body is read in chunks against the deadline and refused beyond `MAX_REPLY_BYTES`.
    """
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + timeout
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.hostname or "", parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, json.dumps(payload).encode(), headers)
        sock = connection.sock  # the response reads from it even after the connection lets go of it
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        response = connection.getresponse()
        body = _read_within(response, sock, deadline, url)
    except TimeoutError:
        raise MarsInputError(f"the language model at {url} did not answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as err:
        raise MarsInputError(f"could not reach the language model at {url}: {err}") from None
    finally:
        connection.close()
    if 300 <= response.status < 400:
        target = response.getheader("Location", "?")
        raise MarsInputError(
            f"the language model at {url} redirects to {target}; redirects are not followed (the API key would go "
            "along): give the final URL"
        )
    if response.status >= 400:
        detail = body[:300].decode("utf-8", "replace").strip()
        answer = f"the language model at {url} answered HTTP {response.status} {response.reason}"
        raise MarsInputError(answer + (f": {detail}" if detail else ""))
    return body


def _read_within(response: http.client.HTTPResponse, sock: socket.socket, deadline: float, url: str) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
        raise MarsInputError(f"the language model at {url} sent {int(declared):,} bytes; at most {MAX_REPLY_BYTES:,}")
    chunks, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = response.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise MarsInputError(f"the language model at {url} sent more than {MAX_REPLY_BYTES:,} bytes")
        chunks.append(chunk)


def parse_with_llm(
    text: str, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0
) -> ScenarioSpec:
    """Ask a language model behind an OpenAI-compatible endpoint for the spec of a description.

    The reply must be one JSON object with `ScenarioSpec`'s fields (null = not given); it is validated and
    nothing in it is executed.

    Args:
        text: the scenario in words.
        base_url: the endpoint's base, e.g. "http://127.0.0.1:8080/v1" (or the full .../chat/completions URL).
        model: the model name the endpoint expects.
        api_key: sent as a bearer token when given.
        timeout: seconds to wait for the whole answer (connection, request and reply).

    Raises:
        MarsInputError: the endpoint cannot be reached or answers an error, the reply is not a JSON object,
            the model says the text is no scenario, or a field is invalid (`ConfigError`, naming it).
    """
    text = _described(text)
    if not (model or "").strip():
        raise ConfigError("language model: give the model name the endpoint serves")
    url = chat_url(base_url)
    messages = [{"role": "system", "content": LLM_SYSTEM_PROMPT}, {"role": "user", "content": text.strip()}]
    payload = {"model": model.strip(), "temperature": 0, "messages": messages}
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    raw = post_json(url, payload, headers, timeout)
    try:
        content = json.loads(raw)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        raise MarsInputError(f"{url} did not answer like an OpenAI-compatible chat endpoint: {raw[:200]!r}") from None
    if not isinstance(content, str):
        raise MarsInputError(f"{url} answered a message without text content")
    data = _reply_json(content)
    if set(data) == {"error"}:
        raise _fail(f"the language model could not read a scenario in {text.strip()!r}: {data['error']}")
    fields = {k: v for k, v in data.items() if v is not None}  # null = not given: the spec's default
    return spec_from_dict(fields, where="the language model's scenario")
