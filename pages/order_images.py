"""Order images: a minute of orders as a 3 x 32 x 32 image (paper App. C.3), its VQ-VAE
reconstruction and next-minute samples of the order-batch model."""

from __future__ import annotations

import streamlit as st

from analysis.charts import order_images as oic
from mars_core import paths
from mars_core.errors import MarsInputError
from mars_core.sim import runs
from mars_core.store import RunDir
from pages import _ui

_ui.route_through_app()

st.title("Order images")
st.caption(
    "Each minute of orders as an image (MarS App. C.3): channels bid / ask / cancel, x = price slot, "
    "y = volume slot (the order model's tokenizer slots), pixel = number of such orders in the minute, clipped to 100. "
    "Hover a cell for its price range (ticks from the quotes) and size range (shares)."
)


# ---- models (cached) ----------------------------------------------------------------------------
@st.cache_resource(show_spinner="Loading the order-image models…")
def load_models() -> dict:
    """The shipped VQ-VAE and order-batch model, when present, and what went wrong loading them.
    With an order-batch model, its embedded VQ-VAE is the one used throughout."""
    from mars_core.model.checkpoint import load_batch_model, load_vqvae

    found: dict = {"vqvae": None, "batch": None, "problems": []}
    for name, loader, folder in (("batch", load_batch_model, "batch_model"), ("vqvae", load_vqvae, "vqvae")):
        if (paths.MODELS_DIR / folder).is_dir():
            try:
                found[name] = loader(paths.MODELS_DIR / folder)
            except MarsInputError as err:
                found["problems"].append(str(err))
    if found["batch"] is not None:  # its codes only make sense with the VQ-VAE it was trained on
        found["vqvae"] = found["batch"].vqvae
    return found


@st.cache_resource(max_entries=4, show_spinner="Fitting the order tokenizer on this day…")
def fitted_tokenizer(symbol: str, date_iso: str, data_dir_str: str):
    """A tokenizer fitted on the day's orders before 14:30 (only when no model ships one)."""
    from mars_core.model.dataset import fit_tokenizer

    return fit_tokenizer([_ui.day(symbol, date_iso, data_dir_str)])


def tokenizer_for(symbol: str, date_iso: str, data_dir_str: str) -> tuple[object, str]:
    """The tokenizer whose slots the images use, and a note saying where it comes from."""
    models = load_models()
    if models["vqvae"] is not None:
        return models["vqvae"].tokenizer, "slots of the shipped VQ-VAE's tokenizer"
    from mars_core.model.checkpoint import load_order_model

    if (paths.ORDER_MODEL_DIR / "model.pt").is_file():
        return load_order_model(paths.ORDER_MODEL_DIR).tokenizer, "slots of the shipped order model's tokenizer"
    return fitted_tokenizer(
        symbol, date_iso, data_dir_str
    ), f"slots fitted on {symbol} {date_iso} (no model ships a tokenizer yet)"


@st.cache_data(max_entries=8, show_spinner="Building the order images…")
def real_images(symbol: str, date_iso: str, data_dir_str: str):
    from mars_core.model.order_images import day_images, slot_labels

    tok, note = tokenizer_for(symbol, date_iso, data_dir_str)
    return day_images(_ui.day(symbol, date_iso, data_dir_str), tok), slot_labels(tok), note


@st.cache_data(max_entries=8, show_spinner="Building the order images of the run…")
def run_images(path: str, rollout: int, arm: str, symbol: str, date_iso: str, data_dir_str: str, mtime: float):
    del mtime  # part of the cache key: a rewritten arm is read again
    from mars_core.model.order_images import images_from_run, slot_labels

    tok, note = tokenizer_for(symbol, date_iso, data_dir_str)
    return images_from_run(path, rollout, arm, tok), slot_labels(tok), note


# ---- which minutes ------------------------------------------------------------------------------
data_dir, datasets = _ui.require_datasets()

source = st.radio("Source", ["Real day", "Simulated run"], horizontal=True, key="oi_source")
try:
    if source == "Real day":
        c_symbol, c_date = st.columns(2)
        symbol = c_symbol.selectbox("Symbol", sorted({d.symbol for d in datasets}), key="oi_symbol")
        dates = sorted({d.date for d in datasets if d.symbol == symbol})
        date = c_date.selectbox("Date", dates, key="oi_date", format_func=lambda d: d.isoformat())
        images, labels, note = real_images(symbol, date.isoformat(), str(data_dir))
    else:
        entries, _ = runs.list_simulations()
        entries = [e for e in entries if e.finished > 0]
        if not entries:
            st.info(
                f"No finished simulated runs in `{paths.runs_root()}`. Run one on the **Simulate** page first.",
                icon=":material/play_circle:",
            )
            st.stop()
        c_run, c_rollout, c_arm = st.columns([4, 1, 1])
        entry = c_run.selectbox("Run", entries, key="oi_run", format_func=lambda e: e.label)
        arms = RunDir(entry.path).finished()
        rollout = c_rollout.selectbox("Rollout", sorted({r for r, _ in arms}), key="oi_rollout")
        arm = c_arm.selectbox("Arm", [a for r, a in arms if r == rollout], key="oi_arm")
        if not any(d.symbol == entry.config.symbol and d.date.isoformat() == entry.config.date for d in datasets):
            st.warning(
                f"The run's day {entry.config.symbol} {entry.config.date} is not in the data folder; its images need "
                "a model-shipped tokenizer.",
                icon=":material/warning:",
            )
        images, labels, note = run_images(
            str(entry.path),
            int(rollout),
            str(arm),
            entry.config.symbol,
            entry.config.date,
            str(data_dir),
            RunDir(entry.path).arm_stamp(rollout, arm),
        )
