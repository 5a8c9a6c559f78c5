"""Pure analysis over DataFrames and arrays (facts, impact, factors, charts); never imports streamlit."""
