"""Scenarios: describe where the market should go (or pick a real price curve), see the historical cases that match,
and run controlled simulations toward it, with and without a TWAP agent (paper Sec. 3.3, App. E, Fig. 16)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from analysis.charts import scenario as sc
from mars_core.control.controller import ControlSettings
from mars_core.control.retrieval import describe_filter
from mars_core.control.scenarios import EXAMPLES, ScenarioSpec
from mars_core.control.signals import ControlSignal, replay_curve
from mars_core.errors import MarsInputError
from mars_core.experiments import scenario
from pages import _jobs, _runs_ui, _stress_ui, _ui
from pages import _scenario_ui as ui

_ui.route_through_app()

Origin = tuple[str, dt.date, int]  # (symbol, date, start ns) a target comes from: the simulation's default start
PARSERS = {"builtin": "Built-in parser", "llm": "Language model (OpenAI-compatible endpoint)"}
FORM_DEFAULTS = {
    "sc_source": "Scenario",
    "sc_prompt": "sharp drop of 1% over 10 minutes",
    "sc_parser": "builtin",
    "sc_llm_url": "http://127.0.0.1:8080/v1",
    "sc_llm_model": "",
    "sc_k": 5,
    "sc_replay_time": dt.time(11, 0),
    "sc_replay_minutes": 10,
    "sc_rollouts": 4,
    "sc_seed": 0,
    "sc_compare": True,
    "sc_twap": False,
    "sc_twap_side": "buy",
    "sc_twap_volume": 500,
    "sc_candidates": ControlSettings().candidates,
    "sc_strength": ControlSettings().strength,
}
FORM_KEYS = (
    "sc_replay_symbol",
    "sc_replay_date",
    "sc_case",
    "sc_sim_symbol",
    "sc_sim_date",
    "sc_sim_time",
    "sc_minutes",
    "sc_llm_key",
)
NUMBER_FORMATS = {"Real return (%)": "%+.3f", "Score": "%.2f", "Rescaled ×": "%.2f", "Target end (%)": "%+.3f"}

state = st.session_state
_runs_ui.keep_form(FORM_DEFAULTS, FORM_KEYS)


def _ask_llm() -> None:
    state.sc_llm_result = ui.ask_llm(state.sc_prompt, state.sc_llm_url, state.sc_llm_model, state.get("sc_llm_key"))


st.title("Scenarios")
st.caption(
    "Say where the market should go — a sharp drop, a rally, a trend reversal, a volatility spike — or pick a real "
    "price curve. MarS finds matching minutes in the catalogued days, turns them into a target path and steers the "
    "order model's simulated futures toward it, while your TWAP agent still moves the book."
)

data_dir, datasets = _ui.require_datasets()
symbols = sorted({d.symbol for d in datasets})


def dates_of(symbol: str) -> list[dt.date]:
    return sorted({d.date for d in datasets if d.symbol == symbol})


# ---- 1. the target ---------------------------------------------------------------------------------
def read_spec(text: str) -> ScenarioSpec | None:
    """The scenario as the chosen parser reads it; problems are shown, never raised."""
    parser = st.radio(
        "Read it with",
        list(PARSERS),
        key="sc_parser",
        format_func=PARSERS.get,
        horizontal=True,
        help="The language model only fills in the scenario's fields as JSON; MarS validates them and "
        "runs its own filter. Nothing it returns is executed.",
    )
    if parser == "builtin":
        try:
            return ui.read_prompt(text, symbols)
        except MarsInputError as err:
            st.error(f"**Cannot read this scenario.** {err}", icon=":material/error:")
            return None
    c_url, c_model, c_key, c_ask = st.columns([3, 2, 2, 1], vertical_alignment="bottom")
    c_url.text_input(
        "Endpoint (base URL)",
        key="sc_llm_url",
        help="OpenAI-compatible, e.g. a local llama.cpp or vLLM "
        "server: http://127.0.0.1:8080/v1 (MarS posts to …/chat/completions).",
    )
    c_model.text_input("Model", key="sc_llm_model", placeholder="model name")
    c_key.text_input("API key (optional)", key="sc_llm_key", type="password")
    c_ask.button("Ask", key="sc_llm_ask", on_click=_ask_llm, icon=":material/send:", width="stretch")
    answer = state.get("sc_llm_result")
    if answer is None or answer["key"] != ui.llm_key(text, state.sc_llm_url, state.sc_llm_model):
        st.info("Press **Ask** to have the language model read this scenario.", icon=":material/smart_toy:")
        return None
    if "error" in answer:
        st.error(f"**The language model's answer cannot be used.** {answer['error']}", icon=":material/error:")
        return None
    return ScenarioSpec.model_validate(answer["spec"])


def scenario_target() -> tuple[ControlSignal | None, Origin | None]:
    """Prompt -> spec -> filter -> retrieved cases; the chosen case's signal."""
    text = st.text_input(
        "Scenario",
        key="sc_prompt",
        placeholder=EXAMPLES[0],
        help="In words: the kind, and optionally a size (%, bps), a duration (minutes) and a symbol.",
    )
    st.caption("Examples: " + " · ".join(f"*{e}*" for e in EXAMPLES))
    spec = read_spec(text)
    if spec is None:
        return None, None
    st.markdown(f"**Parsed:** {spec.describe()}")
    for column, (label, value) in zip(st.columns(4), ui.spec_fields(spec)):
        column.metric(label, value, border=True)
    st.markdown("**Filter over the catalogued days**\n\n" + describe_filter(spec))
    k = st.number_input("Cases to retrieve", step=1, key="sc_k")
    if problems := _runs_ui.out_of_range([("Cases to retrieve", k, 1, 20, True)]):
        st.error(problems[0], icon=":material/error:")
        return None, None
    try:
        found = ui.cases(spec.model_dump_json(), str(data_dir), int(k))
    except MarsInputError as err:
        st.warning(f"**No historical case matches.** {err}", icon=":material/search_off:")
        return None, None
    st.plotly_chart(sc.cases_figure([(w.label, w.logret, w.signal.logret) for w in found]), key="sc_cases_chart")
    st.dataframe(
        ui.cases_table(found),
        hide_index=True,
        key="sc_cases_table",
        column_config={c: st.column_config.NumberColumn(format=f) for c, f in NUMBER_FORMATS.items()},
    )
    labels = [w.label for w in found]
    if state.get("sc_case") not in labels:
        state.sc_case = labels[0]
    label = st.selectbox(
        "Control signal", labels, key="sc_case", help="The case whose (rescaled) path the simulation follows."
    )
    chosen = found[labels.index(label)]
    return chosen.signal, (chosen.symbol, dt.date.fromisoformat(chosen.date), chosen.start_ts)


