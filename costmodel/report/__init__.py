"""Self-contained reports: a small document model rendered to HTML (inline CSS, figures as
inline SVG, no scripts, no network) and to a markdown summary.

    from costmodel.report import Document, Section, Table, Figure, write_report
    doc = Document("Study report")
    doc.sections.append(Section("Convergence", [Figure(svg_of(fig), "best so far")]))
    html_path, md_path = write_report(doc, "report.html")

``costmodel eval`` and ``tuner report`` both build on this; costmodel never imports tuner.
"""

from costmodel.report.document import Document, Figure, Section, Table, Text
from costmodel.report.figures import new_figure, svg_of
from costmodel.report.html import render_html
from costmodel.report.markdown import render_markdown
from costmodel.report.write import write_html, write_report

__all__ = ["Document", "Figure", "Section", "Table", "Text", "new_figure", "svg_of",
           "render_html", "render_markdown", "write_html", "write_report"]
