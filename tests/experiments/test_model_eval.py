"""Model evaluation: a background's flow is measured as LOBSTER shows the real one."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mars_core.engine import OrderKind
from mars_core.errors import ConfigError
from mars_core.experiments.model_eval import background_orders, evaluate_model, lmm_decoding
from mars_core.sim.config import SimConfig

LIMIT, MARKET, IOC = OrderKind.LIMIT, OrderKind.MARKET, OrderKind.IOC
COLUMNS = ["ts", "event", "order_id", "agent", "side", "price", "qty", "kind", "status"]


def test_background_flow_counts_its_cancels_of_history_and_prices_taking_orders_by_their_executions() -> None:
    orders = pd.DataFrame(
        [
            (1, 1, 10, 1, 1, 5000, 100, LIMIT, 0),  # a resting buy
            (2, 3, 7, 0, -1, 5100, 300, LIMIT, 0),  # deletes a historical order (logged under its owner, agent 0)
            (3, 1, 11, 1, 1, 0, 250, MARKET, 0),  # market buy: executes 200 at 5100 and 50 at 5200
            (4, 1, 12, 1, -1, 4800, 100, IOC, 0),  # IOC sell: executes 40 at 5000
            (5, 1, 13, 1, -1, 4000, 100, IOC, 0),  # IOC that finds nothing: invisible in LOBSTER
            (6, 1, 14, 1, 1, 5000, 100, LIMIT, 8),  # rejected
            (7, 1, 15, 0, 1, 5000, 100, LIMIT, 0),  # a historical submission: not the background's
        ],
        columns=COLUMNS,
    )
    trades = pd.DataFrame({"taker_id": [11, 11, 12], "price": [5100, 5200, 5000], "qty": [200, 50, 40]})
    flow = background_orders(orders, trades, agent=1)
    assert flow.ts.tolist() == [1, 2, 3, 4]
    assert flow.price.tolist() == [5000, 5100, 5200, 5000]
    assert flow.qty.tolist() == [100, 300, 250, 40]
    assert flow.event.tolist() == [1, 3, 1, 1]


def test_model_eval_decoding_defaults_to_the_config_and_validates_given_values() -> None:
    defaults = SimConfig(symbol="GOOG", date="2012-06-21")
    assert lmm_decoding(None, None) == {"lmm_temperature": defaults.lmm_temperature, "lmm_top_p": defaults.lmm_top_p}
    assert lmm_decoding(0.8, None) == {"lmm_temperature": 0.8, "lmm_top_p": defaults.lmm_top_p}
    with pytest.raises(ConfigError, match="decoding: lmm_top_p: Input should be less than or equal to 1"):
        lmm_decoding(None, 1.5)


def test_model_eval_decodes_the_generative_background_only_with_the_given_settings(
    tmp_path: Path, data_dir: Path
) -> None:
    seen: list[tuple[int, int]] = []
    options = dict(minutes=1, every=1, rollouts=1, window=("14:30", "14:31"), data_dir=str(data_dir), workers=1)
    result = evaluate_model(
        ["GOOG"], tmp_path, **options, temperature=0.9, top_p=0.95, progress=lambda d, t, _: seen.append((d, t))
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]  # one rollout of each background, reported as it finishes
    seen.clear()
    assert (
        evaluate_model(
            ["GOOG"], tmp_path, **options, temperature=0.9, top_p=0.95, progress=lambda d, t, _: seen.append((d, t))
        )["similarity"]
        == result["similarity"]
    )  # reopened: nothing simulated again, the finished rollouts counted
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert result["decoding"] == {"lmm_temperature": 0.9, "lmm_top_p": 0.95} and result["starts"] == 1
    run_config = lambda bg: json.loads((tmp_path / bg / "GOOG_1430" / "config.json").read_text())  # noqa: E731
    assert (run_config("lmm")["lmm_temperature"], run_config("lmm")["lmm_top_p"]) == (0.9, 0.95)
    assert (run_config("noise")["lmm_temperature"], run_config("noise")["lmm_top_p"]) == (1.0, 1.0)  # unused by noise
    # the noise baseline is fitted on the model's training split; the whole-day fit is reported next to it
    assert (
        run_config("noise")["noise_fit_until"] == "14:30:00"
        and run_config("noise_whole_day")["noise_fit_until"] is None
    )
    assert set(result["similarity"]["size"]) == {"lmm", "noise", "noise_whole_day"}
    assert result["lmm_wins"] == sum(v["lmm"] > v["noise"] for v in result["similarity"].values())


def test_the_generative_runs_of_every_start_go_to_the_executor_together(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mars_core.sim import lockstep

    maps: list[list[str]] = []
    real = lockstep.run_units

    def spy(fn, units, *args, **kwargs):  # noqa: ANN001, ANN202 (a spy on the executor)
        maps.append([Path(unit[1]).name for unit in units])
        return real(fn, units, *args, **kwargs)

    monkeypatch.setattr(lockstep, "run_units", spy)
    options = dict(minutes=1, every=1, rollouts=1, window=("14:30", "14:32"), data_dir=str(data_dir), workers=1)
    result = evaluate_model(["GOOG"], tmp_path, **options)
    assert maps == [["GOOG_1430", "GOOG_1431"]] and result["starts"] == 2  # one map: both starts' groups
