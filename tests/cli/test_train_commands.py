"""`mars train order-model` and `mars bench sampler` print one JSON object last."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mars_core.cli.bench import bench_app
from mars_core.cli.options import symbol_list
from mars_core.cli.train import train_app


def test_train_order_model_cli_writes_a_loadable_model_and_a_json_summary(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "m"
    args = [
        "order-model",
        "--out",
        str(out),
        "--symbols",
        "GOOG",
        "--size",
        "tiny",
        "--steps",
        "3",
        "--eval-every",
        "3",
        "--batch-size",
        "4",
        "--threads",
        "1",
        "--json",
        "--data-dir",
        str(data_dir),
    ]
    result = CliRunner().invoke(train_app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"val_nll", "unigram_nll", "bigram_nll", "params", "seconds", "steps", "coverage"} <= set(summary)
    assert summary["steps"] == 3 and summary["days"] == ["GOOG 2012-06-21"]
    assert (out / "model.pt").is_file() and (out / "metrics.jsonl").is_file()
    card = (out / "model_card.md").read_text()
    assert "mars train order-model --symbols GOOG --out DIR --size tiny --steps 3" in card
    assert f"{summary['val_nll']:.4f}" in card

    bench = CliRunner().invoke(
        bench_app, ["sampler", "--model", str(out), "--batches", "1,2", "--steps", "4", "--json"]
    )
    assert bench.exit_code == 0, bench.output
    figures = json.loads(bench.stdout.strip().splitlines()[-1])
    assert set(figures["tokens_per_s"]) == {"1", "2"} and all(v > 0 for v in figures["tokens_per_s_nocache"].values())
    assert figures["head_ms"]["full"] > 0


def test_symbols_accept_lists_commas_and_repeats() -> None:
    assert symbol_list(["GOOG", "AMZN"]) == ["GOOG", "AMZN"]
    assert symbol_list(["GOOG,AMZN"]) == ["GOOG", "AMZN"]
