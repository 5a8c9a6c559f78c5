"""The Simulate page's results of one run: its metric cards, fan, impact and minute charts, and execution table."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import streamlit as st

from analysis.charts import market
from analysis.charts import sim as sim_charts
from mars_core.experiments import whatif


def compact(x: float) -> str:
    """12,345 -> 12.3k; 1,234,567 -> 1.23M (metric cards are narrow)."""
    if not np.isfinite(x):
        return "—"
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:,.3g}{suffix}"
    return f"{x:,.0f}"


def fill_note(execution: pd.DataFrame) -> str:
    """Why a TWAP fulfilment reads 0%: what the agents executed of what they wanted."""
    executed = int(round((execution["fulfillment_mean"] * execution["volume"]).sum()))
    wanted = int(execution["volume"].sum())
    return (
        f"Fulfilment near 0%: the TWAP agents executed {executed:,} of the {wanted:,} shares they wanted, on average "
        "over rollouts. A target far beyond what the market trades in the window cannot fill; a passive agent (AP 0) "
        "waits at the best price for counterparties that may never come. Try a volume near the window's traded volume."
    )


def render(
    view: whatif.WhatIfView, replay: tuple[market.QuoteGrid, pd.DataFrame] | None, slots: dict, live: int = 0
) -> None:
    """Draw the metrics and charts of `view` into the slots; `live` > 0 numbers a live redraw."""
    config = view.config
    run_date = dt.date.fromisoformat(config.date)
    totals, execution, difference = view.totals(), view.execution(), view.difference()
    metrics = [
        (
            "Simulations",
            f"{view.finished} / {view.expected}",
            "Finished simulations: rollouts × arms (with and without your orders when paired).",
        ),
        ("Orders", f"{totals['orders']:,}", "Orders sent in all finished arms (every participant)."),
        ("Trades", f"{totals['trades']:,}", None),
        (
            "Orders/s per core",
            compact(totals["orders_per_s"]),
            "Engine speed: orders simulated per second of compute on one core (all participants).",
        ),
    ]
    if not execution.empty:
        filled = (execution["fulfillment_mean"] * execution["volume"]).sum() / execution["volume"].sum()
        weights = execution["volume"].where(execution["slippage_bps_mean"].notna(), 0)
        slippage = (
            (execution["slippage_bps_mean"].fillna(0) * weights).sum() / weights.sum() if weights.sum() else np.nan
        )
        metrics.append(("TWAP fulfillment", f"{filled:.1%}", "Share of the TWAP volume executed, mean over rollouts."))
        metrics.append(
            (
                "VWAP vs arrival",
                f"{slippage:+.2f} bps" if np.isfinite(slippage) else "—",
                "Execution price against the mid at the start; positive = cost (bought higher / sold lower).",
            )
        )
    if difference is not None and difference.rollouts:
        end = difference.q(0.5)[-1]
        metrics.append(
            (
                "Effect at the end",
                f"{end:+.2f} bps" if np.isfinite(end) else "—",
                "Median over rollouts of the mid with minus without your orders, at the end of the window.",
            )
        )
    with slots["metrics"].container():
        for row in (metrics[:4], metrics[4:]):  # the run, then what your orders did
            if row:
                for column, (label, value, help_text) in zip(st.columns(4), row):
                    column.metric(label, value, help=help_text, border=True)
        if not execution.empty and filled < 0.001:
            st.caption(fill_note(execution))

    quotes, replay_bars = replay if replay is not None else (None, None)
    # element keys must be unique within a script run: each live redraw gets its own
    keyed = (lambda name: f"sim_{name}_live_{live}") if live else (lambda name: f"sim_{name}")
    title = f"{config.symbol} {config.date}"
    fan = sim_charts.fan_figure(
        run_date,
        view.grid,
        view.fans(),
        quotes.ts if quotes is not None else None,
        quotes.mid if quotes is not None else None,
        view.fills_frame(),
        whatif.agent_names(config),
        title=f"{title} — mid price: real day vs {view.config.rollouts} simulated futures ({config.background})",
    )
    slots["fan"].plotly_chart(fan, key=keyed("fan_chart"))
    if difference is not None:
        impact = sim_charts.impact_figure(
            run_date, view.grid, difference, title=f"{title} — effect of your orders on the mid (paired rollouts)"
        )
        slots["impact"].plotly_chart(impact, key=keyed("impact_chart"))
    minute = sim_charts.minute_figure(
        run_date, view.minute_stats(), replay_bars, title=f"{title} — spread and traded volume per minute"
    )
    slots["minute"].plotly_chart(minute, key=keyed("minute_chart"))
    if not execution.empty:
        table = pd.DataFrame(
            {
                "Agent": execution["name"],
                "Side": np.where(execution["side"] > 0, "buy", "sell"),
                "Volume (sh)": execution["volume"],
                "Filled, mean (sh)": execution["filled_mean"],
                "Fulfillment, mean": execution["fulfillment_mean"] * 100,
                "Fulfillment, worst": execution["fulfillment_min"] * 100,
                "VWAP ($)": execution["vwap_mean"] / market.PRICE_SCALE,
                "VWAP vs arrival (bps)": execution["slippage_bps_mean"],
                "± sd (bps)": execution["slippage_bps_sd"],
            }
        )
        with slots["execution"].container():
            st.markdown(f"**Execution** over {int(execution['rollouts'].iloc[0])} rollout(s)")
            st.dataframe(
                table,
                hide_index=True,
                key=keyed("execution_table"),
                column_config={
                    "Volume (sh)": st.column_config.NumberColumn(format="localized"),
                    "Filled, mean (sh)": st.column_config.NumberColumn(format="%.0f"),
                    "Fulfillment, mean": st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100),
                    "Fulfillment, worst": st.column_config.NumberColumn(format="%.1f%%"),
                    "VWAP ($)": st.column_config.NumberColumn(format="$%.3f"),
                    "VWAP vs arrival (bps)": st.column_config.NumberColumn(format="%+.2f"),
                    "± sd (bps)": st.column_config.NumberColumn(format="%.2f"),
                },
            )
