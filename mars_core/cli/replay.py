"""`mars replay`: rebuild a day's book from its messages and verify it against LOBSTER's."""

from __future__ import annotations

from typing import Annotated

import typer

from mars_core.cli.options import DataDirOption, JsonOption, emit
from mars_core.data import find_dataset, load_day, resolve_data_dir
from mars_core.engine import replay_day


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
