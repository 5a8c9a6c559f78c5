"""Export a simulated rollout in LOBSTER format (message + orderbook CSV of N levels), or as a zip.

The order log and the trade log become LOBSTER messages the way LOBSTER writes
a real day: an order that trades on arrival shows as executions (type 4) of
the resting orders it hit, then, if it rests, a submission (type 1) of the
remainder; cancels are types 2 and 3; a modify is a deletion plus a new
submission. Liquidity the replay background revealed from outside the top N
becomes a submission (or a partial cancel) under an id of its own. A historical
cancel keeps its historical size, as in the real file: the level loses that many
shares, from the named order first, then from liquidity no message showed (the
replayer's rule on both sides, so the exported book is the simulated one). The
orderbook file is the book after each message, rebuilt by applying the messages
to the rollout's starting book; like a real LOBSTER file, it only shows what
the messages explain plus what was already resting at the start.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from mars_core.data.schema import NS_PER_SECOND
from mars_core.engine import OrderBook, OrderEvent, OrderKind, Status
from mars_core.engine._replay import Replayer
from mars_core.errors import MarsInputError
from mars_core.store.rundir import CONFIG, SUMMARY, RunDir, check_directory

MAX_EXPORT_LEVELS = 50  # the deepest book a run records (SimConfig.snapshot_levels)
REVEALED_IDS = 1 << 50  # ids given to revealed liquidity in the export
SYNTHETIC_IDS = 1 << 51  # LOBSTER ids are positive: the book's synthetic (negative) ids map above this


def positive_ids(ids: pd.Series) -> pd.Series:
    """The book's synthetic order ids (negative: liquidity no message introduced) as positive LOBSTER ids."""
    return ids.where(ids >= 0, SYNTHETIC_IDS - ids)


def _pick_arm(run: RunDir, rollout: int, arm: str | None) -> str:
    arms = [a for r, a in run.finished() if r == rollout]
    if not arms:
        raise MarsInputError(f"{run.path} has no finished rollout {rollout}")
    if arm is None:
        return arms[0]
    if arm not in arms:
        raise MarsInputError(f"{run.path} rollout {rollout} has no arm {arm!r}; it has {', '.join(arms)}")
    return arm


def lobster_messages(orders: pd.DataFrame, trades: pd.DataFrame, start_book: pd.DataFrame) -> pd.DataFrame:
    """LOBSTER messages (ts, type, order_id, size, price, direction) of one rollout's logs."""
    ok = orders[orders["status"] == Status.OK]
    trade_rows = trades.itertuples(index=False)
    pending = next(trade_rows, None)
    resting = {int(r.order_id): (int(r.side), int(r.price), int(r.qty)) for r in start_book.itertuples(index=False)}
    out: list[tuple[int, int, int, int, int, int]] = []
    revealed = REVEALED_IDS
    foreign: dict[int, int] = {}  # shares other agents took from each historical order
    for o in ok.itertuples(index=False):
        ts, event, oid, side, price, qty = (
            int(o.ts),
            int(o.event),
            int(o.order_id),
            int(o.side),
            int(o.price),
            int(o.qty),
        )
        if event in (OrderEvent.CANCEL, OrderEvent.DELETE):
            if oid == 0:  # liquidity withdrawn from out of view
                revealed += 1
                out.append((ts, 2, revealed, qty, price, side))
                continue
            # A historical cancel takes `qty` from the level: the named order first, then unknown liquidity and
            # other historical orders at the price (the replayer's rule, which rebuilds the book from these
            # messages too). So the message keeps the historical size, less the shares other agents already took
            # from the named order where it lacks them (the simulation excused those).
            excused = foreign.pop(oid, 0) if event == OrderEvent.DELETE else foreign.get(oid, 0)
            kept = resting.get(oid)
            have = kept[2] if kept is not None else 0
            size = qty if have >= qty else max(have, qty - excused)
            if size > 0:
                out.append((ts, event, oid, size, price, side))
            if kept is not None and (event == OrderEvent.DELETE or have <= qty):
                del resting[oid]
            elif kept is not None:
                resting[oid] = (kept[0], kept[1], have - qty)
            continue
        if event == OrderEvent.MODIFY:
            kept = resting.pop(oid, None)
            if kept is not None:
                out.append((ts, 3, oid, kept[2], kept[1], kept[0]))
            continue  # the resubmission follows as its own SUBMIT row
        if oid == 0:  # liquidity revealed from out of view
            revealed += 1
            out.append((ts, 1, revealed, qty, price, side))
            resting[revealed] = (side, price, qty)
            continue
        executed = 0
        while pending is not None and int(pending.taker_id) == oid:
            maker = int(pending.maker_id)
            m_side, m_price, m_qty = resting.get(maker, (-side, int(pending.price), int(pending.qty)))
            out.append((int(pending.ts), 4, maker, int(pending.qty), int(pending.price), m_side))
            if int(pending.maker_agent) == 0 and int(pending.taker_agent) >= 2:
                foreign[maker] = foreign.get(maker, 0) + int(pending.qty)
            if m_qty - int(pending.qty) > 0:
                resting[maker] = (m_side, m_price, m_qty - int(pending.qty))
            else:
                resting.pop(maker, None)
            executed += int(pending.qty)
            pending = next(trade_rows, None)
        left = qty - executed
        if int(o.kind) == OrderKind.LIMIT and left > 0:
            out.append((ts, 1, oid, left, price, side))
            resting[oid] = (side, price, left)
    messages = pd.DataFrame(out, columns=["ts", "type", "order_id", "size", "price", "direction"])
    messages["order_id"] = positive_ids(messages["order_id"])
    return messages