except MarsInputError as err:
    _ui.show_error(err, "Pick another day or run.")
    st.stop()

from mars_core.model.order_images import fmt_minute  # noqa: E402 (after the page's guards)

minutes = [int(m) for m in images.minutes]
default = minutes[30 if len(minutes) > 30 else 0]  # 10:00 on a full day: enough history for the batch model
minute = st.select_slider(
    "Minute", options=minutes, value=default, format_func=fmt_minute, key=f"oi_minute_{images.key}"
)
i = images.index_of(minute)
image = images.images[i]
st.plotly_chart(oic.totals_figure([fmt_minute(m) for m in minutes], images.counts, i), key="oi_totals")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Orders in the minute", f"{int(images.counts[i].sum()):,}")
for col, name, c in ((m2, "Bid submissions", 0), (m3, "Ask submissions", 1), (m4, "Cancels", 2)):
    col.metric(name, f"{int(images.counts[i, c]):,}")
st.plotly_chart(
    oic.order_image_figure(image, labels, f"{images.key} {fmt_minute(minute)}–{fmt_minute(minute + 1)}"), key="oi_real"
)
st.caption(f"Image slots: {note}. Clipped pixels: {int((image >= 100).sum())}.")

# ---- reconstruction and samples -------------------------------------------------------------------
models = load_models()
for problem in models["problems"]:
    st.warning(f"Could not load a shipped model: {problem}", icon=":material/warning:")
vq, batch = models["vqvae"], models["batch"]
if vq is None:
    st.info(
        "No VQ-VAE ships yet, so no reconstruction. Train one with "
        "`mars train vqvae --symbols GOOG AMZN --out assets/models/vqvae`.",
        icon=":material/neurology:",
    )
    st.stop()
import torch  # noqa: E402 (only when a model is there)

from mars_core.model.image_data import image_metrics  # noqa: E402

codes = vq.model.encode(torch.from_numpy(images.images[max(0, i - 15) : i + 1])).numpy()  # (<=16, 8, 8)
recon = vq.model.decode_counts(torch.from_numpy(codes[-1:]))[0].numpy()
fit = image_metrics(recon[None], image[None])
st.subheader("VQ-VAE reconstruction")
st.plotly_chart(oic.order_image_figure(recon, labels, "Decoded from its 8 × 8 codes (expected counts)"), key="oi_recon")
val = vq.summary.get("val", {})
st.caption(
    f"This minute: MSE on log(1+n) {fit['mse_log1p']:.4f}, Poisson NLL {fit['poisson_nll']:.4f}. "
    f"On the held-out minutes (14:30–16:00): MSE {val.get('mse_log1p', float('nan')):.4f}, "
    f"{val.get('codes_used', '?')} codes used of {vq.model.config.codebook_size}."
)
with st.expander("Code grid (8 × 8)"):
    st.dataframe(codes[-1], key="oi_codes")

st.subheader("Order-batch model: next-minute sample")
if batch is None:
    st.info(
        "No order-batch model ships yet. Train one with "
        "`mars train batch-model --vqvae assets/models/vqvae --symbols GOOG AMZN --out assets/models/batch_model`.",
        icon=":material/neurology:",
    )
    st.stop()
history = codes[:-1][-batch.context_minutes :]
c_n, c_seed, c_temp, c_pick = st.columns(4)
n = c_n.number_input("Candidates", 1, 16, 4, key="oi_n")
seed = c_seed.number_input("Seed", 0, 10**6, 0, key="oi_seed")
temperature = c_temp.slider("Temperature", 0.0, 1.5, 1.0, 0.1, key="oi_temp")
pick = c_pick.selectbox("Show candidate", list(range(1, int(n) + 1)), key="oi_pick")
sample_codes, sample_images = batch.sample_next_minute(history, int(n), float(temperature), int(seed))
shown = sample_images[int(pick) - 1]
st.plotly_chart(
    oic.order_image_figure(
        shown, labels, f"Candidate {pick} of {n} for {fmt_minute(minute)}, from the {len(history)} minutes before it"
    ),
    key="oi_sample",
)
mean_fit = image_metrics(sample_images.mean(0)[None], image[None])
st.caption(
    f"The real minute against the mean of the {n} candidates: Poisson NLL {mean_fit['poisson_nll']:.4f} "
    f"(its own reconstruction: {fit['poisson_nll']:.4f}). The models are small and trained on two days of data: "
    "treat samples as indicative."
)
