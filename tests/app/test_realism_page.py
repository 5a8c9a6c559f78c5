"""The Realism page: a finished `mars realism` evaluation shown value by value, a tiny run from the form, resuming,
bad input and broken directories (AppTest), and the page's helpers."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analysis import realism_reference as paper
from analysis.charts import realism as rc
from analysis.similarity import METRIC_NAMES, METRICS
from analysis.stylized_facts import FACT_NAMES, FACT_TESTS, FACTS
from mars_core import paths
from mars_core.errors import ConfigError
from mars_core.experiments.realism import evaluation_dir
from pages import _realism_ui, _runs_ui

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
PAGE = "pages/realism.py"
TINY = [
    "--symbol",
    "GOOG",
    "--backgrounds",
    "replay,noise",
    "--minutes",
    "10",
    "--every",
    "30",
    "--rollouts",
    "2",
    "--window",
    "10:00",
    "11:30",
    "--ceiling-window",
    "12:00",
    "13:30",
    "--bootstrap",
    "100",
]  # 3 x 2 on the training window (tests never look at the held-out afternoon)


@pytest.fixture(scope="session")
def cli_evaluation(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, dict]:
    """`mars realism` of GOOG, 3 start points (10:00, 10:30, 11:00) x 2 noise rollouts of 10 minutes (a few seconds),
    and the JSON it printed on its last line; built once per test session (xdist workers share it)."""
    from filelock import FileLock

    from mars_core.cli import main

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out, printed = shared / "tiny-realism", shared / "tiny-realism.json"
    with FileLock(str(shared / "tiny-realism.lock")):
        if not printed.exists():
            stdout = io.StringIO()
            with redirect_stdout(stdout), pytest.raises(SystemExit) as done:
                main(["realism", *TINY, "--out", str(out), "--workers", "1", "--data-dir", str(data_dir), "--json"])
            assert int(done.value.code or 0) == 0, stdout.getvalue()
            printed.write_text(stdout.getvalue().strip().splitlines()[-1])
    return out, json.loads(printed.read_text())


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path) -> Path:
    monkeypatch.setenv("MARS_DATA_DIR", str(data_dir))
    monkeypatch.setenv(paths.RUNS_ENV, str(tmp_path / "runs"))
    return tmp_path / "runs"


@pytest.fixture
def runs_with_evaluation(runs: Path, cli_evaluation: tuple[Path, dict]) -> Path:
    """The CLI's evaluation where `mars realism` puts it by default: <runs>/realism_GOOG."""
    target = runs / "realism_GOOG"
    shutil.copytree(cli_evaluation[0], target)
    return target


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at: AppTest, column: str, nth: int = 0):  # noqa: ANN201 (a DataFrame)
    """The `nth` dataframe shown with `column` (AppTest does not expose dataframe keys)."""
    return [d.value for d in at.dataframe if column in d.value.columns][nth]


def charts(at: AppTest) -> dict[str, dict]:
    """The page's plotly figures (their JSON, as sent to the browser) by widget key."""
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def curve(figure: dict, background: str) -> np.ndarray:
    """A background's curve (the line with markers, first subplot) of a fact figure."""
    return ys(
        next(t for t in figure["data"] if t.get("legendgroup") == background and t.get("mode") == "lines+markers")
    )


def ys(trace: dict) -> np.ndarray:
    """A trace's y values as floats (NaN for gaps)."""
    y = trace["y"]
    if isinstance(y, dict):  # plotly's typed array: {"dtype": "f8", "bdata": base64 of the values}
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).astype(float)
    return np.array([np.nan if v is None else v for v in y], dtype=float)


def texts(elements) -> str:  # noqa: ANN001 (AppTest element lists)
    return "\n".join(str(e.value) for e in elements)


def mark(present: bool) -> str:
    return rc.PRESENT if present else rc.ABSENT


# ---- the command's output ------------------------------------------------------------------------


def test_mars_realism_prints_the_result_it_writes(cli_evaluation: tuple[Path, dict]) -> None:
    out, printed = cli_evaluation
    facts, summary = json.loads((out / "facts.json").read_text()), json.loads((out / "summary.json").read_text())
    assert printed == summary and printed["protocol"] == "per-minute"
    assert printed["starts"] == 3 and printed["ceiling"]["starts"] == 3  # ceiling starts 12:00, 12:30, 13:00
    assert set(printed["backgrounds"]) == {"replay", "noise"} and set(facts) == {"replay", "noise"}
    rows = printed["backgrounds"]["noise"]["similarity"]["rows"]
    assert set(rows) == set(METRICS) and all(v is None or 0 <= v <= 1 for v in rows.values())
    for f in FACTS:
        assert printed["facts"]["noise"][f]["present"] == facts["noise"][f]["present"]


