"""Realism: do simulated markets look real? Per-minute Table 7 with its real-vs-real ceiling, closed-loop fidelity and
Cont's 11 stylized facts, replay vs each background."""

from __future__ import annotations

import streamlit as st

from analysis.charts import facts as fc
from analysis.charts import fidelity as fid
from analysis.charts import realism as rc
from analysis.realism_results import caveats as evaluation_caveats
from analysis.realism_results import headline
from analysis.stylized_facts import FACT_NAMES, FACT_TESTS, FACTS
from mars_core import paths
from mars_core.errors import MarsInputError
from mars_core.experiments.realism import HELD_OUT, evaluation_dir, run_realism
from mars_core.sim.executor import default_executor
from pages import _jobs, _realism_ui, _runs_ui, _ui

_ui.route_through_app()

JOB = "re_job"  # session key of the evaluation running from this session: its job, directory and clock
FORM_DEFAULTS = {
    "re_backgrounds": ["noise"],
    "re_minutes": 30,
    "re_every": 2,
    "re_rollouts": 4,
    "re_seed": 0,
    "re_from": HELD_OUT[0],
    "re_to": HELD_OUT[1],
}
FORM_KEYS = ("re_symbol", "re_dates")  # kept too, with defaults that depend on the data
BACKGROUNDS = {"noise": "Noise traders", "lmm": "Order model (LMM)"}
PRESENCE_COLUMNS = {
    "#": st.column_config.NumberColumn("#", width=36),
    "Stylized fact": st.column_config.TextColumn(width="medium"),
    "Test for “present”": st.column_config.TextColumn(width="large"),
}
MARK_STYLE = {rc.PRESENT: "color: #1a7f37; font-weight: 600", rc.ABSENT: "color: #b42318"}

state = st.session_state
_runs_ui.keep_form(FORM_DEFAULTS, FORM_KEYS)

st.title("Realism")
st.caption(
    "Do the simulated markets look real? From many start points in the held-out last 90 minutes of a day, each "
    "background simulates several futures. Every minute of them is compared with the real market over the same minutes "
    "(the replay) by the paper's distribution similarity and 3-class accuracy (App. J), next to the ceiling real data "
    "reaches against real data; the fidelity charts follow the simulated market's state minute by minute, and the "
    "minute bars are tested for Cont's 11 stylized facts (App. I)."
)
_ui.show_executor()

root = paths.runs_root()
model = _ui.model_status()
data_dir, datasets, problems = _ui.data_catalog()


