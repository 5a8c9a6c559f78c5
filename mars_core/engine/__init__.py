"""The clearing house: order book, matching, market rules and LOBSTER replay.

Layers, lowest first: the compiled price-time book (`OrderBook`, `_book.pyx`), the
exchange that owns sessions, auctions and market rules (`Exchange`, `MarketRules`), and the
verified LOBSTER replay (`LobsterReplay`, `replay_day`). The enums of the stored formats
(`OrderKind`, `OrderEvent`, `Status`, `Side`) are declared once, in `types.py`.

    from mars_core.engine import Exchange, MarketRules, OrderKind, Status
    ex = Exchange(MarketRules.nasdaq(tick_size=100))
    assert ex.submit(ts, 1, 5_800_000, 100, agent=3, kind=OrderKind.LIMIT) == Status.OK
"""

from mars_core.engine._book import OrderBook
from mars_core.engine.auction import AuctionResult, auction_price
from mars_core.engine.exchange import AuctionEvent, Exchange
from mars_core.engine.replay import LobsterReplay, ReplayReport, replay_day
from mars_core.engine.rules import MarketRules, Session, SessionKind, format_clock, parse_clock
from mars_core.engine.types import BookIntegrityError, OrderEvent, OrderKind, Side, Status

__all__ = [
    "AuctionEvent",
    "AuctionResult",
    "BookIntegrityError",
    "Exchange",
    "LobsterReplay",
    "MarketRules",
    "OrderBook",
    "OrderEvent",
    "OrderKind",
    "ReplayReport",
    "Session",
    "SessionKind",
    "Side",
    "Status",
    "auction_price",
    "format_clock",
    "parse_clock",
    "replay_day",
]
