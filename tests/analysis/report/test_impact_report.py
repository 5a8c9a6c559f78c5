"""Reports of a real (tiny) impact study: self-contained HTML, PDF through Chromium, charts drawn offline, `mars report`."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import report as reports
from mars_core.errors import MarsInputError
from mars_core.experiments.reports import build_report, load_study
from mars_core.paths import DEFAULT_CHROMIUM

CHROMIUM = Path(DEFAULT_CHROMIUM)
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (CI installs Debian's chromium)"
)

SECTIONS = [
    "Summary",
    "Market impact over time",
    "Fulfillment and slippage",
    "Square-root law",
    "Impact factors",
    "Symbolic regression",
    "Impact decay",
    "Caveats",
    "Configuration",
    "Provenance",
]


@pytest.fixture(scope="module")
def study_dir(tiny_study_dir: Path) -> Path:
    """The session's tiny impact study (tests/conftest.py)."""
    return tiny_study_dir


@pytest.fixture(scope="module")
def report(study_dir: Path, data_dir: Path) -> reports.Report:
    return build_report(study_dir, data_dir=str(data_dir))


@pytest.fixture(scope="module")
def page(report: reports.Report) -> str:
    return reports.render_html(report)


def test_html_is_one_self_contained_file(page: str, report: reports.Report) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert 'src="http' not in page and "src='http" not in page
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", page, flags=re.S)  # plotly.js quotes URLs in its own code
    assert "http" not in markup.replace("http://www.w3.org", "")  # no link, image or stylesheet from elsewhere
    assert not re.search(r"<script[^>]+src=", page) and "<link" not in page
    assert page.count("* plotly.js v") == 1  # the library once, inline
    assert page.count('class="plotly-graph-div"') == len(report.figures()) >= 9


def test_html_has_every_section_in_the_table_of_contents(page: str, report: reports.Report) -> None:
    assert [s.heading for s in report.all_sections()] == SECTIONS
    toc = page[page.index('<nav class="toc">') : page.index("</nav>")]
    for heading in SECTIONS:
        anchor = reports.Section(heading).anchor
        assert f'href="#{anchor}"' in toc and f'<section id="{anchor}">' in page


def test_html_states_the_fitted_laws_and_their_intervals(page: str, study_dir: Path) -> None:
    results = json.loads((study_dir / "results.json").read_text())
    pooled = results["sqrt_law"]["pooled"]
    lo, hi = pooled["delta_ci"]
    assert f"δ = {pooled['delta']:.2f} (95% CI {lo:.2f}–{hi:.2f})" in page
    assert f"[{lo:.2f}, {hi:.2f}]" in page and f"{pooled['Y']:.3g}" in page
    assert html.escape(results["symbolic"]["formula"]) in page
    assert "Square-root law Y·σ·(Q/V)^δ" in page  # next to the formula, scored on the same held-out rows
    decay = results["decay"]
    assert f"{decay['test_mse_learned']:.3e}" in page and f"{decay['test_mse_base']:.3e}" in page
    assert "Interaction weights of the learned ODE" in page and "Auto-correlation of long-term impact" in page


def test_report_states_provenance_and_caveats(report: reports.Report) -> None:
    provenance = report.provenance
    assert "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip" in provenance["LOBSTER data"]
    assert "147,916 messages" in provenance["LOBSTER data"]
    assert provenance["Background"].startswith("noise")
    assert "study seed 0" in provenance["Seeds"] and "GOOG_2012-06-21_1100: " in provenance["Seeds"]
    assert provenance["MarS version"] and provenance["Git commit"]
    caveats = " ".join(report.caveats)
    assert "12 paired trajectories, 3 per point over 4 points" in caveats
    assert "zero-intelligence" in caveats and "bootstrap" in caveats
    assert "pre-trade factors (σ, resiliency, LOB depth) are identical" in caveats  # one start moment
    assert report.config["q_over_v"] == [0.2, 0.5]