def lobster_book(messages: pd.DataFrame, start_book: pd.DataFrame, levels: int) -> np.ndarray:
    """LOBSTER's orderbook rows: the visible book after each message, from the starting book."""
    book = OrderBook(log_orders=False)
    for r in start_book.assign(order_id=positive_ids(start_book["order_id"])).itertuples(index=False):
        book.add(int(r.order_id), int(r.side), int(r.price), int(r.qty), 0, int(r.agent))
    rows = np.empty((len(messages), 4 * levels), dtype=np.int64)
    cols = {
        c: np.ascontiguousarray(messages[c].to_numpy(dtype))
        for c, dtype in (
            ("ts", np.int64),
            ("type", np.int8),
            ("order_id", np.int64),
            ("size", np.int64),
            ("price", np.int64),
            ("direction", np.int8),
        )
    }
    Replayer(book, levels).run(
        cols["ts"],
        cols["type"],
        cols["order_id"],
        cols["size"],
        cols["price"],
        cols["direction"],
        rows,
        verify=False,
        record=rows,
    )
    return rows


def lobster_file_stem(symbol: str, date: str, start_ns: int, end_ns: int) -> str:
    return f"{symbol}_{date}_{start_ns // 1_000_000}_{end_ns // 1_000_000}"


def export_lobster(run: RunDir, rollout: int, arm: str | None, out: str | Path, levels: int = 10) -> list[Path]:
    """Write `<SYMBOL>_<DATE>_<START>_<END>_message_<N>.csv` and `..._orderbook_<N>.csv`; returns both paths.

    The symbol is the run's symbol with a `SIM` suffix, so the files never shadow the real day
    when both sit in one data folder.
    """
    if not 1 <= levels <= MAX_EXPORT_LEVELS:
        raise MarsInputError(f"levels must lie in 1..{MAX_EXPORT_LEVELS}, was {levels}")
    out = Path(out)
    check_directory(out, "exported files")
    arm = _pick_arm(run, rollout, arm)
    orders, trades, start = (run.table(t, rollout, arm) for t in ("orders", "trades", "start_book"))
    if orders.empty:
        raise MarsInputError(f"{run.path} rollout {rollout} ({arm}) has no orders to export")
    messages = lobster_messages(orders, trades, start)
    book = lobster_book(messages, start, levels)
    config = run.config
    stem = lobster_file_stem(
        f"{config['symbol']}SIM", config["date"], int(messages["ts"].iat[0]), int(messages["ts"].iat[-1])
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    message_path = out / f"{stem}_message_{levels}.csv"
    book_path = out / f"{stem}_orderbook_{levels}.csv"
    seconds, nanos = np.divmod(messages["ts"].to_numpy(), NS_PER_SECOND)
    frame = messages.drop(columns="ts")
    frame.insert(0, "time", [f"{s}.{n:09d}" for s, n in zip(seconds.tolist(), nanos.tolist())])
    for path, table in ((message_path, frame), (book_path, pd.DataFrame(book))):
        partial = path.with_name(f".{path.name}.partial")  # a failed export leaves no half-written file
        try:
            table.to_csv(partial, header=False, index=False)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return [message_path, book_path]


def export_parquet_zip(run: RunDir, rollout: int, arm: str | None, out: str | Path) -> Path:
    """A zip of one rollout arm's Parquet tables plus the run's config.json, written to the folder `out`."""
    arm = _pick_arm(run, rollout, arm)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{run.path.name}_rollout{rollout:04d}_{arm}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(run.path / CONFIG, CONFIG)
        for table in sorted(run.arm_dir(rollout, arm).iterdir()):
            archive.write(table, table.name)
    return path


def run_zip_bytes(path: str | Path) -> bytes:
    """The whole run as a zip: config.json, summary.json and every finished arm's Parquet tables."""
    run = RunDir.open(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in (CONFIG, SUMMARY):
            if (run.path / name).exists():
                archive.write(run.path / name, name)
        for rollout, arm in run.finished():
            arm_dir = run.arm_dir(rollout, arm)
            for table in sorted(arm_dir.iterdir()):
                archive.write(table, str(table.relative_to(run.path)))
    return buffer.getvalue()


def lobster_zip_bytes(path: str | Path, rollout: int, arm: str, levels: int = 10) -> bytes:
    """One rollout arm exported as LOBSTER message + orderbook CSVs, zipped in memory."""
    run = RunDir.open(path)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="mars-lobster-") as tmp:
        files = export_lobster(run, rollout, arm, tmp, levels)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in files:
                archive.write(file, file.name)
    return buffer.getvalue()
