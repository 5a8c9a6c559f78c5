"""Writing a report: an HTML file, or a PDF printed from that HTML by headless Chromium (Playwright) once every
chart has been drawn. Chromium is optional: when it is missing, a `MarsInputError` says so, and HTML still works."""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import os
import re
import tempfile
from pathlib import Path

from analysis.report.document import Report
from analysis.report.html import render_html
from mars_core.errors import MarsInputError
from mars_core.paths import CHROMIUM_ENV, DEFAULT_CHROMIUM

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


PDF_WIDTH_PX = 703  # A4 (210 mm) less 2 x 12 mm margins at 96 px/in: charts are drawn at the printed width


def chromium_path(executable: str | Path | None = None) -> Path | None:
    """The Chromium to print with: the argument, else `$MARS_CHROMIUM`, else /usr/bin/chromium; None if absent."""
    path = Path(executable or os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM)
    return path if path.is_file() else None


def missing_chromium(where: str | None = None) -> MarsInputError:
    """The error that explains PDF export needs Chromium, and that HTML does not."""
    where = where or os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    return MarsInputError(
        f"PDF export needs Chromium, which was not found at {where}. The HTML report works without it "
        "(`--format html`, or the HTML download button) and prints to PDF from any browser. To enable PDF export, "
        f"install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`) or set {CHROMIUM_ENV} to its path."
    )


def render_pdf(report: Report, path: str | Path, executable: str | Path | None = None, timeout_s: float = 90.0) -> Path:
    """Print the HTML report to a PDF file with headless Chromium, once every chart is drawn.

    Args:
        report: the report.
        path: the PDF file to write (its folder is created).
        executable: Chromium binary (default: `chromium_path()`).
        timeout_s: how long to wait for loading and drawing.

    Raises:
        MarsInputError: Chromium (or Playwright) is missing, or the charts did not draw in time.
    """
    chromium = chromium_path(executable)
    if chromium is None:
        raise missing_chromium(str(executable or os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM))
    html_text = render_html(report)
    n_figures = len(report.figures())
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    job = lambda: _print_pdf(html_text, n_figures, out, chromium, report.title, timeout_s)  # noqa: E731
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no event loop in this thread: Playwright's sync API may run here
        job()
    else:  # the sync API refuses to run inside an event loop; give it a thread of its own
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(job).result()
    return out


def _print_pdf(html_text: str, n_figures: int, out: Path, chromium: Path, title: str, timeout_s: float) -> None:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise MarsInputError(
            "PDF export needs the Python package playwright (`pip install playwright`); "
            "the HTML report works without it."
        ) from None
    footer = (
        f'<div style="font-size:8px; color:#667085; width:100%; padding:0 12mm; display:flex; justify-content:space-between;">'
        f'<span>{html.escape(title)}</span><span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
    )
    part = out.with_name(out.name + ".part")
    with tempfile.TemporaryDirectory(prefix="mars-report-") as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(html_text, encoding="utf-8")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=list(CHROMIUM_ARGS))
                try:
                    page = browser.new_page(viewport={"width": PDF_WIDTH_PX, "height": 1000})
                    page.route(
                        re.compile(r"^(?!file:|data:|about:).*"), lambda route: route.abort()
                    )  # no network, ever
                    page.emulate_media(media="print")
                    page.goto(source.as_uri(), wait_until="load", timeout=timeout_s * 1000)
                    page.wait_for_function(
                        "n => [...document.querySelectorAll('.js-plotly-plot')].filter(d => d.querySelector('.main-svg')).length >= n",
                        arg=n_figures,
                        timeout=timeout_s * 1000,
                    )
                    page.pdf(
                        path=str(part),
                        format="A4",
                        print_background=True,
                        display_header_footer=True,
                        header_template="<span></span>",
                        footer_template=footer,
                        margin={"top": "12mm", "bottom": "14mm", "left": "12mm", "right": "12mm"},
                    )
                finally:
                    browser.close()
        except PlaywrightError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if "Executable doesn't exist" in str(err) or "ENOENT" in str(err):
                raise missing_chromium(str(chromium)) from None
            raise MarsInputError(
                f"PDF export failed in Chromium ({chromium}): {first}. The HTML report is unaffected."
            ) from None
    part.replace(out)  # atomic: a reader never sees half a PDF


def write_report(report: Report, path: str | Path, fmt: str | None = None) -> Path:
    """Write `report` as HTML or PDF (format from `fmt`, else the file's suffix)."""
    out = Path(path)
    fmt = (fmt or out.suffix.lstrip(".") or "html").lower()
    if fmt not in ("html", "pdf"):
        raise MarsInputError(f"--format must be html or pdf, was {fmt!r}")
    if fmt == "pdf":
        return render_pdf(report, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(render_html(report), encoding="utf-8")
    tmp.replace(out)  # atomic: a reader never sees half a report
    return out
