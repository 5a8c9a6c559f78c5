"""Reports a risk team can file: one self-contained HTML file (interactive charts) or a PDF.

A `Report` is a plain value: a title, sections of (heading, text, key
figures, formulas, plotly figures, tables, notes), the data's provenance, the
configuration it ran with, and stated caveats. Builders turn a results
directory into a Report (`build_report`: an impact study or a realism
evaluation; another kind adds a builder to `BUILDERS`), and the renderers
know nothing about what the report is about:

* `render_html(report)` -> one HTML document. plotly.js is embedded inline
  once (with the first figure), so the file opens without any network; the
  charts stay interactive. A table of contents links every section.
* `render_pdf(report, path)` prints that HTML to PDF with headless Chromium
  (Playwright), after every chart has been drawn. Chromium is optional: when
  it is missing, a `MarsInputError` says so, and HTML still works.

Pure: no Streamlit. Text paragraphs are plain text with two inline marks,
`code` and **bold**; everything else is escaped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import html
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

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
FONT = "Inter, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


# ---- the report value ----------------------------------------------------------------------------


@dataclass
class Figure:
    """A plotly figure with a caption under it."""

    figure: go.Figure
    caption: str = ""


@dataclass
class Table:
    """A table with a title; `formats` maps a column to a format string ("{:.2f}") or a function."""

    title: str
    frame: pd.DataFrame
    caption: str = ""
    formats: dict[str, str | Callable[[Any], str]] = field(default_factory=dict)
    key_value: bool = False  # a two-column list of items and values: keep the first column on one line


@dataclass
class Section:
    """One numbered section, rendered in this order: text, bullets, key figures, formulas, figures, tables, notes."""

    heading: str
    text: list[str] = field(default_factory=list)  # paragraphs
    bullets: list[str] = field(default_factory=list)
    metrics: list[tuple[str, str, str]] = field(default_factory=list)  # (label, value, small print)
    formulas: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was skipped and why

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-") or "section"


@dataclass
class Report:
    """Everything a report shows; see the module docstring."""

    title: str
    subtitle: str = ""
    kind: str = "report"
    source: str = ""  # the results directory it was built from
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    sections: list[Section] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    config_labels: dict[str, str] = field(default_factory=dict)  # setting -> what it means
    provenance: dict[str, str] = field(default_factory=dict)  # label -> value (newlines kept)

    def all_sections(self) -> list[Section]:
        """The content sections, then caveats, configuration and provenance (as rendered)."""
        extra = []
        if self.caveats:
            extra.append(
                Section("Caveats", text=["Read the results with these limits in mind."], bullets=list(self.caveats))
            )
        if self.config:
            rows = [(self.config_labels.get(k, ""), k, _plain(v)) for k, v in self.config.items()]
            frame = pd.DataFrame(rows, columns=["Meaning", "Setting", "Value"])[["Setting", "Value", "Meaning"]]
            extra.append(Section("Configuration", tables=[Table("Settings as run", frame, key_value=True)]))
        if self.provenance:
            frame = pd.DataFrame(list(self.provenance.items()), columns=["Item", "Value"])
            extra.append(Section("Provenance", tables=[Table("Where the results come from", frame, key_value=True)]))
        return [*self.sections, *extra]

    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

    def summary(self) -> dict[str, Any]:
        """A JSON-ready outline (for `mars report --json`)."""
        return {
            "title": self.title,
            "kind": self.kind,
            "source": self.source,
            "created": self.created,
            "sections": [s.heading for s in self.all_sections()],
            "figures": len(self.figures()),
            "tables": sum(len(s.tables) for s in self.all_sections()),
            "caveats": len(self.caveats),
        }


# ---- builders ------------------------------------------------------------------------------------


def _impact_builder(path: Path, data_dir: str | None) -> Report:
    from analysis.impact_report import build_impact_report  # here: it imports this module

    return build_impact_report(path, data_dir=data_dir)


def _realism_builder(path: Path, data_dir: str | None) -> Report:
    from analysis.realism_report import build_realism_report  # here: it imports this module

    return build_realism_report(path, data_dir=data_dir)


BUILDERS: list[tuple[str, Callable[[Path], bool], Callable[[Path, str | None], Report]]] = [
    ("impact study (mars impact)", lambda p: (p / "study.json").is_file(), _impact_builder),
    ("realism evaluation (mars realism)", lambda p: (p / "realism.json").is_file(), _realism_builder),
]
"""(what it is, does this directory hold one?, build its Report); the first match builds."""


def build_report(results_dir: str | Path, data_dir: str | None = None) -> Report:
    """The Report of a results directory: an impact study (`mars impact --out DIR`) or a realism evaluation (`mars realism --out DIR`).

    Args:
        results_dir: the directory.
        data_dir: where to look up the LOBSTER files for provenance (default: resolved as everywhere).

    Raises:
        MarsInputError: the directory does not exist, or holds nothing a builder knows.
    """
    path = Path(results_dir).expanduser()
    if not path.is_dir():
        raise MarsInputError(f"{path}: no such directory")
    for _, detect, build in BUILDERS:
        if detect(path):
            return build(path, data_dir)
    kinds = "; ".join(what for what, _, _ in BUILDERS)
    run = " It looks like a simulation run (it has config.json)." if (path / "config.json").is_file() else ""
    raise MarsInputError(
        f"{path}: not a MarS study directory (no study.json) nor a realism evaluation (no realism.json).{run} Reports are made of: "
        f"{kinds} — the --out DIR of `mars impact --config study.yaml --out DIR` or "
        "`mars realism --symbol GOOG --out DIR`."
    )


# ---- HTML ----------------------------------------------------------------------------------------

CSS = """
:root { --ink:#1d2939; --muted:#667085; --line:#e4e7ec; --accent:#1f5fbf; --soft:#f5f7fa; --warn:#b54708; }
* { box-sizing: border-box; }
body { margin:0; font-family:FONT_FAMILY; color:var(--ink); background:#fff; font-size:15px; line-height:1.55; }
.layout { display:grid; grid-template-columns: 230px minmax(0, 1fr); gap:40px; max-width:1320px; margin:0 auto; padding:8px 32px 64px; }
nav.toc { position:sticky; top:24px; align-self:start; font-size:13.5px; border-left:3px solid var(--line); padding-left:16px; }
nav.toc h2 { font-size:12px; text-transform:uppercase; letter-spacing:.08em; color:var(--muted); margin:0 0 8px; }
nav.toc ol { margin:0; padding-left:20px; } nav.toc li { margin:3px 0; color:var(--muted); }
nav.toc a { color:var(--ink); text-decoration:none; } nav.toc a:hover { color:var(--accent); text-decoration:underline; }
header.title { max-width:1256px; margin:32px auto 16px; padding:0 0 14px; border-bottom:2px solid var(--ink); }
@media (max-width: 1320px) { header.title { margin:32px 32px 16px; } }
header.title .kind { font-size:12px; text-transform:uppercase; letter-spacing:.1em; color:var(--accent); font-weight:600; }
header.title h1 { font-size:30px; line-height:1.2; margin:4px 0 6px; }
header.title .subtitle { color:var(--muted); margin:0; }
header.title .meta { font-size:12.5px; color:var(--muted); margin-top:8px; }
section { padding-top:18px; }
section > h2 { font-size:21px; margin:18px 0 10px; padding-bottom:6px; border-bottom:1px solid var(--line); }
section > h2 .num { color:var(--accent); margin-right:8px; }
p { margin:0 0 10px; max-width:920px; }
code { font-family:'JetBrains Mono', Menlo, Consolas, monospace; font-size:.9em; background:var(--soft); padding:1px 4px; border-radius:3px; }
.metrics { display:grid; grid-template-columns:repeat(auto-fill, minmax(175px, 1fr)); gap:10px; margin:12px 0 16px; }
.metric { border:1px solid var(--line); border-radius:8px; padding:10px 12px; background:#fff; break-inside:avoid; }
.metric .label { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.metric .value { font-size:21px; font-weight:600; margin-top:2px; font-variant-numeric:tabular-nums; }
.metric .small { font-size:12px; color:var(--muted); }
.formula { font-family:'JetBrains Mono', Menlo, Consolas, monospace; font-size:13.5px; background:var(--soft);
           border-left:3px solid var(--accent); padding:10px 14px; margin:10px 0 14px; white-space:pre-wrap; word-break:break-word; }
figure { margin:14px 0 22px; border:1px solid var(--line); border-radius:8px; padding:8px 8px 4px; break-inside:avoid; page-break-inside:avoid; }
figcaption { font-size:13px; color:var(--muted); padding:4px 6px 6px; }
.table-wrap { margin:12px 0 22px; break-inside:avoid; overflow-x:auto; }
.table-wrap h3 { font-size:15px; margin:0 0 6px; }
table { border-collapse:collapse; width:100%; font-size:13px; font-variant-numeric:tabular-nums; }
th { text-align:left; font-weight:600; color:var(--muted); border-bottom:2px solid var(--line); padding:6px 10px; white-space:nowrap; }
td { border-bottom:1px solid var(--line); padding:5px 10px; vertical-align:top; }
table.kv td:first-child { white-space:nowrap; font-weight:600; width:1%; }
td.num, th.num { text-align:right; white-space:nowrap; }
tbody tr:nth-child(even) td { background:#fafbfc; }
.table-caption { font-size:12.5px; color:var(--muted); margin-top:6px; }
.note { border-left:3px solid var(--warn); background:#fffaf5; padding:8px 12px; margin:8px 0; font-size:13.5px; }
ul.bullets li { margin:6px 0; max-width:920px; }
footer { margin-top:40px; font-size:12px; color:var(--muted); border-top:1px solid var(--line); padding-top:10px; }
@media (max-width: 1000px) { .layout { grid-template-columns:1fr; padding:20px; } nav.toc { position:static; } }
@page { size:A4; margin:12mm 12mm 14mm; }
@media print {
  body { font-size:11.5px; }
  .layout { display:block; padding:0; max-width:none; }
  header.title { margin:0 0 12px; max-width:none; }
  nav.toc { position:static; border:none; padding:0; margin-bottom:6px; font-size:12px; }
  nav.toc ol { columns:2; column-gap:32px; }
  header.title h1 { font-size:24px; }
  section > h2 { font-size:17px; break-after:avoid; }
  section { break-before:auto; }
  .metric .value { font-size:16px; }
  figure { border:none; padding:0; }
  .modebar-container { display:none !important; }
  a { color:inherit; text-decoration:none; }
}
""".replace("FONT_FAMILY", FONT)


def _plain(value: Any) -> str:
    """A config value as text: lists joined, numbers as written."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value) if value else "—"
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def inline(text: str) -> str:
    """Escape a paragraph, then turn `code` and **bold** into markup."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def format_cell(value: Any, fmt: str | Callable[[Any], str] | None = None) -> str:
    """One table cell as text: missing -> '—', floats to 4 significant digits, ints with separators."""
    if value is None or (isinstance(value, (float, np.floating)) and not math.isfinite(float(value))):
        return "—"
    if fmt is not None:
        return fmt(value) if callable(fmt) else fmt.format(value)
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def table_html(table: Table) -> str:
    frame = table.frame
    numeric = {c: _is_numeric(frame[c]) for c in frame.columns}
    head = "".join(f'<th class="{"num" if numeric[c] else ""}">{html.escape(str(c))}</th>' for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(frame.columns, record):
            text = html.escape(format_cell(value, table.formats.get(column))).replace("\n", "<br>")
            cells.append(f'<td class="{"num" if numeric[column] else ""}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f'<div class="table-caption">{inline(table.caption)}</div>' if table.caption else ""
    title = f"<h3>{html.escape(table.title)}</h3>" if table.title else ""
    kind = ' class="kv"' if table.key_value else ""
    return (
        f'<div class="table-wrap">{title}<table{kind}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{caption}</div>"
    )


def figure_html(fig: go.Figure, div_id: str, include_plotlyjs: bool | str) -> str:
    """A figure as a div (plotly.js inline when asked), in the report's typography."""
    styled = go.Figure(fig)
    styled.update_layout(
        template="plotly_white", font={"family": FONT, "size": 12, "color": "#1d2939"}, autosize=True, width=None
    )
    height = styled.layout.height or 420
    return styled.to_html(
        full_html=False,
        include_plotlyjs=include_plotlyjs,
        div_id=div_id,
        default_width="100%",
        default_height=f"{height}px",
        config={"displaylogo": False, "responsive": True},
    )


def _section_html(number: int, section: Section, figure_ids: list[str]) -> str:
    parts = [f'<section id="{section.anchor}"><h2><span class="num">{number}</span>{html.escape(section.heading)}</h2>']
    parts += [f"<p>{inline(p)}</p>" for p in section.text]
    if section.bullets:
        parts.append('<ul class="bullets">' + "".join(f"<li>{inline(b)}</li>" for b in section.bullets) + "</ul>")
    if section.metrics:
        cards = "".join(
            f'<div class="metric"><div class="label">{html.escape(label)}</div><div class="value">{html.escape(value)}</div>'
            f'<div class="small">{inline(small)}</div></div>'
            for label, value, small in section.metrics
        )
        parts.append(f'<div class="metrics">{cards}</div>')
    parts += [f'<div class="formula">{html.escape(f)}</div>' for f in section.formulas]
    for fig in section.figures:
        div_id = f"figure-{len(figure_ids) + 1}"
        body = figure_html(fig.figure, div_id, "inline" if not figure_ids else False)
        figure_ids.append(div_id)
        caption = f"<figcaption>Figure {len(figure_ids)}. {inline(fig.caption)}</figcaption>" if fig.caption else ""
        parts.append(f"<figure>{body}{caption}</figure>")
    parts += [table_html(t) for t in section.tables]
    parts += [f'<div class="note">{inline(n)}</div>' for n in section.notes]
    return "\n".join(parts) + "</section>"


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document (see the module docstring)."""
    sections = report.all_sections()
    toc = "".join(f'<li><a href="#{s.anchor}">{html.escape(s.heading)}</a></li>' for s in sections)
    figure_ids: list[str] = []
    body = "\n".join(_section_html(i, s, figure_ids) for i, s in enumerate(sections, 1))
    from mars_core import __version__

    meta = " · ".join(html.escape(x) for x in (f"Created {report.created}", f"MarS {__version__}", report.source) if x)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="MarS {html.escape(__version__)}">
<meta name="mars-figures" content="{len(figure_ids)}">
<title>{html.escape(report.title)}</title>
<style>{CSS}</style></head>
<body>
<header class="title"><div class="kind">{html.escape(report.kind)}</div><h1>{html.escape(report.title)}</h1>
<p class="subtitle">{inline(report.subtitle)}</p><div class="meta">{meta}</div></header>
<div class="layout">
<nav class="toc"><h2>Contents</h2><ol>{toc}</ol></nav>
<main>
{body}
<footer>Generated by MarS {html.escape(__version__)} on {html.escape(report.created)}. Charts are interactive: hover for values,
drag to zoom, double-click to reset. This file needs no network connection.</footer>
</main></div></body></html>
"""


# ---- PDF -----------------------------------------------------------------------------------------


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


def frame_from_records(records: Any) -> pd.DataFrame:
    """A DataFrame from the JSON forms results files use (list of records, dict of lists, dict of dicts)."""
    if isinstance(records, pd.DataFrame):
        return records
    if isinstance(records, Mapping) and records and all(isinstance(v, Mapping) for v in records.values()):
        return pd.DataFrame(records).astype(float)
    return pd.DataFrame(records)
