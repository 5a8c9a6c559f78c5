"""Order model: the generative model behind the LMM background — its card, training, scaling,
how real its order flow looks, and a short live generation from a chosen moment."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from analysis.charts import flow as fl
from analysis.charts import training as mc
from mars_core import paths
from mars_core.errors import MarsInputError
from mars_core.model.vocab import VOCAB_SIZE
from mars_core.sim import runs
from pages import _model_live, _model_ui, _runs_ui, _ui

_ui.route_through_app()

TABS = ("Model card", "Training", "Scaling", "Generated vs real flow", "Live generation")
state = st.session_state
FORM_DEFAULTS = {
    "om_minutes": 1,
    "om_rollouts": _model_ui.MAX_LIVE_ROLLOUTS,
    "om_seed": 0,
    "om_rows": 50,
    "om_train_x": "Step",
}
_runs_ui.keep_form(FORM_DEFAULTS, ("om_symbol", "om_date", "om_start", "om_eval_symbol"))

st.title("Order model")
st.caption(
    "The generative order model behind the **Order model (LMM)** background (MarS Sec. 2.1): a small causal transformer "
    "that reads the recent orders and book and proposes the next order, one token per order. Here: its model card, how it "
    "trained, how it scales, how its generated flow compares with the real one, and a short generation from any moment."
)

files = _model_ui.shipped_files()
loaded, load_error = None, None
if files.checkpoint is not None:
    try:
        loaded = _model_ui.load_model(str(files.checkpoint), _model_ui.mtime(files.checkpoint))
    except MarsInputError as err:
        load_error = err
summary = loaded.summary if loaded is not None else {}
try:
    curve, final = (
        _model_ui.training_log(str(files.metrics), _model_ui.mtime(files.metrics)) if files.metrics else (None, {})
    )
except MarsInputError as err:
    curve, final = None, {}
    _ui.show_error(err, "The training log cannot be drawn; the rest of the page still works.")
val_nll = summary.get("val_nll", final.get("val_nll"))
baselines = {k: summary.get(f"{k}_nll", final.get(f"{k}_nll")) for k in ("unigram", "bigram")}

# ---- headline ------------------------------------------------------------------------------------------
if load_error is not None:
    _ui.show_error(
        load_error,
        f"If a new checkpoint is being written, reload in a minute; otherwise retrain it with `{files.train_command}`.",
    )
elif loaded is None:
    st.info(
        f"**No order model ships yet** (looked for `model.pt` in `{files.directory}`). Train one on the sample days "
        "(at most an hour on a 2-core machine), then reload this page:",
        icon=":material/neurology:",
    )
    st.code(files.train_command, language="bash")
else:
    args = summary.get("model_args", {})
    arch = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in args.items() if k != "dropout")
    seen, train_tokens = summary.get("tokens_seen"), summary.get("train_tokens")
    bigram = baselines["bigram"]
    unigram = baselines["unigram"]
    params = summary.get("params")
    cards = [
        (
            "Parameters",
            f"{params / 1e6:.2f}M" if params and params >= 1e6 else f"{params / 1e3:.0f}k" if params else "—",
            f"size {summary.get('size', '?')}",
            f"{params:,} parameters. Size `{summary.get('size', '?')}`: {arch}." if params else None,
        ),
        (
            "Validation NLL",
            f"{val_nll:.3f}" if val_nll is not None else "—",
            f"{val_nll - bigram:+.3f} vs bigram" if val_nll is not None and bigram is not None else None,
            "Negative log-likelihood per token (nats) on the held-out last 90 minutes of each day; lower is better. "
            f"Perplexity {math.exp(val_nll):,.0f}."
            if val_nll is not None
            else None,
        ),
        (
            "Bigram baseline",
            f"{bigram:.3f}" if bigram is not None else "—",
            f"unigram {unigram:.3f}" if unigram is not None else None,
            "NLL of a first-order Markov model of the tokens (bigram) and of token frequencies (unigram), both fitted on "
            "the same training split.",
        ),
        (
            "Training time",
            _runs_ui.fmt_duration(summary["seconds"]) if summary.get("seconds") is not None else "—",
            f"{summary.get('steps', '?')} steps",
            f"Wall clock with {summary.get('threads', '?')} torch thread(s)"
            + (
                f"; {_runs_ui.fmt_duration(summary['cpu_seconds'])} of CPU."
                if summary.get("cpu_seconds") is not None
                else "."
            ),
        ),
        (
            "Tokens seen",
            f"{seen / 1e6:.1f}M" if seen else "—",
            f"{seen / train_tokens:.1f} epochs" if seen and train_tokens else None,
            f"{train_tokens:,} training tokens, {summary.get('val_tokens', 0):,} validation tokens."
            if train_tokens
            else None,
        ),
    ]
    for column, (label, value, delta, help_text) in zip(st.columns(len(cards)), cards):
        column.metric(
            label,
            value,
            delta,
            delta_color="inverse" if label == "Validation NLL" else "off",
            delta_arrow="auto" if label == "Validation NLL" else "off",
            help=help_text,
            border=True,
        )

tab_card, tab_training, tab_scaling, tab_flow, tab_live = st.tabs(TABS, key="om_tab", on_change="rerun")

# ---- model card ------------------------------------------------------------------------------------------
if tab_card.open:
    with tab_card:
        if files.card is None:
            st.info(f"No model card in `{files.directory}`.", icon=":material/description:")
        else:
            st.markdown("**Reproduce it** — the same command and thread count give the same weights, bit for bit:")
            st.code(files.train_command, language="bash", wrap_lines=True)
            c_card, c_side = st.columns([3, 1], gap="large")
            with c_side.container(border=True):
                if loaded is not None:
                    st.markdown(
                        f"**Inputs per order**: its token (one of {VOCAB_SIZE:,}), "
                        f"{_model_ui.context_columns(loaded)} book-context columns after it, and the mid-price "
                        f"change since the open; attention over the last {loaded.model.config.window} orders."
                    )
                st.markdown("**Files**")
                st.markdown(
                    "\n".join(
                        f"- `{name}` · {size / 1024:,.0f} KB" for name, size in _model_ui.file_sizes(files.directory)
                    )
                )
                st.caption(
                    f"In `{files.directory.relative_to(paths.REPO_ROOT) if files.directory.is_relative_to(paths.REPO_ROOT) else files.directory}`; "
                    "loaded with no network."
                )
            c_card.markdown(_model_ui.demote_headings(files.card))

# ---- training -------------------------------------------------------------------------------------------
if tab_training.open:
    with tab_training:
        if curve is None or curve.empty:
            st.info(f"No training log (`metrics.jsonl`) in `{files.directory}`.", icon=":material/show_chart:")
        else:
            axis = st.segmented_control("Horizontal axis", ["Step", "Tokens seen"], key="om_train_x")
            x = "tokens" if axis == "Tokens seen" else "step"
            st.plotly_chart(
                mc.training_figure(
                    curve, baselines, final.get("val_nll", val_nll), x=x, title="Training and validation loss per token"
                ),
                key="om_training",
            )
            windows = summary.get("train_config", {}).get("eval_windows")
            st.caption(
                "Training loss: moving average of the batch loss (with dropout on). Validation NLL: every "
                f"{summary.get('train_config', {}).get('eval_every', '?')} steps on "
                f"{f'{windows} fixed' if windows else 'a fixed set of'} held-out windows; the star is the final model on "
                "every held-out window. The dashed lines are the unigram and bigram baselines on the same split: the model "
                "is useful only below them."
            )
            with st.expander("Training log"):
                st.dataframe(
                    curve,
                    hide_index=True,
                    key="om_training_log",
                    column_config={
                        "tokens": st.column_config.NumberColumn(format="localized"),
                        "lr": st.column_config.NumberColumn(format="%.2e"),
                    },
                )

# ---- scaling --------------------------------------------------------------------------------------------
if tab_scaling.open:
    with tab_scaling:
        study = None
        if files.scaling is None:
            st.info(
                f"No scaling study (`scaling.json`) in `{files.directory}`. Run one with `mars train scaling`.",
                icon=":material/stacked_line_chart:",
            )
        else:
            try:
                study = _model_ui.scaling_study(str(files.scaling), _model_ui.mtime(files.scaling))
            except MarsInputError as err:
                _ui.show_error(err)
        if study is not None:
            mismatch = mc.study_mismatch(study, summary.get("size"), summary.get("params"))
            if mismatch:
                st.info(mismatch, icon=":material/history:")
            c_curves, c_params = st.columns(2)
            c_curves.plotly_chart(mc.scaling_curves_figure(study), key="om_scaling_curves")
            c_params.plotly_chart(mc.scaling_params_figure(study), key="om_scaling_params")
            with st.container(border=True):
                st.markdown("**What this shows**")
                st.markdown("\n".join(f"- {note}" for note in mc.scaling_notes(study)))
                if study.get("curve_note"):
                    st.caption(f"Study note: {study['curve_note']}.")
            runs = mc.scaling_runs(study)
            st.dataframe(
                pd.DataFrame(
                    {
                        "Size": [r["size"] for r in runs],
                        "Parameters": [r["params"] for r in runs],
                        "Tokens seen": [r.get("tokens_seen") for r in runs],
                        "Validation NLL": [r["val_nll"] for r in runs],
                        "Training time (min)": [r.get("seconds", np.nan) / 60 for r in runs],
                    }
                ),
                hide_index=True,
                key="om_scaling_table",
                column_config={
                    "Parameters": st.column_config.NumberColumn(format="localized"),
                    "Tokens seen": st.column_config.NumberColumn(format="localized"),
                    "Validation NLL": st.column_config.NumberColumn(format="%.4f"),
                    "Training time (min)": st.column_config.NumberColumn(format="%.1f"),
                },
            )

# ---- data (the last two tabs) ---------------------------------------------------------------------------
datasets, data_dir = [], None
if tab_flow.open or tab_live.open:
    data_dir, datasets, problems = _ui.data_catalog()
    _ui.show_problems(problems)
root = paths.runs_root()

# ---- generated vs real flow ------------------------------------------------------------------------------
if tab_flow.open:
    with tab_flow:
        st.caption(
            "From start points in the held-out afternoon, the order model and the noise baseline each continue the market "
            "after the same warm-up; their orders and books are compared with the real ones of the same minutes "
            "(`mars evaluate-model`). Overlap = the paper's distribution similarity: 1 is identical, 0 disjoint. "
            "The noise baseline is fitted on the orders before 14:30, as the model is; fitted on the whole day it has "
            "seen the afternoon it is scored on (shown too, dotted)."
        )
        entries, problems = _model_ui.list_evaluations(root)
        _ui.show_problems(problems)
        symbols = sorted({d.symbol for d in datasets})
        with st.container(border=True):
            c_pick, c_symbol, c_button = st.columns([4, 1, 1.3], vertical_alignment="bottom")
            with c_pick:
                entry = _runs_ui.choose_run(
                    entries, "om_eval", "om_eval_selected", "Evaluation", "Model evaluations (`mars evaluate-model`)"
                )
            if entry is None:
                c_pick.markdown(
                    f"No `mars evaluate-model` result in `{root}` yet. Compute a small one here "
                    f"({_model_ui.quick_evaluation_text()}), or run `mars evaluate-model --json` for the full one."
                )
            eval_symbol = c_symbol.selectbox("Symbol", symbols or ["—"], key="om_eval_symbol", disabled=not symbols)
            c_button.button(
                "Compute a quick one",
                icon=":material/bolt:",
                key="om_eval_button",
                width="stretch",
                on_click=_runs_ui.request("om_eval_requested"),
                disabled=loaded is None or not symbols,
                help=f"{_model_ui.quick_evaluation_text().capitalize()}; about half a minute.",
            )
        if _runs_ui.requested("om_eval_requested") and loaded is not None and symbols:
            tag = _model_ui.model_tag(str(files.checkpoint), _model_ui.mtime(files.checkpoint))
            out = _model_ui.quick_evaluation_dir(root, eval_symbol, tag)
            bar = st.progress(0.0, text="Evaluating… starting")

            def on_progress(done: int, total: int, seconds: float) -> None:
                bar.progress(done / total, text=f"Evaluating… {done} of {total} simulations done ({seconds:.0f} s)")

            try:
                _model_ui.run_evaluation(eval_symbol, out, str(data_dir), on_progress)
            except MarsInputError as err:
                bar.empty()
                _ui.show_error(err, "Check the data folder, or delete the evaluation directory and try again.")
            else:
                bar.empty()
                state.om_eval_selected = str(out)  # shown once the picker is drawn again, with it listed
                st.rerun()
        if entry is not None:
            result = entry.result
            made_with = result.get("val_nll")
            if made_with is not None and val_nll is not None and abs(made_with - val_nll) > 1e-6:
                st.warning(
                    f"This evaluation was made with another checkpoint (validation NLL {made_with:.4f}; the shipped "
                    f"model has {val_nll:.4f}). Compute a new one to see the current model.",
                    icon=":material/history:",
                )
            try:
                frames = _model_ui.evaluation_frames(str(entry.path), entry.stamp, str(data_dir))
            except MarsInputError as err:
                _ui.show_error(err, "The evaluation's real days must be in the data folder to draw the distributions.")
                frames = None
            similarity = result.get("similarity", {})
            wins, metrics = result.get("lmm_wins"), result.get("metrics", len(similarity))
            m1, m2, m3, m4 = st.columns(4)
            m1.metric(
                "LMM closer than noise",
                f"{wins} of {metrics}" if wins is not None else "—",
                border=True,
                help="Metrics on which the order model's overlap with the real flow beats the noise baseline's.",
            )
            orders = result.get("orders", {})
            m2.metric(
                "Real orders",
                f"{orders.get('real', 0):,}",
                border=True,
                help=f"{result.get('starts', '?')} windows of {result.get('minutes', '?')} min.",
            )
            m3.metric(
                "Generated orders (LMM)",
                f"{orders.get('lmm', 0):,}",
                border=True,
                help=f"Over {result.get('rollouts', '?')} rollouts per window.",
            )
            m4.metric("Noise orders", f"{orders.get('noise', 0):,}", border=True)
            if frames:
                st.plotly_chart(
                    fl.flow_distributions_figure(
                        frames, similarity, title=f"Generated vs real order flow — {entry.path.name}"
                    ),
                    key="om_flow",
                )
            if similarity:
                table = fl.similarity_frame(similarity)
                st.dataframe(
                    table,
                    hide_index=True,
                    key="om_similarity",
                    column_config={
                        c: st.column_config.ProgressColumn(c, format="%.3f", min_value=0.0, max_value=1.0)
                        for c in table.columns
                        if c in fl.SOURCE_LABELS.values()
                    },
                )
            st.caption(
                "Per metric, each source's share of its values in each bin, on common bins (sizes, gaps and depth on log "
                "scales). The x range holds the real flow's central 99% and the bulk of each background; “off the chart” is "
                "the share of a background beyond it. Where the order model's red line sits away from the grey real flow, "
                "it has not learnt that part of the market."
            )


# ---- live generation -------------------------------------------------------------------------------------
if tab_live.open:
    with tab_live:
        _model_live.live_tab(files, loaded, datasets, data_dir, root)
