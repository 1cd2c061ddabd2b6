"""The document model both renderers share: sections of text, tables and figures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Text:
    """A paragraph of plain text (escaped in HTML); ``note`` renders it muted."""

    text: str
    note: bool = False


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""
    #: (row index, column index) cells to emphasise, e.g. the best value of a row.
    bold: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class Figure:
    """An inline SVG document (from :func:`costmodel.report.svg_of`) and its caption."""

    svg: str
    caption: str


Block = Text | Table | Figure


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    #: Nested sections render one heading level deeper.
    children: list[Section] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


@dataclass
class Document:
    title: str
    #: Key facts shown under the title (and at the top of the markdown summary).
    meta: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def figures(self) -> list[Figure]:
        out: list[Figure] = []

        def walk(s: Section) -> None:
            out.extend(b for b in s.blocks if isinstance(b, Figure))
            for c in s.children:
                walk(c)
        for s in self.sections:
            walk(s)
        return out


def fmt(v: Any, digits: int = 3) -> str:
    """One cell: '–' for missing, ~``digits`` significant digits for floats."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "–" if math.isnan(v) else ("∞" if v > 0 else "-∞")
        a = abs(v)
        if a != 0 and (a < 1e-3 or a >= 1e6):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}f}" if a < 10 else f"{v:,.{max(digits - 2, 0)}f}"
    return str(v)