# ---- the page ------------------------------------------------------------------------------------


def test_page_without_evaluations_explains_what_to_do(runs: Path) -> None:
    at = open_page()
    assert at.title[0].value == "Realism"
    assert "No evaluations yet" in texts(at.info) and str(runs) in texts(at.info)
    assert at.button(key="re_run").disabled is False  # the defaults are a valid evaluation
    assert "31 start points × 4 rollouts × 1 background = **124 simulated futures** of 30 min" in texts(at.caption)
    options = at.get("button_group")[0].proto.options
    has_model = (REPO / "assets" / "models" / "order_model" / "model.pt").is_file()
    assert [o.content for o in options] == (["Noise traders", "Order model (LMM)"] if has_model else ["Noise traders"])


def test_page_shows_a_finished_evaluation_value_by_value(runs_with_evaluation: Path) -> None:
    evaluation = runs_with_evaluation
    facts, summary = (
        json.loads((evaluation / "facts.json").read_text()),
        json.loads((evaluation / "summary.json").read_text()),
    )
    at = open_page()
    assert not at.error and not at.warning, texts(at.error) + texts(at.warning)
    choice = at.selectbox(key="re_evaluation")
    assert (
        choice.value == str(evaluation)
        and "GOOG all days · noise · 2 rollouts × 10 min every 30 min" in choice.options[0]
    )

    # key figures: the sample, the ceiling, the background's similarity with its interval
    cards = {m.label: m for m in at.metric}
    assert cards["Start windows × rollouts"].value == "3 × 2"
    assert cards["Ceiling (real vs real)"].value == f"{summary['ceiling']['mean']:.3f}"
    noise = summary["backgrounds"]["noise"]["similarity"]
    assert cards["Noise traders"].value == f"{noise['mean']:.3f}"
    assert f"95% CI [{noise['ci'][0]:.3f}, {noise['ci'][1]:.3f}]" in cards["Noise traders"].proto.delta

    # Table 6: ours per background, the paper's, the test
    presence = table(at, "Stylized fact")
    assert list(presence["Stylized fact"]) == [FACT_NAMES[f] for f in FACTS]
    assert list(presence["Replay (real day)"]) == [mark(facts["replay"][f]["present"]) for f in FACTS]
    assert list(presence["Noise traders"]) == [mark(facts["noise"][f]["present"]) for f in FACTS]
    assert list(presence["Paper: simulated"]) == [mark(paper.TABLE6[f]["simulated"]) for f in FACTS]
    assert list(presence["Test for “present”"]) == [FACT_TESTS[f] for f in FACTS]

    # every fact drawn, grouped by the paper's figures, replay against noise with its sample sizes and statistic
    assert [t.label for t in at.tabs] == [
        "Fig. 17: fact 1",
        "Fig. 18: facts 2, 4, 7",
        "Fig. 19: facts 3, 6, 8",
        "Fig. 20: facts 5, 9",
        "Fig. 21: facts 10, 11",
    ]
    figures = charts(at)
    assert set(figures) == {f"re_chart_{f}" for f in FACTS} | {"re_similarity_chart", "re_fidelity_chart"}
    for fact, key in (("heavy_tails", "kurtosis"), ("volatility_clustering", "acf"), ("leverage_effect", "corr")):
        for bg in ("replay", "noise"):
            expected = np.array([np.nan if v is None else v for v in facts[bg][fact][key]], dtype=float)
            np.testing.assert_allclose(curve(figures[f"re_chart_{fact}"], bg), expected)
    subtitle = figures["re_chart_heavy_tails"]["layout"]["title"]["subtitle"]["text"]
    assert (
        f"Replay n = {facts['replay']['heavy_tails']['n']:,}" in subtitle
        and f"Noise n = {facts['noise']['heavy_tails']['n']:,}" in subtitle
    )
    shown = [fact for group in rc.paper_figure_groups().values() for fact in group]  # tab by tab
    assert sorted(shown) == sorted(FACTS)
    for i, fact in enumerate(shown):
        stats = table(at, "Statistic (95% CI)", nth=i)
        assert list(stats["n"]) == [facts["replay"][fact]["n"], facts["noise"][fact]["n"]]
        assert list(stats["Statistic (95% CI)"]) == [rc.statistic(fact, facts[bg][fact]) for bg in ("replay", "noise")]

    # per-minute Table 7: each row's similarity next to the ceiling and the paper's, the mean with its interval
    similarity = table(at, "Ceiling (real vs real)").set_index("Row")
    assert list(similarity.index) == [METRIC_NAMES[m] for m in METRICS]
    for m in METRICS:
        row = similarity.loc[METRIC_NAMES[m]]
        expected = (summary["ceiling"]["rows"][m], noise["rows"][m], paper.TABLE7[m]["similarity"])
        assert (row["Ceiling (real vs real)"], row["Noise traders"], row["Paper"]) == pytest.approx(
            expected, nan_ok=True
        )
    means = table(at, "Mean similarity of").set_index("Mean similarity of")
    assert means.loc["Noise traders", ["Mean", "95% CI low", "95% CI high"]].tolist() == pytest.approx(
        [noise["mean"], *noise["ci"]]
    )
    assert means.loc["Ceiling (real vs real)", "Mean"] == pytest.approx(summary["ceiling"]["mean"])
    accuracy = table(at, "Persistence").set_index("Row")
    cell = summary["backgrounds"]["noise"]["accuracy"]["spread"]
    assert accuracy.loc["Spread", "Noise accuracy"] == pytest.approx(cell["accuracy"])
    assert accuracy.loc["Spread", "Persistence"] == pytest.approx(cell["persistence"])
    assert "time of day" in texts(at.caption)

    # closed-loop fidelity: ratio per bucket with the band [0.8, 1.25] shaded
    fidelity = figures["re_fidelity_chart"]
    band = [s for s in fidelity["layout"]["shapes"] if s.get("fillcolor")]
    assert [(b["y0"], b["y1"]) for b in band] == [(0.8, 1.25)]  # one panel: noise
    assert fidelity["layout"]["annotations"][0]["text"] == "Noise traders"
    spread = next(t for t in fidelity["data"] if t.get("name") == "Mean spread" and t.get("xaxis", "x") == "x")
    np.testing.assert_allclose(
        ys(spread), [np.nan if v is None else v for v in summary["backgrounds"]["noise"]["fidelity"]["spread"]]
    )
    buckets = table(at, "0–5 min").set_index(["Background", "Metric"])
    assert buckets.loc[("Noise", "Submissions"), "5–10 min"] == pytest.approx(
        summary["backgrounds"]["noise"]["fidelity"]["submissions"][1]
    )

    assert [e.label for e in at.expander] == ["Caveats"]
    assert [b.label for b in at.get("download_button")] == ["Report (HTML)", "Report (PDF)"]


