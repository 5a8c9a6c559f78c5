"""AppTest of the Order Model page: the shipped model's card and curves, generated vs real flow, a live generation.

Figures are compared with the shipped files themselves (never hard-coded), so the page tests
keep passing when the model is retrained.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analysis.charts.market import PRICE_SCALE
from analysis.charts.training import parse_metrics
from mars_core import paths
from mars_core.data import find_dataset, load_day
from mars_core.data.orderflow import order_flow
from mars_core.experiments.model_eval import METRICS
from mars_core.model.vocab import N_LOB_BINS
from mars_core.paths import ORDER_MODEL_DIR
from mars_core.sim.config import SimConfig
from mars_core.sim.runner import run_simulation
from mars_core.store import RunDir
from pages import _model_ui, _ui

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
LOBSTER_DIR = REPO.parent / "shared" / "data" / "lobster"
PAGE = "pages/order_model.py"

SHIPPED = ("model_card.md", "metrics.jsonl", "scaling.json")  # the files besides the checkpoint
needs_model = pytest.mark.skipif(not (ORDER_MODEL_DIR / "model.pt").is_file(), reason="no shipped order model")


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    if not LOBSTER_DIR.is_dir():
        pytest.skip(f"the LOBSTER sample data is not at {LOBSTER_DIR}")
    monkeypatch.setenv("MARS_DATA_DIR", str(LOBSTER_DIR))
    monkeypatch.setenv("MARS_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def open_page(tab: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    if tab is not None:
        at.session_state["om_tab"] = tab
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def values(data: object) -> list:
    """A trace's data array from Plotly's JSON (plain lists, or base64 typed arrays)."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"])).tolist()
    return list(data)


