"""Assemble a study report: an overview, the dispatch speedup table of model-tuning runs,
and one section per study (convergence, regret, importance and heatmaps, noise bands,
calibration against the cost model)."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from costmodel.report import Document, Section, Table, Text
from tuner.reporting import analysis as an
from tuner.reporting import plots
from tuner.reporting.data import StudyView, load_studies
from tuner.store import Store

#: Strategies whose studies get a regret curve (they trade exploration for reward online).
BANDITS = frozenset({"ucb1", "thompson", "censored_thompson", "exp3", "tsallis_inf", "linucb",
                     "chebcb", "ac_band"})


def _params(p: dict[str, Any]) -> str:
    return plots._label(p) or "–"


def _overview(views: list[StudyView]) -> Section:
    rows = []
    for v in views:
        b = v.best()
        rows.append([v.id, v.name, v.strategy, v.direction, len(v.trials), len(v.done),
                     sum(t.censored for t in v.done), None if b is None else b.value,
                     "–" if b is None else _params(b.params)])
    return Section("Overview", [Table(["id", "study", "strategy", "direction", "asked",
                                       "reported", "censored", "best", "best configuration"],
                                      rows)])


def dispatch_rows(views: list[StudyView]) -> list[dict[str, Any]]:
    """Model-tuning studies (config kind 'dispatch'): default and best latency per dispatch.
    The best is the config's ``best_latency_s``, else the study's best measured value."""
    rows = []
    for v in views:
        if v.kind != "dispatch":
            continue
        default = v.config.get("default_latency_s")
        best = v.config.get("best_latency_s")
        if best is None and v.best() is not None:
            best = v.best().value
        if not isinstance(default, (int, float)) or not isinstance(best, (int, float)) or best <= 0:
            continue
        rows.append({"dispatch": str(v.config.get("dispatch", v.name)), "study": v.name,
                     "default_s": float(default), "best_s": float(best),
                     "speedup": float(default) / float(best), "trials": len(v.done)})
    return rows


def _dispatch_section(rows: list[dict[str, Any]]) -> Section:
    table_rows = [[r["dispatch"], r["default_s"], r["best_s"], r["speedup"], r["trials"], r["study"]]
                  for r in rows]
    geo = math.exp(float(np.mean([math.log(r["speedup"]) for r in rows])))
    table_rows.append(["geometric mean", None, None, geo, sum(r["trials"] for r in rows), ""])
    bold = {(i, 3) for i, r in enumerate(rows) if r["speedup"] == max(x["speedup"] for x in rows)}
    return Section("Dispatch speedups", [
        plots.speedups(rows),
        Table(["dispatch", "default latency (s)", "best latency (s)", "speedup", "trials", "study"],
              table_rows, caption="model tuning: each dispatch's best configuration against "
                                  "the compiler default", bold=bold)])


def _study_section(v: StudyView, views: list[StudyView]) -> Section:
    sec = Section(f"Study {v.name}")
    space = v.config.get("space", {}).get("params", [])
    opts = v.config.get("options") or {}
    sec.add(Text(f"strategy {v.strategy}{f' {opts}' if opts else ''}, {v.direction}; "
                 f"{len(v.trials)} asked, {len(v.done)} reported "
                 f"({sum(t.censored for t in v.done)} censored); parameters: "
                 f"{', '.join(str(p.get('name')) for p in space) or '–'}"))
    if not v.done:
        sec.add(Text("no reported trials yet", note=True))
        return sec
    same = [o for o in views if o is not v and o.space_key() == v.space_key() and o.done]
    sec.add(plots.convergence(v, same))
    b = v.best()
    if b is not None:
        sec.add(Text(f"best: {b.value:.6g} at {_params(b.params)} (trial {b.number})"))
    if v.strategy in BANDITS and (reg := an.regret(v)) is not None:
        sec.add(plots.regret(v, reg))
    imp = an.importance(v)
    if imp is not None:
        sec.add(plots.importance(v, imp))
        hm = an.heatmap(v, imp["names"][0], imp["names"][1])
        sec.add(plots.heatmap(v, hm, f"{v.name}: mean measured value over the two most "
                                     f"important parameters, {hm['xname']} and {hm['yname']} "
                                     "(blank: never measured)"))
    names = v.param_names()
    varying = [n for n in names if len({repr(t.params.get(n)) for t in v.done}) > 1]
    if varying and (ch := an.context_heatmap(v, (imp["names"][0] if imp else varying[0]))):
        sec.add(plots.heatmap(v, ch, f"{v.name}: mean measured value per context range and "
                                     f"{ch['xname']}: which configuration suits which inputs"))
    rows = an.noise(v)
    if rows:
        sec.add(plots.noise_bands(v, rows))
        sec.add(Table(["configuration", "n", "median", "IQR / median", "5%", "95%"],
                      [[_params(r["params"]), r["n"], r["median"], r["rel_iqr"], r["q05"],
                        r["q95"]] for r in rows[:10]],
                      caption="repeated measurements, best 10 configurations"))
    cal = an.predictions(v)
    if cal is not None:
        from scipy.stats import kendalltau
        fig, st = plots.calibration(v, cal)
        tau = kendalltau(cal["predicted"], cal["measured"]).statistic
        mape = float(np.mean(np.abs(cal["predicted"] - cal["measured"]) / np.abs(cal["measured"])))
        sec.add(fig, Table(["configurations", "kendall_tau", "mape", "interval_coverage"],
                           [[len(cal["measured"]), None if not np.isfinite(tau) else float(tau),
                             mape, st.get("coverage")]],
                           caption="cost-model calibration on the measured configurations"))
    return sec


def study_report(storage: str | Store, ids: list[str] | None = None, *,
                 all: bool = False) -> Document:
    views = load_studies(storage, ids, all=all)
    url = storage if isinstance(storage, str) else storage.url
    doc = Document("Tuning report" if len(views) != 1 else f"Tuning report: {views[0].name}",
                   meta=[("store", url), ("studies", str(len(views))),
                         ("reported trials", str(sum(len(v.done) for v in views))),
                         ("generated", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))])
    doc.sections.append(_overview(views))
    rows = dispatch_rows(views)
    if rows:
        doc.sections.append(_dispatch_section(rows))
    for v in views:
        doc.sections.append(_study_section(v, views))
    return doc
