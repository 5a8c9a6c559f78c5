"""Options, argument parsing and output shared by every `mars` command.

Every command that a script or a check may call takes `--json` and then prints exactly one JSON object on
its last line of stdout (`emit`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import torch
import typer

from mars_core.errors import MarsInputError
from mars_core.experiments.executor import RAY_ADDRESS_ENV, Executor, ExecutorKind, check_ray_address
from mars_core.store.rundir import finite

DataDirOption = Annotated[
    str | None,
    typer.Option("--data-dir", help="LOBSTER folder (default: $MARS_DATA_DIR, ./data, ../shared/data/lobster)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line of stdout.")]
SymbolsOption = Annotated[list[str], typer.Option("--symbols", help="Symbols whose days to train on (repeat or list).")]
ExtraSymbols = Annotated[list[str] | None, typer.Argument(help="More symbols after --symbols.", show_default=False)]
ThreadsOption = Annotated[
    int | None, typer.Option("--threads", min=1, max=256, help="torch threads (default: torch's choice).")
]
ExecutorOption = Annotated[
    ExecutorKind,
    typer.Option(
        "--executor",
        help="Where the runs go: local processes, or a Ray cluster (--ray-address; none: a local Ray on this machine). "
        "Results come back here and are written to the same store.",
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option("--ray-address", envvar="RAY_ADDRESS", help="Ray cluster address (with --executor ray)."),
]
ResumeOption = Annotated[bool, typer.Option("--resume", help="Continue from OUT/ckpt.pt (to --steps).")]


def folder(value: str | None) -> str | None:
    """Callback of an output-folder option: refuse a path that is a file or lies under one (the message names it)."""
    if value is not None and Path(value).exists() and not Path(value).is_dir():
        raise typer.BadParameter(f"{value} is a file; give a folder")
    file = None if value is None else next((p for p in Path(value).parents if p.is_file()), None)
    if file is not None:
        raise typer.BadParameter(f"{value} lies under {file}, which is a file; give a folder")
    return value


def emit(result: dict[str, Any], as_json: bool, human: str | None = None) -> None:
    """Print a command's result: a readable summary, then (with --json) one JSON line last."""
    if human:
        typer.echo(human)
    if as_json:
        typer.echo(json.dumps(finite(result), default=_jsonable, separators=(",", ":"), allow_nan=False))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def executor_of(kind: ExecutorKind, address: str | None) -> Executor:
    """The executor that `--executor` and `--ray-address` name (the address counts only with `--executor ray`);
    a Ray address that is malformed or where nothing answers is refused here, before any work."""
    if kind == "ray":
        check_ray_address(address or os.environ.get(RAY_ADDRESS_ENV))
    return Executor(kind, address if kind == "ray" else None)


def set_threads(n: int | None) -> None:
    """Use `n` torch threads (None: torch's choice)."""
    if n is not None:
        torch.set_num_threads(n)


def counts(option: str, text: str, low: int, high: int) -> list[int]:
    """A comma-separated list of whole numbers in low..high (`--batches 1,16,64`); errors name the option."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise MarsInputError(f"{option} {text!r} must be comma-separated whole numbers, e.g. 1,16,64") from None
    if not values or not all(low <= v <= high for v in values):
        raise MarsInputError(f"{option} {text!r}: each value must be a whole number from {low} to {high:,}")
    return values


def numbers(option: str, text: str) -> list[float]:
    """A comma-separated list of numbers (`--intensities 2,4,8`); their ranges are the settings' to check."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise MarsInputError(f"{option} {text!r} must be comma-separated numbers, e.g. 2,4,8") from None


def symbol_list(values: list[str]) -> list[str]:
    """Accept `--symbols GOOG AMZN` (extra arguments) as well as `--symbols GOOG --symbols AMZN` or `GOOG,AMZN`."""
    return [s for v in values for s in v.replace(",", " ").split()]
