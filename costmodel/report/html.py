"""HTML rendering: one self-contained page (inline CSS and SVG, no scripts, no network)."""

from __future__ import annotations

import html
import re

from costmodel.report.document import Document, Figure, Section, Table, Text, fmt

CSS = """
:root { --fg:#1d2430; --muted:#5b6575; --line:#dde2ea; --bg:#ffffff; --accent:#0072B2;
        --zebra:#f6f8fb; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
       font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; }
header { padding:24px 32px 12px; border-bottom:1px solid var(--line);
         background:linear-gradient(180deg,#f3f7fc,#fff); }
header h1 { margin:0 0 8px; font-size:22px; }
dl.meta { display:flex; flex-wrap:wrap; gap:4px 24px; margin:0; color:var(--muted); }
dl.meta div { display:flex; gap:6px; } dl.meta dt { font-weight:600; } dl.meta dd { margin:0; }
nav { padding:8px 32px; border-bottom:1px solid var(--line); font-size:13px; }
nav a { color:var(--accent); text-decoration:none; margin-right:16px; white-space:nowrap; }
main { padding:8px 32px 48px; max-width:1280px; }
section { margin-top:24px; }
h2 { font-size:18px; border-bottom:2px solid var(--accent); padding-bottom:4px; }
h3 { font-size:15px; margin-top:20px; } h4 { font-size:14px; }
p.note { color:var(--muted); font-size:13px; }
.grid { display:flex; flex-wrap:wrap; gap:16px; align-items:flex-start; }
figure { margin:8px 0; padding:8px; border:1px solid var(--line); border-radius:6px;
         background:#fff; flex:0 1 auto; }
figure svg { display:block; width:100%; height:auto; }
figcaption { color:var(--muted); font-size:12px; margin-top:4px; }
table { border-collapse:collapse; margin:8px 0 4px; font-size:13px;
        font-variant-numeric:tabular-nums; }
caption { caption-side:top; text-align:left; color:var(--muted); font-size:12px;
          padding-bottom:4px; }
th, td { border-bottom:1px solid var(--line); padding:4px 10px; text-align:right; }
th { background:#eef2f7; } th:first-child, td:first-child { text-align:left; }
tbody tr:nth-child(even) { background:var(--zebra); }
td.best { font-weight:700; color:#006644; }
.tablewrap { overflow-x:auto; }
"""


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    slug, i = base, 2
    while slug in used:
        slug, i = f"{base}-{i}", i + 1
    used.add(slug)
    return slug


def _table(t: Table) -> str:
    e = html.escape
    out = ['<div class="tablewrap"><table>']
    if t.caption:
        out.append(f"<caption>{e(t.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{e(str(c))}</th>" for c in t.columns)
               + "</tr></thead><tbody>")
    for i, row in enumerate(t.rows):
        cells = "".join(f'<td{" class=best" if (i, j) in t.bold else ""}>{e(fmt(v))}</td>'
                        for j, v in enumerate(row))
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _blocks(blocks) -> str:
    out, figs = [], []

    def flush() -> None:
        if figs:
            out.append('<div class="grid">' + "".join(figs) + "</div>")
            figs.clear()
    for b in blocks:
        if isinstance(b, Figure):
            # Natural size from the viewBox (pt -> px): small plots stay small, wide ones
            # take the row; the browser scales them down on narrow windows.
            m = re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+)', b.svg)
            w = round(float(m.group(1)) * 4 / 3) + 18 if m else 640
            figs.append(f'<figure style="flex-basis:{w}px;max-width:min(100%,{w}px)">{b.svg}'
                        f"<figcaption>{html.escape(b.caption)}</figcaption></figure>")
            continue
        flush()
        if isinstance(b, Table):
            out.append(_table(b))
        elif isinstance(b, Text):
            out.append(f'<p{" class=note" if b.note else ""}>{html.escape(b.text)}</p>')
    flush()
    return "\n".join(out)


def _section(s: Section, level: int, used: set[str], toc: list[tuple[str, str]] | None) -> str:
    slug = _slug(s.title, used)
    if toc is not None:
        toc.append((slug, s.title))
    h = min(level, 6)
    parts = [f'<section id="{slug}"><h{h}>{html.escape(s.title)}</h{h}>', _blocks(s.blocks)]
    parts += [_section(c, level + 1, used, None) for c in s.children]
    parts.append("</section>")
    return "\n".join(parts)


def render_html(doc: Document) -> str:
    """The whole page as one string."""
    e = html.escape
    used: set[str] = set()
    toc: list[tuple[str, str]] = []
    body = "\n".join(_section(s, 2, used, toc) for s in doc.sections)
    meta = "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in doc.meta)
    nav = "".join(f'<a href="#{slug}">{e(title)}</a>' for slug, title in toc)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(doc.title)}</title><style>{CSS}</style></head>\n<body>"
            f'<header><h1>{e(doc.title)}</h1><dl class="meta">{meta}</dl></header>'
            f"<nav>{nav}</nav>\n<main>\n{body}\n</main></body></html>\n")
