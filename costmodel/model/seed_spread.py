"""How much ``costmodel eval``'s figures move with the fold assignment (``--seeds N``).

One K-fold draw is one sample: which kernels or models land in a test fold together moves
the figures, most on splits with few units (9 real models: unseen-models latency MAPE
0.249-0.479 over fold seeds 0-5 on cpu-v4). ``--seeds N`` reruns the evaluation with
fold seeds seed..seed+N-1 and reports, per split, target and metric, the mean, min, max
and the per-seed values of the model and of the roofline beside it.
"""

from __future__ import annotations

import numpy as np

#: Metrics summarised across seeds (the rest are counts or follow from these).
SPREAD_METRICS = ("kendall_tau", "pairwise_accuracy", "top1_slowdown", "top5_slowdown",
                  "tenset_top1", "mape", "within_10pct", "r2_log", "interval_coverage")


def _summary(values: list) -> dict | None:
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"mean": float(np.mean(vals)), "min": float(min(vals)), "max": float(max(vals)),
            "values": [None if v is None else float(v) for v in values]}


def _collect(per_seed: list[dict]) -> dict:
    """split -> target -> metric -> summary, over the per-seed metric blocks given."""
    out: dict = {}
    for split in per_seed[0]:
        for target in per_seed[0][split]:
            for k in SPREAD_METRICS:
                s = _summary([r.get(split, {}).get(target, {}).get(k) for r in per_seed])
                if s is not None:
                    out.setdefault(split, {}).setdefault(target, {})[k] = s
    return out


def seed_spread(results: list[dict], seeds: list[int]) -> dict:
    """The ``seed_spread`` block of ``costmodel eval --json`` from one ``evaluate`` result
    per fold seed (same splits and targets): ``{"seeds": [...], "splits": ...,
    "roofline": ...}``, each split -> target -> metric -> {mean, min, max, values}."""
    if len(results) != len(seeds) or not results:
        raise ValueError("one evaluation result per seed is needed")
    return {"seeds": list(seeds),
            "splits": _collect([r["splits"] for r in results]),
            "roofline": _collect([r["baselines"]["roofline"] for r in results])}


def markdown_lines(spread: dict) -> list[str]:
    """A table per split: the model's and the roofline's mean [min, max] over the seeds."""
    seeds = spread.get("seeds") or []
    lines = ["# Across fold seeds", "",
             f"Each split rerun with fold seeds {', '.join(map(str, seeds))}: mean "
             "[min, max] of the model and the roofline.", ""]
    for split, per_target in spread.get("splits", {}).items():
        for target, metrics in per_target.items():
            roof = spread.get("roofline", {}).get(split, {}).get(target, {})
            lines += [f"## {split}: {target}", "", "| metric | model | roofline |",
                      "|---|---|---|"]
            for k, s in metrics.items():
                lines.append(f"| {k} | {cell(s)} | {cell(roof.get(k))} |")
            lines.append("")
    return lines


def cell(s: dict | None) -> str:
    if not s:
        return "–"
    return f"{s['mean']:.3f} [{s['min']:.3f}, {s['max']:.3f}]"
