"""Figures and tables of the Order Model page on small synthetic inputs: the right traces with the right values."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from analysis.charts import flow as fl
from analysis.charts import training as mc
from mars_core.experiments.model_eval import METRICS
from mars_core.model.vocab import CANCEL_REGIONS, N_INTERVAL, N_PRICE, N_TYPES, N_VOLUME, SUBMIT_REGIONS, join_token
from mars_core.paths import ORDER_MODEL_DIR

LOG = "\n".join(
    [
        json.dumps({"step": 20, "tokens": 2560, "train_loss": 9.0, "val_nll": 8.8, "lr": 1e-3, "seconds": 1.0}),
        "",
        json.dumps({"step": 10, "tokens": 1280, "train_loss": 9.5, "val_nll": 9.1, "lr": 5e-4, "seconds": 0.5}),
        json.dumps({"final": True, "steps": 20, "val_nll": 8.75, "unigram_nll": 9.3, "bigram_nll": 9.0}),
    ]
)


def study(vals: tuple[float, float, float] = (8.0, 7.6, 7.7)) -> dict:
    """Three sizes (listed largest first, to check sorting); the largest overfits."""

    def curve(val_path: list[float], train_path: list[float]) -> list[dict]:
        return [
            {"step": 10 * (i + 1), "tokens": 1000 * (i + 1), "train_loss": t, "val_nll": v}
            for i, (v, t) in enumerate(zip(val_path, train_path))
        ]

    return {
        "runs": [
            {
                "size": "base",
                "params": 90_000,
                "tokens_seen": 4000,
                "val_nll": vals[2],
                "curve": curve([8.5, 7.6, 7.65, 7.75], [8.4, 7.5, 7.1, 6.8]),
            },
            {
                "size": "tiny",
                "params": 6_000,
                "tokens_seen": 4000,
                "val_nll": vals[0],
                "curve": curve([9.0, 8.5, 8.2, 8.0], [9.0, 8.6, 8.3, 8.1]),
            },
            {
                "size": "small",
                "params": 20_000,
                "tokens_seen": 4000,
                "val_nll": vals[1],
                "curve": curve([8.8, 8.0, 7.7, 7.6], [8.8, 7.9, 7.5, 7.3]),
            },
        ],
        "unigram_nll": 9.2,
        "bigram_nll": 8.9,
        "train_tokens": 1000,
        "days": ["GOOG 2012-06-21"],
    }


def traces(fig) -> dict[str, object]:
    return {t.name: t for t in fig.data if t.name}


# ---- training log ---------------------------------------------------------------------------------


def test_parse_metrics_sorts_the_evaluations_and_keeps_the_final_summary() -> None:
    curve, final = mc.parse_metrics(LOG)
    assert curve["step"].tolist() == [10, 20] and curve["val_nll"].tolist() == [9.1, 8.8]
    assert final["val_nll"] == 8.75 and final["bigram_nll"] == 9.0


def test_parse_metrics_names_the_bad_line() -> None:
    with pytest.raises(ValueError, match=r"log.jsonl, line 2: not JSON"):
        mc.parse_metrics('{"step": 1}\n{oops\n', where="log.jsonl")
    with pytest.raises(ValueError, match="line 1: expected a JSON object"):
        mc.parse_metrics("[1, 2]")


def test_training_figure_draws_losses_baselines_final_star_and_lr() -> None:
    curve, final = mc.parse_metrics(LOG)
    fig = mc.training_figure(curve, {"unigram": 9.3, "bigram": 9.0}, final["val_nll"], x="tokens")
    named = traces(fig)
    assert list(named["Validation NLL"].y) == [9.1, 8.8] and list(named["Validation NLL"].x) == [1280, 2560]
    assert list(named["Training loss"].y) == [9.5, 9.0]
    assert list(named["Bigram baseline 9.000"].y) == [9.0, 9.0] and list(named["Unigram baseline 9.300"].y) == [
        9.3,
        9.3,
    ]
    star = named["Final validation NLL 8.750"]
    assert list(star.x) == [2560] and list(star.y) == [8.75]
    assert named["Learning rate"].yaxis == "y2" and list(named["Learning rate"].y) == [5e-4, 1e-3]
    assert fig.layout.xaxis2.title.text == "Tokens seen"
    with pytest.raises(ValueError, match="x must be"):
        mc.training_figure(curve, x="epochs")


def test_training_figure_skips_missing_baselines() -> None:
    curve, _ = mc.parse_metrics(LOG)
    names = set(traces(mc.training_figure(curve, {"unigram": None, "bigram": 9.0})))
    assert names == {"Training loss", "Validation NLL", "Bigram baseline 9.000", "Learning rate"}


# ---- scaling study --------------------------------------------------------------------------------


def test_scaling_curves_have_one_validation_and_one_training_line_per_size_smallest_first() -> None:
    fig = mc.scaling_curves_figure(study())
    validation = [t for t in fig.data if t.showlegend is not False and t.name in ("tiny", "small", "base")]
    assert [t.name for t in validation] == ["tiny", "small", "base"]
    assert list(validation[2].y) == [8.5, 7.6, 7.65, 7.75] and list(validation[2].x) == [1000, 2000, 3000, 4000]
    training = [t for t in fig.data if t.name and t.name.endswith(": training")]
    assert [t.line.dash for t in training] == ["dot"] * 3 and list(training[0].y) == [9.0, 8.6, 8.3, 8.1]
    assert list(traces(fig)["Bigram baseline 8.900"].y) == [8.9, 8.9]


def test_scaling_params_figure_puts_final_loss_against_parameters_on_a_log_axis() -> None:
    fig = mc.scaling_params_figure(study())
    line = fig.data[0]
    assert list(line.x) == [6_000, 20_000, 90_000] and list(line.y) == [8.0, 7.6, 7.7]
    assert list(line.text) == ["tiny 8.000", "small 7.600", "base 7.700"]
    assert fig.layout.xaxis.type == "log"
    assert set(fig.layout.xaxis.tickvals) >= {10_000, 20_000, 50_000}


def test_scaling_notes_say_when_bigger_is_not_better_and_who_overfits() -> None:
    notes = " ".join(mc.scaling_notes(study()))
    assert "3 of 3 sizes beat the bigram baseline" in notes and "the best, **small**, by 1.300 nats" in notes
    assert "Bigger is not better here: **small**" in notes and "larger base did not improve" in notes
    assert "**base** overfits: its validation loss bottomed at 7.600 after 2,000 tokens and ended at 7.750" in notes
    assert "**small** overfits" not in notes  # its validation loss fell to the end
    assert "4.0 passes over only 1,000 training tokens" in notes


def test_scaling_notes_for_a_clean_scaling_law() -> None:
    notes = " ".join(mc.scaling_notes(study((8.0, 7.8, 7.5))))
    assert "falls with every step up in size" in notes and "not better" not in notes
    assert mc.scaling_notes({"runs": []}) == ["The scaling study holds no finished runs."]


def test_study_mismatch_when_the_shipped_size_has_another_parameter_count() -> None:
    assert mc.study_mismatch(study(), "small", 20_000) is None
    assert mc.study_mismatch(study(), "huge", 1) is None and mc.study_mismatch(study(), "small", None) is None
    note = mc.study_mismatch(study(), "small", 22_048)
    assert "**small** run has 20,000 parameters and the shipped **small** model 22,048" in note


def test_log_ticks_use_1_2_5_over_few_decades_and_decades_over_many() -> None:
    assert mc.log_ticks(40_000, 1_400_000) == [50_000, 100_000, 200_000, 500_000, 1_000_000]
    assert mc.log_ticks(1e-9, 10) == [1e-9, 1e-7, 1e-5, 1e-3, 1e-1, 10]


# ---- generated vs real flow -------------------------------------------------------------------------


def test_histogram_edges_centre_whole_and_half_tick_lattices() -> None:
    edges = fl.histogram_edges(np.array([1.0, 2, 3, 3, 5]), 1, 5, bins=60)
    assert np.allclose((edges[:-1] + edges[1:]) / 2, [1, 2, 3, 4, 5])
    half = fl.histogram_edges(np.array([-0.5, 0, 0.5, 1.5]), -0.5, 1.5)
    assert np.allclose((half[:-1] + half[1:]) / 2, [-0.5, 0, 0.5, 1, 1.5])
    wide = fl.histogram_edges(np.arange(0, 601, dtype=float), 0, 600, bins=60)
    counts = np.histogram(np.arange(0, 601), wide)[0]
    assert np.allclose(np.diff(wide), 10.0) and (counts[:-1] == 10).all() and counts.sum() == 601  # no bin favoured


def test_flow_histograms_keep_far_outliers_off_the_chart_and_count_them() -> None:
    real = np.repeat(np.arange(10.0), 10)  # 0..9, 10 each
    noise = np.concatenate([np.repeat(np.arange(10.0), 9), np.full(10, 56_000.0)])  # 10% far away (like broken quotes)
    h = fl.flow_histograms({"real": real, "noise": noise})
    assert h.centres.max() < 20  # the far values do not stretch the range
    assert np.isclose(h.shares["real"].sum(), 1.0) and h.outside["real"] == 0
    assert np.isclose(h.outside["noise"], 0.1) and np.isclose(h.shares["noise"].sum(), 0.9)
    assert np.isclose(h.shares["real"][np.argmin(abs(h.centres - 3))], 0.1)


def test_flow_distributions_figure_has_six_panels_with_type_shares_and_overlaps() -> None:
    rng = np.random.default_rng(0)

    def frames(n: int, shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
        orders = pd.DataFrame(
            {
                "order_type": np.r_[np.zeros(n // 2), np.ones(n // 4), np.full(n - n // 2 - n // 4, 2)],
                "price_offset": np.round(rng.normal(5 + shift, 3, n)),
                "size": rng.normal(2, 0.3, n),
                "interarrival": rng.normal(-2, 1, n),
            }
        )
        book = pd.DataFrame({"spread": np.round(rng.uniform(1, 10, n)), "depth": rng.normal(3, 0.2, n)})
        return orders, book

    similarity = {"order_type": {"lmm": 0.91, "noise": 0.5}, "spread": {"lmm": 0.3, "noise": 0.6}}
    fig = fl.flow_distributions_figure({"real": frames(400, 0), "lmm": frames(200, 1)}, similarity)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.name for b in bars] == ["Real flow", "Order model (LMM)"]
    assert np.allclose(bars[0].y, [0.5, 0.25, 0.25])
    lines = [t for t in fig.data if t.type == "scatter"]
    assert len(lines) == 5 * 2  # five continuous metrics x two sources
    assert [t.showlegend for t in fig.data].count(True) == 2  # one legend entry per source
    titles = [a.text for a in fig.layout.annotations]
    assert "overlap with real: LMM 0.91" in titles[0] and "noise" not in titles[0]  # noise is not drawn
    assert "overlap with real: LMM 0.30" in titles[4]
    size_axis = fig.layout.xaxis3  # order size: log10 values drawn on a log axis in shares
    assert size_axis.type == "log" and min(lines[2].x) > 1  # 10 ** ~2


def test_similarity_frame_names_the_closer_background() -> None:
    table = fl.similarity_frame({"size": {"lmm": 0.8, "noise": 0.9}, "interarrival": {"lmm": 0.9, "noise": 0.3}})
    assert table["Metric"].tolist() == ["Order size", "Inter-arrival time"]
    assert table["Closer to real"].tolist() == ["Noise baseline", "Order model (LMM)"]
    assert table["Order model (LMM)"].tolist() == [0.8, 0.9]


# ---- tokens and orders --------------------------------------------------------------------------------


def test_durations_and_interval_slot_labels() -> None:
    assert [fl.fmt_duration(x) for x in (850, 12_500, 3_100_000, 2.4e9)] == ["850 ns", "12.5 µs", "3.1 ms", "2.4 s"]
    labels = fl.interval_labels([1_000, 5_000, 5_001, 2_000_000_000], n_slots=6)
    assert labels == ["≤ 1 µs", "1 µs–5 µs", "5 µs", "≥ 5 µs", "(unused)", "(unused)"]


def test_token_slots_figure_shows_each_sources_share_per_slot() -> None:
    generated = {"type": [0, 0, 1, 2], "price": [3, 3, 3, 31], "volume": [0, 1, 1, 1], "interval": [15, 15, 0, 0]}
    real = {"type": [2, 2], "price": [0, 1], "volume": [5, 5], "interval": [7, 8]}
    fig = fl.token_slots_figure(
        {"gen": generated, "real": real},
        {"volume": [f"{k} sh" for k in range(32)]},
        names={"gen": "Generated", "real": "Real"},
    )
    assert len(fig.data) == 8
    gen_type, real_type, gen_price = fig.data[0], fig.data[1], fig.data[2]
    assert gen_type.name == "Generated (4 tokens)" and np.allclose(gen_type.y, [0.5, 0.25, 0.25])
    assert np.allclose(real_type.y, [0, 0, 1])
    assert len(gen_price.y) == 32 and gen_price.y[3] == 0.75 and gen_price.y[31] == 0.25
    assert fig.data[4].customdata[1] == "1 sh" and "%{customdata}" in fig.data[4].hovertemplate
    assert len(fig.data[6].y) == 16 and fig.data[6].y[15] == 0.5


def test_orders_frame_shows_dollars_types_and_tokens() -> None:
    orders = pd.DataFrame(
        {
            "rollout": [0, 1, 0, 0],
            "ts": [52_800_000_000_000, 52_800_123_456_789, 52_801_000_000_000, 52_802_000_000_000],
            "event": [1, 1, 2, 3],
            "side": [1, -1, 1, -1],
            "price": [5_674_700, 5_679_000, 5_674_700, 5_679_000],
            "qty": [100, 13, 40, 13],
        }
    )
    tokens = {
        "token": [1, 2, 3, 4],
        "type": [0, 1, 2, 2],
        "price": [17, 23, 6, 20],
        "volume": [13, 6, 6, 6],
        "interval": [0, 3, 6, 1],
    }
    frame = fl.orders_frame(orders, tokens, limit=3)
    assert frame["Time"].tolist() == ["14:40:00.000", "14:40:00.123", "14:40:01.000"]
    assert frame["Type"].tolist() == ["bid", "ask", "cancel (part)"] and frame["Side"].tolist() == [
        "buy",
        "sell",
        "buy",
    ]
    assert frame["Price ($)"].tolist() == [567.47, 567.9, 567.47] and frame["Size (sh)"].tolist() == [100, 13, 40]
    assert frame["Rollout"].tolist() == [0, 1, 0] and frame["Price slot"].tolist() == [17, 23, 6]
    assert fl.orders_frame(orders)["Type"].iloc[3] == "cancel (all)"


def test_token_layout_in_words_follows_the_tokenizer() -> None:
    numbers = [int(n) for n in re.findall(r"\d+", fl.token_formula())]
    assert numbers == [N_PRICE, N_VOLUME, N_INTERVAL]
    rng = np.random.default_rng(1)
    parts = [rng.integers(0, n, 50) for n in (N_TYPES, N_PRICE, N_VOLUME, N_INTERVAL)]
    a, b, c = numbers
    assert (((parts[0] * a + parts[1]) * b + parts[2]) * c + parts[3] == join_token(*parts)).all()
    submits, cancels = fl.price_regions_text().removeprefix("slots ").split("; for cancels ")
    for text, regions in ((submits, SUBMIT_REGIONS), (cancels, CANCEL_REGIONS)):
        bounds = [re.match(r"(\d+)(?:–(\d+))?", part).groups() for part in text.split(", ")]  # "3–10 inside it", "0 …"
        spans = [(int(lo), int(hi if hi is not None else lo)) for lo, hi in bounds]
        assert [hi - lo + 1 for lo, hi in spans] == [n for _, n in regions]
        assert spans[0][0] == 0 and spans[-1][1] == N_PRICE - 1
    assert [n for _, _, n in fl.TOKEN_FIELDS] == [N_TYPES, N_PRICE, N_VOLUME, N_INTERVAL]
    assert [metric for metric, _, _ in fl.FLOW_METRICS] == list(METRICS)  # one panel per metric of the evaluation


# ---- the shipped files ------------------------------------------------------------------------------

shipped = pytest.mark.skipif(not (ORDER_MODEL_DIR / "metrics.jsonl").is_file(), reason="no shipped order model")


@shipped
def test_the_shipped_training_log_draws_every_evaluation_and_the_final_loss() -> None:
    text = (ORDER_MODEL_DIR / "metrics.jsonl").read_text()
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    steps = sorted((r for r in records if "step" in r and not r.get("final")), key=lambda r: r["step"])
    (last,) = [r for r in records if r.get("final")]
    curve, final = mc.parse_metrics(text)
    assert final == last and curve["step"].tolist() == [r["step"] for r in steps]
    fig = mc.training_figure(curve, {k: last[f"{k}_nll"] for k in ("unigram", "bigram")}, last["val_nll"])
    named = traces(fig)
    assert list(named["Validation NLL"].y) == [r["val_nll"] for r in steps]
    assert list(named["Training loss"].y) == [r["train_loss"] for r in steps]
    assert list(named[f"Final validation NLL {last['val_nll']:.3f}"].y) == [last["val_nll"]]
    assert list(named[f"Bigram baseline {last['bigram_nll']:.3f}"].y) == [last["bigram_nll"]] * 2


@shipped
def test_the_shipped_scaling_study_draws_every_size() -> None:
    study_ = json.loads((ORDER_MODEL_DIR / "scaling.json").read_text())
    runs = sorted(study_["runs"], key=lambda r: r["params"])
    line = mc.scaling_params_figure(study_).data[0]
    assert list(line.x) == [r["params"] for r in runs] and list(line.y) == [r["val_nll"] for r in runs]
    curves = mc.scaling_curves_figure(study_)
    for run in runs:
        (validation,) = [t for t in curves.data if t.name == run["size"]]
        assert list(validation.y) == [p["val_nll"] for p in run["curve"]]
    beat = sum(r["val_nll"] < study_["bigram_nll"] for r in runs)
    assert f"{beat} of {len(runs)} sizes beat the bigram baseline" in mc.scaling_notes(study_)[0]
