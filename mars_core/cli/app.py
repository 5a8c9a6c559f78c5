"""The `mars` command (also `python -m mars_core`): one Typer app with a module per command group.

Every command that a script or a check may call takes `--json` and then prints
exactly one JSON object on its last line of stdout. User mistakes end with a
one-line message (and `{"error": ...}` under `--json`), never a traceback.
"""

from __future__ import annotations

import json
import sys

import typer

from mars_core.cli import data, experiments, replay, scenario, simulate
from mars_core.cli.bench import bench_app
from mars_core.cli.detect import detect_app
from mars_core.cli.forecast import forecast_app
from mars_core.cli.rl import rl_app
from mars_core.cli.train import train_app
from mars_core.errors import MarsInputError
from mars_core.sim.pool import Cancelled

app = typer.Typer(
    name="mars",
    help="MarS: order-level market simulation (LOBSTER data, clearing house, generative order model).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data.data_app, name="data", help="Discover, inspect and fetch LOBSTER datasets.")
app.add_typer(bench_app, name="bench")
app.command("replay")(replay.replay)
app.add_typer(train_app, name="train")
app.command("simulate")(simulate.simulate)
app.command("impact")(experiments.impact)
app.command("realism")(experiments.realism)
app.command("evaluate-model")(experiments.evaluate_model)
app.command("export")(simulate.export)
app.command("report")(experiments.report)
app.command("control-eval")(experiments.control_eval_command)
app.command("scenario")(scenario.scenario_command)
app.add_typer(forecast_app, name="forecast")
app.add_typer(rl_app, name="rl", help="Train and evaluate the execution agent (paper Sec. 4.4).")
app.add_typer(detect_app, name="detect")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; turns user-input errors into clean messages."""
    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args, standalone_mode=False)
    except MarsInputError as err:
        typer.echo(f"error: {err}", err=True)
        if "--json" in args:
            typer.echo(json.dumps({"error": str(err)}))
        sys.exit(2)
    except (KeyboardInterrupt, Cancelled):
        typer.echo("interrupted; what finished is kept, and the same command resumes from it", err=True)
        sys.exit(130)
    except Exception as err:  # click usage errors and aborts carry their own exit code
        code = getattr(err, "exit_code", None)
        if code is None:
            raise
        if hasattr(err, "show"):
            err.show()
        sys.exit(code)
    sys.exit(code or 0)