def test_run_a_tiny_evaluation_from_the_form_and_run_it_again(runs: Path) -> None:
    at = open_page()
    at.selectbox(key="re_symbol").set_value("GOOG").run()
    at.number_input(key="re_minutes").set_value(10)
    at.number_input(key="re_every").set_value(30)
    at.text_input(key="re_from").set_value("10:00")
    at.text_input(key="re_to").set_value("11:30")
    at.number_input(key="re_rollouts").set_value(2).run()
    assert "3 start points × 2 rollouts × 1 background = **6 simulated futures** of 10 min" in texts(at.caption)
    at.button(key="re_run").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert "Finished: 3 start points × 2 rollouts" in at.get("progress")[0].proto.text
    (evaluation,) = runs.glob("realism/GOOG-*")
    assert json.loads((evaluation / "realism.json").read_text())["backgrounds"] == ["noise"]
    assert at.selectbox(key="re_evaluation").value == str(evaluation)  # the new evaluation is shown
    assert {m.label: m.value for m in at.metric}["Start windows × rollouts"] == "3 × 2"
    at.button(key="re_run").click().run()  # the same settings again: reopened, not simulated again
    assert "already run" in texts(at.info) and len(list(runs.glob("realism/*"))) == 1


def test_an_unfinished_evaluation_resumes_in_its_own_directory(runs_with_evaluation: Path) -> None:
    evaluation = runs_with_evaluation
    expected = json.loads((evaluation / "summary.json").read_text())["backgrounds"]
    for name in ("facts.json", "summary.json"):  # the rollouts are on disk, the analysis is not
        (evaluation / name).unlink()
    at = open_page()
    assert "This evaluation has not finished: 6 simulated futures are done" in texts(at.warning)
    at.button(key="re_resume_button").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert "Finished: 3 start points × 2 rollouts" in at.get("progress")[0].proto.text
    assert json.loads((evaluation / "summary.json").read_text())["backgrounds"] == expected  # the same, same place
    assert not list(evaluation.parent.glob("realism/*")) and at.selectbox(key="re_evaluation").value == str(evaluation)


