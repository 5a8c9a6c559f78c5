"""Figures, tables and the report of a real (tiny) realism evaluation: every fact drawn, Table 6 and the per-minute
Table 7 next to the ceiling and the paper's, the fidelity."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from analysis import realism_reference as paper
from analysis import report as reports
from analysis.charts import facts as fc
from analysis.charts import realism as rc
from analysis.similarity import METRIC_NAMES, METRICS
from analysis.stylized_facts import FACT_NAMES, FACT_TESTS, FACTS
from mars_core.errors import MarsInputError
from mars_core.experiments.reports import build_report, load_evaluation
from mars_core.paths import DEFAULT_CHROMIUM

CHROMIUM = Path(DEFAULT_CHROMIUM)
SECTIONS = [
    "Summary",
    "Per-minute similarity, its ceiling and accuracy (Table 7)",
    "Closed-loop fidelity",
    "Stylized facts (Table 6)",
    "The facts, figure by figure",
    "Caveats",
    "Configuration",
    "Provenance",
]
TINY = {
    "symbol": "GOOG",
    "backgrounds": ["noise"],
    "minutes": 10,
    "every_minutes": 30,
    "rollouts": 2,
    "window": ["10:00", "11:30"],
    "ceiling_window": ["12:00", "13:30"],
    "bootstrap": 100,
}  # 3 starts x 2 rollouts on the training window


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A tiny evaluation of GOOG: 3 start points (10:00, 10:30, 11:00) x 2 noise rollouts of 10 minutes."""
    from mars_core.experiments.realism import RealismConfig, run_realism

    out = tmp_path_factory.mktemp("realism") / "GOOG-tiny"
    run_realism(RealismConfig.from_dict(TINY), out, data_dir=str(data_dir), workers=1)
    return out


@pytest.fixture(scope="module")
def facts(evaluation: Path) -> dict:
    return json.loads((evaluation / "facts.json").read_text())


@pytest.fixture(scope="module")
def summary(evaluation: Path) -> dict:
    return json.loads((evaluation / "summary.json").read_text())


@pytest.fixture(scope="module")
def report(evaluation: Path, data_dir: Path) -> reports.Report:
    return build_report(evaluation, data_dir=str(data_dir))


@pytest.fixture(scope="module")
def page(report: reports.Report) -> str:
    return reports.render_html(report)


def curve(fig, name: str, col: int = 1) -> np.ndarray:  # noqa: ANN001 (plotly figure)
    """The y values of the legend-named curve of a background (in subplot column `col`)."""
    axis = "x" if col == 1 else f"x{col}"
    trace = next(
        t for t in fig.data if t.mode == "lines+markers" and t.legendgroup == name and (t.xaxis or "x") == axis
    )
    return np.array([np.nan if v is None else v for v in trace.y], dtype=float)


