"""`mars scenario`: a scenario in words -> the parsed spec, the filter it runs and the retrieved windows."""

from __future__ import annotations

import math
import os
from typing import Annotated, Any

import typer

from mars_core.cli.options import DataDirOption, JsonOption, emit
from mars_core.control.retrieval import NoMatchError, describe_filter, retrieve
from mars_core.control.scenarios import ScenarioSpec, parse_prompt, parse_with_llm
from mars_core.data import discover, resolve_data_dir
from mars_core.errors import ConfigError
from mars_core.paths import LLM_KEY_ENV


def parse_scenario(
    prompt: str,
    symbols: list[str],
    llm_url: str | None = None,
    llm_model: str | None = None,
    api_key: str | None = None,
    timeout: float = 30.0,
) -> tuple[ScenarioSpec, str]:
    """(spec, parser name): the language model's reading when a URL is given, else the built-in parser's."""

    if llm_url:
        if not llm_model:
            raise ConfigError("--llm-url needs --llm-model (the model name the endpoint serves)")
        return parse_with_llm(prompt, llm_url, llm_model, api_key=api_key, timeout=timeout), "llm"
    return parse_prompt(prompt, symbols=symbols), "built-in"


def windows_text(found: list) -> str:
    """One line per retrieved window."""
    lines = []
    for n, w in enumerate(found, start=1):
        target = math.expm1(float(w.signal.logret[-1])) * 100
        way = f" {w.direction.replace('_', '-')}" if w.direction else ""
        lines.append(
            f"  {n}. {w.label}{way}: real {w.real_return_pct:+.3f}%, score {w.score:.2f}, "
            f"scale x{w.scale:.2f} -> target ends {target:+.3f}%"
        )
    return "\n".join(lines)


def scenario_command(
    prompt: Annotated[str, typer.Argument(help='The scenario in words, e.g. "sharp drop of 1% over 10 minutes".')],
    top: Annotated[int, typer.Option("--top", "-k", min=1, max=50, help="How many windows to retrieve.")] = 5,
    llm_url: Annotated[
        str | None,
        typer.Option(
            "--llm-url",
            help="Parse with a language model behind this OpenAI-compatible "
            "base URL (e.g. http://127.0.0.1:8080/v1) instead of the built-in parser.",
        ),
    ] = None,
    llm_model: Annotated[str | None, typer.Option("--llm-model", help="Model name for --llm-url.")] = None,
    llm_timeout: Annotated[
        float,
        typer.Option("--llm-timeout", min=0.1, max=600, help="Seconds to wait for the language model's whole answer."),
    ] = 30.0,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Turn a scenario description into a spec, show the filter it runs over the catalogued days and the windows it
    retrieves (their paths, rescaled to the magnitude, are the control signals). The API key of --llm-url, if any, is
    read from $MARS_LLM_API_KEY."""

    folder = resolve_data_dir(data_dir)
    symbols = sorted({i.symbol for i in discover(folder)})
    spec, parser = parse_scenario(prompt, symbols, llm_url, llm_model, os.environ.get(LLM_KEY_ENV) or None, llm_timeout)
    filter_text = describe_filter(spec)
    head = f"scenario: {spec.describe()}, read by the {parser} parser\nfilter:\n" + "\n".join(
        f"  {line}" for line in filter_text.splitlines()
    )
    try:
        found = retrieve(spec, folder, top)
    except NoMatchError:
        typer.echo(head)
        raise
    result: dict[str, Any] = {
        "prompt": prompt,
        "parser": parser,
        "spec": spec.model_dump(),
        "description": spec.describe(),
        "filter": filter_text,
        "windows": [w.to_dict() for w in found],
    }
    emit(result, as_json, f"{head}\nretrieved {len(found)} window{'s' * (len(found) != 1)}:\n{windows_text(found)}")
