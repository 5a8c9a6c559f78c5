"""`mars report`: export a finished study as one self-contained HTML file or a PDF (see `analysis.report`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from mars_core.cli import DataDirOption, JsonOption, emit
from mars_core.errors import MarsInputError

FORMATS = ("html", "pdf")


def report(
    run_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR",
            help="A study directory: the --out of `mars impact` or of `mars realism`.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="html (interactive, self-contained) or pdf (needs Chromium).")
    ] = "html",
    out: Annotated[Path | None, typer.Option(help="Report file (default: RUN_DIR/report.<format>).")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the report of a study: config, provenance, every figure and table, the fitted laws, caveats."""
    from analysis.report import build_report, chromium_path, missing_chromium, write_report

    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise MarsInputError(f"--format must be one of {', '.join(FORMATS)}, was {fmt!r}")
    if fmt == "pdf" and chromium_path() is None:
        raise missing_chromium()  # before spending seconds on a report it could not print
    started = time.perf_counter()
    built = build_report(run_dir, data_dir=data_dir)
    target = out if out is not None else Path(run_dir) / f"report.{fmt}"
    if target.is_dir():
        raise MarsInputError(f"--out {target} is a directory; give a file name such as {target / ('report.' + fmt)}")
    path = write_report(built, target, fmt)
    result = {
        "out": str(path),
        "format": fmt,
        "bytes": path.stat().st_size,
        "seconds": round(time.perf_counter() - started, 2),
        **built.summary(),
    }
    emit(
        result,
        as_json,
        f"wrote {path} ({result['bytes'] / 1e6:.1f} MB, {result['figures']} figures, "
        f"{len(result['sections'])} sections) in {result['seconds']:.1f}s",
    )


def register(app: typer.Typer, bench_app: typer.Typer) -> None:  # noqa: ARG001 (no benchmark of its own)
    app.command("report")(report)
