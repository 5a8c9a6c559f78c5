"""Pure analysis over tables and arrays: stylized facts, similarity, impact, factors, SINDy, the decay ODE and the
reductions of simulated runs; `charts/` draws them (plotly) and `report/` files them (HTML, PDF). It imports only the
data schema, the token vocabulary, errors and paths of mars_core, and never streamlit."""
