"""Home: what MarS is, which data and model it found, and where to start."""

from __future__ import annotations

import streamlit as st

from mars_core.errors import MarsInputError
from pages import _ui

_ui.route_through_app()

# Pages to suggest, in order: (page file, label, icon, what it is for). Add a line when a workflow page lands.
START_HERE = [
    (
        "pages/market_data.py",
        "Market Data",
        ":material/candlestick_chart:",
        "Browse a real trading day: prices, spread, book depth and order flow.",
    ),
    (
        "pages/simulate.py",
        "Simulate",
        ":material/play_circle:",
        "Run many futures of a moment of that day, with your own orders or TWAP agents, and compare them.",
    ),
    (
        "pages/market_impact.py",
        "Market Impact",
        ":material/query_stats:",
        "What does an execution do to the price? TWAP grids on paired futures, the square-root law, a report.",
    ),
    (
        "pages/impact_factors.py",
        "Impact Factors",
        ":material/functions:",
        "The factors behind a study's impact: correlations, a symbolic formula, the learned decay ODE.",
    ),
]

st.title("MarS — market simulation")
st.markdown(
    "MarS is an order-level market simulation engine: a generative order model proposes the next "
    "orders from the recent order flow and book, and a clearing house matches them with yours, "
    "so you can replay a real trading day or run many simulated futures of it. "
    "Use it to ask *what if*: how would the market have reacted to an execution schedule or a scenario?"
)

st.subheader("Datasets")
try:
    data_dir = _ui.data_dir()
    datasets, problems = _ui.catalog(str(data_dir))
except MarsInputError as err:
    data_dir, datasets, problems = None, [], []
    _ui.show_error(err)

if datasets:
    st.caption(f"Found {len(datasets)} dataset(s) in `{data_dir}`.")
    st.dataframe(
        _ui.catalog_table(datasets),
        hide_index=True,
        column_config={
            "Messages": st.column_config.NumberColumn(format="localized"),
        },
    )
else:
    _ui.show_no_data(data_dir)
_ui.show_problems(problems)

st.subheader("Order model")
status = _ui.model_status()
if status.found:
    st.success(status.summary, icon=":material/neurology:")
else:
    st.info(status.summary, icon=":material/neurology:")
for card in status.cards:
    with st.expander(f"Model card: {card.parent.name}"):
        st.markdown(card.read_text(encoding="utf-8", errors="replace"))

_ui.show_executor(always=True)

st.subheader("Where to start")
columns = st.columns(3)
for i, (page, label, icon, blurb) in enumerate(START_HERE):
    with columns[i % len(columns)].container(border=True):
        st.page_link(page, label=f"**{label}**", icon=icon)
        st.caption(blurb)
