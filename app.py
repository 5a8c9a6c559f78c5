"""MarS dashboard entry: the router only. Run with `make app` (or `streamlit run app.py`).

To add a workflow page, write `pages/<name>.py` (UI only) and add one
`st.Page(...)` line to its section below; the URL is /<name>.
"""

import streamlit as st

st.set_page_config(page_title="MarS", layout="wide")

SECTIONS = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
    "Data": [
        st.Page("pages/market_data.py", title="Market Data", icon=":material/candlestick_chart:"),
    ],
    "Simulate": [
        st.Page("pages/simulate.py", title="Simulate", icon=":material/play_circle:"),
        st.Page("pages/scenarios.py", title="Scenarios", icon=":material/timeline:"),
        st.Page("pages/forecast.py", title="Forecast", icon=":material/trending_up:"),
        st.Page("pages/detection.py", title="Detection", icon=":material/policy:"),
    ],
    "What-if": [
        st.Page("pages/market_impact.py", title="Market Impact", icon=":material/query_stats:"),
        st.Page("pages/impact_factors.py", title="Impact Factors", icon=":material/functions:"),
        st.Page("pages/execution_agent.py", title="Execution Agent", icon=":material/smart_toy:"),
    ],
    "Model": [
        st.Page("pages/order_model.py", title="Order Model", icon=":material/neurology:"),
        st.Page("pages/order_images.py", title="Order Images", icon=":material/grid_on:"),
        st.Page("pages/realism.py", title="Realism", icon=":material/fact_check:"),
    ],
}

st.navigation(SECTIONS).run()
