"""The figures of a study report (matplotlib, rendered to inline SVG by costmodel.report)."""

from __future__ import annotations

from typing import Any

import numpy as np

from costmodel.report import Figure, new_figure, svg_of
from costmodel.report.figures import COLORS, scatter_measured_predicted
from tuner.reporting import analysis as an
from tuner.reporting.data import StudyView


def _label(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in params.items())


def convergence(view: StudyView, others: list[StudyView]) -> Figure:
    fig, (ax,) = new_figure(width=6.4, height=3.4)
    x, y = an.best_so_far(view)
    vals = np.array([t.value for t in view.done])
    cens = np.array([t.censored for t in view.done])
    ax.scatter(x[~cens], vals[~cens], s=8, color="#9aa5b5", alpha=0.6, label="reported",
               rasterized=len(x) > 400)
    if cens.any():
        ax.scatter(x[cens], vals[cens], s=14, marker="^", color=COLORS[3], alpha=0.7,
                   label="censored (lower bound)")
    ax.step(x, y, where="post", lw=2, color=COLORS[0], label=f"{view.name} ({view.strategy})")
    for i, o in enumerate(others):
        ox, oy = an.best_so_far(o)
        ax.step(ox, oy, where="post", lw=1.3, ls="--", color=COLORS[(i + 1) % len(COLORS)],
                label=f"{o.name} ({o.strategy})")
    rs = an.random_search_expectation(view, len(x))
    if rs is not None:
        ax.plot(x, rs, lw=1.2, ls=":", color="#333", label="random search (expected)")
    base = view.config.get("default_latency_s", view.config.get("baseline"))
    if isinstance(base, (int, float)):
        ax.axhline(base, color=COLORS[3], lw=1.2, ls="-.", label="compiler default"
                   if "default_latency_s" in view.config else "baseline")
    if np.all(vals > 0) and vals.max() / max(vals.min(), 1e-300) > 20:
        ax.set_yscale("log")
    ax.set_xlabel("reported trials")
    ax.set_ylabel(f"value ({view.direction})")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return Figure(svg_of(fig), f"{view.name}: best so far against trials, beside the baselines "
                  "(other studies over the same space; the expected best of random search over "
                  "the configurations seen" + (", the compiler default" if "default_latency_s"
                                                in view.config else "") + ")")


def regret(view: StudyView, reg: dict[str, Any]) -> Figure:
    fig, (ax,) = new_figure(width=5.2, height=3.2)
    ax.plot(reg["t"], reg["regret"], lw=2, color=COLORS[0], label=view.strategy)
    ax.plot(reg["t"], reg["uniform"], lw=1.2, ls="--", color=COLORS[1], label="uniform random play")
    ax.set_xlabel("trial")
    ax.set_ylabel("cumulative regret")
    ax.legend(fontsize=7)
    what = ("the best fixed configuration in hindsight (contexts vary: the best per context "
            "may be better still)" if reg["contextual"] else "the best configuration in hindsight")
    return Figure(svg_of(fig), f"{view.name}: cumulative pseudo-regret against {what}: "
                  f"{_label(reg['best_params'])}, mean {reg['best_mean']:.4g}")


def importance(view: StudyView, imp: dict[str, Any]) -> Figure:
    names = imp["names"] + ["interactions + rest"]
    share = imp["share"] + [imp["interactions"]]
    fig, (ax,) = new_figure(width=4.8, height=0.5 + 0.38 * len(names))
    ax.barh(names[::-1], share[::-1], color=[COLORS[7]] + [COLORS[0]] * (len(names) - 1))
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of variance (main effect)")
    for i, v in enumerate(share[::-1]):
        ax.text(min(v + 0.02, 0.9), i, f"{v:.0%}", va="center", fontsize=8)
    return Figure(svg_of(fig), f"{view.name}: parameter importance, fANOVA-style main effects of a "
                  f"random forest on {len(view.done)} trials ({'log ' if imp['log'] else ''}value; "
                  f"forest fit R² {imp['fit_r2']:.2f})")


