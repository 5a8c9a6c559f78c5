"""Impact Factors: the App. K factors of a finished study, their correlations, the SINDy formula and the learned decay ODE."""

from __future__ import annotations

import contextlib

import pandas as pd
import streamlit as st

from analysis import impact_results as ir
from analysis.charts import impact as impact_charts
from analysis.charts import study as study_charts
from analysis.factors import FACTOR_LABELS
from mars_core import paths
from mars_core.errors import MarsInputError
from pages import _impact_ui, _ui

_ui.route_through_app()

st.title("Impact factors")
st.caption(
    "Beyond the square-root law: the new factors of the paper's App. K (resiliency, LOB pressure, LOB depth), how they "
    "relate to the impact, a sparse formula found by symbolic regression (SINDy), and a learned ODE for how the impact "
    "decays after the execution — each scored on held-out trajectories."
)

root = paths.runs_root()
entries, problems = _impact_ui.list_studies(root)
_ui.show_problems(problems)
finished = [e for e in entries if e.finished]
if not finished:
    st.info(
        f"No finished study in `{root}` yet. Run one on the **Market Impact** page (or `mars impact --config "
        "assets/studies/standard.yaml --out runs/studies/standard`), then come back here.",
        icon=":material/query_stats:",
    )
    st.page_link("pages/market_impact.py", label="Go to Market Impact", icon=":material/arrow_forward:")
    st.stop()
entry = _impact_ui.choose_study(finished, key="if_study", label="Finished study")
try:
    res = _impact_ui.results(str(entry.path), entry.stamp)
except MarsInputError as err:
    _ui.show_error(err, "Pick another study, or run this one again to rewrite its results.")
    st.stop()

c = res.config
m1, m2, m3, m4, m5 = st.columns(5)
m1.metric("Trajectories", f"{len(res.metrics):,}", border=True, help="Paired trajectories the factors are computed on.")
m2.metric(
    "Pre-trade window",
    f"{c.get('pre_trade_minutes', 30)} min",
    border=True,
    help="Window of σ and of the resiliency moment, eqs. (5), (8).",
)
m3.metric(
    "α (LOB pressure)", f"{c.get('alpha', 0.5):g}", border=True, help="Weight of the ask side in LOB pressure, eq. (6)."
)
m4.metric("β (LOB depth)", f"{c.get('beta', 0.5):g}", border=True, help="Weight of the ask side in LOB depth, eq. (7).")
m5.metric("Background", str(c.get("background", "?")), border=True, help="Who else trades in the simulated futures.")
st.caption(
    "The hyper-parameters are part of the study; to change them, run the study again with other values "
    "(Market Impact page, *More settings*)."
)

# ---- factors ----------------------------------------------------------------------------------------
st.subheader("Factors")
table = ir.factors_table(res)
st.dataframe(
    table,
    hide_index=True,
    key="if_factors_table",
    column_config={
        **{col: st.column_config.NumberColumn(format="%.4g") for col in ("Mean", "Std", "Min", "Max")},
        "Corr. with impact": st.column_config.NumberColumn(format="%+.3f"),
        "Varies": st.column_config.CheckboxColumn(
            help="A factor that is the same for every trajectory cannot explain differences in impact."
        ),
    },
)
constant = table.loc[~table["Varies"], "Factor"].tolist() if len(table) else []
if constant:
    st.caption(
        f"Constant in this study: {', '.join(constant)} — every trajectory starts from the same moment. "
        "Studies over several start times or days make them vary."
    )

c_corr, c_scatter = st.columns(2)
with c_corr:
    figure = study_charts.correlation_figure(res)
    if figure is not None:
        st.plotly_chart(figure, key="if_corr_chart")
        st.caption("Pearson correlations over trajectories of the factors that vary (Fig. 25).")
    else:
        st.info(
            "Fewer than two factors vary in this study, so there is no correlation matrix.", icon=":material/grid_on:"
        )
with c_scatter:
    varying = res.varying_factors() or ["sqrt_q_over_v"]
    factor = st.selectbox("Factor", varying, key="if_factor", format_func=lambda f: FACTOR_LABELS.get(f, f))
    st.plotly_chart(study_charts.factor_figure(res.metrics, factor), key="if_scatter_chart")
    st.caption("Impact at the end of execution against the chosen factor, one dot per trajectory (Figs. 9a, 24).")

# ---- symbolic regression ------------------------------------------------------------------------------
st.subheader("Symbolic regression (SINDy)")
s = res.symbolic
if "formula" not in s:
    st.info(
        f"Skipped: {s.get('skipped', 'no result')}. Run a study with more trajectories.", icon=":material/functions:"
    )
