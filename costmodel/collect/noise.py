"""The noise ceiling: re-measure a sample of a dataset and compare the two runs.

Model metrics are only meaningful beside what a second measurement of the same programs
achieves: a model cannot rank schedules more consistently than the machine does.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
from scipy.stats import kendalltau

from costmodel.collect.plan import WorkItem, sample_key
from costmodel.dataset.store import DatasetError, load
from costmodel.errors import InputError


def _check_run(run) -> None:
    """A repeat run's name: not 'main', whose samples it is compared with (re-measuring into
    'main' would measure nothing and record a perfect, meaningless noise report)."""
    if not isinstance(run, str) or not run.strip():
        raise InputError(f"run must be a non-empty name, got {run!r}")
    if run == "main":
        raise InputError("run 'main' is the measurements the noise report compares against; "
                         "name the repeat run something else (default repeat-1)")


def noise_items(root: str, samples: int, *, run: str = "repeat-1", seed: int = 0,
                min_group: int = 4) -> list[WorkItem]:
    """Whole candidate groups (>= min_group feasible schedules) up to ``samples``.

    Real dispatches' groups count when they have that many (``--dispatch-schedules``);
    IREE's four flag variants alone are too alike to rank.
    """
    _check_run(run)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise InputError(f"samples must be an integer >= 1, got {samples!r}")
    table, programs, _ = load(root)
    ir_by_hash = dict(zip(programs.column("ir_hash").to_pylist(),
                          programs.column("ir").to_pylist()))
    rows = [r for r in table.to_pylist()
            if r["run"] == "main" and r["feasible"] and r["latency_median_s"] is not None]
    done = {r["sample_key"] for r in table.to_pylist() if r["run"] == run}
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["group_id"]].append(r)
    eligible = sorted(g for g, rs in groups.items() if len(rs) >= min_group and (
        rs[0]["source"] == "synthetic" or not all(r["is_default"] for r in rs)))
    if not eligible:
        raise DatasetError(f"{root}: no candidate group has {min_group} feasible samples to repeat")
    rng = np.random.default_rng(seed)
    order = [eligible[i] for i in rng.permutation(len(eligible))]
    items: list[WorkItem] = []
    for gid in order:
        if len(items) >= samples:
            break
        for r in groups[gid]:
            sched = json.loads(r["schedule_json"])
            key = sample_key(run, gid, sched)
            items.append(WorkItem(
                key=key, run=run, group_id=gid, family=r["family"], source=r["source"],
                shape=json.loads(r["shape_json"]), schedule=sched, is_default=r["is_default"],
                pipeline=r["pipeline"], data_tiling=r["data_tiling"],
                ukernels=r["ukernels"] != "none", model=r["model"], dispatch=r["dispatch"],
                ir=ir_by_hash[r["ir_hash"]], **_benchmark_entry(r, ir_by_hash[r["ir_hash"]])))
    return [it for it in items if it.key not in done] + [it for it in items if it.key in done]


def _benchmark_entry(row: dict, ir: str) -> dict:
    """A real dispatch is a benchmark module: an entry taking one repeat count, no inputs."""
    if row["source"] != "real_model":
        return {}
    from costmodel.programs.dispatch_target import BENCHMARK_ENTRY_RE

    m = BENCHMARK_ENTRY_RE.search(ir)
    if m is None:
        raise DatasetError(f"sample {row['sample_key']}: stored dispatch IR has no benchmark entry")
    return {"entry": m.group(1), "fixed_inputs": (1,)}


def noise_report(root: str, *, run: str = "repeat-1") -> dict:
    """Repeat-run agreement of latency between the main run and ``run``."""
    _check_run(run)
    table, _, _ = load(root)
    rows = table.to_pylist()
    first = {(r["group_id"], r["schedule_json"]): r for r in rows if r["run"] == "main"}
    pairs = []
    for r in rows:
        if r["run"] != run:
            continue
        a = first.get((r["group_id"], r["schedule_json"]))
        if a and a["latency_median_s"] and r["latency_median_s"]:
            pairs.append((a, r))
    if not pairs:
        raise DatasetError(f"{root}: no samples measured in both 'main' and '{run}'")
    x = np.array([a["latency_median_s"] for a, _ in pairs])
    y = np.array([b["latency_median_s"] for _, b in pairs])
    rel = np.abs(y - x) / x
    by_group: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for a, b in pairs:
        by_group[a["group_id"]].append((a["latency_median_s"], b["latency_median_s"]))
    family = {a["group_id"]: a["family"] for a, _ in pairs}
    taus, slow = [], []
    by_family: dict[str, list[float]] = defaultdict(list)
    for gid, vals in by_group.items():
        if len(vals) < 3:
            continue
        u, v = np.array(vals).T
        tau = kendalltau(u, v).statistic
        if np.isfinite(tau):
            taus.append(tau)
            by_family[family[gid]].append(float(tau))
        # Top-1 slowdown of trusting run 2's pick, judged by run 1.
        slow.append(u[int(np.argmin(v))] / u.min() - 1.0)
    return {
        "run": run,
        "samples": len(pairs),
        "groups": len(by_group),
        "latency_mape": float(rel.mean()),
        "latency_within_10pct": float((rel <= 0.10).mean()),
        "latency_median_ape": float(np.median(rel)),
        "kendall_tau": float(np.mean(taus)) if taus else None,
        "top1_slowdown": float(np.mean(slow)) if slow else None,
        # The mean tau can hide one family whose timing does not repeat (e.g. transposes).
        "kendall_tau_by_family": {f: float(np.mean(t)) for f, t in sorted(by_family.items())},
    }