def replay_target() -> tuple[ControlSignal | None, Origin | None]:
    """The real mid path of a day from a start."""
    c_symbol, c_date, c_time, c_minutes = st.columns(4)
    symbol = c_symbol.selectbox("Symbol", symbols, key="sc_replay_symbol")
    date = c_date.selectbox("Date", dates_of(symbol), key="sc_replay_date", format_func=lambda d: d.isoformat())
    start = c_time.time_input("Start", key="sc_replay_time", step=60, help="The real mid path from here is the target.")
    minutes = c_minutes.number_input("Minutes", step=1, key="sc_replay_minutes")
    if problems := _runs_ui.out_of_range([("Minutes", minutes, 2, 60, True)]):
        st.error(problems[0], icon=":material/error:")
        return None, None
    try:
        start_ns = _ui.to_ns(start)
        signal = replay_curve(_ui.day(symbol, date.isoformat(), str(data_dir)), start_ns, int(minutes))
    except MarsInputError as err:
        _ui.show_error(err, "Pick an earlier start or fewer minutes.")
        return None, None
    st.plotly_chart(
        sc.cases_figure([(signal.source, signal.logret, signal.logret)], title="Replay curve"), key="sc_replay_chart"
    )
    return signal, (symbol, date, start_ns)


# ---- 2. the simulation ------------------------------------------------------------------------------
def simulate_form(signal: ControlSignal, origin: Origin) -> None:
    """Where to start, which runs, the models' status and the run button; a finished run goes to the session state."""
    if state.get("sc_origin") != origin:  # a new target: start where it comes from (replicating history, like Fig. 16)
        state.sc_origin = origin
        state.sc_sim_symbol, state.sc_sim_date, state.sc_sim_time = origin[0], origin[1], _ui.to_time(origin[2])
        state.sc_minutes = min(signal.minutes, 10)  # a typed value out of range is said below, never replaced
    c_symbol, c_date, c_time, c_minutes = st.columns(4)
    symbol = c_symbol.selectbox("Symbol", symbols, key="sc_sim_symbol")
    dates = dates_of(symbol)
    if state.get("sc_sim_date") not in dates:
        state.sc_sim_date = dates[0]
    date = c_date.selectbox("Date", dates, key="sc_sim_date", format_func=lambda d: d.isoformat())
    start = c_time.time_input(
        "Start", key="sc_sim_time", step=60, help="Simulated futures start from the real book here."
    )
    minutes = c_minutes.number_input(
        "Minutes to simulate", step=1, key="sc_minutes", help=f"Up to the target's {signal.minutes} minutes."
    )
    c_roll, c_seed, c_compare, c_twap = st.columns(4, vertical_alignment="bottom")
    rollouts = c_roll.number_input(
        "Rollouts",
        step=1,
        key="sc_rollouts",
        help="Simulated futures per run (1–32; the same seeds in every run: common random numbers).",
    )
    seed = c_seed.number_input("Seed", step=1, key="sc_seed")
    numbers = [
        ("Minutes to simulate", minutes, 1, signal.minutes, True),
        ("Rollouts", rollouts, 1, 32, True),
        ("Seed", seed, 0, 2**31 - 1, True),
    ]
    compare = c_compare.toggle("Also without control", key="sc_compare", help="The same futures without steering.")
    with_twap = c_twap.toggle(
        "With a TWAP agent",
        key="sc_twap",
        help="Also run every future with an execution agent, and show its impact under this scenario.",
    )
    twap = None
    if with_twap:
        c_side, c_volume, _ = st.columns([1, 1, 2])
        side = c_side.segmented_control("Side", ["buy", "sell"], key="sc_twap_side", required=True)
        volume = c_volume.number_input("Volume (shares)", step=100, key="sc_twap_volume")
        numbers.append(("Volume (shares)", volume, 100, 1_000_000, True))
        if not _runs_ui.out_of_range(numbers):
            try:
                twap = scenario.twap_config(side or "buy", int(volume), int(minutes))
            except MarsInputError as err:
                _ui.show_error(err)
    with st.expander("Control settings"):
        c_cand, c_strength = st.columns(2)
        candidates = c_cand.number_input(
            "Candidates per minute",
            step=1,
            key="sc_candidates",
            help="Next minutes the order-batch model draws; the closest to the target wins.",
        )
        strength = c_strength.number_input(
            "Strength",
            step=0.25,
            key="sc_strength",
            help="Scale of the ensemble model's correction (1 = as trained, 0 = none).",
        )

    model = _ui.model_status()
    problem = scenario.control_kit_problem()
    if problem is not None:
        st.warning(
            f"**Controlled runs are not available:** {problem}\n\nUncontrolled runs still work; train the control "
            "models with `mars train ensemble` (into `assets/models/ensemble/`) to steer them.",
            icon=":material/neurology:",
        )
    if not model.found:
        st.warning(f"**The simulation needs the order model.** {model.summary}", icon=":material/neurology:")
    numbers += [("Candidates per minute", candidates, 1, 64, True), ("Strength", strength, 0.0, 10.0, False)]
    if out_of_range := _runs_ui.out_of_range(numbers):  # Run stays disabled: never a run of the values from before
        st.error("**Cannot run yet.** " + "; ".join(out_of_range), icon=":material/error:")
    else:
        minutes, rollouts, seed = int(minutes), int(rollouts), int(seed)
    arms = scenario.plan_arms(problem is None, compare, twap is not None)
    ready = model.found and not (with_twap and twap is None) and not out_of_range
    c_run, c_plan = st.columns([1, 4], vertical_alignment="center")
    job, run_slot = state.get("sc_job"), c_run.empty()  # a job started from this session runs on while the page reruns

    run_button, stop_shown = _runs_ui.run_or_stop(
        run_slot,
        job,
        label="Run simulations",
        what="simulations",
        run_key="sc_run",
        stop_key="sc_stop",
        flag="sc_run_requested",
        disabled=not ready,
    )
    if not out_of_range:
        c_plan.caption(
            f"{len(arms)} run{'s' * (len(arms) != 1)} ({', '.join(a.label for a in arms)}) × {rollouts} rollouts × "
            f"{minutes} min from {symbol} {date.isoformat()} {start.strftime('%H:%M')}, on the same seeds."
        )
    if job is None and _runs_ui.requested("sc_run_requested") and ready:
        settings = ControlSettings(candidates=int(candidates), strength=float(strength))
        state.sc_job = _jobs.start(
            ui.run_scenario,
            (symbol, date.isoformat(), str(data_dir)),
            _ui.to_ns(start),
            ui.truncate(signal, minutes),
            arms,
            rollouts,
            seed,
            twap,
            settings,
        )
        st.rerun()  # draw the Stop button in place of Run
    if job is not None:
        follow_simulation(job)
        if stop_shown:
            run_button()  # in place of Stop


