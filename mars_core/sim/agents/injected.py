"""`InjectedOrders`: a user's own orders at given times, from a table or a CSV file.

Columns (one row per order; header required):
  time      HH:MM:SS[.ffffff] on the simulated day (or integer ns since midnight)
  action    limit | market | ioc | cancel
  side      buy | sell (ignored for cancel)
  price     limit price in dollars, e.g. 575.10 (limit and ioc only)
  qty       shares, a positive integer (for cancel: 0 or empty cancels all)
  client_id optional label; a cancel names the client_id of the order it cancels
Every problem is reported with the row number (1-based, header = row 1 in a CSV).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from mars_core.engine import OrderKind, Status, parse_clock
from mars_core.errors import MarsInputError
from mars_core.sim.agent import NEVER, Action, Cancel, Fill, Observation, Submit

PRICE_SCALE = 10_000  # LOBSTER price units per dollar
NS_PER_DAY = 86_400 * 10**9
ACTIONS = {"limit": OrderKind.LIMIT, "market": OrderKind.MARKET, "ioc": OrderKind.IOC, "cancel": 0}
SIDES = {"buy": 1, "b": 1, "1": 1, "sell": -1, "s": -1, "-1": -1}
COLUMNS = ("time", "action", "side", "price", "qty", "client_id")
MAX_BYTES = 10_000_000  # an order file is typed or exported by hand: 10 MB is ~200,000 orders
MAX_QTY = 1_000_000_000  # shares in one order
MAX_PRICE = 1_000_000  # dollars


def read_orders_file(path: str | Path) -> str:
    """The text of an injected-orders CSV file; MarsInputError naming the file when it cannot be one."""
    path = Path(path)
    if path.is_dir():
        raise MarsInputError(f"{path}: is a folder, not an injected-orders CSV file")
    if not path.is_file():
        raise MarsInputError(f"{path}: injected-orders file not found")
    if path.stat().st_size > MAX_BYTES:
        raise MarsInputError(f"{path}: {path.stat().st_size:,} bytes; an injected-orders file may hold {MAX_BYTES:,}")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise MarsInputError(f"{path}, row {line}: not UTF-8 text (byte 0x{data[err.start]:02x})") from None


def orders_table(text: str, where: str = "injected orders") -> pd.DataFrame:
    """A CSV's rows as strings under its header (row 1); every row must have the header's number of fields."""
    if len(text) > MAX_BYTES:
        raise MarsInputError(f"{where}: {len(text):,} characters; injected orders may hold {MAX_BYTES:,}")
    rows = [(k, row) for k, row in enumerate(csv.reader(io.StringIO(text)), start=1) if any(c.strip() for c in row)]
    if not rows:
        raise MarsInputError(f"{where}: empty; expected a header {','.join(COLUMNS)} and one order per row")
    (_, header), body = rows[0], rows[1:]
    for k, row in body:
        if len(row) != len(header):
            raise MarsInputError(
                f"{where}, row {k} has {len(row)} fields but the header has {len(header)} ({','.join(header)})"
            )
    return pd.DataFrame([row for _, row in body], columns=[h.strip() for h in header], dtype=str)


class InjectedOrders:
    """Replays a validated order table as agent `agent_id` (2 by default)."""

    def __init__(self, table: pd.DataFrame, agent_id: int = 2) -> None:
        self.table = table.sort_values("ts", kind="stable").reset_index(drop=True)
        self.agent_id = agent_id
        self._next = 0
        self._ids: dict[str, int] = {}  # client_id -> exchange order id
        self.results: dict[str, list] = {
            k: [] for k in ("ts", "row", "client_id", "action", "order_id", "status", "reason")
        }
        self.fills: dict[str, list] = {k: [] for k in ("ts", "order_id", "price", "qty", "aggressive")}
        self._pending: list[tuple[int, str]] = []

    @classmethod
    def from_csv(cls, path: str | Path, tick_size: int, agent_id: int = 2) -> InjectedOrders:
        return cls.from_text(read_orders_file(path), tick_size, agent_id, where=str(path))

    @classmethod
    def from_text(cls, text: str, tick_size: int, agent_id: int = 2, where: str = "injected orders") -> InjectedOrders:
        return cls(validate_orders(orders_table(text, where), tick_size, where=where, first_row=2), agent_id)

    # -------------------------------------------------------------- agent
    def start(self, ts: int, rng: np.random.Generator) -> int:
        self._next = int(np.searchsorted(self.table["ts"].to_numpy(), ts, side="left"))
        return self._wake_at()

    def _wake_at(self) -> int:
        return int(self.table["ts"].iat[self._next]) if self._next < len(self.table) else NEVER

    def wake(self, obs: Observation) -> tuple[list[Action], int]:
        actions: list[Action] = []
        ts = self._wake_at()
        while self._next < len(self.table) and int(self.table["ts"].iat[self._next]) == ts:
            row = self.table.iloc[self._next]
            self._next += 1
            if row["kind"] == 0:
                order_id = self._ids.get(row["target"], 0)
                actions.append(Cancel(order_id, int(row["qty"])))
            else:
                actions.append(Submit(int(row["side"]), int(row["price"]), int(row["qty"]), int(row["kind"])))
            self._pending.append((int(row["row"]), str(row["client_id"])))
        return actions, self._wake_at()

    def on_result(self, action: Action, status: int, order_id: int, ts: int) -> None:
        row, client_id = self._pending.pop(0)
        if isinstance(action, Submit) and client_id:
            self._ids[client_id] = order_id
        kind = "cancel" if isinstance(action, Cancel) else {1: "limit", 2: "market", 3: "ioc"}[action.kind]
        for key, value in zip(self.results, (ts, row, client_id, kind, order_id, status, Status(status).reason)):
            self.results[key].append(value)

    def on_fill(self, fill: Fill) -> None:
        for key, value in zip(self.fills, (fill.ts, fill.order_id, fill.price, fill.qty, fill.aggressive)):
            self.fills[key].append(value)

    def records(self) -> dict[str, list]:
        return {"orders": self.results, "fills": self.fills}


def validate_orders(
    frame: pd.DataFrame, tick_size: int, where: str = "injected orders", first_row: int = 1
) -> pd.DataFrame:
    """Check a raw table (all strings) and return it typed: ts, kind, side, price (units), qty, client_id, target, row.

    Raises MarsInputError naming the row and the field for the first problem found.
    """
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in ("time", "action", "qty") if c not in frame.columns]
    if missing:
        raise MarsInputError(f"{where}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    if frame.empty:
        raise MarsInputError(f"{where}: no orders in the table")
    for col in ("side", "price", "client_id"):
        if col not in frame.columns:
            frame[col] = ""
    rows = []
    seen_ids: set[str] = set()
    for k, rec in enumerate(frame.astype(str).to_dict("records")):
        row = first_row + k
        rows.append(_validate_row(rec, row, tick_size, where, seen_ids))
    return pd.DataFrame(rows)


def _number(text: str, field: str, fail: Callable[[str], MarsInputError], hint: str = "") -> float:
    """A finite number, or the row's error naming the field."""
    try:
        value = float(text)
    except ValueError:
        raise fail(f"{field} {text!r} is not a number{hint}") from None
    if not math.isfinite(value):
        raise fail(f"{field} {text!r} is not a finite number{hint}")
    return value


