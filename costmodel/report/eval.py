"""The HTML report of ``costmodel eval``: metric tables per split beside the baselines and
the noise ceiling, measured-vs-predicted scatters with intervals, and rank (top-k) plots.

``result`` is the dict ``costmodel eval --json`` prints; ``predictions`` holds the pooled
out-of-fold test predictions, ``split -> target -> {y, value, lower, upper, rank_cost,
group, rows}`` (``costmodel.model.evaluate.evaluate(..., predictions=...)`` fills it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from costmodel.report.document import Document, Figure, Section, Table, Text
from costmodel.report.figures import (COLORS, new_figure, scatter_measured_predicted, svg_of,
                                      topk_curve)

_BASELINES = (("roofline", "roofline"), ("random", "random"), ("compiler_default", "default"))
_UNITS = {"latency": "latency (s)", "instructions": "instructions", "spills": "spills",
          "code_size": "code size (bytes)"}


def _metric_table(result: dict, split: str, target: str, m: dict) -> Table:
    from costmodel.model.metrics import LOWER_IS_BETTER, METRICS

    noise = result.get("noise_ceiling") or {}
    cols = [("model", m)]
    for key, label in _BASELINES:
        src = result.get("baselines", {}).get(key, {}).get(split, {}).get(target)
        if src:
            cols.append((label, src))
    has_noise = bool(noise.get("available")) and target in noise
    rows, bold = [], set()
    for i, k in enumerate(METRICS):
        vals = [c[1].get(k) for c in cols]
        row: list[Any] = [k, *vals]
        if has_noise:
            row.append(noise[target].get(k))
        known = [(j, v) for j, v in enumerate(vals) if v is not None]
        if len(known) > 1:   # the best of model and baselines (not the noise ceiling)
            pick = min if k in LOWER_IS_BETTER else max
            best = pick(v for _, v in known)
            bold |= {(i, j + 1) for j, v in known if v == best}
        rows.append(row)
    header = ["metric"] + [c[0] for c in cols] + (["noise ceiling"] if has_noise else [])
    return Table(header, rows, caption=f"{target}: {m.get('test_rows')} test rows in "
                 f"{m.get('test_groups')} groups; bold = best of model and baselines", bold=bold)


def _overview(result: dict, metric: str = "kendall_tau", target: str = "latency") -> Figure | None:
    splits = [s for s, pt in result.get("splits", {}).items() if target in pt]
    if not splits:
        return None
    noise = result.get("noise_ceiling") or {}
    series = [("model", [result["splits"][s][target].get(metric) for s in splits])]
    for key, label in _BASELINES:
        vals = [result["baselines"].get(key, {}).get(s, {}).get(target, {}).get(metric)
                for s in splits]
        if any(v is not None for v in vals):
            series.append((label, vals))
    fig, (ax,) = new_figure(width=7.0, height=3.2)
    w = 0.8 / len(series)
    x = np.arange(len(splits))
    for i, (label, vals) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * w, [np.nan if v is None else v for v in vals],
               w, label=label, color=COLORS[i])
    ceiling = (noise.get(target) or {}).get(metric) if noise.get("available") else None
    if ceiling is not None:
        ax.axhline(ceiling, color="#333", ls="--", lw=1, label="noise ceiling")
    ax.set_xticks(x, splits)
    ax.set_ylabel(f"{target} {metric}")
    ax.axhline(0.0, color="#333", lw=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return Figure(svg_of(fig), f"{target} {metric} per split: the model beside the baselines"
                  + (" and the noise ceiling (repeat runs of the same samples)" if ceiling
                     is not None else "; noise ceiling unavailable"))


def _scatter(split: str, preds: dict) -> Figure:
    targets = list(preds)
    fig, axes = new_figure(ncols=len(targets), width=3.3 * len(targets), height=3.3)
    notes = []
    for ax, t in zip(axes, targets):
        p = preds[t]
        st = scatter_measured_predicted(ax, p["y"], p["value"], p.get("lower"), p.get("upper"),
                                        log=t != "spills", label="", seed=0)
        ax.set_title(_UNITS.get(t, t))
        if "coverage" in st:
            notes.append(f"{t} {st['coverage']:.0%}")
    axes[0].legend(loc="upper left", fontsize=7)
    return Figure(svg_of(fig), f"{split}: measured against predicted (out-of-fold), with the "
                  f"predictive intervals; interval coverage of the points shown: "
                  f"{', '.join(notes) or '–'}")


def _rank(split: str, preds: dict) -> Figure:
    from costmodel.model.data import group_index

    targets = list(preds)
    fig, axes = new_figure(ncols=len(targets), width=3.3 * len(targets), height=3.0)
    for ax, t in zip(axes, targets):
        p = preds[t]
        _, members = group_index(np.asarray(p["group"]))
        topk_curve(ax, members, np.asarray(p["y"], float), np.asarray(p["rank_cost"], float))
        ax.set_title(f"{t} ({ax.get_title()})")
    axes[0].legend(fontsize=7)
    return Figure(svg_of(fig), f"{split}: rank plot — the best of the model's k top-ranked "
                  "candidates per group, relative to the group's true best, beside a random pick")


def _family_table(target: str, fams: dict) -> Table:
    """The split's metrics per kernel family (costmodel/model/by_family.py)."""
    from costmodel.model.by_family import FAMILY_METRICS

    rows, bold = [], set()
    mape_col = 3 + FAMILY_METRICS.index("mape")
    for i, (fam, e) in enumerate(fams.items()):
        m, roof = e["model"], e.get("roofline") or {}
        rows.append([fam, m.get("test_rows"), m.get("test_groups"),
                     *[m.get(k) for k in FAMILY_METRICS], roof.get("mape")])
        if m.get("mape") is not None and roof.get("mape") is not None:
            bold.add((i, mape_col if m["mape"] <= roof["mape"] else len(rows[-1]) - 1))
    header = ["family", "rows", "groups", *FAMILY_METRICS, "roofline mape"]
    return Table(header, rows, caption=f"{target} per kernel family (dispatch:*: real models' "
                 "dispatches); bold = the lower MAPE of model and roofline", bold=bold)


