"""Detection: where the real market leaves what MarS expects (paper Sec. 4.2, App. G, Fig. 8), with an injected
manipulation episode to watch it get flagged, and the held-out evaluation on injected episodes."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from analysis.charts import detection as charts
from mars_core import paths
from mars_core.errors import MarsInputError
from mars_core.experiments import detection as dt
from mars_core.experiments.manipulation import KINDS, EpisodeSpec
from mars_core.store import named_dir
from pages import _ui

_ui.route_through_app()

BACKGROUNDS = {"lmm": "Order model (MarS)", "noise": "Noise traders"}
KIND_LABELS = {k: k.replace("_", " ") for k in KINDS}
state = st.session_state

st.title("Detection")
st.caption(
    "Detection by simulation: for every window of a span, many futures are simulated from the real book just before "
    "it; the real window's spread, depth, depth imbalance, mid changes, order sizes and cancel ratio are compared "
    "with the simulated ones (overlap of the distributions, 1 = the same). Low similarity = the market did what the "
    "simulator did not expect. The baseline compares each window with the real window just before it. Inject an "
    "episode of manipulation into a copy of the day to watch it get flagged (a window is flagged when one row's "
    "similarity falls more than 3 median absolute deviations below that row's median over the span)."
)

data_dir, datasets = _ui.require_datasets()
model = _ui.model_status()

c_symbol, c_date, c_from, c_to, c_rollouts, c_bg = st.columns([1, 1, 1, 1, 1, 2])
symbol = c_symbol.selectbox("Symbol", sorted({d.symbol for d in datasets}), key="dt_symbol")
c_date.selectbox("Date", sorted({d.date.isoformat() for d in datasets if d.symbol == symbol}), key="dt_date")
c_from.text_input("From", "14:40", key="dt_from", help="HH:MM; the first window is only the baseline's reference.")
c_to.text_input("To", "14:50", key="dt_to", help="HH:MM")
c_rollouts.number_input("Rollouts", 1, 64, 4, key="dt_rollouts", help="Simulated futures per window.")
options = list(BACKGROUNDS) if model.found else ["noise"]
c_bg.radio("Futures from", options, format_func=BACKGROUNDS.get, horizontal=True, key="dt_bg")

c_inject, c_kind, c_at, c_intensity, c_side = st.columns([1, 2, 1, 1, 1])
c_inject.checkbox("Inject an episode", key="dt_inject")
c_kind.selectbox("Kind", KINDS, format_func=KIND_LABELS.get, key="dt_kind")
c_at.text_input("At", "14:45:05", key="dt_at", help="HH:MM[:SS]; the episode lasts 40 seconds.")
c_intensity.number_input("Intensity", 0.5, 50.0, 8.0, step=0.5, key="dt_intensity", help="Size relative to the book.")
c_side.radio("Side", [1, -1], format_func={1: "up", -1: "down"}.get, horizontal=True, key="dt_side")


def request() -> None:
    """The Score button's callback: the form as it is at the click."""
    keys = ("dt_symbol", "dt_date", "dt_from", "dt_to", "dt_rollouts", "dt_bg", "dt_inject", "dt_kind", "dt_at")
    state["dt_request"] = (*(state[k] for k in keys), state["dt_intensity"], state["dt_side"], str(data_dir))


@st.cache_data(show_spinner=False, max_entries=4)
def scored(symbol: str, date: str, first: str, last: str, rollouts: int, background: str, inject: bool, kind: str,
           at: str, intensity: float, side: int, folder: str):  # fmt: skip
    config = dt.DetectConfig.from_dict(
        {"symbol": symbol, "date": date, "span": (first, last), "rollouts": rollouts, "background": background},
        "detection",
    )
    episode = (
        EpisodeSpec.from_dict({"kind": kind, "start": at, "intensity": intensity, "side": side}, "episode")
        if inject
        else None
    )
    key = {"config": config.model_dump(mode="json"), "episode": episode.model_dump() if episode else None}
    out = named_dir(paths.runs_root() / "detect" / "page", symbol, key)
    return dt.score_with_episode(config, episode, out, folder)


st.button("Score", type="primary", key="dt_run", on_click=request)

if req := state.get("dt_request"):
    try:
        with st.spinner("Simulating every window of the span…"):
            scores, episodes = scored(*req)
    except (MarsInputError, ValueError) as err:
        _ui.show_error(MarsInputError(str(err)), "Pick a span with two windows or more inside the trading day.")
    else:
        table = scores.table
        title = f"{req[0]} {req[1]}: similarity per {scores.config.minutes}-minute window"
        st.plotly_chart(charts.timeline_figure(table, episodes, title), width="stretch", key="dt_timeline")
        hits = table[table["flagged"]]
        named = [f"{c} ({by})" for c, by in zip(hits["clock"], hits["flagged_by"])]
        st.markdown(f"**Flagged windows:** {', '.join(named) if named else 'none'}")
        flagged = list(hits["clock"])
        default = flagged[0] if flagged else table["clock"].iloc[0]
        clock = st.selectbox("Window", list(table["clock"]), index=list(table["clock"]).index(default), key="dt_win")
        row = table[table["clock"] == clock].iloc[0]
        real, simulated = scores.spreads[int(row["start"])]
        info = next(d for d in datasets if d.symbol == req[0] and d.date.isoformat() == req[1])
        c_fig, c_rows = st.columns([3, 2])
        c_fig.plotly_chart(
            charts.spread_figure(real, simulated, info.tick_size, f"Spread distribution of {clock} (Fig. 8)"),
            width="stretch",
            key="dt_spread",
        )
        c_rows.dataframe(charts.rows_table(row.to_dict()).round(3), hide_index=True)

st.header("Held-out evaluation on injected episodes")
local = paths.runs_root() / dt.EVALUATION_DIR / "summary.json"
source = local if local.is_file() else paths.DETECTION_EVALUATION
if source.is_file():
    result = json.loads(source.read_text())
    st.caption(
        f"From `{source}`: {result['episodes']} injected episodes and {result['clean_windows']} clean windows; "
        "AUC chance is 0.5, recall at 5% false alarms chance 0.05; 95% block-bootstrap intervals. Injected episodes "
        "are not a regulator's case file. Run `mars detect evaluate` for a new one."
    )
    st.dataframe(pd.DataFrame(charts.evaluation_table(result)).round(3), hide_index=True)
else:
    st.info("No evaluation yet: run `mars detect evaluate`.", icon=":material/info:")