def _validate_row(rec: dict[str, str], row: int, tick_size: int, where: str, seen_ids: set[str]) -> dict:
    def fail(problem: str) -> MarsInputError:
        return MarsInputError(f"{where}, row {row}: {problem}")

    text = rec["time"].strip()
    try:
        ts = int(text) if text.isdigit() else parse_clock(text)
    except ValueError as err:
        raise fail(f"time {text!r}: {err}") from None
    if ts >= NS_PER_DAY:
        raise fail(f"time {text!r} is not on the simulated day (ns since midnight must be below {NS_PER_DAY:,})")
    action = rec["action"].strip().lower()
    if action not in ACTIONS:
        raise fail(f"action {rec['action']!r} is not one of {', '.join(ACTIONS)}")
    client_id = rec.get("client_id", "").strip()
    qty_text = rec["qty"].strip()
    qty = _number(qty_text, "qty", fail) if qty_text else 0.0
    if abs(qty) > MAX_QTY:
        raise fail(f"qty {qty_text!r} is more than {MAX_QTY:,} shares")
    if qty != int(qty):
        raise fail(f"qty {qty_text!r} must be a whole number of shares")
    qty = int(qty)
    out = {
        "ts": ts,
        "kind": ACTIONS[action],
        "side": 0,
        "price": 0,
        "qty": qty,
        "client_id": client_id,
        "target": "",
        "row": row,
    }
    if action == "cancel":
        if qty < 0:
            raise fail(f"qty must be 0 (all) or positive for a cancel, was {qty}")
        if not client_id or client_id not in seen_ids:
            raise fail(f"cancel needs the client_id of an earlier order in this table, got {client_id!r}")
        out["target"], out["client_id"] = client_id, ""
        return out
    if qty <= 0:
        raise fail(f"qty must be positive, was {qty}")
    side = SIDES.get(rec["side"].strip().lower())
    if side is None:
        raise fail(f"side {rec['side']!r} must be buy or sell")
    out["side"] = side
    if action in ("limit", "ioc"):
        price_text = rec["price"].strip()
        dollars = _number(price_text, "price", fail, " (dollars, e.g. 575.10)")
        if dollars <= 0:
            raise fail(f"price must be positive, was {price_text}")
        if dollars > MAX_PRICE:
            raise fail(f"price {price_text!r} is above ${MAX_PRICE:,}")
        units = round(dollars * PRICE_SCALE)
        if units % tick_size:
            raise fail(f"price {price_text} is not on the tick grid of ${tick_size / PRICE_SCALE:g}")
        out["price"] = units
    if client_id:
        if client_id in seen_ids:
            raise fail(f"client_id {client_id!r} is used twice")
        seen_ids.add(client_id)
    return out
