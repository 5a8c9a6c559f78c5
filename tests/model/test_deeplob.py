"""DeepLOB: its inputs (padding of a 5-level stock), a tiny training with early stopping, the checkpoint round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mars_core.data.schema import LobsterDay
from mars_core.engine import parse_clock
from mars_core.errors import MarsInputError
from mars_core.model import deeplob


def test_inputs_of_a_five_level_stock_are_padded(amzn_day: LobsterDay) -> None:
    states = deeplob.BookStates.of(amzn_day)
    last = states.index_at(np.array([parse_clock("11:00")]))
    x = states.windows(last, 100)
    assert x.shape == (1, 100, 40) and x.dtype == np.float32
    assert (x[..., 20:] == 0).all()  # levels 6-10 of AMZN: padded with zeros
    ask, bid = x[0, -1, 0], x[0, -1, 2]
    assert ask > 0 > bid and ask == pytest.approx(-bid)  # ticks from the last state's mid, scaled by 1/10
    assert (x[0, :, 1] > 0).all()  # log sizes of the best ask
    assert x[0, -1, 4] > ask and x[0, -1, 6] < bid  # deeper levels are further out


@pytest.fixture(scope="module")
def tiny(goog_day: LobsterDay, tmp_path_factory: pytest.TempPathFactory):
    states = deeplob.BookStates.of(goog_day)
    moments = np.arange(parse_clock("10:00"), parse_clock("10:10"), 5 * 10**9)
    classes = np.random.default_rng(0).integers(0, 3, size=(len(moments), 5))
    out = tmp_path_factory.mktemp("deeplob")
    torch.set_num_threads(1)
    config = deeplob.DeepLOBConfig(channels=4, inception=4, hidden=8)
    train = deeplob.DeepLOBTrainConfig(steps=6, batch_size=8, eval_every=2, warmup=2)
    return states, moments, out, deeplob.train([(states, moments, classes)], out, config, train)


def test_training_keeps_the_best_evaluation(tiny) -> None:
    states, moments, out, loaded = tiny
    losses = [json.loads(line)["val_loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 3 and loaded.summary["best"]["val_loss"] == min(losses)
    assert loaded.summary["train_samples"] == int(len(moments) * 0.85)


def test_checkpoint_round_trip_and_predictions(tiny) -> None:
    states, moments, out, loaded = tiny
    again = deeplob.load(out)
    classes, probs = deeplob.predict(again, states, moments[:4])
    first, _ = deeplob.predict(loaded, states, moments[:4])
    assert np.array_equal(classes, first) and classes.shape == (4, 5)
    assert probs.sum(-1) == pytest.approx(np.ones((4, 5)), abs=1e-5)
    early, p = deeplob.predict(again, states, np.array([states.ts[50]]))  # only 51 states before: no forecast
    assert (early == -1).all() and np.isnan(p).all()


def test_a_foreign_file_is_refused(tmp_path) -> None:
    torch.save({"format": 99}, tmp_path / deeplob.FILE)
    with pytest.raises(MarsInputError, match="not a DeepLOB checkpoint"):
        deeplob.load(tmp_path)
    with pytest.raises(MarsInputError, match="train-deeplob"):
        deeplob.load(tmp_path / "missing")


def test_train_command_writes_a_loadable_model_and_its_card(data_dir, tmp_path) -> None:
    from typer.testing import CliRunner

    from mars_core.cli.app import app

    args = ["forecast", "train-deeplob", "--symbols", "AMZN", "--steps", "2", "--every-s", "60", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["best"]["step"] == 2 and summary["days"] == [["AMZN", "2012-06-21"]]
    assert summary["train_samples"] == int(291 * 0.85)  # a moment a minute, 09:35-14:25
    card = (tmp_path / "model_card.md").read_text()
    assert "**AMZN has 5 levels**" in card and f"{summary['parameters']:,}" in card
    assert deeplob.load(tmp_path).summary["best"]["val_loss"] == summary["best"]["val_loss"]