def follow_simulation(job: _jobs.Job) -> None:
    """Follow the running simulation arm by arm; a finished one goes to the session state."""
    with st.status("Simulating…", expanded=True) as status:
        outcome = _runs_ui.follow(
            job,
            lambda done, total, detail: status.write(f"{detail.get('arm', 'run')} ({done + 1} of {total})…"),
            lambda elapsed: status.update(label=f"Simulating… {elapsed:.0f} s"),
        )
        del state.sc_job
        if outcome.ok:
            state.sc_result = outcome.value
            seconds = sum(outcome.value.seconds.values())
            status.update(label=f"Finished in {seconds:.0f} s", state="complete", expanded=False)
        else:
            status.update(
                label="Stopped" if outcome.kind == "stopped" else "The simulation could not run", state="error"
            )
    if not outcome.ok:
        _runs_ui.show_outcome(outcome, "simulation", "fewer rollouts or minutes")


# ---- 3. the results -----------------------------------------------------------------------------------
def show_results(result: scenario.ScenarioRun) -> None:
    """Target vs simulated (Fig. 16), how well each run follows, and the agent's impact under the scenario."""
    st.subheader("Realised vs target move")
    st.caption(result.title)
    main = {k: v for k, v in result.paths.items() if not k.endswith("_twap")} or result.paths
    rollouts = len(next(iter(main.values())))
    if small := ui.too_small(rollouts, len(result.target)):
        st.warning(small, icon=":material/warning:")
    reached = ui.reach_table(result, result.kind)
    for column, (_, row) in zip(st.columns(max(len(reached), 1)), reached.iterrows()):
        column.metric(
            f"{row['Run']}: realised move",
            f"{row['Realised, mean (%)']:+.3f}%",
            f"{row['Realised / target']:.2f} × the target's {row['Target (%)']:+.3f}%",
            delta_color="off",
            border=True,
            help="Mean over rollouts of the mid's move (at the end; a reversal's at its turn; a volatility spike's "
            "1-minute volatility), with its 95% interval in the table below.",
        )
    st.dataframe(
        reached,
        hide_index=True,
        key="sc_reach_table",
        column_config={
            c: st.column_config.NumberColumn(format="%+.3f" if "%" in c else "%.2f")
            for c in ("Target (%)", "Realised, mean (%)", "Realised / target", "On the target's side")
        },
    )
    if result.fidelity:
        flow = ui.fidelity_table(result.fidelity)
        st.markdown(
            "**Is the move reached by a plausible flow?** Controlled rollouts against the real market after "
            "the same start, per minute:"
        )
        st.dataframe(
            flow,
            hide_index=True,
            key="sc_flow_table",
            column_config={"Controlled / real": st.column_config.NumberColumn(format="%.2f")},
        )
        if not flow.iloc[:, 2].all():
            off = ", ".join(flow.loc[~flow.iloc[:, 2], "Measure"].str.lower())
            st.warning(
                f"The controlled flow is far from the real one ({off}): the move may come from a "
                "few large orders or a thin book rather than a market-like flow.",
                icon=":material/warning:",
            )
    st.subheader("Target vs simulated")
    table = sc.follow_table(result.target, main, result.labels)
    for column, (_, row) in zip(st.columns(max(len(table), 1)), table.iterrows()):
        column.metric(
            f"{row['Run']}: correlation with target",
            f"{row['Correlation with target (mean)']:.2f}",
            border=True,
            help="Mean over rollouts of the Pearson correlation of the simulated and the target mid at "
            "minutes 1..H (as `mars control-eval` measures it).",
        )
    if len(result.target) < 3:
        st.caption(
            "With fewer than 3 simulated minutes every correlation is ±1; simulate 3 minutes or more for a "
            "meaningful value."
        )
    st.caption(
        "Every correlation here is the mean over rollouts of each rollout's correlation with the target; the "
        "table's *correlation of the mean path* correlates the average of the rollouts, whose own noise cancels, "
        "so it is higher and says less about any one future."
    )
    st.plotly_chart(
        sc.controlled_figure(result.target, main, result.labels, result.history, result.real), key="sc_paths_chart"
    )
    full = sc.follow_table(result.target, result.paths, result.labels)
    st.dataframe(
        full,
        hide_index=True,
        key="sc_follow_table",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in full.columns[2:]},
    )
    impacts = result.impacts()
    if impacts:
        st.subheader("Impact under this scenario")
        st.plotly_chart(sc.impact_figure(impacts, result.impact_labels()), key="sc_impact_chart")
        st.caption(
            "Each future ran twice on the same random numbers, with and without the agent; the difference of the "
            "two mid paths is the agent's impact (mean and 10–90% band over rollouts). " + ui.fills_text(result)
        )


with st.container(border=True):
    c_head, c_source = st.columns([3, 2], vertical_alignment="center")
    c_head.markdown("**1. Target**")
    source = c_source.segmented_control(
        "Target from", ["Scenario", "Replay curve"], key="sc_source", required=True, label_visibility="collapsed"
    )
    target, origin = scenario_target() if source == "Scenario" else replay_target()
if target is not None and origin is not None:
    with st.container(border=True):
        st.markdown("**2. Simulate toward it**")
        simulate_form(target, origin)
if state.get("sc_result") is None:
    st.info("Set up the target and the runs above, then press **Run simulations**.", icon=":material/timeline:")
else:
    show_results(state.sc_result)

st.header("Stress suite")
_stress_ui.stress_section(data_dir, symbols, lambda symbol: len(dates_of(symbol)))