def heatmap(view: StudyView, hm: dict[str, Any], caption: str) -> Figure:
    m = hm["mean"]
    fig, (ax,) = new_figure(width=min(1.2 + 0.55 * len(hm["x"]), 9.5),
                            height=min(1.2 + 0.4 * len(hm["y"]), 7))
    data = np.log10(m) if np.all(m[np.isfinite(m)] > 0) else m
    cmap = "viridis" if view.direction == "minimize" else "viridis_r"
    im = ax.imshow(np.ma.masked_invalid(data), aspect="auto", origin="lower", cmap=cmap)
    ax.set_xticks(range(len(hm["x"])), [f"{v:.3g}" if isinstance(v, float) else str(v)
                                        for v in hm["x"]], rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(hm["y"])), [f"{v:.3g}" if isinstance(v, float) else str(v)
                                        for v in hm["y"]], fontsize=7)
    ax.set_xlabel(hm["xname"])
    ax.set_ylabel(hm["yname"])
    ax.grid(False)
    if m.size <= 200:
        for (j, i), v in np.ndenumerate(m):
            if np.isfinite(v):
                ax.text(i, j, f"{v:.3g}", ha="center", va="center", fontsize=6, color="white")
    fig.colorbar(im, ax=ax, label="log10 mean value" if data is not m else "mean value")
    return Figure(svg_of(fig), caption)


def noise_bands(view: StudyView, rows: list[dict[str, Any]]) -> Figure:
    rows = rows[:40]
    x = np.arange(len(rows))
    fig, (ax,) = new_figure(width=max(4.5, 0.28 * len(rows) + 2), height=3.4)
    med = np.array([r["median"] for r in rows])
    ax.fill_between(x, [r["q05"] for r in rows], [r["q95"] for r in rows], color=COLORS[0],
                    alpha=0.15, step="mid", label="5-95%")
    ax.fill_between(x, [r["q25"] for r in rows], [r["q75"] for r in rows], color=COLORS[0],
                    alpha=0.35, step="mid", label="IQR")
    ax.plot(x, med, marker="o", ms=3, color=COLORS[0], lw=1, label="median")
    ax.set_xticks(x, [_label(r["params"])[:28] for r in rows], rotation=60, ha="right",
                  fontsize=6)
    if np.all(med > 0) and max(r["q95"] for r in rows) / max(min(r["q05"] for r in rows), 1e-300) > 20:
        ax.set_yscale("log")
    ax.set_ylabel("value")
    ax.legend(fontsize=7)
    return Figure(svg_of(fig), f"{view.name}: noise bands of repeated measurements per "
                  "configuration, best first (spread includes context variation for contextual "
                  "studies)")


def calibration(view: StudyView, cal: dict[str, np.ndarray]) -> tuple[Figure, dict[str, float]]:
    fig, (ax,) = new_figure(width=4.4, height=3.8)
    has_int = bool(np.isfinite(cal["lower"]).all() and np.isfinite(cal["upper"]).all())
    st = scatter_measured_predicted(ax, cal["measured"], cal["predicted"],
                                    cal["lower"] if has_int else None,
                                    cal["upper"] if has_int else None,
                                    log=bool(np.all(cal["measured"] > 0) and np.all(cal["predicted"] > 0)))
    ax.legend(fontsize=7)
    cov = f"; interval coverage {st['coverage']:.0%}" if "coverage" in st else ""
    return Figure(svg_of(fig), f"{view.name}: measured (median per configuration) against "
                  f"the cost model's prediction{', with its intervals' if has_int else ''}{cov}"), st


def speedups(rows: list[dict[str, Any]]) -> Figure:
    fig, (ax,) = new_figure(width=max(4.0, 0.5 * len(rows) + 2), height=3.2)
    names = [r["dispatch"] for r in rows]
    sp = [r["speedup"] for r in rows]
    ax.bar(range(len(rows)), sp, color=[COLORS[2] if s >= 1 else COLORS[3] for s in sp])
    ax.axhline(1.0, color="#333", lw=1, ls="--")
    ax.set_xticks(range(len(rows)), names, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("speedup over the compiler default")
    return Figure(svg_of(fig), "per-dispatch speedup of the best tuned configuration over the "
                  "compiler's default")