def nan_list(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


# ---- figures -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fact", FACTS)
def test_every_fact_is_drawn_for_the_replay_and_the_simulation_with_their_sample_sizes(facts: dict, fact: str) -> None:
    fig = fc.fact_figure(facts, fact)
    subtitle = fig.layout.title.subtitle.text
    for bg in ("replay", "noise"):
        mark = rc.PRESENT if facts[bg][fact]["present"] else rc.ABSENT
        assert f"{rc.short(bg)} n = {facts[bg][fact]['n']:,} {mark}" in subtitle
    assert fig.layout.title.text.startswith(FACT_NAMES[fact])
    if fact == "intermittency":  # one Fano factor per background, not a curve
        rows = {t.y[0] for t in fig.data if t.y[0] is not None}  # (the F = 1 line's legend entry has no row)
        assert rows == {"Replay (real day)", "Noise traders"}
        replay = next(t for t in fig.data if t.y[0] == "Replay (real day)")
        if facts["replay"][fact]["fano_factor"] is None:  # 10-minute windows hold no full 15-minute window
            assert replay.text[0].startswith("undefined: no full 15-minute window")
        else:
            assert replay.x[0] == pytest.approx(facts["replay"][fact]["fano_factor"])
        return
    legend = {t.name for t in fig.data if t.showlegend is not False}
    assert {"Replay (real day)", "Noise traders"} <= {re.sub(r" \((β|drop) .*\)$", "", n) for n in legend}
    assert any(t.fill == "tonexty" and t.legendgroup == "replay" for t in fig.data)  # the replay's 95% band
    key = {
        "absence_of_autocorrelations": None,
        "gain_loss_asymmetry": "skewness",
        "volatility_clustering": "acf",
        "slow_decay_of_absolute_autocorrelation": "acf",
        "leverage_effect": "corr",
        "volume_volatility_correlation": "corr",
        "asymmetry_in_timescales": "corr",
    }.get(fact, "kurtosis")
    for bg in ("replay", "noise"):
        expected = facts[bg][fact]["last"]["acf"] if key is None else facts[bg][fact][key]
        np.testing.assert_allclose(curve(fig, bg), nan_list(expected))


def test_autocorrelation_band_is_1_96_over_root_n_of_the_replay(facts: dict) -> None:
    fig = fc.absence_figure(facts)
    upper = next(t for t in fig.data if t.name == "±1.96/√n, replay")
    n = np.array(facts["replay"]["absence_of_autocorrelations"]["last"]["n_by_lag"], dtype=float)
    with np.errstate(divide="ignore"):  # lags longer than a 10-minute window have no pair: no band
        np.testing.assert_allclose(upper.y, np.where(n > 0, 1.959964 / np.sqrt(n), np.nan))
    np.testing.assert_allclose(
        curve(fig, "replay", col=2), nan_list(facts["replay"]["absence_of_autocorrelations"]["mean"]["acf"])
    )


def test_timescale_asymmetry_shows_rho_over_minus_10_to_10_and_d_of_k(facts: dict) -> None:
    fig = fc.timescales_figure(facts)
    rho = next(
        t for t in fig.data if t.mode == "lines+markers" and t.legendgroup == "replay" and (t.xaxis or "x") == "x"
    )
    assert list(rho.x) == list(range(-10, 11))
    np.testing.assert_allclose(
        curve(fig, "replay", col=2), nan_list(facts["replay"]["asymmetry_in_timescales"]["asymmetry"])
    )


# ---- tables --------------------------------------------------------------------------------------


def test_presence_table_has_ours_per_background_the_papers_columns_and_the_test(facts: dict) -> None:
    table = rc.presence_frame(facts)
    assert list(table["Stylized fact"]) == [FACT_NAMES[f] for f in FACTS]
    for bg in ("replay", "noise"):
        assert list(table[rc.label(bg)]) == [rc.PRESENT if facts[bg][f]["present"] else rc.ABSENT for f in FACTS]
    assert list(table["Paper: historical"]) == [
        rc.PRESENT if paper.TABLE6[f]["historical"] else rc.ABSENT for f in FACTS
    ]
    assert table.set_index("Stylized fact").loc["Leverage effect", "Paper: simulated"] == rc.ABSENT
    assert list(table["Test for “present”"]) == [FACT_TESTS[f] for f in FACTS]
    agree = rc.agreement(facts)
    assert agree == {"noise": sum(facts["noise"][f]["present"] == facts["replay"][f]["present"] for f in FACTS)}


def test_similarity_tables_and_figure_put_ours_next_to_the_ceiling_and_the_papers(summary: dict) -> None:
    table = rc.similarity_frame(summary).set_index("Row")
    assert list(table.index) == [METRIC_NAMES[m] for m in METRICS]
    noise = summary["backgrounds"]["noise"]
    for m in METRICS:
        row = table.loc[METRIC_NAMES[m]]
        assert row["Noise traders"] == pytest.approx(noise["similarity"]["rows"][m], nan_ok=True)
        assert row["Ceiling (real vs real)"] == pytest.approx(summary["ceiling"]["rows"][m], nan_ok=True)
        assert row["Paper"] == paper.TABLE7[m]["similarity"]
    means = rc.similarity_means_frame(summary).set_index("Mean similarity of")
    assert means.loc["Noise traders", "Mean"] == pytest.approx(noise["similarity"]["mean"])
    assert means.loc["Noise traders", "Share of the ceiling"] == pytest.approx(
        noise["similarity"]["mean"] / summary["ceiling"]["mean"]
    )
    fig = rc.similarity_figure(summary)
    ceiling = next(t for t in fig.data if t.name == "Ceiling (real vs real)")
    assert list(ceiling.x) == pytest.approx([summary["ceiling"]["rows"][m] for m in METRICS], nan_ok=True)
    theirs = next(t for t in fig.data if t.name == "Paper (MarS, Table 7)")
    assert list(theirs.x) == [paper.TABLE7[m]["similarity"] for m in METRICS]
    accuracy = rc.accuracy_frame(summary).set_index("Row")
    assert accuracy.loc["Spread", "Noise chance"] == pytest.approx(noise["accuracy"]["spread"]["chance_exact"])


# ---- the report ----------------------------------------------------------------------------------


def test_build_report_dispatches_a_realism_directory(report: reports.Report, evaluation: Path) -> None:
    assert report.kind == "MarS realism report" and report.title == "Realism evaluation: GOOG"
    assert [s.heading for s in report.all_sections()] == SECTIONS
    assert len(report.figures()) == len(FACTS) + 2  # every fact, the similarity and the fidelity
    assert report.config["backgrounds"] == ["noise"] and report.source == str(evaluation)


def test_html_is_self_contained_and_holds_both_tables(page: str, report: reports.Report, summary: dict) -> None:
    assert page.startswith("<!DOCTYPE html>")
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", page, flags=re.S)  # plotly.js quotes URLs in its own code
    assert "http" not in markup.replace("http://www.w3.org", "") and "<link" not in page
    assert not re.search(r"<script[^>]+src=", page) and page.count("* plotly.js v") == 1
    assert page.count('class="plotly-graph-div"') == len(report.figures()) == 13
    assert (
        "<h3>Presence of the stylized facts</h3>" in page
        and "<h3>Mean similarity over the rows, with its ceiling</h3>" in page
        and "<h3>Sim/real ratio per bucket</h3>" in page
    )
    for fact in FACTS:
        assert FACT_NAMES[fact] in page
    assert ">0.872<" in page and ">0.729<" in page  # the paper's volatility similarity, spread accuracy
    assert f">{summary['backgrounds']['noise']['similarity']['rows']['return_1min']:.3f}<" in page
    assert f">{summary['ceiling']['mean']:.3f}<" in page


def test_report_states_provenance_seeds_and_caveats(report: reports.Report) -> None:
    p = report.provenance
    assert "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip" in p["LOBSTER data"] and "147,916 messages" in p["LOBSTER data"]
    assert p["Start points"] == "3 per day: 10:00, 10:30, 11:00"
    assert p["Simulated"].startswith("Noise traders: 6 rollouts, ")
    assert p["Seeds"].startswith("evaluation seed 0; rollout seeds")
    assert p["Noise calibration"] == "assets/calibration/noise_GOOG_2012-06-21.json"
    assert "Order model (LMM)" not in p  # not evaluated, so no checkpoint to name
    caveats = " ".join(report.caveats)
    assert "3 start windows on 1 day, 2 rollouts each" in caveats and "our own stated tests" in caveats
    assert "circular block bootstrap" in caveats and "The ceiling is real data" in caveats and "time of day" in caveats
    assert "zero-intelligence" in caveats


def test_an_unfinished_or_foreign_directory_is_refused_by_name(evaluation: Path, tmp_path: Path) -> None:
    with pytest.raises(MarsInputError, match="not a MarS study directory .* nor a realism evaluation"):
        build_report(tmp_path)
    shutil.copy(evaluation / "realism.json", tmp_path / "realism.json")
    with pytest.raises(MarsInputError, match=r"has not finished \(facts.json is missing\)"):
        build_report(tmp_path)
    for name in ("facts.json", "summary.json"):
        shutil.copy(evaluation / name, tmp_path / name)
    assert load_evaluation(tmp_path).backgrounds == ["replay", "noise"]
    (tmp_path / "facts.json").write_text("{not json")
    with pytest.raises(MarsInputError, match="facts.json: not readable JSON"):
        load_evaluation(tmp_path)


def test_mars_report_writes_the_realism_report(
    evaluation: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from mars_core.cli import main

    out = tmp_path / "realism.html"
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["report", str(evaluation), "--format", "html", "--out", str(out), "--data-dir", str(data_dir), "--json"])
    stdout, stderr = capsys.readouterr()
    assert int(done.value.code or 0) == 0, stderr
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["kind"] == "MarS realism report" and result["figures"] == 13 and result["sections"] == SECTIONS
    assert result["bytes"] == out.stat().st_size and "Realism evaluation: GOOG" in out.read_text(encoding="utf-8")


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed")
def test_pdf_of_the_realism_report_is_printed(report: reports.Report, tmp_path: Path) -> None:
    data = reports.render_pdf(report, tmp_path / "realism.pdf").read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", data)) > 3