# ---- a new evaluation ---------------------------------------------------------------------------
def evaluation_form():
    """The evaluation as set up on the form; raises ConfigError naming the field."""
    symbols = sorted({d.symbol for d in datasets})
    c_symbol, c_dates, c_bgs = st.columns([1, 2, 3])
    symbol = c_symbol.selectbox("Symbol", symbols, key="re_symbol")
    dates = sorted({d.date.isoformat() for d in datasets if d.symbol == symbol})
    if state.get("re_dates") is None or not set(state["re_dates"]) <= set(dates):
        state["re_dates"] = dates
    chosen_dates = c_dates.multiselect(
        "Dates", dates, key="re_dates", help="Every chosen day contributes its held-out window."
    )
    options = ["noise", "lmm"] if model.found else ["noise"]
    if not model.found:
        state["re_backgrounds"] = [b for b in state["re_backgrounds"] if b != "lmm"]
    backgrounds = c_bgs.pills(
        "Simulated backgrounds, each compared with the replayed real day",
        options,
        key="re_backgrounds",
        selection_mode="multi",
        format_func=lambda b: BACKGROUNDS[b],
        help="Noise traders: zero-intelligence order flow calibrated on the day's orders before the evaluated window "
        "(they never see the minutes they are scored on). Order model: the generative model in "
        "assets/models/order_model (" + model.summary.rstrip(".") + "). The replay, the real day over the same "
        "minutes, is always the reference.",
    )
    if not model.found:
        c_bgs.caption("The order model is not available: no `assets/models/order_model/model.pt`.")

    c_minutes, c_every, c_rollouts, c_seed, c_from, c_to = st.columns(6)
    minutes = c_minutes.number_input(
        "Future length (min)",
        step=1,
        key="re_minutes",
        help="How long each simulated future runs from its start point.",
    )
    every = c_every.number_input(
        "Start every (min)", step=1, key="re_every", help="Spacing of the start points in the window."
    )
    rollouts = c_rollouts.number_input(
        "Rollouts",
        step=1,
        key="re_rollouts",
        help="Simulated futures per start point and background (the paper: 128 for the returns).",
    )
    seed = c_seed.number_input("Seed", step=1, key="re_seed", help="Same seed, same futures: results are reproducible.")
    limits = _realism_ui.LIMITS
    problems = _runs_ui.out_of_range(
        [
            ("Future length (min)", minutes, *limits["minutes"], True),
            ("Start every (min)", every, *limits["every_minutes"], True),
            ("Rollouts", rollouts, *limits["rollouts"], True),
            ("Seed", seed, 0, 2**31 - 1, True),
        ]
    )
    first = c_from.text_input(
        "Window from",
        key="re_from",
        help="Held-out window, HH:MM. Default: the order model's validation split, 14:30 to the close.",
    )
    last = c_to.text_input("Window to", key="re_to")
    if not chosen_dates:
        problems.append("**Dates**: choose at least one day")
    if problems:  # every problem at once; Run stays disabled until they are fixed
        raise MarsInputError(
            problems[0] if len(problems) == 1 else "Fix these first:\n" + "\n".join(f"- {p}" for p in problems)
        )
    fields = {
        "symbol": symbol,
        "dates": list(chosen_dates),
        "backgrounds": list(backgrounds),
        "window": (first, last),
        "minutes": int(minutes),
        "every_minutes": int(every),
        "rollouts": int(rollouts),
        "seed": int(seed),
    }
    return _realism_ui.config_from_form(fields), len(chosen_dates)


config, n_days, run_clicked, out, resume = None, 0, False, None, None
with st.container(border=True):
    st.markdown("**New evaluation**")
    try:
        if datasets:
            config, n_days = evaluation_form()
        else:
            _ui.show_no_data(data_dir)
            _ui.show_problems(problems)
    except MarsInputError as err:
        st.error(f"**Cannot run this evaluation yet.** {_realism_ui.friendly(err)}", icon=":material/error:")
    resume = state.pop("re_resume", None)  # an unfinished evaluation, finished in its own directory
    if resume is not None:
        config, out = None, resume.path
        try:
            config = _realism_ui.RealismConfig.from_dict(resume.config, where=str(resume.path / "realism.json"))
        except MarsInputError as err:
            _ui.show_error(err, "This evaluation cannot be resumed; set up a new one above.")
        else:
            n_days = len(config.dates) or len({d.date for d in datasets if d.symbol == config.symbol.upper()})
    c_run, c_plan = st.columns([1, 4], vertical_alignment="center")
    running, run_slot = state.get(JOB), c_run.empty()  # an evaluation started from this session runs on meanwhile

    run_button, stop_shown = _runs_ui.run_or_stop(
        run_slot,
        running["job"] if running else None,
        label="Run evaluation",
        what="evaluation",
        run_key="re_run",
        stop_key="re_stop",
        flag="re_run_requested",
        disabled=config is None,
    )
    run_clicked = _runs_ui.requested("re_run_requested")
    if config is not None:
        out = out or evaluation_dir(config, root)
        p = _realism_ui.plan(config, n_days)
        slow = ""
        if p["lmm_seconds"]:
            slow = (
                f" The order model is the slow part: expect roughly {max(1, round(p['lmm_seconds'] / 60))} min on an idle "
                "machine, longer while other jobs share its cores."
            )
        c_plan.caption(
            f"{p['starts']} start point{'s' * (p['starts'] != 1)} × {config.rollouts} rollouts × {len(config.backgrounds)} "
            f"background{'s' * (len(config.backgrounds) != 1)} = **{p['rollouts']:,} simulated futures** of {config.minutes} min "
            f"({p['minutes']:,} simulated minutes).{slow} Results go to `{out}`"
            + (" — already there, so Run re-opens them." if (out / "summary.json").exists() else ".")
        )
    progress_slot, status_slot = st.empty(), st.empty()

