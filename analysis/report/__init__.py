"""Reports a risk team can file: one self-contained HTML file (interactive charts) or a PDF.

`document` holds the value (`Report` and its sections), `impact` and `realism` build one from
loaded results, `html` renders it and `output` writes it (PDF through headless Chromium).
`mars_core.experiments.reports.build_report(dir)` loads a results directory and builds its report.
"""

from analysis.report.document import Figure, Report, Section, Table
from analysis.report.html import render_html
from analysis.report.output import CHROMIUM_ARGS, chromium_path, missing_chromium, render_pdf, write_report

__all__ = [
    "CHROMIUM_ARGS",
    "Figure",
    "Report",
    "Section",
    "Table",
    "chromium_path",
    "missing_chromium",
    "render_html",
    "render_pdf",
    "write_report",
]