def eval_document(result: dict, predictions: dict | None = None) -> Document:
    machine = result.get("machine") or {}
    doc = Document(
        f"Cost model evaluation: {result.get('model')}",
        meta=[("data", str(result.get("data"))), ("rows", str(result.get("rows"))),
              ("groups", str(result.get("groups"))), ("folds per split", str(result.get("folds"))),
              ("data hash", str(result.get("data_hash", ""))[:16]),
              ("roofline machine", f"{machine.get('peak_flops_per_s', 0) / 1e9:.1f} GFLOP/s, "
                                   f"{machine.get('bandwidth_bytes_per_s', 0) / 1e9:.1f} GB/s")])
    summary = Section("Summary")
    fig = _overview(result)
    if fig:
        summary.add(fig)
    noise = result.get("noise_ceiling") or {}
    summary.add(Text("Every fold retrains the model on its training rows only; metrics are "
                     "pooled over the test folds. Lower is better for top-k slowdown and MAPE, "
                     "higher for the rest.", note=True))
    if not noise.get("available"):
        summary.add(Text(f"Noise ceiling unavailable: {noise.get('reason', '')}", note=True))
    doc.sections.append(summary)
    for split, per_target in result.get("splits", {}).items():
        info = result.get("split_info", {}).get(split, {})
        sec = Section(split, [Text(f"held out: {info.get('held_out')}; "
                                   f"{info.get('folds')} folds, {info.get('seconds')} s")])
        preds = (predictions or {}).get(split)
        if preds:
            sec.add(_scatter(split, preds), _rank(split, preds))
        else:
            sec.add(Text("no out-of-fold predictions were kept for this split", note=True))
        for target, m in per_target.items():
            sec.add(_metric_table(result, split, target, m))
        for target, fams in result.get("by_family", {}).get(split, {}).items():
            sec.add(_family_table(target, fams))
        doc.sections.append(sec)
    if result.get("unavailable_splits"):
        doc.sections.append(Section("Unavailable splits", [Table(
            ["split", "reason"], [[s, why] for s, why in result["unavailable_splits"].items()])]))
    return doc
