"""Writing a report: the HTML page and its markdown summary side by side."""

from __future__ import annotations

import os
from pathlib import Path

from costmodel.errors import InputError
from costmodel.report.document import Document
from costmodel.report.html import render_html
from costmodel.report.markdown import render_markdown


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_html(doc: Document, html_path: str | Path) -> Path:
    """Write only the HTML page (for callers with their own markdown report)."""
    html_path = Path(html_path)
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(html_path, render_html(doc))
    except OSError as e:
        raise InputError(f"cannot write report {html_path}: {e.strerror or e}") from None
    return html_path


def write_report(doc: Document, html_path: str | Path, *,
                 markdown_path: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``html_path`` and the markdown summary (default: same name, ``.md``)."""
    html_path = Path(html_path)
    md_path = Path(markdown_path) if markdown_path else html_path.with_suffix(".md")
    if html_path.resolve() == md_path.resolve():
        raise InputError(f"{html_path}: the HTML report and its markdown summary need "
                         "different names (use an .html suffix)")
    write_html(doc, html_path)
    try:
        _atomic_write(md_path, render_markdown(doc, html_name=html_path.name))
    except OSError as e:
        raise InputError(f"cannot write report {html_path}: {e.strerror or e}") from None
    return html_path, md_path