def table(at: AppTest, column: str):
    """The page's dataframe that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def summary() -> dict:
    from mars_core.model.checkpoint import load_order_model

    return load_order_model().summary


def checkpoint_weights(path: Path = ORDER_MODEL_DIR / "model.pt") -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def metric(at: AppTest, label: str):  # noqa: ANN201 (an AppTest Metric)
    return next(m for m in at.metric if m.label == label)


def texts(elements) -> str:  # noqa: ANN001 (AppTest element lists)
    return "\n".join(str(e.value) for e in elements)


@needs_model
def test_card_metrics_training_and_scaling_curves_come_from_the_shipped_files(runs: Path) -> None:
    at = open_page()
    assert at.title[0].value == "Order model"
    shipped = summary()
    assert metric(at, "Validation NLL").value == f"{shipped['val_nll']:.3f}"
    assert metric(at, "Validation NLL").delta == f"{shipped['val_nll'] - shipped['bigram_nll']:+.3f} vs bigram"
    assert metric(at, "Bigram baseline").value == f"{shipped['bigram_nll']:.3f}"
    assert metric(at, "Parameters").delta == f"size {shipped['size']}"
    assert f"{shipped['params']:,} parameters" in metric(at, "Parameters").help
    assert metric(at, "Training time").delta == f"{shipped['steps']} steps"
    assert metric(at, "Tokens seen").delta == f"{shipped['tokens_seen'] / shipped['train_tokens']:.1f} epochs"
    card = (ORDER_MODEL_DIR / "model_card.md").read_text()
    title = next(line for line in card.splitlines() if line.startswith("# "))[2:]
    assert any(f"### {title}" in m.value for m in at.markdown)  # the card, its headings under the page's title
    command = _model_ui.train_command(card)
    assert command.startswith("mars train order-model") and any(c.value == command for c in at.code)
    # the side panel: the context width as the checkpoint's weights have it, and every file with its size
    weights = checkpoint_weights()
    columns = weights["model"]["lob_proj"].shape[0] // N_LOB_BINS
    assert f"{columns} book-context columns" in texts(at.markdown)
    assert f"last {weights['model_args']['window']} orders" in texts(at.markdown)
    for name in ("model.pt", *SHIPPED):
        assert f"`{name}` · {(ORDER_MODEL_DIR / name).stat().st_size / 1024:,.0f} KB" in texts(at.markdown)

    at.session_state["om_tab"] = "Training"
    at.run()
    assert not at.exception
    curve, final = parse_metrics((ORDER_MODEL_DIR / "metrics.jsonl").read_text())
    (training,) = figures(at)
    named = {t.get("name"): t for t in training["data"]}
    assert values(named["Validation NLL"]["y"]) == curve["val_nll"].tolist()
    assert values(named["Training loss"]["y"]) == curve["train_loss"].tolist()
    assert values(named["Training loss"]["x"]) == curve["step"].tolist()
    assert values(named["Learning rate"]["y"]) == curve["lr"].tolist()
    assert values(named[f"Bigram baseline {shipped['bigram_nll']:.3f}"]["y"]) == [shipped["bigram_nll"]] * 2
    assert values(named[f"Unigram baseline {shipped['unigram_nll']:.3f}"]["y"]) == [shipped["unigram_nll"]] * 2
    assert values(named[f"Final validation NLL {final['val_nll']:.3f}"]["y"]) == [final["val_nll"]]
    assert len(table(at, "train_loss")) == len(curve)
    at.segmented_control(key="om_train_x").set_value("Tokens seen").run()
    (training,) = figures(at)
    named = {t.get("name"): t for t in training["data"]}
    assert values(named["Validation NLL"]["x"]) == curve["tokens"].tolist()

    at.session_state["om_tab"] = "Scaling"
    at.run()
    assert not at.exception
    study = json.loads((ORDER_MODEL_DIR / "scaling.json").read_text())
    runs_by_size = sorted(study["runs"], key=lambda r: r["params"])
    curves, by_params = figures(at)
    validation = [
        t for t in curves["data"] if t.get("showlegend") is not False and t["name"] in {r["size"] for r in runs_by_size}
    ]
    assert [t["name"] for t in validation] == [r["size"] for r in runs_by_size]
    for trace, run in zip(validation, runs_by_size):
        assert values(trace["y"]) == [point["val_nll"] for point in run["curve"]]
        assert values(trace["x"]) == [point["tokens"] for point in run["curve"]]
    assert values(by_params["data"][0]["x"]) == [r["params"] for r in runs_by_size]
    assert values(by_params["data"][0]["y"]) == [r["val_nll"] for r in runs_by_size]
    assert by_params["layout"]["xaxis"]["type"] == "log"
    beat = sum(r["val_nll"] < study["bigram_nll"] for r in runs_by_size)
    assert f"{beat} of {len(runs_by_size)} sizes beat the bigram baseline ({study['bigram_nll']:.3f} nats)" in texts(
        at.markdown
    )
    same_size = [r for r in runs_by_size if r["size"] == shipped["size"]]
    if same_size and same_size[0]["params"] != shipped["params"]:  # a study of an earlier version of the model
        assert f"the shipped **{shipped['size']}** model {shipped['params']:,}" in texts(at.info)
    else:
        assert not at.info
    sizes = table(at, "Validation NLL")
    assert sizes["Size"].tolist() == [r["size"] for r in runs_by_size]
    assert sizes["Validation NLL"].tolist() == [r["val_nll"] for r in runs_by_size]


def stand_in_evaluation(runs: Path) -> tuple[Path, int]:
    """An evaluation directory as `mars evaluate-model` writes it, made fast: one short noise run filed under both
    backgrounds. Returns it and the number of orders of that run."""
    out = runs / "model-eval"
    config = SimConfig(
        symbol="GOOG",
        date="2012-06-21",
        start="14:30",
        minutes=0.5,
        rollouts=1,
        background="noise",
        snapshot_interval_ms=0,
    )
    run_simulation(config, out / "lmm" / "GOOG_1430", str(LOBSTER_DIR), workers=1)
    shutil.copytree(out / "lmm", out / "noise")
    (out / "evaluation.json").write_text(json.dumps({"symbols": ["GOOG"], "minutes": 0.5, "every": 10, "rollouts": 1}))
    similarity = {m: {"lmm": 0.8, "noise": 0.5} for m in METRICS}
    generated = len(RunDir(out / "lmm" / "GOOG_1430").table("orders").query("agent == 1 and status == 0"))
    (out / "result.json").write_text(
        json.dumps(
            {
                "val_nll": summary()["val_nll"],
                "similarity": similarity,
                "lmm_wins": len(METRICS),
                "metrics": len(METRICS),
                "orders": {"real": 100, "lmm": generated, "noise": generated},
                "starts": 1,
                "rollouts": 1,
                "minutes": 0.5,
            }
        )
    )
    return out, generated


@needs_model
def test_generated_vs_real_flow_pools_the_runs_of_an_evaluation(runs: Path) -> None:
    out, generated = stand_in_evaluation(runs)
    at = open_page("Generated vs real flow")
    assert not at.error and not at.warning, [e.value for e in at.error]  # same checkpoint: no "another model" warning
    assert at.selectbox(key="om_eval").value == str(out)
    assert metric(at, "LMM closer than noise").value == f"{len(METRICS)} of {len(METRICS)}"
    assert metric(at, "Generated orders (LMM)").value == f"{generated:,}"
    (flow,) = figures(at)
    titles = [a["text"] for a in flow["layout"]["annotations"]]
    assert len(titles) == len(METRICS) and all("overlap with real: LMM 0.80 · noise 0.50" in t for t in titles)
    bars = [t for t in flow["data"] if t["type"] == "bar"]
    assert [b["name"] for b in bars] == ["Real flow", "Order model (LMM)", "Noise baseline"]
    assert values(bars[1]["y"]) == values(bars[2]["y"])  # the same run under both names
    assert sum(values(bars[0]["y"])) == pytest.approx(1.0)
    similarities = table(at, "Closer to real")
    assert len(similarities) == len(METRICS) and set(similarities["Closer to real"]) == {"Order model (LMM)"}

    # a result made with another checkpoint says so
    result = json.loads((out / "result.json").read_text())
    (out / "result.json").write_text(json.dumps({**result, "val_nll": result["val_nll"] + 1}))
    at = open_page("Generated vs real flow")
    assert "made with another checkpoint" in at.warning[0].value


@needs_model
def test_a_quick_evaluation_runs_from_the_page_and_is_shown(runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the smallest evaluation (one start point, one rollout of a minute per background), next to an earlier one
    monkeypatch.setitem(_model_ui.QUICK_EVAL, "minutes", 1)
    monkeypatch.setitem(_model_ui.QUICK_EVAL, "rollouts", 1)
    monkeypatch.setitem(_model_ui.QUICK_EVAL, "every", 24 * 60)
    earlier, _ = stand_in_evaluation(runs)
    at = open_page("Generated vs real flow")
    assert at.selectbox(key="om_eval").value == str(earlier)
    at.selectbox(key="om_eval_symbol").select("GOOG")
    at.button(key="om_eval_button").click().run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    (quick,) = [p for p in runs.iterdir() if p.name.startswith("model-eval-quick-GOOG-")]
    result = json.loads((quick / "result.json").read_text())
    assert at.selectbox(key="om_eval").value == str(quick)  # the new one is shown
    assert result["starts"] == 1 and result["rollouts"] == 1 and not at.warning  # made with the shipped model
    assert metric(at, "Generated orders (LMM)").value == f"{result['orders']['lmm']:,}"
    assert metric(at, "Real orders").value == f"{result['orders']['real']:,}"
    assert metric(at, "LMM closer than noise").value == f"{result['lmm_wins']} of {result['metrics']}"
    similarities = table(at, "Closer to real")
    assert similarities["Order model (LMM)"].tolist() == [result["similarity"][m]["lmm"] for m in METRICS]
    assert len(at.selectbox(key="om_eval").options) == 2


@needs_model
def test_a_one_minute_one_rollout_generation_completes(runs: Path) -> None:
    at = open_page("Live generation")
    assert at.time_input(key="om_start").value == _model_ui.LIVE_DEFAULT_START  # the held-out afternoon
    at.number_input(key="om_rollouts").set_value(1)
    at.button(key="om_generate_button").click().run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    (run_dir,) = [p for p in runs.iterdir() if (p / "config.json").is_file()]
    config = json.loads((run_dir / "config.json").read_text())
    start = _model_ui.LIVE_DEFAULT_START.strftime("%H:%M:%S")
    assert (config["background"], config["rollouts"], config["minutes"], config["start"]) == ("lmm", 1, 1.0, start)

    # what the page shows is what the run wrote: the model's accepted orders
    written = RunDir(run_dir).table("orders", 0, "main").query("agent == 1 and status == 0 and event in (1, 2, 3)")
    written = written.sort_values("ts", kind="stable")
    assert metric(at, "Generated orders per rollout").value == f"{len(written):,}"
    kinds = np.where(written["event"] == 1, np.where(written["side"] > 0, 0, 1), 2)
    cancels = float(np.mean(kinds == 2))
    assert metric(at, "Cancels").value == f"{cancels:.0%}"
    orders = table(at, "Type")
    shown = min(len(written), at.session_state["om_rows"])
    assert len(orders) == shown > 0
    assert orders["Time"].iloc[0] >= start and orders["Time"].iloc[-1] < "14:41:00"
    assert orders["Price ($)"].tolist() == (written["price"].iloc[:shown] / PRICE_SCALE).tolist()
    assert orders["Size (sh)"].tolist() == written["qty"].iloc[:shown].tolist()
    names = {1: None, 2: "cancel (part)", 3: "cancel (all)"}
    expected = [
        names[e] or ("bid" if side > 0 else "ask")
        for e, side in zip(written["event"].iloc[:shown], written["side"].iloc[:shown])
    ]
    assert orders["Type"].tolist() == expected

    fan, tokens = figures(at)
    assert fan["layout"]["title"]["text"].endswith("real mid vs generated mids (1 rollout)")
    # token level: one token per generated order, and the real orders of the same minute
    flow = order_flow(load_day(find_dataset(config["symbol"], dt.date.fromisoformat(config["date"]), LOBSTER_DIR)))
    t0 = _ui.to_ns(_model_ui.LIVE_DEFAULT_START)
    real = int(np.count_nonzero((flow.ts >= t0) & (flow.ts < t0 + 60 * 10**9)))
    generated_types, real_types = tokens["data"][0], tokens["data"][1]
    assert generated_types["name"] == f"Generated ({len(written):,} tokens)"
    assert real_types["name"] == f"Real, same window ({real:,} tokens)"
    assert values(generated_types["y"]) == pytest.approx(np.bincount(kinds, minlength=3) / len(kinds))
    assert sum(values(real_types["y"])) == pytest.approx(1.0)


@needs_model
def test_bad_generation_settings_show_what_to_fix(runs: Path) -> None:
    at = open_page("Live generation")
    at.time_input(key="om_start").set_value(dt.time(8, 0))
    at.button(key="om_generate_button").click().run()
    assert not at.exception
    assert "Start:" in at.error[0].value and "outside" in at.error[0].value
    too_long, none = _model_ui.MAX_LIVE_MINUTES + 1, 0
    at.number_input(key="om_minutes").set_value(too_long)
    at.number_input(key="om_rollouts").set_value(none)
    at.button(key="om_generate_button").click().run()
    assert not at.exception
    message = at.error[0].value
    assert f"Minutes: choose between 1 and {_model_ui.MAX_LIVE_MINUTES} (was {too_long})" in message
    assert f"Rollouts: choose between 1 and {_model_ui.MAX_LIVE_ROLLOUTS} (was {none})" in message
    assert not runs.exists() or not any(runs.iterdir())  # nothing ran


def test_without_a_model_the_page_says_how_to_train_one(
    runs: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path / "no-models")
    at = open_page()
    assert not at.error
    assert "No order model ships yet" in at.info[0].value
    assert any(c.value == _model_ui.DEFAULT_TRAIN_COMMAND for c in at.code)
    for tab, missing in (
        ("Training", "No training log (`metrics.jsonl`)"),
        ("Scaling", "No scaling study (`scaling.json`)"),
    ):
        at = open_page(tab)
        assert missing in texts(at.info)
    at = open_page("Live generation")
    assert "needs a shipped order model" in texts(at.info)
    assert not at.get("plotly_chart")


@needs_model
def test_a_checkpoint_that_does_not_fit_the_code_is_an_error_not_a_traceback(
    runs: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # e.g. a checkpoint with one more context column than this code's model: weights of another shape
    folder = tmp_path / "models" / _ui.ORDER_MODEL
    folder.mkdir(parents=True)
    for name in SHIPPED:
        shutil.copy(ORDER_MODEL_DIR / name, folder / name)
    import torch

    payload = checkpoint_weights()
    lob = payload["model"]["lob_proj"]
    payload["model"]["lob_proj"] = torch.cat([lob, lob[:N_LOB_BINS]])
    torch.save(payload, folder / "model.pt")
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path / "models")
    at = open_page()
    # checked before the model is built (model/checkpoint.check_structure): the file and the tensor are named
    assert "model.pt: damaged checkpoint: tensor lob_proj" in at.error[0].value and "has shape" in at.error[0].value
    assert any(c.value == _model_ui.train_command((folder / "model_card.md").read_text()) for c in at.code)
    at = open_page("Training")  # the rest of the page still reads the files
    curve, _ = parse_metrics((folder / "metrics.jsonl").read_text())
    (training,) = figures(at)
    assert (
        values(next(t for t in training["data"] if t.get("name") == "Validation NLL")["y"]) == curve["val_nll"].tolist()
    )
    at = open_page("Live generation")
    assert "needs a shipped order model" in texts(at.info)
