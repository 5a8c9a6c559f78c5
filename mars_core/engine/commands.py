"""`mars replay` and `mars bench engine`."""

from __future__ import annotations

from typing import Annotated

import typer

from mars_core.cli import DataDirOption, JsonOption, emit
from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.engine.replay import replay_day


def replay(
    symbol: Annotated[str, typer.Argument(help="Ticker, e.g. GOOG.")],
    date: Annotated[str, typer.Argument(help="Trading date, YYYY-MM-DD.")],
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Compare with LOBSTER's book after every message.")
    ] = True,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rebuild a day's order book from its messages and check it against LOBSTER's own book."""
    day = load_day(find_dataset(symbol, date, resolve_data_dir(data_dir)))
    _, report = replay_day(day, verify=verify)
    result = report.to_dict()
    human = (
        f"{report.symbol} {report.date}: {report.messages:,} messages in {report.seconds:.3f}s "
        f"({report.msgs_per_s:,.0f} msg/s), {report.levels} levels"
    )
    if verify:
        causes = ", ".join(f"{k} {v}" for k, v in report.mismatch_causes.items())
        human += (
            f"\n  L1 match {report.l1_match_rate:.4%}, depth match {report.depth_match_rate:.4%}"
            f"\n  corrections from the snapshot: {report.corrections:,}"
            f"\n  mismatching messages by cause: {causes}"
        )
    emit(result, as_json, human)


def bench_engine(
    symbol: Annotated[str, typer.Option(help="Day to replay.")] = "GOOG",
    date: Annotated[str, typer.Option(help="Trading date.")] = "2012-06-21",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay throughput on a full day and order throughput into a deep book (one core)."""
    from mars_core.engine.bench import run

    result = run(symbol, date, str(resolve_data_dir(data_dir)))
    human = (
        f"replay {result['replay_msgs_per_s']:,} msg/s (verified), {result['replay_msgs_per_s_no_verify']:,} msg/s (plain)\n"
        f"deep book ({result['deep_book_resting_orders']:,} resting, {result['deep_book_orders_per_level']:,}/level): "
        f"{result['deep_book_orders_per_s']:,} orders/s\npeak RSS {result['peak_rss_mb']} MB"
    )
    emit(result, as_json, human)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.command("replay")(replay)
    bench_app.command("engine")(bench_engine)