else:
    st.code(ir.symbolic_formula(s), language=None, wrap_lines=True)
    k1, k2, k3, k4 = st.columns(4)
    k1.metric("SINDy held-out R²", f"{s['test_r2']:.3f}", border=True, help=f"On {s['n_test']} held-out trajectories.")
    k2.metric(
        "Square-root law held-out R²",
        f"{s['sqrt_law_test_r2']:.3f}",
        border=True,
        help="Y·σ·(Q/V)^δ fitted on the same training trajectories.",
    )
    k3.metric("SINDy held-out RMSE", f"{s['test_rmse'] * ir.BPS:.3f} bps", border=True)
    k4.metric("Square-root law held-out RMSE", f"{s['sqrt_law_test_rmse'] * ir.BPS:.3f} bps", border=True)
    st.dataframe(
        ir.symbolic_table(res),
        hide_index=True,
        key="if_symbolic_table",
        column_config={
            col: st.column_config.NumberColumn(format="%.3f")
            for col in ("Train R²", "Held-out R²", "Train RMSE (bps)", "Held-out RMSE (bps)")
        },
    )
    st.caption(
        f"Candidate terms: the factors {', '.join(s['factors'])}, their squares and products and their square roots; "
        f"STLSQ threshold {s['threshold']:g} chosen by cross-validation on {s['n_train']} training trajectories. "
        + ir.symbolic_verdict(s)
    )

# ---- decay ODE ------------------------------------------------------------------------------------------
st.subheader("Impact decay: learned ODE vs base ODE")
d = res.decay
if "learned" not in d:
    st.info(f"Skipped: {d.get('skipped', 'no result')}.", icon=":material/timeline:")
else:
    k1, k2, k3 = st.columns(3)
    k1.metric("Learned ODE held-out MSE", f"{d['test_mse_learned']:.3e}", border=True, help="Eq. (2), W 7×2 with L1.")
    ratio = d["test_mse_learned"] / d["test_mse_base"] if d["test_mse_base"] else float("nan")
    k2.metric("Base ODE held-out MSE", f"{d['test_mse_base']:.3e}", border=True, help="Eq. (14): c·σ·√(Q/V)/√t.")
    k3.metric(
        "Learned / base error",
        f"{ratio:.2f}×",
        border=True,
        help="Below 1: the learned ODE predicts the held-out decay better.",
    )
    c_acf, c_table = st.columns([3, 2])
    c_acf.plotly_chart(impact_charts.decay_acf_figure(pd.DataFrame(d["acf"])), key="if_acf_chart")
    c_acf.caption(
        f"Autocorrelation of the decay on {d['n_test']} held-out trajectories (Fig. 26): the closer to the ground "
        "truth, the better the model captures how impact fades."
    )
    with c_table:
        st.markdown("**Held-out error**")
        st.dataframe(
            ir.decay_table(res),
            hide_index=True,
            key="if_decay_table",
            column_order=("Model", "Held-out MSE", "Train MSE"),
            column_config={
                "Held-out MSE": st.column_config.NumberColumn(format="%.3e"),
                "Train MSE": st.column_config.NumberColumn(format="%.3e"),
            },
        )
        st.caption(
            "Mean squared error of the relative impact over the held-out curves after the execution; both ODEs "
            f"start from each trajectory's impact at the end of execution. Base ODE scale c = {d['base'].get('scale', float('nan')):.3g}, "
            f"fitted on the {d['n_train']} training trajectories."
        )
    st.plotly_chart(impact_charts.weights_heatmap(ir.weights_frame(res)), key="if_weights_chart")
    constant = ir.constant_decay_factors(res)
    st.caption(
        "Learned interaction weights W of eq. (2) on z-scored factors (Fig. 9b); the L1 penalty drives unhelpful ones to 0."
        + (f" Not interpretable here: {', '.join(constant)} (constant in this study)." if constant else "")
    )

# ---- export ---------------------------------------------------------------------------------------------
st.subheader("Export")
data_dir = ""
with contextlib.suppress(MarsInputError):  # the report then says the data could not be confirmed
    data_dir = str(_ui.data_dir())
_impact_ui.report_downloads(entry, data_dir, key="if_report")
st.download_button(
    "Trajectories with factors (CSV)",
    res.metrics.to_csv(index=False).encode(),
    file_name=f"{entry.path.name}_factors.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    key="if_csv",
)