def test_a_broken_evaluation_is_explained_not_raised(runs_with_evaluation: Path) -> None:
    (runs_with_evaluation / "facts.json").write_text("{not json")
    (runs_with_evaluation.parent / "junk").mkdir()
    (runs_with_evaluation.parent / "junk" / "realism.json").write_text("[1, 2]")
    at = open_page()
    assert not at.exception
    assert "facts.json: not readable JSON" in texts(at.error) and "Pick another evaluation" in texts(at.error)
    assert "junk/realism.json: not a readable realism evaluation" in texts(at.warning)


def test_bad_input_names_the_field_and_keeps_the_input(runs: Path) -> None:
    at = open_page()
    at.text_input(key="re_from").set_value("25:99").run()
    assert "Held-out window" in texts(at.error) and "'25:99' is not a time of day" in texts(at.error)
    assert at.text_input(key="re_from").value == "25:99" and at.button(key="re_run").disabled
    at.text_input(key="re_from").set_value("15:45").run()
    assert "Held-out window" in texts(at.error) and "shorter than one 30-minute future" in texts(at.error)
    at.text_input(key="re_from").set_value("14:30")
    at.get("button_group")[0].set_value([]).run()
    assert "Simulated backgrounds" in texts(at.error) and at.button(key="re_run").disabled
    at.get("button_group")[0].set_value(["noise"])
    at.multiselect(key="re_dates").set_value([]).run()
    assert "**Dates**: choose at least one day" in texts(at.error) and at.button(key="re_run").disabled
    assert not list(runs.glob("realism/*"))  # nothing simulated


# ---- the page's helpers --------------------------------------------------------------------------


def test_form_errors_name_the_field_and_the_plan_counts_the_work() -> None:
    config = _realism_ui.config_from_form(
        {
            "symbol": "GOOG",
            "backgrounds": ["noise", "lmm"],
            "window": ("14:30", "16:00"),
            "minutes": 30,
            "every_minutes": 10,
            "rollouts": 4,
        }
    )
    assert config.start_times() == ["14:30", "14:40", "14:50", "15:00", "15:10", "15:20", "15:30"]
    p = _realism_ui.plan(config, days=2)
    assert (p["starts"], p["rollouts"], p["minutes"], p["fast"]) == (14, 112, 3360, 56)
    per_start, per_minute = _realism_ui.LMM_SECONDS
    assert p["lmm_seconds"] == round(14 * per_start + 14 * 4 * 30 * per_minute)
    with pytest.raises(ConfigError, match=r"\*\*Rollouts\*\*"):
        _realism_ui.config_from_form({"symbol": "GOOG", "backgrounds": ["noise"], "rollouts": 0})
    with pytest.raises(ConfigError, match=r"\*\*Held-out window\*\* \(to\): '4pm' is not a time of day"):
        _realism_ui.parse_window("14:30", "4pm")
    same, other = (evaluation_dir(config.model_copy(update=u), Path("r")) for u in ({}, {"seed": 1}))
    assert same == evaluation_dir(config, Path("r")) != other and same.parent == Path("r") / "realism"


def test_the_progress_clock_estimates_from_the_slow_part() -> None:
    clock = _runs_ui.ProgressClock(fast=4, started=0.0)
    assert "order model's futures follow" in clock.eta(4, 10)  # only the fast noise futures so far
    clock.mark = (clock.mark[0] - 60.0, 4)  # one minute since the last fast one...
    assert clock.eta(7, 10).endswith("about 1 min 00 s left")  # ...for 3 slow ones: 3 more take a minute
    assert _runs_ui.fmt_duration(59.6) == "1 min 00 s" and _runs_ui.fmt_duration(42) == "42 s"


def test_numbers_out_of_range_name_the_field_and_disable_run(runs: Path) -> None:
    at = open_page()
    low, high = _realism_ui.LIMITS["rollouts"]
    at.number_input(key="re_rollouts").set_value(high + 1)
    at.number_input(key="re_minutes").set_value(0).run()
    errors = texts(at.error)
    assert f"**Rollouts** must be a whole number from {low} to {high}, was {high + 1}" in errors
    assert "**Future length (min)** must be a whole number from" in errors and "was 0" in errors
    assert at.button(key="re_run").disabled  # never a run with the values from before
    at.number_input(key="re_rollouts").set_value(2)
    at.number_input(key="re_minutes").set_value(10).run()
    assert not at.error and not at.button(key="re_run").disabled
