"""The report value: a title, sections (text, key figures, formulas, plotly figures, tables, notes), the
configuration a result ran with, where it came from and the caveats a reader must know.

Builders (`analysis.report.impact`, `analysis.report.realism`) make one from loaded results; the
renderers (`html`, `output`) know nothing about what a report is about. Text paragraphs are
plain text with two inline marks, `code` and **bold**; everything else is escaped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go


def plain(value: Any) -> str:
    """A config value as text: lists joined, numbers as written."""
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(v) for v in value) if value else "—"
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


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
            rows = [(self.config_labels.get(k, ""), k, plain(v)) for k, v in self.config.items()]
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
