"""Where ``costmodel eval``'s errors come from: the metrics per kernel family.

A split's pooled figure mixes families whose errors differ by several times (cpu-v4,
unseen models: real ``batch_matmul`` dispatches near the roofline, convolutions far above
it), so the ``by_family`` block of ``--json`` and the report's per-family tables give,
per split, target and family (the dataset's ``family``: ``dispatch:<root family>`` for real
models' dispatches), the model's metrics on that family's test rows and the roofline's
beside them. Ranking metrics rank within the family's own groups; a family whose groups
all have one candidate has none.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Metrics reported per family (the rest of a split's metrics follow from these or are
#: too noisy on a few rows).
FAMILY_METRICS = ("kendall_tau", "top1_slowdown", "mape", "within_10pct", "r2_log")


def family_breakdown(family: np.ndarray, te: np.ndarray, cat: dict,
                     metrics: Callable[[np.ndarray, dict], tuple[dict, dict]]) -> dict:
    """family -> {"model": {...}, "roofline": {...} (latency only)} over test rows ``te``
    (frame row indices; ``cat`` holds their predictions, row for row). ``metrics(rows,
    cat)`` gives (model metrics, baseline metrics) as ``evaluate._metrics`` does."""
    fams = family[te]
    out: dict = {}
    for fam in sorted(set(fams.tolist())):
        mask = fams == fam
        m, b = metrics(te[mask], {k: v[mask] for k, v in cat.items()})
        entry = {"model": {k: m.get(k) for k in (*FAMILY_METRICS, "test_rows", "test_groups")}}
        if "roofline" in b:
            entry["roofline"] = {k: b["roofline"].get(k) for k in FAMILY_METRICS}
        out[fam] = entry
    return out


def markdown_lines(by_family: dict) -> list[str]:
    """A table per split and target: each family's rows, the model's metrics and the
    roofline's MAPE."""
    from costmodel.model.report import cell_text as _f
    lines = ["# Per kernel family", "",
             "Each split's test rows by the dataset's kernel family (`dispatch:*`: real "
             "models' dispatches).", ""]
    for split, per_target in by_family.items():
        for target, fams in per_target.items():
            lines += [f"## {split}: {target}", "",
                      "| family | rows | groups | " + " | ".join(FAMILY_METRICS)
                      + " | roofline mape |",
                      "|---|---|---|" + "---|" * (len(FAMILY_METRICS) + 1)]
            for fam, e in fams.items():
                m, roof = e["model"], e.get("roofline") or {}
                cells = [_f(m.get(k)) for k in FAMILY_METRICS] + [_f(roof.get("mape"))]
                lines.append(f"| {fam} | {m.get('test_rows')} | {m.get('test_groups')} | "
                             + " | ".join(cells) + " |")
            lines.append("")
    return lines