if (run_clicked or resume is not None) and config is not None and running is None:
    if (out / "summary.json").exists():
        _runs_ui.already_run(status_slot, _realism_ui.SELECTED, out, "evaluation")
    else:
        progress_slot.progress(0.0, text="Checking the data and the windows…")
        job = _jobs.start(
            run_realism, config, out, data_dir=str(data_dir) if data_dir else None, executor=default_executor()
        )
        fast = _realism_ui.plan(config, n_days)["fast"] if "lmm" in config.backgrounds else 0
        state[JOB] = {"job": job, "out": out, "clock": _runs_ui.ProgressClock(fast=fast)}
        st.rerun()  # draw the Stop button in place of Run

if running is not None:
    clock = running["clock"]

    def show_progress(done: int, total: int) -> None:
        progress_slot.progress(
            min(done / max(total, 1), 1.0), text=f"Simulating… {done:,} of {total:,} futures · {clock.eta(done, total)}"
        )

    def on_rollout(done: int, total: int, summary: dict) -> None:  # noqa: ARG001
        show_progress(done, total)
        if done >= total:
            status_slot.info(
                "All futures simulated; computing the stylized facts and Table 7…", icon=":material/functions:"
            )

    def tick(elapsed: float) -> None:  # draws every poll: that is where Streamlit's own Stop reaches the page
        if running["job"].last is None:
            progress_slot.progress(0.0, text=f"Checking the data and the windows… {elapsed:.0f} s")
        else:
            show_progress(*running["job"].last[:2])

    outcome = _runs_ui.follow(running["job"], on_rollout, tick)
    del state[JOB]
    if stop_shown:
        run_button()  # in place of Stop
    summary = _runs_ui.show_outcome(
        outcome, "evaluation", "fewer rollouts or shorter futures", [progress_slot, status_slot], _realism_ui.friendly
    )
    state[_realism_ui.SELECTED] = str(running["out"])
    if summary is not None:
        progress_slot.progress(
            1.0,
            text=f"Finished: {summary['starts']} start points × {summary['rollouts']} rollouts in {summary['seconds']:.0f} s",
        )
        status_slot.empty()


# ---- results ------------------------------------------------------------------------------------
st.subheader("Results")
entry = _runs_ui.pick_run(
    _realism_ui.list_evaluations(root),
    lambda entries: _realism_ui.choose_evaluation(entries, key="re_evaluation"),
    f"No evaluations yet in `{root}`. Set one up above and press **Run evaluation**, or run one from a terminal: "
    f"`mars realism --symbol GOOG --backgrounds replay,noise --out {root / 'realism' / 'GOOG'}`.",
    ":material/fact_check:",
)
if not entry.finished:
    _runs_ui.offer_resume(
        entry,
        "evaluation",
        f"{entry.rollouts_done:,} simulated futures are done",
        key="re_resume_button",
        resume="re_resume",
    )
res = _runs_ui.load_or_stop(_realism_ui.results, entry, "evaluation")

cards = headline(res)
for column, (label, value, small, about) in zip(st.columns(len(cards)), cards):
    column.metric(label, value, small, delta_color="off", delta_arrow="off", help=about, border=True)

st.markdown("#### Stylized facts (Table 6)")
presence = rc.presence_frame(res.facts)
st.dataframe(
    presence.style.map(lambda v: MARK_STYLE.get(v, "")),
    hide_index=True,
    key="re_presence",
    column_config=PRESENCE_COLUMNS,
    height=35 * (len(presence) + 1) + 3,
)
st.caption(
    f"{rc.PRESENT} present, {rc.ABSENT} absent, by the test in the last column on each background's pooled minute "
    "bars; the replay is the real day. The paper's columns are its Table 6 (Chinese market, 2023)."
)

