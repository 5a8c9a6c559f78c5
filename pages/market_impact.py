"""Market Impact: run TWAP programmes of several sizes against paired simulated futures; impact curves and the square-root law."""

from __future__ import annotations

import streamlit as st

from analysis import impact_results as ir
from analysis import sqrt_law
from analysis.charts import study as study_charts
from analysis.report.impact import caveats as study_caveats
from mars_core import paths
from mars_core.data.schema import NS_PER_MINUTE
from mars_core.errors import ConfigError, MarsInputError
from mars_core.experiments.impact import StudyConfig, plan, run_study, study_dir
from mars_core.sim.executor import default_executor
from pages import _impact_ui, _jobs, _runs_ui, _ui

_ui.route_through_app()

JOB = "mi_job"  # session key of the study running from this session: its job and live results
START_STEP_MIN = 15
BACKGROUNDS = {
    "noise": "Noise traders",
    "replay": "Replay (real orders)",
    "lmm": "Order model (LMM)",
}
FORM_DEFAULTS = {
    "mi_mode": "Form",
    "mi_side": "buy",
    "mi_exec": 5.0,
    "mi_horizon": 15.0,
    "mi_rollouts": 16,
    "mi_background": "noise",
    "mi_q": _impact_ui.DEFAULT_Q,
    "mi_name": "impact-study",
    "mi_seed": 0,
    "mi_interval": 30.0,
    "mi_pre": 30,
    "mi_alpha": 0.5,
    "mi_beta": 0.5,
    "mi_scenario": "sharp drop of 1% over 10 minutes",
}
FORM_KEYS = ("mi_symbol", "mi_date", "mi_starts")  # kept too, with defaults that depend on the data

state = st.session_state
_runs_ui.keep_form(FORM_DEFAULTS, FORM_KEYS)
st.title("Market impact")
st.caption(
    "What does an execution do to the price? Run TWAP programmes of several sizes from a real moment of a trading day "
    "against many simulated futures, each paired with the same future without the agent, and read the impact, the "
    "fulfillment and the square-root law off the differences."
)
_ui.show_executor()


def _impact_under_scenario() -> None:
    """Hand the typed scenario and the TWAP side to the Scenarios page, which runs the paired arms under control."""
    state.update(
        {
            "sc_source": "Scenario",
            "sc_prompt": state.mi_scenario,
            "sc_twap": True,
            "sc_twap_side": state.mi_side,
            "sc_compare": False,
            "mi_open_scenarios": True,
        }
    )


with st.expander("Impact under a scenario", icon=":material/timeline:"):
    st.caption(
        "How large is the impact if the market meanwhile does something specific — a sharp drop, a rally? The "
        "Scenarios page steers the order model toward the described path and runs every future with and "
        "without your TWAP agent on the same seeds; the difference is the agent's impact under that scenario."
    )
    c_text, c_go = st.columns([4, 1], vertical_alignment="bottom")
    c_text.text_input("Scenario", key="mi_scenario", placeholder="sharp drop of 1% over 10 minutes")
    c_go.button(
        "Open in Scenarios",
        key="mi_scenario_go",
        on_click=_impact_under_scenario,
        icon=":material/open_in_new:",
        disabled=not state.mi_scenario.strip(),
        width="stretch",
    )
if state.pop("mi_open_scenarios", False):
    st.switch_page("pages/scenarios.py")


root = paths.runs_root()
model = _ui.model_status()
data_dir, datasets, problems = _ui.data_catalog()


