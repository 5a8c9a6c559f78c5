"""`mars data ...`: list, show and fetch LOBSTER datasets."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer

from mars_core.cli.options import DataDirOption, JsonOption, emit, folder
from mars_core.data.catalog import discover_with_problems, find_dataset, format_ts, info_to_dict, resolve_data_dir
from mars_core.data.fetch import SAMPLE_DATE, SAMPLE_SYMBOLS, fetch_samples
from mars_core.data.lobster import load_events
from mars_core.data.schema import EventType
from mars_core.errors import MarsInputError

data_app = typer.Typer(no_args_is_help=True, add_completion=False)


@data_app.command("list")
def list_datasets(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """List the LOBSTER days found in the data folder, and any files that cannot be used; exits 1 when none is usable."""
    root = resolve_data_dir(data_dir)
    infos, problems = discover_with_problems(root)
    rows = [["SYMBOL", "DATE", "LEVELS", "MESSAGES", "FIRST", "LAST", "TICK", "FILE"]]
    rows += [
        [
            i.symbol,
            i.date.isoformat(),
            str(i.levels),
            f"{i.messages:,}",
            format_ts(i.ts_start)[:12],
            format_ts(i.ts_end)[:12],
            str(i.tick_size),
            i.message_path.name,
        ]
        for i in infos
    ]
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = [f"data dir: {root}"] + ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    if not infos:
        lines.append("(no datasets; copy LOBSTER zips here or run `mars data fetch-samples`)")
    lines += [f"problem: {p}" for p in problems]
    result = {"data_dir": str(root), "datasets": [info_to_dict(i) for i in infos], "problems": problems}
    emit(result, as_json, "\n".join(lines))
    if not infos:
        typer.echo(f"error: no usable LOBSTER day in {root}", err=True)
        raise typer.Exit(1)


@data_app.command("show")
def show_dataset(
    symbol: Annotated[str, typer.Argument(help="Ticker, any case, e.g. GOOG.")],
    date: Annotated[str, typer.Argument(help="Trading date, YYYY-MM-DD.")],
    levels: Annotated[int | None, typer.Option("--levels", help="Book depth, when a day exists at several.")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Describe one day: files, depth, tick, first/last message time and events per type."""
    info = find_dataset(symbol, date, resolve_data_dir(data_dir), levels=levels)
    counts = np.bincount(load_events(info.message_path, info.message_member).type, minlength=8)
    result = info_to_dict(info) | {"event_counts": {t.name: int(counts[t]) for t in EventType}}
    where = f"{info.message_path}" + (f" ({info.message_member})" if info.message_member else "")
    human = "\n".join(
        [
            f"{info.key}  {info.levels} levels  tick {info.tick_size}",
            f"file:     {where}",
            f"messages: {info.messages:,}",
            f"first:    {format_ts(info.ts_start)}",
            f"last:     {format_ts(info.ts_end)}",
            "events:   " + ", ".join(f"{name.lower()} {n:,}" for name, n in result["event_counts"].items()),
        ]
    )
    emit(result, as_json, human)


@data_app.command("fetch-samples")
def fetch_samples_command(
    symbols: Annotated[str, typer.Option("--symbols", help="Comma-separated tickers.")] = ",".join(SAMPLE_SYMBOLS),
    levels: Annotated[
        str, typer.Option("--levels", help="Comma-separated book depths (LOBSTER offers 1, 5, 10).")
    ] = "10",
    date: Annotated[str, typer.Option("--date", help="Sample day, YYYY-MM-DD.")] = SAMPLE_DATE,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Where the zips live (default: $MARS_SAMPLES_URL, else lobsterdata.com)."),
    ] = None,
    dest: Annotated[
        str | None,
        typer.Option("--dest", callback=folder, help="Target folder (default: $MARS_DATA_DIR, else ./data)."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, max=3600, help="Seconds to wait on the server.")
    ] = 60.0,
    as_json: JsonOption = False,
) -> None:
    """Download LOBSTER's public sample days that are not already present; exits 1 if any file failed."""
    tickers = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    try:
        depths = [int(n) for n in levels.split(",") if n.strip()]
    except ValueError:
        raise MarsInputError(f"--levels {levels!r} must be comma-separated integers, e.g. 1,5,10") from None
    report = fetch_samples(tickers, depths, date=date, base_url=base_url, dest=dest, timeout=timeout)
    lines = [f"dest: {report.dest}"]
    lines += [f"downloaded {name}" for name in report.downloaded]
    lines += [f"skipped {name} (already present)" for name in report.skipped]
    lines += [f"FAILED {name}: {reason}" for name, reason in report.failed.items()]
    emit(report.to_dict(), as_json, "\n".join(lines))
    if report.failed:
        raise typer.Exit(1)