st.markdown("#### The facts as plots (Figs. 17–21)")
groups = rc.paper_figure_groups()
for tab, group in zip(
    st.tabs(
        [
            f"{figure}: fact{'s' * (len(g) > 1)} {', '.join(str(FACTS.index(f) + 1) for f in g)}"
            for figure, g in groups.items()
        ]
    ),
    groups.values(),
):
    with tab:
        for fact in group:
            st.plotly_chart(fc.fact_figure(res.facts, fact), key=f"re_chart_{fact}")
            st.dataframe(
                rc.statistics_frame(res.facts, fact).style.map(lambda v: MARK_STYLE.get(v, "")),
                hide_index=True,
                key=f"re_stats_{fact}",
            )
            st.caption(
                f"**Fact {FACTS.index(fact) + 1}, {FACT_NAMES[fact]} (paper {rc.PAPER_FIGURES[fact]}).** "
                f"Test: {FACT_TESTS[fact]}."
            )
st.caption(
    "The real day (replay) against every simulated background, like the paper's Figs. 17–21. Bands are 95% "
    "block-bootstrap intervals; n counts the observations behind each background's test; the simulated curves pool "
    "all their rollouts, and no return or lag spans two futures."
)

st.markdown("#### Per-minute similarity and its ceiling (Table 7)")
summary = res.summary
st.plotly_chart(rc.similarity_figure(summary), key="re_similarity_chart")
st.dataframe(
    rc.similarity_means_frame(summary),
    hide_index=True,
    key="re_similarity_means",
    column_config={
        c: st.column_config.NumberColumn(format="%.3f") for c in rc.similarity_means_frame(summary).columns[1:]
    },
)
st.dataframe(
    rc.similarity_frame(summary),
    hide_index=True,
    key="re_similarity_table",
    column_config={c: st.column_config.NumberColumn(format="%.3f") for c in rc.similarity_frame(summary).columns[1:]},
)
st.caption(
    f"One value per minute of every start window ({res.n_starts} windows × {res.config.get('rollouts')} rollouts), "
    "pooled; similarity is the overlap coefficient of the real and simulated histograms (1 = identical), a "
    f"background's score the mean over the rows. Ceiling: {summary['ceiling'].get('definition', '')}. Intervals: "
    f"95% basic intervals of a circular block bootstrap over start windows "
    f"({summary.get('bootstrap', {}).get('resamples')} resamples), real and simulated windows resampled jointly."
)
paired = rc.paired_frame(summary)
if len(paired):
    st.dataframe(paired, hide_index=True, key="re_paired_table")
st.markdown("##### 3-class accuracy, chance and persistence")
st.dataframe(
    rc.accuracy_frame(summary),
    hide_index=True,
    key="re_accuracy_table",
    column_config={c: st.column_config.NumberColumn(format="%.3f") for c in rc.accuracy_frame(summary).columns[1:]},
)
st.caption(str(summary.get("accuracy_note", "")))

st.markdown("#### Closed-loop fidelity")
st.plotly_chart(fid.fidelity_figure(summary), key="re_fidelity_chart")
st.dataframe(
    fid.fidelity_frame(summary),
    hide_index=True,
    key="re_fidelity_table",
    column_config={c: st.column_config.NumberColumn(format="%.2f") for c in fid.fidelity_frame(summary).columns[2:]},
)
st.dataframe(fid.fidelity_scalars_frame(summary), hide_index=True, key="re_fidelity_scalars")
st.caption(
    "Simulated / real mean per 5-minute bucket since the start (real = the replay of the same windows), over start "
    "windows and rollouts; the shaded band is [0.8, 1.25]. Variance ratio = E[r_30²] / (30 E[r_1²]) of the mid log "
    "returns; trend slopes are per hour of start time."
)
st.markdown("##### Stylized facts: statistic [95% CI] and verdict")
st.dataframe(rc.facts_frame(summary), hide_index=True, key="re_facts_statistics")

_runs_ui.show_caveats(evaluation_caveats(res))

st.markdown("#### Export")
_realism_ui.report_downloads(entry, data_dir, key="re_report")
