"""Simulate: run many futures of a moment of a real trading day, with and without your own orders."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from pathlib import Path

import numpy as np
import streamlit as st

from analysis.charts import sim as sim_charts
from mars_core import paths, store
from mars_core.data.schema import NS_PER_SECOND
from mars_core.errors import MarsInputError
from mars_core.experiments import whatif
from mars_core.sim import runs
from mars_core.sim.config import SESSION_CLOSE, SESSION_OPEN, SimConfig
from mars_core.sim.executor import default_executor
from mars_core.sim.lockstep import generation_progress
from mars_core.sim.runner import run_simulation
from mars_core.store import RunDir
from pages import _jobs, _runs_ui, _sim_results, _sim_ui, _ui

_ui.route_through_app()

DEFAULT_START = dt.time(10, 0)
DEFAULT_MINUTES, DEFAULT_ROLLOUTS = 5, 8
LIVE_REDRAW_S = 0.3  # redraw the live charts at most this often while arms finish
JOB = "sim_job"  # session key of the run going on from this session: its job, config and directory
BACKGROUNDS = {
    "noise": ("Noise traders", "Zero-intelligence traders calibrated on this day's order flow"),
    "replay": ("Replay", "The day's real orders continue unchanged (they do not react to yours)"),
    "lmm": ("Order model (LMM)", "The generative order model"),
}

state = st.session_state
state.setdefault("sim_twap_ids", [])
state.setdefault("sim_twap_next", 1)
state.setdefault("sim_orders", _sim_ui.empty_orders())
# Streamlit forgets a widget's value while its page is not shown; restore the form from our own copy
for _key, _value in state.get("sim_form_saved", {}).items():
    if _key not in state:
        state[_key] = _value

st.title("Simulate")
st.caption(
    "Start at any moment of a real trading day, simulate many possible futures of the order book, "
    "and see how the market reacts to your own orders and execution agents."
)
_ui.show_executor()

# ---- which day ---------------------------------------------------------------------------------
data_dir, datasets = _ui.require_datasets()

with st.container(border=True):
    st.markdown("**Market and window**")
    c_symbol, c_date, c_start, c_minutes = st.columns(4)
    symbol = c_symbol.selectbox("Symbol", sorted({d.symbol for d in datasets}), key="sim_symbol")
    dates = sorted({d.date for d in datasets if d.symbol == symbol})
    date = c_date.selectbox("Date", dates, key="sim_date", format_func=lambda d: d.isoformat())
    info = next(d for d in datasets if d.symbol == symbol and d.date == date)
    day_start, day_end = _ui.to_time(max(info.ts_start, SESSION_OPEN)), _ui.to_time(min(info.ts_end, SESSION_CLOSE))
    window_help = f"Continuous trading with data: {day_start:%H:%M:%S}–{day_end:%H:%M:%S}."
    start = c_start.time_input(
        "Start",
        value=DEFAULT_START if day_start <= DEFAULT_START < day_end else day_start.replace(second=0),
        step=60,
        key="sim_start",
        help=f"The book is warmed up with the real messages up to this time. {window_help}",
    )
    minutes = c_minutes.number_input(
        "Length (minutes)",
        value=DEFAULT_MINUTES,
        step=1,
        key="sim_minutes",
        help=f"Simulated minutes from the start. {window_help}",
    )

    model = _ui.model_status()
    c_background, c_rollouts, c_seed = st.columns([2, 1, 1])
    background = c_background.radio(
        "Background order flow",
        list(BACKGROUNDS),
        key="sim_background",
        horizontal=True,
        format_func=lambda b: BACKGROUNDS[b][0] + ("" if b != "lmm" or model.found else " — not available"),
        captions=[
            BACKGROUNDS[b][1] + ("" if b != "lmm" else f" ({model.summary.rstrip('.').lower()})") for b in BACKGROUNDS
        ],
    )
    rollouts = c_rollouts.number_input(
        "Rollouts",
        value=DEFAULT_ROLLOUTS,
        step=1,
        key="sim_rollouts",
        help=f"Independent futures from the same start, 1–{_sim_ui.MAX_ROLLOUTS}; run in parallel on all cores.",
    )
    seed = c_seed.number_input(
        "Seed", value=0, step=1, key="sim_seed", help="The same seed gives the same futures, bit for bit."
    )
    if background == "lmm" and not model.found:
        st.info(
            "The LMM background needs a trained order model in `assets/models`; none is shipped yet. "
            "Pick noise or replay for now.",
            icon=":material/neurology:",
        )


# ---- your orders ---------------------------------------------------------------------------------
def _add_twap() -> None:
    state.sim_twap_ids.append(state.sim_twap_next)
    state.sim_twap_next += 1


def _remove_twap(agent: int) -> None:
    state.sim_twap_ids.remove(agent)


def _load_orders_csv() -> None:
    upload = state.get("sim_orders_upload")
    state.pop("sim_orders_error", None)
    if upload is None:
        return
    try:
        state.sim_orders = _sim_ui.orders_from_csv(upload.getvalue(), upload.name)
    except MarsInputError as err:
        state.sim_orders_error = str(err)


def _example_orders() -> None:
    try:
        quotes = _ui.quote_grid(
            symbol, date.isoformat(), str(data_dir), _ui.to_ns(start), _ui.to_ns(start) + NS_PER_SECOND
        )
        mid = float(quotes.mid[0]) if len(quotes.mid) and np.isfinite(quotes.mid[0]) else np.nan
    except MarsInputError:
        mid = np.nan
    if np.isnan(mid):
        mid = float(info.tick_size * 10_000)
    state.sim_orders = _sim_ui.example_orders(_ui.to_ns(start), mid, info.tick_size)
    state.pop("sim_orders_error", None)


def _clear_orders() -> None:
    state.sim_orders = _sim_ui.empty_orders()
    state.pop("sim_orders_error", None)


twaps: list[_sim_ui.TwapInput] = []
with st.expander("Your orders: TWAP execution agents and injected orders", icon=":material/tune:"):
    tab_twap, tab_orders = st.tabs(["TWAP agents", "Injected orders"])
    with tab_twap:
        st.caption(
            "A TWAP agent (the paper's Algorithm 1) splits its volume into equal slices, one per interval. "
            "It rests up to PVR × slice at the best bid (best ask when selling); in the last 5 s of each interval "
            "it takes what it is behind schedule at level AP of the other side (AP 0: never aggressive). "
            "Agents are named as in the paper: L{AP}-P{PVR}."
        )
        for number, agent in enumerate(state.sim_twap_ids, start=1):
            with st.container(border=True):
                head, remove = st.columns([6, 1], vertical_alignment="center")
                title = head.empty()
                remove.button(
                    "Remove",
                    key=f"sim_twap_{agent}_remove",
                    icon=":material/delete:",
                    on_click=_remove_twap,
                    args=(agent,),
                    width="stretch",
                )
                c_side, c_volume, c_pvr, c_ap, c_time, c_interval = st.columns([1.1, 1.1, 1.5, 1.5, 1.2, 1])
                side = c_side.segmented_control("Side", ["Buy", "Sell"], default="Buy", key=f"sim_twap_{agent}_side")
                volume = c_volume.number_input("Volume (shares)", value=1_000, step=100, key=f"sim_twap_{agent}_volume")
                pvr = c_pvr.slider(
                    "Passive volume ratio (PVR)",
                    0.0,
                    1.0,
                    0.9,
                    0.05,
                    key=f"sim_twap_{agent}_pvr",
                    help="Largest share of each slice the agent rests passively at the best price.",
                )
                ap = c_ap.select_slider(
                    "Aggressive price level (AP)",
                    options=list(range(6)),
                    value=1,
                    key=f"sim_twap_{agent}_ap",
                    help="Level of the other side it crosses to when behind schedule; 0 never crosses.",
                )
                run_time = c_time.number_input(
                    "Execution time (min)",
                    value=None,
                    min_value=0.0,
                    step=1.0,
                    placeholder="all",
                    key=f"sim_twap_{agent}_minutes",
                    help="Empty: the whole simulated window.",
                )
                interval = c_interval.number_input(
                    "Interval (s)",
                    value=30,
                    step=5,
                    key=f"sim_twap_{agent}_interval",
                    help="One slice per interval; the last 5 s of each are the aggressive period.",
                )
                twap = _sim_ui.TwapInput(-1 if side == "Sell" else 1, volume, pvr, ap, run_time, interval)
                twaps.append(twap)
                how = f"{'sell' if twap.side < 0 else 'buy'} {volume:,} shares" if volume else "no volume yet"
                title.markdown(f"**TWAP {number}** &nbsp; :blue-badge[L{ap}-P{pvr:g}] &nbsp; {how}")
        st.button("Add a TWAP agent", icon=":material/add:", on_click=_add_twap, key="sim_twap_add")
    with tab_orders:
        st.caption(
            "Your own orders at given times on the simulated day: **time** HH:MM:SS, **action** limit, market, ioc "
            "or cancel, **side** buy or sell, **price** in dollars (limit and ioc), **qty** in shares (a cancel with "
            "no qty cancels the whole order), **client_id** to name an order that a later cancel refers to."
        )
        orders = st.data_editor(
            state.sim_orders,
            key="sim_orders_editor",
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            column_config={
                "time": st.column_config.TextColumn("time", help="HH:MM:SS on the trading day", width="small"),
                "action": st.column_config.SelectboxColumn("action", options=_sim_ui.ORDER_ACTIONS, width="small"),
                "side": st.column_config.SelectboxColumn("side", options=_sim_ui.ORDER_SIDES, width="small"),
                "price": st.column_config.NumberColumn("price ($)", format="$%.2f", step=0.01, min_value=0.0),
                "qty": st.column_config.NumberColumn("qty (shares)", format="%d", step=1, min_value=0),
                "client_id": st.column_config.TextColumn("client_id", help="Optional label; cancels name it"),
            },
        )
        c_upload, c_example, c_clear = st.columns([3, 1, 1], vertical_alignment="bottom")
        c_upload.file_uploader(
            "Load orders from a CSV file (time,action,side,price,qty,client_id)",
            type=["csv"],
            key="sim_orders_upload",
            on_change=_load_orders_csv,
        )
        c_example.button("Fill in an example", icon=":material/edit_note:", on_click=_example_orders, width="stretch")
        c_clear.button("Clear the table", icon=":material/clear_all:", on_click=_clear_orders, width="stretch")
        if state.get("sim_orders_error"):
            st.error(f"{state.sim_orders_error}. The table was left as it was.", icon=":material/error:")

has_orders = _sim_ui.has_orders(orders)
has_agents = bool(twaps) or has_orders


# ---- run -----------------------------------------------------------------------------------------
def _paired_touched() -> None:
    state.sim_paired_touched = True


if not state.get("sim_paired_touched"):
    state.sim_paired = has_agents  # on by default once there are orders to compare
running = state.get(JOB)  # a run started from this session: it goes on while the page reruns
c_paired, c_run, c_what = st.columns([1.5, 1, 2.5], vertical_alignment="center")
paired = c_paired.toggle(
    "Paired with / without your orders",
    key="sim_paired",
    disabled=not has_agents,
    on_change=_paired_touched,
    help="Each rollout runs twice on the same random numbers, with and without your orders, so the difference "
    "between the two is the effect of your orders and not noise.",
)
config: SimConfig | None = None
problems: list[str] = []
try:  # checked as the user types: Run stays disabled while anything is wrong
    config = _sim_ui.build_config(
        info=info,
        start=start,
        minutes=minutes,
        rollouts=rollouts,
        background=background,
        seed=seed,
        paired=paired,
        twaps=twaps,
        orders=orders,
        model_found=model.found,
    )
except MarsInputError as err:
    problems = str(err).splitlines()
run_slot = c_run.empty()


run_button, stop_shown = _runs_ui.run_or_stop(
    run_slot,
    running["job"] if running else None,
    label="Run simulation",
    what="simulation",
    run_key="sim_run_button",
    stop_key="sim_stop_button",
    flag="sim_run_requested",
    disabled=config is None,
)
run_clicked = _runs_ui.requested("sim_run_requested")
arms = 2 if has_agents and paired else 1
if isinstance(rollouts, int) and isinstance(minutes, (int, float)) and rollouts > 0 and minutes > 0:
    c_what.caption(
        f"{rollouts} rollout{'s' if rollouts != 1 else ''}{' × 2 (with and without your orders)' if arms == 2 else ''} "
        f"= {rollouts * arms} simulation{'s' if rollouts * arms != 1 else ''} of {minutes:g} min"
        f"{' with ' + str(len(twaps)) + ' TWAP agent' + ('s' if len(twaps) != 1 else '') if twaps else ''}"
        f"{' and injected orders' if has_orders else ''}; results go to `{paths.runs_root()}`."
    )
if problems:
    st.error(
        "**Cannot run yet.** "
        + (problems[0] if len(problems) == 1 else "Fix these first:\n" + "\n".join(f"- {line}" for line in problems)),
        icon=":material/error:",
    )
elif config is not None and config.twap:
    traded = int(_ui.trades(symbol, date.isoformat(), str(data_dir), config.start_ts, config.end_ts)["size"].sum())
    for line in _sim_ui.twap_warnings(config, traded):
        st.warning(line, icon=":material/warning:")
progress_slot, status_slot = st.empty(), st.empty()
state.sim_form_saved = {key: state[key] for key in _sim_ui.form_keys(state.sim_twap_ids) if key in state}

if run_clicked and config is not None and running is None:
    path, reused = runs.simulation_dir(config)
    RunDir.create(path, config.model_dump(mode="json"))
    state.sim_run = path.name  # the results below show the new run
    if reused and len(RunDir(path).finished()) >= config.rollouts * len(config.arms):
        status_slot.info(
            "These settings were already run, so their results are shown below (runs are deterministic by seed). "
            "Change the seed for new futures.",
            icon=":material/history:",
        )
    else:
        job = _jobs.start(run_simulation, config, str(path), data_dir=str(data_dir), executor=default_executor())
        state[JOB] = {"job": job, "config": config, "path": str(path)}
        st.rerun()  # draw the Stop button in place of Run


# ---- results ---------------------------------------------------------------------------------------


st.subheader("Results")
entries, run_problems = runs.list_simulations()
_ui.show_problems(run_problems)
if not entries:
    st.info(
        f"No runs yet in `{paths.runs_root()}`. Set up a run above and press **Run simulation**.",
        icon=":material/play_circle:",
    )
    st.stop()
by_name = {e.path.name: e for e in entries}
if running is not None:  # listed before it finished: describe it as it will be, and show it
    name = Path(running["path"]).name
    by_name[name] = dataclasses.replace(by_name[name], finished=by_name[name].expected)
    state.sim_run = name
chosen = st.selectbox(
    "Run",
    list(by_name),
    key="sim_run",
    format_func=lambda name: by_name[name].label,
    help=f"Every run in `{paths.runs_root()}` (set `{paths.RUNS_ENV}` to use another folder), newest first.",
)
entry = by_name[chosen]
st.caption(f"{entry.config.describe()} · window {_sim_ui.window_label(entry.config)} · `{entry.path}`")
slots = {name: st.empty() for name in ("metrics", "fan", "impact", "minute", "execution")}
replay = _sim_ui.replay_reference(entry.config, data_dir)

view: whatif.WhatIfView | None = None
if running is not None:
    view = whatif.WhatIfView.start(running["path"], running["config"])
    for rollout, arm in RunDir(running["path"]).finished():  # a resumed run keeps its finished arms
        view.add_arm(rollout, arm)
    total = view.expected
    if view.finished and running["job"].last is None:
        status_slot.caption(f"Resuming: {view.finished} of {total} simulations were already finished.")
    last_draw = {"at": 0.0, "cost": 0.0}
    if not view.finished:  # nothing finished yet: no stale charts of another run under the progress
        for slot in slots.values():
            slot.empty()

    def on_arm(done: int, total: int, summary: dict) -> None:
        if summary["rollout"] not in view.mids.get(summary["arm"], {}):  # else: read from disk already
            view.add_arm(summary["rollout"], summary["arm"])
        progress_slot.progress(done / total, text=f"Simulating… {done} of {total} done")
        status_slot.caption(
            f"Rollout {summary['rollout']} ({summary['arm']}) finished: {summary['orders']:,} orders, "
            f"{summary['trades']:,} trades."
        )
        now = time.perf_counter()
        # redraw often, but never spend more than about a third of the time drawing
        if now - last_draw["at"] >= max(LIVE_REDRAW_S, 2 * last_draw["cost"]) or done == total:
            _sim_results.render(view, replay, slots, live=done)
            last_draw["at"], last_draw["cost"] = time.perf_counter(), time.perf_counter() - now

    def tick(elapsed: float) -> None:  # draws every poll: that is where Streamlit's own Stop reaches the page
        fraction, text = _sim_ui.run_progress(
            view.finished, view.expected, generation_progress(running["path"]), running["config"].background == "lmm"
        )
        progress_slot.progress(fraction, text=f"{text} · {elapsed:.0f} s")

    outcome = _runs_ui.follow(running["job"], on_arm, tick)
    del state[JOB]
    if stop_shown:
        run_button()  # in place of Stop
    result = _runs_ui.show_outcome(outcome, "simulation", "fewer rollouts or a shorter window", [progress_slot])
    if result is not None:
        progress_slot.progress(
            1.0,
            text=f"Finished: {total} of {total} simulations in {time.perf_counter() - running['job'].started:.1f} s "
            f"({result.orders:,} orders, {result.trades:,} trades)",
        )
        status_slot.empty()

finished = tuple(RunDir(entry.path).finished())
if not finished:
    slots["metrics"].info(
        "This run has no finished rollouts yet. Run it again with the same settings to resume.",
        icon=":material/hourglass_empty:",
    )
    st.stop()
if view is None or len(finished) != view.finished:
    view = _sim_ui.load_view(str(entry.path), finished)  # else: the run just drawn live is complete already
if replay is None:
    st.caption(
        f"The real day {entry.config.symbol} {entry.config.date} is not in the data folder, so there is no real-day reference line."
    )
_sim_results.render(view, replay, slots)
if view.finished < view.expected:
    st.warning(
        f"This run is incomplete: {view.finished} of {view.expected} simulations finished. "
        "Set the same settings and press Run simulation to resume it.",
        icon=":material/hourglass_bottom:",
    )
st.caption(
    "Fans: the median across rollouts (line), 25–75% (dark band) and 10–90% (light band) of the simulated mid price, sampled every "
    f"{_ui.fmt_step(view.grid)} from the book snapshots."
    + (
        " Your fills: ▲ buys, ▼ sells; filled markers took liquidity, hollow ones rested at the best price."
        if view.config.has_agents
        else ""
    )
)

# ---- downloads -----------------------------------------------------------------------------------
st.markdown("**Downloads**")
rollout_ids = sorted({r for r, _ in finished})
paired_run = len(entry.config.arms) > 1
c_zip, c_rollout, *c_arm, c_lobster = st.columns(
    [1.4, 0.8, 0.8, 1.4] if paired_run else [1.4, 1.6, 1.4], vertical_alignment="bottom"
)
c_zip.download_button(
    "Whole run (Parquet, zip)",
    functools.partial(store.run_zip_bytes, str(entry.path)),
    file_name=f"{entry.path.name}.zip",
    mime="application/zip",
    icon=":material/download:",
    on_click="ignore",
    key="sim_download_run",
    width="stretch",
    help="config.json, summary.json and every rollout's tables: orders, trades, book snapshots, minute bars, agent orders and fills.",
)
rollout = c_rollout.selectbox("Rollout", rollout_ids, key="sim_export_rollout")
arms_done = sorted((a for r, a in finished if r == rollout), key=("treated", "baseline", "main").index)
arm = (
    c_arm[0].selectbox("Arm", arms_done, key="sim_export_arm", format_func=lambda a: sim_charts.ARM_LABELS[a])
    if c_arm
    else arms_done[0]
)
c_lobster.download_button(
    "Rollout as LOBSTER CSVs (zip)",
    functools.partial(store.lobster_zip_bytes, str(entry.path), rollout, arm, entry.config.snapshot_levels),
    file_name=f"{entry.path.name}_rollout{rollout:04d}_{arm}_lobster.zip",
    mime="application/zip",
    icon=":material/download:",
    on_click="ignore",
    key="sim_download_lobster",
    width="stretch",
    help="A LOBSTER message file and orderbook file, readable by any LOBSTER tool (and by Market Data when unzipped into the data folder).",
)
