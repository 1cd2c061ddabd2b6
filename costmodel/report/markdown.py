"""Markdown rendering: the tables and text of a document; figures become references to
the HTML page, which holds the pictures."""

from __future__ import annotations

from costmodel.report.document import Document, Figure, Section, Table, Text, fmt


def _cell(v) -> str:
    return fmt(v).replace("|", "\\|").replace("\n", " ")


def _table(t: Table) -> list[str]:
    lines = [f"*{t.caption}*", ""] if t.caption else []
    lines.append("| " + " | ".join(_cell(c) for c in t.columns) + " |")
    lines.append("|" + "---|" * len(t.columns))
    for i, row in enumerate(t.rows):
        cells = [f"**{_cell(v)}**" if (i, j) in t.bold else _cell(v) for j, v in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _section(s: Section, level: int, html_name: str | None) -> list[str]:
    lines = ["#" * min(level, 6) + " " + s.title, ""]
    for b in s.blocks:
        if isinstance(b, Table):
            lines += _table(b)
        elif isinstance(b, Text):
            lines += [f"_{b.text}_" if b.note else b.text, ""]
        elif isinstance(b, Figure):
            where = f" (figure in `{html_name}`)" if html_name else ""
            lines += [f"- Figure: {b.caption}{where}", ""]
    for c in s.children:
        lines += _section(c, level + 1, html_name)
    return lines


def render_markdown(doc: Document, *, html_name: str | None = None) -> str:
    lines = [f"# {doc.title}", ""]
    lines += [f"- **{k}**: {v}" for k, v in doc.meta]
    if doc.meta:
        lines.append("")
    for s in doc.sections:
        lines += _section(s, 2, html_name)
    return "\n".join(lines).rstrip() + "\n"
