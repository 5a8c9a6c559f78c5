"""Execution Agent: the RL agent of paper Sec. 4.4 against the TWAP baseline in the same simulated futures."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from analysis.charts import execution as charts
from mars_core.engine import parse_clock
from mars_core.errors import MarsInputError
from mars_core.paths import MODELS_DIR
from mars_core.rl.evaluate import AGENT, BASELINE, PAPER_TWAPS, fixed, held_out_starts, load_policy, trace_start
from pages import _ui

_ui.route_through_app()

AGENT_DIR = MODELS_DIR / "execution_agent"

st.title("Execution Agent")
st.caption(
    "An agent trained with PPO to buy 2,000 shares within 5 minutes (paper Sec. 4.4): before each 30-second interval "
    "it sets the TWAP's passive volume ratio and aggressive price level. Here it executes next to the paper's best "
    "TWAP (L1-P0.9) in the same simulated future — same start, same seed — on starts it never trained on (from 14:30)."
)

if not (AGENT_DIR / "policy.pt").is_file():
    st.info(
        "No shipped agent in `assets/models/execution_agent/`. Train one with "
        "`mars rl train --out runs/rl/agent` and copy its `policy.pt` there.",
        icon=":material/smart_toy:",
    )
    st.stop()

# ---- scoreboard ---------------------------------------------------------------------------------
st.subheader("Held-out scoreboard")
summaries = {}
for background in ("noise", "lmm"):
    path = AGENT_DIR / f"heldout_{background}.json"
    if path.is_file():
        summaries[background] = json.loads(path.read_text())
if summaries:
    st.dataframe(
        charts.scoreboard_table(summaries),
        hide_index=True,
        key="ea_scoreboard",
        column_config={
            "Advantage (bps)": st.column_config.NumberColumn(format="%+.2f"),
            "Agent fulfillment": st.column_config.NumberColumn(format="%.3f"),
            "TWAP fulfillment": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    st.caption(
        "Advantage: the agent's average fill price against the arrival mid minus the TWAP's, in bps (positive: the "
        "agent bought cheaper), paired by start and seed; 95% bootstrap interval over the held-out starts "
        "(GOOG and AMZN, 14:30-15:54 every 6 minutes). `mars rl evaluate --background noise|lmm` recomputes it."
    )
else:
    st.info("No held-out evaluation shipped yet (`mars rl evaluate --out ...`).")
curve_path = AGENT_DIR / "metrics.jsonl"
if curve_path.is_file():
    curve = pd.DataFrame([json.loads(line) for line in curve_path.read_text().splitlines() if line.strip()])
    st.plotly_chart(charts.learning_curve_figure(curve), key="ea_curve")

# ---- one episode ---------------------------------------------------------------------------------
st.subheader("Watch one episode")
folder, datasets = _ui.require_datasets()
symbols = sorted({d.symbol for d in datasets if d.date.isoformat() == "2012-06-21"})
if not symbols:
    st.info("The agent was trained and is scored on the 2012-06-21 sample days, which are not in the data folder.")
    st.stop()
c1, c2, c3, c4 = st.columns(4)
symbol = c1.selectbox("Symbol", symbols, key="ea_symbol")
start = c2.selectbox("Start (held out)", held_out_starts(), key="ea_start")
seed = c3.number_input("Seed", min_value=0, max_value=10_000, value=0, step=1, key="ea_seed")
background = c4.radio(
    "Background",
    ["noise", "lmm"],
    horizontal=True,
    key="ea_background",
    help="noise: fitted noise traders (instant); lmm: the order model makes the market (about a minute on 2 cores).",
)


@st.cache_data(max_entries=16, show_spinner="Simulating the agent and L1-P0.9 in the same future…")
def episode(symbol: str, start: str, seed: int, background: str, data_dir: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    day = _ui.day(symbol, "2012-06-21", data_dir)
    policies = {AGENT: load_policy(str(AGENT_DIR / "policy.pt")), BASELINE: fixed(PAPER_TWAPS[BASELINE])}
    return trace_start(day, start, seed, background, policies, {})


if st.button("Run the episode", type="primary", key="ea_run", icon=":material/play_arrow:"):
    st.session_state["ea_shown"] = (symbol, start, int(seed), background)
shown = st.session_state.get("ea_shown")
if shown:
    try:
        steps, fills = episode(*shown, str(folder))
    except MarsInputError as err:
        _ui.show_error(err, "Pick another start or background.")
        st.stop()
    last = steps.groupby("policy", sort=False).last()
    m = st.columns(len(last))
    for col, (name, row) in zip(m, last.iterrows()):
        col.metric(
            f"{name}: advantage vs arrival",
            f"{row.advantage_bps:+.2f} bps",
            f"fulfillment {row.fulfillment:.1%}",
            delta_color="off",
            border=True,
        )
    title = f"{shown[0]} 2012-06-21 from {shown[1]}, seed {shown[2]} ({shown[3]} background)"
    st.plotly_chart(charts.episode_figure(steps, fills, parse_clock(shown[1]), title), key="ea_episode")
