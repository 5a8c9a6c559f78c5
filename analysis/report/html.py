"""`render_html(report)`: one self-contained HTML document.

plotly.js is embedded inline once (with the first figure), so the file opens without any network;
the charts stay interactive. A table of contents links every section.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.report.document import Report, Section, Table
from mars_core import __version__

FONT = "Inter, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

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
@media screen { .print-only { display:none; } }
@media print {
  .screen-only { display:none; }
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
<footer>Generated by MarS {html.escape(__version__)} on {html.escape(report.created)}.
<span class="screen-only">Charts are interactive: hover for values, drag to zoom, double-click to reset. This file needs no
network connection.</span><span class="print-only">Printed from the HTML report, whose charts show every value on
hover.</span></footer>
</main></div></body></html>
"""
