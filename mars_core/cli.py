"""The `mars` command (also `python -m mars_core`).

Every command that a script or a check may call takes `--json` and then prints
exactly one JSON object on its last line of stdout. User mistakes end with a
one-line message (and `{"error": ...}` under `--json`), never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from mars_core.errors import MarsInputError

app = typer.Typer(
    name="mars",
    help="MarS: order-level market simulation (LOBSTER data, clearing house, generative order model).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


bench_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Benchmarks of the hot paths; --json for figures."
)

# Options shared by every area's commands.
DataDirOption = Annotated[
    str | None,
    typer.Option("--data-dir", help="LOBSTER folder (default: $MARS_DATA_DIR, ./data, ../shared/data/lobster)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line of stdout.")]


def emit(result: dict[str, Any], as_json: bool, human: str | None = None) -> None:
    """Print a command's result: a readable summary, then (with --json) one JSON line last."""
    if human:
        typer.echo(human)
    if as_json:
        typer.echo(json.dumps(result, default=_jsonable, separators=(",", ":")))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _register() -> None:
    """Attach every area's commands; each area keeps its commands next to its code."""
    from mars_core.control.commands import register as register_control
    from mars_core.control.scenario_commands import register as register_scenario
    from mars_core.data.commands import data_app
    from mars_core.engine.commands import register as register_engine
    from mars_core.model.batch_commands import register as register_batch_model
    from mars_core.model.commands import register as register_model
    from mars_core.reports import register as register_reports
    from mars_core.sim.commands import register as register_sim

    app.add_typer(data_app, name="data", help="Discover, inspect and fetch LOBSTER datasets.")
    app.add_typer(bench_app, name="bench")
    register_engine(app, bench_app)
    register_model(app, bench_app)
    register_batch_model(app, bench_app)
    register_sim(app, bench_app)
    register_reports(app, bench_app)
    register_control(app, bench_app)
    register_scenario(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; turns user-input errors into clean messages."""
    _register()
    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args, standalone_mode=False)
    except MarsInputError as err:
        typer.echo(f"error: {err}", err=True)
        if "--json" in args:
            typer.echo(json.dumps({"error": str(err)}))
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as err:  # click usage errors and aborts carry their own exit code
        code = getattr(err, "exit_code", None)
        if code is None:
            raise
        if hasattr(err, "show"):
            err.show()
        sys.exit(code)
    sys.exit(code or 0)