def test_skipped_fits_are_reported_with_their_reason(study_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "study"
    copy.mkdir()
    for name in ("study.json", "metrics.parquet", "results.json"):
        shutil.copy(study_dir / name, copy / name)
    results = json.loads((copy / "results.json").read_text())
    results["symbolic"] = {"skipped": "needs at least 12 trajectories, has 8"}
    results["decay"] = {"skipped": "needs at least 12 trajectories and 2 minutes after execution"}
    (copy / "results.json").write_text(json.dumps(results))
    built = build_report(copy)
    symbolic = next(s for s in built.sections if s.heading == "Symbolic regression")
    assert symbolic.notes == ["Skipped: needs at least 12 trajectories, has 8"] and not symbolic.formulas
    assert any("Decay ODE skipped: needs at least 12 trajectories" in c for c in built.caveats)
    assert len(built.figures()) == 8  # no decay charts
    assert "Skipped: needs at least 12 trajectories, has 8" in reports.render_html(built)


def test_build_report_rejects_what_is_not_a_finished_study(tmp_path: Path, study_dir: Path) -> None:
    with pytest.raises(MarsInputError, match="not a MarS study directory"):
        build_report(tmp_path)
    (tmp_path / "study.json").write_text((study_dir / "study.json").read_text())
    with pytest.raises(MarsInputError, match="has not finished"):
        build_report(tmp_path)
    with pytest.raises(MarsInputError, match="no such directory"):
        build_report(tmp_path / "missing")


def test_renderer_escapes_text_and_formats_tables() -> None:
    table = reports.Table("t", pd.DataFrame({"name": ["<b>x</b>"], "n": [12345], "v": [float("nan")], "f": [0.123456]}))
    built = reports.Report(
        "A <title>", sections=[reports.Section("Only", text=["`code` and **bold** <script>"], tables=[table])]
    )
    page = reports.render_html(built)
    assert "<title>A &lt;title&gt;</title>" in page
    assert "<code>code</code> and <strong>bold</strong> &lt;script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and ">12,345<" in page and ">—<" in page and ">0.1235<" in page
    assert "plotly" not in page.lower()  # no figures, no library


def test_pdf_without_chromium_says_html_works(report: reports.Report, tmp_path: Path) -> None:
    with pytest.raises(MarsInputError, match=r"HTML report works without it.*apt-get install chromium"):
        reports.render_pdf(report, tmp_path / "r.pdf", executable=tmp_path / "no-chromium")
    assert not (tmp_path / "r.pdf").exists()


@needs_chromium
def test_pdf_is_printed_by_chromium(report: reports.Report, tmp_path: Path) -> None:
    out = reports.render_pdf(report, tmp_path / "report.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    assert pages > 1, pages
    assert len(data) > 50_000  # charts are in it, not blank pages


@needs_chromium
def test_html_draws_every_chart_offline_in_chromium(page: str, report: reports.Report, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=list(reports.CHROMIUM_ARGS))
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.route(
                re.compile(r"^(?!file:|data:|about:).*"),
                lambda route: (requests.append(route.request.url), route.abort()),
            )
            errors: list[str] = []
            tab.on("pageerror", lambda err: errors.append(str(err)))
            tab.goto(path.as_uri(), wait_until="load")
            expected = len(report.figures())
            tab.wait_for_function(
                "n => [...document.querySelectorAll('.js-plotly-plot')].filter(d => d.querySelector('.main-svg')).length === n",
                arg=expected,
                timeout=30_000,
            )
            drawn = tab.evaluate(
                "[...document.querySelectorAll('.js-plotly-plot')].filter("
                "d => d.querySelector('.main-svg .scatterlayer .trace, .main-svg .heatmaplayer image')).length"
            )
            assert drawn == expected == 10  # every chart has drawn traces (lines, markers or heatmap images)
            assert tab.locator(".js-plotly-plot .gtitle").first.text_content() == "Short- and long-term market impact"
            assert not errors and not requests  # drawn without a single network request
            footer = tab.locator("footer")
            assert "Charts are interactive" in footer.inner_text()
            tab.emulate_media(media="print")  # what render_pdf prints: paper charts are not interactive
            assert "interactive" not in footer.inner_text() and "Printed from the HTML report" in footer.inner_text()
        finally:
            browser.close()


# ---- `mars report` ---------------------------------------------------------------------------------


def mars(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Run the `mars` entry point in this process (the heavy imports are already done): (exit code, stdout, stderr)."""
    from mars_core.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_cli_writes_the_html_report(
    study_dir: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out" / "study.html"
    code, stdout, stderr = mars(
        capsys, "report", str(study_dir), "--format", "html", "--out", str(out), "--data-dir", str(data_dir), "--json"
    )
    assert code == 0, stderr
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["out"] == str(out) and result["format"] == "html" and result["figures"] == 10
    assert result["sections"] == SECTIONS and result["bytes"] == out.stat().st_size
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert load_study(study_dir).name == "tiny"


def test_cli_refuses_a_directory_that_is_not_a_study(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "config.json").write_text("{}")  # a simulation run, not a study
    code, stdout, stderr = mars(capsys, "report", str(tmp_path), "--format", "html", "--json")
    assert code == 2 and "Traceback" not in stderr
    assert "not a MarS study directory (no study.json)" in stderr and "simulation run" in stderr
    assert "error" in json.loads(stdout.strip().splitlines()[-1])
    code, _, stderr = mars(capsys, "report", str(tmp_path), "--format", "docx")
    assert code == 2 and "--format must be one of html, pdf" in stderr
