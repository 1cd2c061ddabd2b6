"""Matplotlib figures rendered to inline SVG, plus the plots costmodel reports share.

Agg backend only (no display). Each SVG gets its own id salt: several SVGs inline in one
HTML page share one id namespace, and matplotlib's clip-path ids would otherwise collide.
Dense scatters are rasterized inside the SVG (axes and text stay vector) to keep pages small.
"""

from __future__ import annotations

import io
import itertools
import re
from math import comb

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402

_salt = itertools.count()

STYLE = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "svg.fonttype": "none", "figure.dpi": 100,
}
#: Colour cycle (colour-blind safe, Okabe-Ito) used by every report.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
          "#000000"]


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 6.4, height: float = 3.6,
               **kw) -> tuple[MplFigure, np.ndarray]:
    """A figure with report styling; axes always come back as a flat array."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **kw)
    for ax in axes.flat:
        ax.set_prop_cycle(color=COLORS)
    return fig, axes.ravel()


def svg_of(fig: MplFigure) -> str:
    """The figure as an SVG element (no XML prologue), sized by its viewBox; closes it."""
    buf = io.StringIO()
    with plt.rc_context({**STYLE, "svg.hashsalt": f"r{next(_salt)}"}):
        fig.tight_layout()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    start = text.find("<svg")
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", text[start:], count=1, flags=re.S)
    # Fixed pt sizes would overflow narrow windows; CSS scales it by the viewBox instead.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', svg, count=1)


def scatter_measured_predicted(ax, measured: np.ndarray, predicted: np.ndarray,
                               lower: np.ndarray | None = None, upper: np.ndarray | None = None,
                               *, log: bool = True, label: str = "", max_points: int = 1500,
                               seed: int = 0) -> dict[str, float]:
    """Predicted (x, with its interval as a horizontal bar) against measured (y), beside the
    y = x line. Returns the coverage of the shown intervals and the point count."""
    measured = np.asarray(measured, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    ok = np.isfinite(measured) & np.isfinite(predicted)
    if log:
        ok &= (measured > 0) & (predicted > 0)
    idx = np.flatnonzero(ok)
    if len(idx) > max_points:   # a seeded subsample keeps the page light
        idx = np.sort(np.random.default_rng(seed).choice(idx, max_points, replace=False))
    m, p = measured[idx], predicted[idx]
    out = {"points": float(len(idx))}
    if lower is not None and upper is not None and len(idx):
        lo, hi = np.asarray(lower, float)[idx], np.asarray(upper, float)[idx]
        inside = (m >= lo) & (m <= hi)
        out["coverage"] = float(inside.mean())
        ax.hlines(m, np.maximum(lo, p * 1e-3) if log else lo, hi, color=COLORS[0], alpha=0.25,
                  lw=0.8, rasterized=len(idx) > 200, label="interval")
        ax.scatter(p[~inside], m[~inside], s=10, color=COLORS[3], rasterized=len(idx) > 200,
                   label="outside interval", zorder=3)
        ax.scatter(p[inside], m[inside], s=10, color=COLORS[0], rasterized=len(idx) > 200,
                   label="inside interval", zorder=3)
    elif len(idx):
        ax.scatter(p, m, s=10, color=COLORS[0], rasterized=len(idx) > 200, zorder=3)
    if len(idx):
        lo_ = float(min(m.min(), p.min()))
        hi_ = float(max(m.max(), p.max()))
        ax.plot([lo_, hi_], [lo_, hi_], color="#555", lw=1, ls="--", label="y = x")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(f"predicted {label}".strip())
    ax.set_ylabel(f"measured {label}".strip())
    return out


def topk_curve(ax, groups: list[np.ndarray], measured: np.ndarray, cost: np.ndarray, *,
               kmax: int = 10, seed: int = 0, label: str = "model") -> None:
    """Mean over groups of (best measured among the k lowest-cost picks) / (true best),
    for k = 1..kmax, beside the expectation of picking k at random (rank plot)."""
    rng = np.random.default_rng(seed)
    ks = np.arange(1, kmax + 1)
    model, rand = np.zeros(kmax), np.zeros(kmax)
    n = 0
    for g in groups:
        t = measured[g]
        if len(g) < 2 or not np.all(t > 0):
            continue
        n += 1
        best = t.min()
        order = np.lexsort((rng.permutation(len(g)), cost[g]))
        srt = np.sort(t)
        for i, k in enumerate(ks):
            kk = min(k, len(g))
            model[i] += t[order[:kk]].min() / best
            # E[min of kk draws without replacement] from the sorted values.
            N = len(g)
            w = np.array([comb(N - j - 1, kk - 1) for j in range(N)], dtype=float) / comb(N, kk)
            rand[i] += float((w * srt).sum()) / best
    if n == 0:
        ax.text(0.5, 0.5, "no groups with 2+ candidates", ha="center", transform=ax.transAxes)
        return
    ax.plot(ks, model / n, marker="o", ms=3, label=label, color=COLORS[0])
    ax.plot(ks, rand / n, marker="s", ms=3, ls="--", label="random pick", color=COLORS[1])
    ax.axhline(1.0, color="#555", lw=1, ls=":", label="oracle")
    ax.set_xlabel("k (candidates picked per group)")
    ax.set_ylabel("best of picks / true best")
    ax.set_title(f"{n} groups", fontsize=8)


__all__ = ["COLORS", "new_figure", "scatter_measured_predicted", "svg_of", "topk_curve"]
