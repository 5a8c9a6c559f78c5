"""Forecast: the trend at 1-5 minutes read off many simulated futures (paper Sec. 4.1, App. L), and the held-out
scoreboard of every forecaster (Fig. 7a)."""

from __future__ import annotations

import json

import streamlit as st

from analysis.charts import forecast as charts
from analysis.forecast_labels import CLASSES
from mars_core import paths
from mars_core.errors import MarsInputError
from mars_core.experiments import forecast as fc
from pages import _ui

_ui.route_through_app()

BACKGROUNDS = {"lmm": "Order model (MarS)", "noise": "Noise traders"}
state = st.session_state

st.title("Forecast")
st.caption(
    "Forecasting by simulation: from the real book at a moment, many futures are simulated; each one's mean mid over "
    "the next k minutes, relative to the mid now, is a trend label (down / flat / up, thresholds that split the "
    "training period before 14:30 in thirds). The forecast is the class most rollouts give, the probabilities are "
    "their shares. The same futures forecast the next 5 minutes' realised volatility and mean spread."
)

data_dir, datasets = _ui.require_datasets()
model = _ui.model_status()


@st.cache_data(show_spinner=False, max_entries=8)
def moment(symbol: str, date: str, at: str, rollouts: int, background: str, seed: int, folder: str):
    return fc.forecast_moment(symbol, date, at, rollouts, background, seed, data_dir=folder)


c_symbol, c_date, c_at, c_rollouts, c_bg, c_seed = st.columns([1, 1, 1, 1, 2, 1])
symbol = c_symbol.selectbox("Symbol", sorted({d.symbol for d in datasets}), key="fc_symbol")
c_date.selectbox("Date", sorted({d.date.isoformat() for d in datasets if d.symbol == symbol}), key="fc_date")
c_at.text_input("Moment", "15:00", key="fc_at", help="HH:MM[:SS]; held-out moments are 14:30-15:55.")
c_rollouts.number_input("Rollouts", 1, 256, 16, key="fc_rollouts", help="The paper uses 128.")
options = list(BACKGROUNDS) if model.found else ["noise"]
c_bg.radio("Futures from", options, format_func=BACKGROUNDS.get, horizontal=True, key="fc_bg")
c_seed.number_input("Seed", 0, 2**31 - 1, 0, key="fc_seed")


def request() -> None:
    """The Forecast button's callback: the moment as the form holds it at the click."""
    keys = ("fc_symbol", "fc_date", "fc_at", "fc_rollouts", "fc_bg", "fc_seed")
    state["fc_request"] = (*(state[k] for k in keys), str(data_dir))


st.button("Forecast", type="primary", key="fc_run", on_click=request)

if request := state.get("fc_request"):
    try:
        with st.spinner(f"Simulating {request[3]} futures of 5 minutes…"):
            m = moment(*request)
    except MarsInputError as err:
        _ui.show_error(err, "Pick a moment with 5 minutes of data before and after it.")
    else:
        f = m.forecast
        name = lambda c: CLASSES[c] if c >= 0 else None  # noqa: E731
        st.subheader(f"{m.symbol} {m.date} at {_ui.fmt_hms(m.at)}: {BACKGROUNDS[m.background].lower()}")
        fig = charts.fan_figure(
            m.at,
            (m.real.ts, m.real.mid),
            [(p.ts, p.mid) for p in m.paths],
            f"{len(m.paths)} simulated mids and the real one",
        )
        st.plotly_chart(fig, width="stretch", key="fc_fan")
        c_table, c_targets = st.columns([3, 2])
        c_table.dataframe(
            charts.probability_table(f.shares, [name(c) for c in f.majority], [name(c) for c in m.truth]),
            hide_index=True,
            column_config={f"P({c})": st.column_config.ProgressColumn(format="%.2f", max_value=1) for c in CLASSES},
        )
        c_targets.dataframe(
            {
                "next 5 minutes": ["realised volatility", "mean spread (ticks)"],
                "simulated": [f"{f.vol:.5f}", f"{f.spread / 100:.2f}"],
                "naive (last 5 min)": [f"{m.naive_vol:.5f}", f"{m.naive_spread / 100:.2f}"],
                "actual": [f"{m.real_vol:.5f}", f"{m.real_spread / 100:.2f}"],
            },
            hide_index=True,
        )
        st.caption(f"{len(m.paths)} rollouts in {m.seconds:.1f} s.")

st.header("Held-out scoreboard")
local = sorted((paths.runs_root() / "forecast").glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
source = local[-1] if local else paths.FORECAST_SCOREBOARD
if source.is_file():
    result = json.loads(source.read_text())
    st.caption(
        f"From `{source}`: start points every {result.get('every_minutes', 2)} minutes of the held-out afternoons "
        f"(14:30-16:00) of {', '.join(' '.join(d) for d in result['days'])}; 95% block-bootstrap intervals over "
        "start points; chance is 1/3. Run `mars forecast evaluate` for a new one."
    )
    st.plotly_chart(charts.scoreboard_figure(result), width="stretch", key="fc_scoreboard")
    st.dataframe(charts.scoreboard_table(result), hide_index=True)
else:
    st.info("No held-out evaluation yet: run `mars forecast evaluate`.", icon=":material/info:")