# ---- the study ----------------------------------------------------------------------------------
def study_form() -> StudyConfig:
    """The point-and-click study; raises ConfigError naming the field."""
    symbols = sorted({d.symbol for d in datasets})
    c_symbol, c_date, c_starts, c_side = st.columns([1, 1, 2, 1])
    symbol = c_symbol.selectbox("Symbol", symbols, key="mi_symbol")
    dates = sorted({d.date for d in datasets if d.symbol == symbol})
    date = c_date.selectbox("Date", dates, key="mi_date", format_func=lambda d: d.isoformat())
    info = next(d for d in datasets if d.symbol == symbol and d.date == date)
    first = (info.ts_start // (START_STEP_MIN * NS_PER_MINUTE) + 2) * START_STEP_MIN * NS_PER_MINUTE
    options = [
        _ui.fmt_hms(ns)[:5] for ns in range(first, info.ts_end - 20 * NS_PER_MINUTE, START_STEP_MIN * NS_PER_MINUTE)
    ]
    state.setdefault("mi_starts", ["11:00"] if "11:00" in options else options[:1])
    start_times = c_starts.multiselect(
        "Start times",
        options,
        key="mi_starts",
        accept_new_options=True,
        placeholder="HH:MM",
        help=f"When the agents start trading; type any HH:MM. {info.key} has data {_ui.fmt_hms(info.ts_start)}–"
        f"{_ui.fmt_hms(info.ts_end)}; each start needs its execution and observation windows inside the day.",
    )
    side = c_side.segmented_control("Side", ["buy", "sell"], key="mi_side", required=True)

    c_exec, c_horizon, c_rollouts, c_background = st.columns([1, 1, 1, 2])
    execution = c_exec.number_input(
        "Execution (min)",
        step=1.0,
        key="mi_exec",
        help="How long each TWAP programme trades (the paper: 5 minutes).",
    )
    horizon = c_horizon.number_input(
        "Observation after (min)",
        step=1.0,
        key="mi_horizon",
        help="How long the impact is followed after the execution ends (long-term impact and decay).",
    )
    rollouts = c_rollouts.number_input(
        "Rollouts",
        step=1,
        key="mi_rollouts",
        help=f"Paired futures per point (1–{_impact_ui.MAX_ROLLOUTS}): each runs with the agent and without it on "
        "the same random numbers.",
    )
    background = c_background.radio(
        "Background",
        list(BACKGROUNDS),
        key="mi_background",
        horizontal=True,
        format_func=lambda b: BACKGROUNDS[b] + (" — no model yet" if b == "lmm" and not model.found else ""),
        help="Who else trades: calibrated zero-intelligence noise traders, the day's real orders replayed "
        "(they do not react), or the generative order model (needs a trained model in assets/models).",
    )

    c_agents, c_q = st.columns([1, 1])
    with c_agents:
        st.markdown(
            "TWAP agents",
            help="One row per agent configuration; add rows at the bottom, select rows to delete "
            "them. Every agent runs at every Q/V value.",
        )
        agents = st.data_editor(
            _impact_ui.default_agents(),
            key="mi_agents",
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            column_config={
                "AP level": st.column_config.SelectboxColumn(
                    "AP level",
                    options=list(_impact_ui.AP_LEVELS),
                    required=True,
                    help="Aggressive price level: how deep into the book the agent's "
                    "catch-up orders reach (0 = never aggressive).",
                ),
                "PVR": st.column_config.NumberColumn(
                    "PVR",
                    min_value=0.0,
                    max_value=1.0,
                    step=0.05,
                    format="%.2f",
                    required=True,
                    help="Passive volume ratio: the share of each slice first offered passively.",
                ),
            },
        )
    names_error = None
    try:
        names = _impact_ui.agent_names(agents)
    except ConfigError as err:
        names, names_error = [], err
    with c_q:
        q_text = st.text_input(
            "Q/V values",
            key="mi_q",
            placeholder="e.g. 0.01, 0.05, 10%",
            help="Target volume Q of each programme as a fraction of V, the market volume the baselines trade in the "
            "execution window: numbers in (0, 1] or percentages, separated by commas or spaces.",
        )
        q_values, q_rejected = _impact_ui.parse_q_values(q_text)
        st.caption(
            f"Q/V: {', '.join(f'{q:g}' for q in q_values) or 'none yet'} · "
            + _impact_ui.scale_hint(symbol, date, start_times, execution or 1.0, data_dir)
        )
    c_agents.caption(
        "Agents: "
        + (", ".join(f"**{n}**" for n in names) or "none")
        + " — named like the paper: L = aggressive price level, P = passive volume ratio."
    )
    with st.expander("More settings"):
        c1, c2, c3, c4, c5, c6 = st.columns(6)
        name = c1.text_input("Study name", key="mi_name")
        seed = c2.number_input("Seed", step=1, key="mi_seed", help="Same seed, same futures: results are reproducible.")
        interval = c3.number_input("Slice interval (s)", step=5.0, key="mi_interval")
        pre = c4.number_input(
            "Pre-trade window (min)", step=1, key="mi_pre", help="Window of σ and resiliency, eqs. (5), (8)."
        )
        alpha = c5.number_input("α (LOB pressure)", step=0.05, key="mi_alpha", help="Ask-side weight in eq. (6).")
        beta = c6.number_input("β (LOB depth)", step=0.05, key="mi_beta", help="Ask-side weight in eq. (7).")
    numbers = {
        "mi_exec": execution,
        "mi_horizon": horizon,
        "mi_rollouts": rollouts,
        "mi_seed": seed,
        "mi_interval": interval,
        "mi_pre": pre,
        "mi_alpha": alpha,
        "mi_beta": beta,
    }
    problems = _impact_ui.out_of_range(numbers)
    if q_rejected or not q_values:
        problems.append(
            "**Q/V values**: " + ("rejected " + "; ".join(q_rejected) if q_rejected else "type at least one, e.g. 0.05")
        )
    if names_error is not None:
        problems.append(_impact_ui.friendly(names_error))
    if problems:  # every problem at once, and Run stays disabled until they are fixed
        raise ConfigError("\n".join(problems))
    fields = {
        "name": name.strip() or "impact-study",
        "symbols": [symbol],
        "dates": [date.isoformat()],
        "start_times": list(_impact_ui.parse_start_times(start_times)),
        "execution_minutes": execution,
        "horizon_minutes": horizon,
        "side": side or "buy",
        "q_over_v": list(q_values),
        "configs": names,
        "interval_s": interval,
        "rollouts": int(rollouts),
        "background": background,
        "seed": int(seed),
        "pre_trade_minutes": int(pre),
        "alpha": alpha,
        "beta": beta,
    }
    return _impact_ui.study_from_form(fields)


def study_upload() -> StudyConfig | None:
    upload = st.file_uploader(
        "Study file (YAML or JSON)",
        type=["yaml", "yml", "json"],
        key="mi_upload",
        help="The same format as `mars impact --config`, e.g. assets/studies/standard.yaml.",
    )
    if upload is None:
        st.caption(
            "Fields: name, symbols, dates, start_times, execution_minutes, horizon_minutes, side, q_over_v, configs, "
            "interval_s, rollouts, background, seed, pre_trade_minutes, alpha, beta."
        )
        return None
    return _impact_ui.study_from_upload(upload.name, upload.getvalue())


study: StudyConfig | None = None
with st.container(border=True):
    c_head, c_mode = st.columns([3, 2], vertical_alignment="center")
    c_head.markdown("**New study**")
    mode = c_mode.segmented_control(
        "Set up with", ["Form", "Study file"], key="mi_mode", required=True, label_visibility="collapsed"
    )
    try:
        if mode == "Study file":
            study = study_upload()
        elif datasets:
            study = study_form()
        else:
            _ui.show_no_data(data_dir)
            _ui.show_problems(problems)
    except MarsInputError as err:
        lines = _impact_ui.friendly(err).splitlines()
        st.error(
            "**Cannot run this study yet.** "
            + (lines[0] if len(lines) == 1 else "Fix these first:\n" + "\n".join(f"- {line}" for line in lines)),
            icon=":material/error:",
        )

    resume = state.pop("mi_resume", None)
    if resume is not None:
        study = StudyConfig.from_dict(resume.config, where="study.json")
    blocked = study is not None and study.background == "lmm" and not model.found
    running = state.get(JOB)  # a study started from this session: it runs on while the page reruns
    c_run, c_plan = st.columns([1, 4], vertical_alignment="center")
    run_slot = c_run.empty()

    run_button, stop_shown = _runs_ui.run_or_stop(
        run_slot,
        running["job"] if running else None,
        label="Run study",
        what="study",
        run_key="mi_run",
        stop_key="mi_stop",
        flag="mi_run_requested",
        disabled=study is None or blocked,
    )
    run_clicked = _runs_ui.requested("mi_run_requested")
    out = study_dir(study, root) if study is not None else None
    if study is not None:
        p = plan(study)
        c_plan.caption(
            f"{len(study.configs)} agent{'s' * (len(study.configs) != 1)} × {len(study.q_over_v)} Q/V × {study.rollouts} rollouts "
            f"× {p['starts']} start{'s' * (p['starts'] != 1)} = **{p['trajectories']:,} paired trajectories**: {p['arms']:,} "
            f"simulations of {study.minutes:g} min ({study.background}). Results go to `{out}`"
            + (" — already there, so Run re-opens them." if (out / "results.json").exists() else ".")
        )
    if blocked:
        st.warning(
            f"The order-model background needs a trained model: {model.summary} Choose noise or replay.",
            icon=":material/neurology:",
        )
    progress_slot, status_slot, live_slot = st.empty(), st.empty(), st.empty()

if (run_clicked or resume is not None) and study is not None and not blocked and running is None:
    if (out / "results.json").exists():
        _runs_ui.already_run(status_slot, _impact_ui.SELECTED, out, "study")
    else:
        progress_slot.progress(0.0, text="Starting: checking the data and the windows…")
        job = _jobs.start(
            run_study, study, out, data_dir=str(data_dir) if data_dir else None, executor=default_executor()
        )
        running = state[JOB] = {"job": job, "live": _impact_ui.LiveStudy(study, out)}
        st.rerun()  # draw the Stop button in place of Run

if running is not None:
    live = running["live"]
    live.drawn = 0.0  # a page that follows the study again draws its partial results at once
    slots = (progress_slot, status_slot, live_slot)
    outcome = _runs_ui.follow(
        running["job"],
        lambda done, total, _: live.show_arm(slots, done, total),
        lambda elapsed: live.tick(slots, running["job"].last, elapsed),
    )
    del state[JOB]
    if stop_shown:
        run_button()  # in place of Stop
    summary = _runs_ui.show_outcome(
        outcome,
        "study",
        "fewer rollouts or shorter windows",
        [progress_slot, status_slot, live_slot],
        _impact_ui.friendly,
    )
    state[_impact_ui.SELECTED] = str(live.path)
    if summary is not None:
        ci = summary.get("delta_ci") or [float("nan")] * 2
        delta = f"; δ = {summary['delta']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]" if summary.get("delta") is not None else ""
        progress_slot.progress(
            1.0,
            text=f"Finished: {summary['trajectories']:,} paired trajectories in {summary['seconds']:.0f} s{delta}",
        )
        status_slot.empty()
        live_slot.empty()


# ---- results ------------------------------------------------------------------------------------
st.subheader("Results")
entry = _runs_ui.pick_run(
    _impact_ui.list_studies(root),
    lambda entries: _impact_ui.choose_study(entries, key="mi_study"),
    f"No studies yet in `{root}`. Set one up above and press **Run study**, or run one from a terminal: "
    "`mars impact --config assets/studies/standard.yaml --out runs/studies/standard`.",
    ":material/query_stats:",
)
if not entry.finished:
    _runs_ui.offer_resume(
        entry,
        "study",
        f"{entry.arms_done:,} of {entry.arms_total:,} simulations are done",
        key="mi_resume_button",
        resume="mi_resume",
    )
res = _runs_ui.load_or_stop(_impact_ui.results, entry, "study")

for row in (lambda cards: (cards[:4], cards[4:]))(ir.headline(res)):
    for column, (label, value, small) in zip(st.columns(4), row):
        column.metric(label, value, help=small, border=True)
pooled = res.fits().get(sqrt_law.POOLED)
if pooled is not None:
    st.markdown(f"**Square-root law, pooled:** {ir.delta_verdict(pooled)}")
else:
    st.warning(f"Square-root-law fit skipped: {res.skipped('sqrt_law')}", icon=":material/info:")

st.markdown("#### Impact over time")
normalize = st.toggle(
    "Normalise each curve to its peak", key="mi_normalize", help="Compare the shapes of the curves (Fig. 23b)."
)
st.plotly_chart(study_charts.impact_figure(res, normalize=normalize), key="mi_impact_chart")
st.dataframe(ir.impact_table(res), hide_index=True, key="mi_impact_table")
st.caption(
    "Mean impact per configuration with its 95% band over trajectories; positive = adverse to the agent "
    "(price up for a buy, down for a sell), in basis points of the arrival mid."
)

st.markdown("#### Fulfillment and slippage")
c_fill, c_slip = st.columns(2)
c_fill.plotly_chart(study_charts.fulfillment_figure(res.metrics), key="mi_fulfillment_chart")
c_slip.plotly_chart(study_charts.slippage_figure(res.metrics), key="mi_slippage_chart")
with st.expander("By configuration and Q/V"):
    st.dataframe(
        ir.fulfillment_table(res),
        hide_index=True,
        key="mi_fulfillment_table",
        column_config={
            "Fulfillment": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
            "Q/V realised": st.column_config.NumberColumn(format="%.4f"),
            "Impact, end (bps)": st.column_config.NumberColumn(format="%+.2f"),
            "Slippage (bps)": st.column_config.NumberColumn(format="%+.2f"),
        },
    )

st.markdown("#### Square-root law")
method = (
    st.segmented_control(
        "Fit over",
        ["binned", "points"],
        default="binned",
        key="mi_fit_method",
        required=True,
        format_func={"binned": "Q/V groups (Fig. 6b)", "points": "single trajectories"}.get,
    )
    or "binned"
)
figure = study_charts.sqrt_law_figure(res, method)
fits = res.fits(method)
if figure is None:  # the chart and the table show the same fits: neither when they were skipped
    reason = res.skipped("sqrt_law" if method == "binned" else "sqrt_law_points") or "no fit in the results"
    st.info(f"No fit to draw: {reason}", icon=":material/info:")
else:
    st.plotly_chart(figure, key="mi_sqrt_chart")
    st.dataframe(
        ir.fits_table(fits),
        hide_index=True,
        key="mi_fits_table",
        column_config={
            "δ": st.column_config.NumberColumn(format="%.3f"),
            "Y": st.column_config.NumberColumn(format="%.4g"),
            "R²": st.column_config.NumberColumn(format="%.3f"),
        },
    )
st.caption(
    "impact = Y·σ·(Q/V)^δ by least squares in log-log space, per configuration and pooled; 95% intervals by bootstrap "
    "over trajectories. Empirical studies find δ ≈ 0.4–0.7 (grey band); the dashed line is δ = 0.5. *Dropped*: Q/V "
    "groups (or trajectories) with a non-positive mean impact, which a log-log fit cannot use."
)

_runs_ui.show_caveats(study_caveats(res))

st.markdown("#### Export")
_impact_ui.report_downloads(entry, data_dir, key="mi_report")
c_csv, c_link = st.columns([1, 3], vertical_alignment="center")
c_csv.download_button(
    "Trajectories (CSV)",
    res.metrics.to_csv(index=False).encode(),
    file_name=f"{entry.path.name}_metrics.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    key="mi_csv",
    width="stretch",
)
c_link.page_link(
    "pages/impact_factors.py",
    label="Impact factors, SINDy formula and decay ODE of this study",
    icon=":material/arrow_forward:",
)
