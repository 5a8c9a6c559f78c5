"""Engine benchmark: full-day replay throughput and order flow into a deep book.

Run with `mars bench engine --json`. Both measurements are single-threaded.
"""

from __future__ import annotations

import resource
import time

import numpy as np

from mars_core.data import find_dataset, load_day
from mars_core.engine.exchange import Exchange
from mars_core.engine.replay import replay_day
from mars_core.engine.rules import MarketRules
from mars_core.engine.types import OrderKind

MID = 5_800_000  # $580.00 in price units
TICK = 100


def bench_replay(symbol: str, date: str, repeats: int = 3, data_dir: str | None = None) -> dict:
    """Best-of-`repeats` replay of a full day, with and without per-message verification."""
    day = load_day(find_dataset(symbol, date, data_dir))
    best_verified = min(replay_day(day, verify=True)[1].seconds for _ in range(repeats))
    best_plain = min(replay_day(day, verify=False)[1].seconds for _ in range(repeats))
    n = len(day.events)
    return {
        "replay_symbol": f"{symbol} {date}",
        "replay_messages": n,
        "replay_msgs_per_s": round(n / best_verified),
        "replay_msgs_per_s_no_verify": round(n / best_plain),
    }


def deep_book(levels: int = 20, orders_per_level: int = 2_000, seed: int = 0) -> Exchange:
    """An exchange whose book holds `levels` x `orders_per_level` resting orders on each side."""
    rng = np.random.default_rng(seed)
    exchange = Exchange(
        MarketRules(tick_size=TICK, sessions=({"kind": "continuous", "start": "00:00", "end": "23:59"},))
    )
    sizes = rng.integers(1, 10, size=(2, levels, orders_per_level)) * 100
    ts = 0
    for j in range(orders_per_level):
        for lvl in range(levels):
            ts += 1
            exchange.submit(ts, 1, MID - (lvl + 1) * TICK, int(sizes[0, lvl, j]))
            exchange.submit(ts, -1, MID + (lvl + 1) * TICK, int(sizes[1, lvl, j]))
    return exchange


def bench_deep_book(n_orders: int = 200_000, levels: int = 20, orders_per_level: int = 2_000, seed: int = 1) -> dict:
    """Synthetic flow into a deep book: 45% limit, 35% cancel, 10% marketable limit, 10% market.

    Limit orders join a random level of the resting book, cancels hit a random
    resting order (including ones deep in a queue), aggressive orders take a few
    hundred shares off the top. Every order goes through `Exchange`.
    """
    exchange = deep_book(levels, orders_per_level)
    resting = len(exchange.book)
    rng = np.random.default_rng(seed)
    kind = rng.choice(4, size=n_orders, p=[0.45, 0.35, 0.10, 0.10])
    side = rng.choice(np.array([1, -1]), size=n_orders)
    depth = rng.integers(1, levels + 1, size=n_orders)
    size = rng.integers(1, 10, size=n_orders) * 100
    pick = rng.random(n_orders)
    live = list(range(1, resting + 1))  # ids of orders that may still rest
    submit, cancel = exchange.submit, exchange.cancel
    ts = 10**12
    start = time.perf_counter()
    for i in range(n_orders):
        ts += 1000
        k, s = kind[i], int(side[i])
        if k == 0:
            submit(ts, s, MID - s * int(depth[i]) * TICK, int(size[i]))
            live.append(exchange.book.last_order_id)
        elif k == 1:
            j = int(pick[i] * len(live))
            live[j], live[-1] = live[-1], live[j]
            cancel(ts, live.pop())
        elif k == 2:
            submit(ts, s, MID + s * 2 * TICK, int(size[i]), 0, OrderKind.LIMIT)
            live.append(exchange.book.last_order_id)
        else:
            submit(ts, s, 0, int(size[i]), 0, OrderKind.MARKET)
    seconds = time.perf_counter() - start
    exchange.book.check_integrity()
    return {
        "deep_book_resting_orders": resting,
        "deep_book_orders_per_level": orders_per_level,
        "deep_book_orders": n_orders,
        "deep_book_orders_per_s": round(n_orders / seconds),
        "deep_book_trades": exchange.book.n_trades,
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(symbol: str = "GOOG", date: str = "2012-06-21", data_dir: str | None = None) -> dict:
    result = bench_replay(symbol, date, data_dir=data_dir)
    result["peak_rss_mb_replay"] = peak_rss_mb()
    result.update(bench_deep_book())
    result["peak_rss_mb"] = peak_rss_mb()
    return result
