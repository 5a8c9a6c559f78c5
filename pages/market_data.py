"""Market Data: browse one real trading day — prices, spread, book depth and order flow."""

from __future__ import annotations

import datetime as dt

import numpy as np
import streamlit as st

from analysis.charts import market
from mars_core.data.schema import NS_PER_SECOND
from mars_core.errors import MarsInputError
from pages import _ui

_ui.route_through_app()

DEFAULT_START = dt.time(9, 30)
DEFAULT_MINUTES = 60

st.title("Market data")
st.caption("Real order-level data (LOBSTER): the visible limit order book and every message, for one trading day.")

# ---- which day --------------------------------------------------------------------------------
data_dir, datasets = _ui.require_datasets()

symbols = sorted({d.symbol for d in datasets})
c_symbol, c_date, c_start, c_end = st.columns([1, 1, 1, 1])
symbol = c_symbol.selectbox("Symbol", symbols, key="md_symbol")
dates = sorted({d.date for d in datasets if d.symbol == symbol})
date = c_date.selectbox("Date", dates, key="md_date", format_func=lambda d: d.isoformat())
info = next(d for d in datasets if d.symbol == symbol and d.date == date)

day_start, day_end = _ui.to_time(info.ts_start), _ui.to_time(info.ts_end)
# Default: the first hour of the session (09:30), or of the data when it does not cover 09:30.
default_start = DEFAULT_START if day_start <= DEFAULT_START < day_end else day_start.replace(second=0)
default_end = min(
    (dt.datetime.combine(date, default_start) + dt.timedelta(minutes=DEFAULT_MINUTES)).time(),
    _ui.to_time(info.ts_end + 59 * NS_PER_SECOND).replace(second=0),  # the day's last minute, rounded up
)
start = c_start.time_input(
    "Start", value=default_start, step=60, key="md_start", help=f"Data spans {day_start}–{day_end}."
)
end = c_end.time_input("End", value=default_end, step=60, key="md_end", help=f"Data spans {day_start}–{day_end}.")

# ---- which window -----------------------------------------------------------------------------
if start is None or end is None:
    st.warning("Pick both a start and an end time.", icon=":material/schedule:")
    st.stop()
if start >= end:
    st.error(
        f"The window is empty: start {start:%H:%M} is not before end {end:%H:%M}. Pick an end time after the start.",
        icon=":material/error:",
    )
    st.stop()
start_ns = max(_ui.to_ns(start), info.ts_start)
end_ns = min(_ui.to_ns(end), info.ts_end + 1)
if start_ns >= end_ns:
    st.warning(
        f"No data between {start:%H:%M} and {end:%H:%M}: {info.key} spans "
        f"{_ui.fmt_hms(info.ts_start)}–{_ui.fmt_hms(info.ts_end)}. Pick a window inside that span.",
        icon=":material/schedule:",
    )
    st.stop()

if _ui.to_ns(start) < info.ts_start - NS_PER_SECOND or _ui.to_ns(end) > info.ts_end + NS_PER_SECOND:
    st.caption(
        f"Showing {_ui.fmt_hms(start_ns)}–{_ui.fmt_hms(end_ns)}: the part of the window that has data "
        f"({info.key} spans {_ui.fmt_hms(info.ts_start)}–{_ui.fmt_hms(info.ts_end)})."
    )

# ---- load -------------------------------------------------------------------------------------
key = (symbol, date.isoformat(), str(data_dir))
try:
    _ui.day(*key)  # load once, under its own spinner
    bars = _ui.bars(*key, start_ns, end_ns)
    quotes = _ui.quote_grid(*key, start_ns, end_ns)
    grid = _ui.book_grid(*key, start_ns, end_ns)
    trades = _ui.trades(*key, start_ns, end_ns)
except MarsInputError as err:
    _ui.show_error(err, "Check the dataset files, or pick another dataset.")
    st.stop()

# ---- summary ----------------------------------------------------------------------------------
mid = quotes.mid[np.isfinite(quotes.mid)]
spread_cents = quotes.spread[np.isfinite(quotes.spread)] / (market.PRICE_SCALE / 100)
m1, m2, m3, m4, m5 = st.columns(5)
m1.metric("Messages", f"{_ui.message_count(*key, start_ns, end_ns):,}")
m2.metric("Trades", f"{len(trades):,}")
m3.metric("Volume (shares)", f"{int(trades['size'].sum()):,}")
m4.metric("Mean spread", f"{spread_cents.mean():.1f}¢" if spread_cents.size else "—")
if mid.size:
    change = (mid[-1] - mid[0]) / market.PRICE_SCALE
    sign = "+" if change >= 0 else "-"  # ASCII minus: Streamlit colours the delta by its leading sign
    m5.metric("Mid price", f"${mid[-1] / market.PRICE_SCALE:,.2f}", f"{sign}${abs(change):,.2f} in window")
else:
    m5.metric("Mid price", "—")

# ---- charts -----------------------------------------------------------------------------------
title = f"{symbol} {date.isoformat()}"
st.plotly_chart(
    market.price_figure(
        date,
        quotes.ts,
        quotes.mid,
        trades["ts"],
        trades["price"],
        trades["size"],
        trades["side"],
        title=f"{title} — mid price and trades",
    ),
    key="md_price_chart",
)
left, right = st.columns(2)
left.plotly_chart(
    market.spread_figure(date, quotes.ts, quotes.spread, title=f"{title} — bid-ask spread"), key="md_spread_chart"
)
if bars.empty:
    right.info("No complete minute in this window, so no per-minute order flow.", icon=":material/bar_chart:")
else:
    right.plotly_chart(
        market.order_flow_figure(date, bars["minute"], bars, title=f"{title} — order flow per minute"),
        key="md_flow_chart",
    )
st.plotly_chart(
    market.depth_figure(date, grid, title=f"{title} — visible book depth ({info.levels} levels per side)"),
    key="md_depth_chart",
)
st.caption(
    f"Prices and spread are sampled every {_ui.fmt_step(quotes.ts)}, the depth map every "
    f"{_ui.fmt_step(grid.ts)} in {_ui.fmt_price_bin(grid.prices)}. Trade side: LOBSTER reports the resting order's side, so a filled "
    "resting sell is a buyer-initiated trade."
)

# ---- minute bars ------------------------------------------------------------------------------
st.subheader("Minute bars")
if bars.empty:
    st.info("No minute bars in this window.")
else:
    table = _ui.bars_table(bars)
    st.dataframe(table, hide_index=True, height=320, column_config=_ui.BARS_COLUMN_CONFIG)
    st.download_button(
        "Download minute bars (CSV)",
        table.to_csv(index=False).encode(),
        file_name=f"{symbol}_{date.isoformat()}_{start:%H%M}-{end:%H%M}_minute_bars.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="md_download",
    )
