"""The Order Model page's live generation tab: the model writes a few minutes of the market from a real start."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np
import streamlit as st

from analysis.charts import flow as fl
from analysis.charts import market
from analysis.charts import sim as sim_charts
from mars_core.data.schema import DatasetInfo
from mars_core.errors import MarsInputError
from mars_core.model.order_images import slot_labels
from mars_core.sim import runs
from mars_core.sim.config import SESSION_CLOSE, SESSION_OPEN, SimConfig
from mars_core.sim.runner import run_simulation
from mars_core.store import RunDir
from pages import _model_ui, _runs_ui, _sim_ui, _ui

ORDER_ROWS = (20, 50, 200, 1000)  # rows of the generated-orders table to show


def _generate(config: SimConfig, data_dir: Path, files: _model_ui.ShippedFiles, root: Path) -> str | None:
    """Run the generation (or reuse an identical one); returns its directory, or None after showing an error."""
    tag = _model_ui.model_tag(str(files.checkpoint), _model_ui.mtime(files.checkpoint))
    path, reused = runs.simulation_dir(config, root, suffix=f"-lmm{tag}")  # listed by the Simulate page too
    if reused and len(RunDir(path).finished()) >= config.rollouts:
        st.toast(
            "Same settings and model as an earlier generation: its results are shown (runs are deterministic by seed).",
            icon=":material/history:",
        )
        return str(path)
    bar = st.progress(0.0, text="Generating…")
    started = time.perf_counter()

    def on_arm(done: int, total: int, arm: dict) -> None:
        bar.progress(
            done / total, text=f"Generated {done} of {total} rollouts ({arm['orders']:,} orders in the last one)"
        )

    try:
        with st.spinner(
            f"Warming up the book with the real day up to {config.start}, then generating "
            f"{config.rollouts} rollout(s) of {config.minutes:g} min in lockstep…",
            show_time=True,
        ):
            # in this process (no pool forked from a server thread) and with the checkpoint this page shows
            run_simulation(config, path, str(data_dir), workers=1, progress=on_arm, model_path=str(files.checkpoint))
    except MarsInputError as err:
        bar.empty()
        _ui.show_error(err, "Check the settings and generate again.")
        return None
    bar.empty()
    st.caption(
        f"Generated {config.rollouts} rollout{'s' if config.rollouts != 1 else ''} in "
        f"{time.perf_counter() - started:.1f} s (book warm-up, model priming, sampling and matching)."
    )
    return str(path)


def live_tab(
    files: _model_ui.ShippedFiles,
    loaded: object,
    datasets: list[DatasetInfo],
    data_dir: Path,
    root: Path,
) -> None:
    """The tab's widgets and results; `loaded` is the page's loaded model (None when it did not load)."""
    state = st.session_state
    st.caption(
        "The book is warmed up with the real day up to the start; the model is primed with the real orders before it and "
        "then writes the market on its own, order by order, each order matched by the exchange before the next one is "
        "sampled. Default: the held-out afternoon, which the model never trained on."
    )
    if loaded is None:
        st.info("Live generation needs a shipped order model (see above).", icon=":material/neurology:")
    elif not datasets:
        _ui.show_no_data(data_dir)
    else:
        with st.container(border=True):
            c_symbol, c_date, c_start, c_minutes, c_rollouts, c_seed = st.columns([1, 1.2, 1.2, 1, 1, 1])
            symbol = c_symbol.selectbox("Symbol", sorted({d.symbol for d in datasets}), key="om_symbol")
            dates = sorted({d.date for d in datasets if d.symbol == symbol})
            date = c_date.selectbox("Date", dates, key="om_date", format_func=lambda d: d.isoformat())
            info = next(d for d in datasets if d.symbol == symbol and d.date == date)
            first, last = (
                _ui.to_time(max(info.ts_start, SESSION_OPEN)),
                _ui.to_time(min(info.ts_end, SESSION_CLOSE)),
            )
            default = (
                _model_ui.LIVE_DEFAULT_START
                if first <= _model_ui.LIVE_DEFAULT_START < last
                else first.replace(second=0)
            )
            state.setdefault("om_start", default)
            start = c_start.time_input(
                "Start",
                step=60,
                key="om_start",
                help=f"Continuous trading with data: {first:%H:%M:%S}–{last:%H:%M:%S}. "
                f"The held-out (validation) part of the day starts at {_model_ui.HELD_OUT[0]}.",
            )
            minutes = c_minutes.number_input(
                "Minutes", step=1, key="om_minutes", help=f"1–{_model_ui.MAX_LIVE_MINUTES} simulated minutes."
            )
            rollouts = c_rollouts.number_input(
                "Rollouts",
                step=1,
                key="om_rollouts",
                help=f"1–{_model_ui.MAX_LIVE_ROLLOUTS} futures, sampled together in one batch.",
            )
            seed = c_seed.number_input("Seed", step=1, key="om_seed", help="The same seed gives the same orders.")
            c_button, c_note = st.columns([1, 4], vertical_alignment="center")
            c_button.button(
                "Generate",
                type="primary",
                icon=":material/auto_awesome:",
                key="om_generate_button",
                width="stretch",
                on_click=_runs_ui.request("om_generate_requested"),
            )
            c_note.caption(
                f"A minute with {_model_ui.MAX_LIVE_ROLLOUTS} rollouts takes a few seconds. Runs are saved in `{root}` and also listed "
                "on the Simulate page."
            )
        if _runs_ui.requested("om_generate_requested"):
            try:
                config = _model_ui.build_generation(info, start, minutes, rollouts, seed)
            except MarsInputError as err:
                lines = str(err).splitlines()
                st.error(
                    "**Cannot generate yet.** "
                    + (
                        lines[0] if len(lines) == 1 else "Fix these first:\n" + "\n".join(f"- {line}" for line in lines)
                    ),
                    icon=":material/error:",
                )
            else:
                path = _generate(config, data_dir, files, root)
                if path is not None:
                    state.om_generation = path
        path = state.get("om_generation")
        finished = tuple(RunDir(path).finished()) if path and (RunDir(path).path / "config.json").is_file() else ()
        if finished:
            gen = _model_ui.generation(
                path, finished, str(files.checkpoint), _model_ui.mtime(files.checkpoint), str(data_dir)
            )
            config = gen.config
            run_date = dt.date.fromisoformat(config.date)
            real_orders = len(gen.real_tokens)
            seconds = sum(s["seconds"] for s in gen.summaries)
            fan_end = gen.fan.q(0.5)[-1] / market.PRICE_SCALE if gen.fan.rollouts else float("nan")
            try:
                quotes = _ui.quote_grid(config.symbol, config.date, str(data_dir), config.start_ts, config.end_ts)
            except MarsInputError:
                quotes = None
            real_end = (
                float(quotes.mid[-1]) / market.PRICE_SCALE if quotes is not None and len(quotes.mid) else float("nan")
            )
            st.markdown(
                f"**{config.symbol} {config.date}, {_sim_ui.window_label(config)}** · {config.rollouts} "
                f"rollout{'s' if config.rollouts != 1 else ''} · seed {config.seed}"
            )
            m1, m2, m3, m4 = st.columns(4)
            m1.metric(
                "Generated orders per rollout",
                f"{gen.per_rollout:,.0f}",
                f"real {real_orders:,}" if real_orders else None,
                delta_color="off",
                delta_arrow="off",
                border=True,
                help=f"The real day has {real_orders:,} orders in this window.",
            )
            types = fl.type_shares(gen.tokens["type"])
            real_types = fl.type_shares(gen.real_tokens["type"])
            m2.metric(
                "Cancels",
                f"{types[2]:.0%}",
                f"real {real_types[2]:.0%}",
                delta_color="off",
                delta_arrow="off",
                border=True,
                help="Share of the orders that cancel a resting order.",
            )
            m3.metric(
                "Mid at the end (median)",
                f"${fan_end:,.2f}" if np.isfinite(fan_end) else "—",
                f"real ${real_end:,.2f}" if np.isfinite(real_end) else None,
                delta_color="off",
                delta_arrow="off",
                border=True,
                help="Median over the rollouts of the generated mid at the end of the window.",
            )
            m4.metric(
                "Generation speed",
                f"{len(gen.orders) / seconds:,.0f} orders/s" if seconds > 0 else "—",
                border=True,
                help="Generated orders per second of the lockstep loop: sampling, decoding and matching.",
            )
            st.plotly_chart(
                sim_charts.fan_figure(
                    run_date,
                    gen.grid,
                    {"main": gen.fan},
                    quotes.ts if quotes is not None else None,
                    quotes.mid if quotes is not None else None,
                    title=f"{config.symbol} {config.date} — real mid vs generated mids ({config.rollouts} rollout"
                    f"{'s' if config.rollouts != 1 else ''})",
                    height=440,
                ),
                key="om_fan",
            )
            c_head, c_rows = st.columns([5, 1], vertical_alignment="bottom")
            c_head.markdown(
                f"**Generated orders** ({len(gen.orders):,} in all rollouts, in time order; each with its token)"
            )
            rows = c_rows.selectbox("Rows", ORDER_ROWS, key="om_rows")
            st.dataframe(
                fl.orders_frame(gen.orders, gen.tokens, limit=rows),
                hide_index=True,
                key="om_orders",
                height=min(36 + 35 * min(rows, len(gen.orders)), 420),
                column_config={
                    "Price ($)": st.column_config.NumberColumn(format="$%.2f"),
                    "Size (sh)": st.column_config.NumberColumn(format="localized"),
                    "Token": st.column_config.NumberColumn(format="%d", help=fl.token_formula()),
                },
            )

            labels = slot_labels(loaded.tokenizer)
            slot_text = {
                "price": [f"submit: {s} · cancel: {c}" for s, c in zip(labels["submit_price"], labels["cancel_price"])],
                "volume": labels["volume"],
                "interval": fl.interval_labels(loaded.tokenizer.interval.upper),
            }
            st.plotly_chart(
                fl.token_slots_figure(
                    {"generated": gen.tokens, "real": gen.real_tokens},
                    slot_text,
                    names={"generated": "Generated", "real": "Real, same window"},
                    colors={"generated": fl.SOURCE_COLORS["lmm"], "real": fl.SOURCE_COLORS["real"]},
                    title="Token level: how the generated orders spread over the tokenizer's slots",
                ),
                key="om_tokens",
            )
            st.caption(
                f"Each order is one token: type × price slot (ticks from the quotes before it: {fl.price_regions_text()}) "
                "× volume slot × interval slot (time since the previous order). Hover a bar for its range. Both sides are "
                "encoded the same way: from the orders as the exchange recorded them, with the quotes before each."
            )
        elif path:
            st.info("The last generation has no finished rollout. Generate again.", icon=":material/hourglass_empty:")
