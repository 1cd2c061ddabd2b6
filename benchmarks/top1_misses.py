"""Where the latency ranking's top-1 slowdown comes from, and whether a kind of candidate is
misranked.

Runs `costmodel eval`'s folds of one split (latency only) and reads the out-of-fold ordering
scores (the ranking head's cost, what picks a group's best). Reports:

* per kernel family: its groups' mean top-1 slowdown (the eval's definition: the pick is
  the lowest cost, ties at their expected pick) and its share of the total; how often the
  pick was one of IREE's default candidates, the slowdown when it was and when it was not,
  and the slowdown of trusting the default instead;
* per candidate kind (IREE's default / sampled), in bins of predicted within-group rank:
  the mean of measured minus predicted percentile rank. Conditioning on the *prediction* is
  what tells a biased kind apart: binned by the measured rank instead, any imperfect model
  looks pessimistic about a group's fastest candidates (regression to the mean), and a kind
  that is usually fast (IREE's defaults) then looks overrated when it is not;
* the groups with the largest top-1 slowdown, with the picked schedule.

    .venv/bin/python benchmarks/top1_misses.py [--data DATASETS] [--split unseen_shapes]
        [--folds 3] [--seed 0] [--worst 10] [--json]

The run prints figures; it checks nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy.stats import rankdata  # noqa: E402

from benchmarks._folds import add_fold_args, out_of_fold  # noqa: E402
from costmodel.cli_args import as_recorded, positive_int  # noqa: E402
from costmodel.model.data import group_index  # noqa: E402
#: Bins of predicted within-group percentile rank (0: predicted fastest).
RANK_BINS = (0.0, 0.2, 0.5, 0.8, 1.0)


def group_picks(cost: np.ndarray, y: np.ndarray, group: np.ndarray,
                is_default: np.ndarray) -> list[dict]:
    """Per group of two or more rows: the top-1 slowdown of the lowest ``cost`` (tied
    lowest costs: their mean latency, as ranking_metrics), the share of the pick that is a
    default candidate, the best default's slowdown (None without one), and the pick's row."""
    out = []
    for idx in group_index(group)[1]:
        if len(idx) < 2:
            continue
        t, p, d = y[idx], cost[idx], is_default[idx]
        best = t.min()
        if not best > 0:
            continue
        tie = p == p.min()
        out.append({"group": group[idx[0]], "slowdown": float(t[tie].mean() / best - 1.0),
                    "pick_default": float(d[tie].mean()),
                    "default_slowdown": float(t[d].min() / best - 1.0) if d.any() else None,
                    "pick_row": int(idx[np.flatnonzero(tie)[0]])})
    return out


def percentile_ranks(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Within-group percentile rank in (0, 1]: the lowest of n is 1/n, ties averaged."""
    out = np.empty(len(x))
    for idx in group_index(group)[1]:
        out[idx] = rankdata(x[idx]) / len(idx)
    return out


def rank_residuals(cost: np.ndarray, y: np.ndarray, group: np.ndarray,
                   kind: np.ndarray) -> dict:
    """kind -> predicted-rank bin -> rows and mean (measured - predicted) percentile rank:
    positive means slower than the model ranked it."""
    pr, mr = percentile_ranks(cost, group), percentile_ranks(y, group)
    res: dict = {}
    for k in np.unique(kind):
        res[str(k)] = {}
        for lo, hi in zip(RANK_BINS[:-1], RANK_BINS[1:]):
            m = (kind == k) & (pr > lo) & (pr <= hi)
            res[str(k)][f"{lo:.1f}-{hi:.1f}"] = {
                "rows": int(m.sum()),
                "rank_residual": float((mr[m] - pr[m]).mean()) if m.any() else None}
    return res


def _mean(v: list) -> float | None:
    return float(np.mean(v)) if v else None


def summarize(picks: list[dict], family: np.ndarray, schedules: np.ndarray,
              worst: int) -> tuple[dict, list]:
    total = sum(p["slowdown"] for p in picks)
    fams: dict = {}
    for f in sorted({family[p["pick_row"]] for p in picks}):
        mine = [p for p in picks if family[p["pick_row"]] == f]
        s = [p["slowdown"] for p in mine]
        fams[str(f)] = {
            "groups": len(mine), "top1_slowdown": _mean(s),
            "share_of_total": float(sum(s) / total) if total > 0 else None,
            "picks_default": _mean([p["pick_default"] for p in mine]),
            "top1_slowdown_picking_default": _mean(
                [p["slowdown"] for p in mine if p["pick_default"] == 1.0]),
            "top1_slowdown_picking_sampled": _mean(
                [p["slowdown"] for p in mine if p["pick_default"] == 0.0]),
            "default_top1_slowdown": _mean(
                [p["default_slowdown"] for p in mine if p["default_slowdown"] is not None])}
    bad = sorted(picks, key=lambda p: -p["slowdown"])[:worst]
    rows = [{"group": str(p["group"]), "family": str(family[p["pick_row"]]),
             "slowdown": p["slowdown"], "pick_default": p["pick_default"],
             "default_slowdown": p["default_slowdown"],
             "pick_schedule": json.loads(schedules[p["pick_row"]])} for p in bad]
    return fams, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_fold_args(ap, ("unseen_shapes", "unseen_families", "random_within_groups",
                       "unseen_models"))
    ap.add_argument("--worst", type=positive_int, default=10,
                    help="list this many groups with the largest top-1 slowdown")
    args = ap.parse_args(argv)
    paths, frame, p, res = out_of_fold(args, progress=not args.json)
    rows = np.asarray(p["rows"])
    y, cost = np.asarray(p["y"]), np.asarray(p["rank_cost"])
    # Rank within (group, fold) as the eval does: random_within_groups spreads a group over
    # folds, and different fold models' costs do not compare.
    group = np.char.add(np.char.add(np.asarray(p["group"]).astype(str), "#"),
                        np.asarray(p["fold"]).astype(str))
    is_default = np.asarray(frame.is_default)[rows].astype(bool)
    family = np.asarray(frame.family)[rows].astype(str)
    picks = group_picks(cost, y, group, is_default)
    fams, bad = summarize(picks, family, np.asarray(frame.schedule_json)[rows], args.worst)
    out = {"data": ",".join(as_recorded(d) for d in paths), "split": args.split,
           "seed": args.seed, "folds": args.folds, "rows": int(len(y)), "groups": len(picks),
           "top1_slowdown": _mean([q["slowdown"] for q in picks]),
           "eval_top1_slowdown": res["splits"][args.split]["latency"]["top1_slowdown"],
           "families": fams,
           "rank_residual_by_predicted_rank": rank_residuals(
               cost, y, group, np.where(is_default, "default", "sampled")),
           "worst_groups": bad}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{args.split}, seed {args.seed}: {out['groups']} groups, top-1 slowdown "
          f"{out['top1_slowdown']:.3f} ({args.data})")
    f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    print(f"{'family':32} {'groups':>6} {'top-1':>7} {'share':>6} {'picks dflt':>10} "
          f"{'if dflt':>7} {'if not':>7} {'dflt only':>9}")
    for name, r in sorted(fams.items(), key=lambda kv: -(kv[1]["share_of_total"] or 0)):
        print(f"{name:32} {r['groups']:6d} {f(r['top1_slowdown']):>7} "
              f"{f(r['share_of_total']):>6} {f(r['picks_default']):>10} "
              f"{f(r['top1_slowdown_picking_default']):>7} "
              f"{f(r['top1_slowdown_picking_sampled']):>7} {f(r['default_top1_slowdown']):>9}")
    print("measured - predicted percentile rank, by predicted rank (0 = predicted fastest):")
    for kind, bins in out["rank_residual_by_predicted_rank"].items():
        print(f"  {kind:8} " + "  ".join(f"{b}: {f(v['rank_residual'])} ({v['rows']})"
                                         for b, v in bins.items()))
    print("worst groups:")
    for r in bad:
        print(f"  {r['family']:24} {r['slowdown']:8.2f}  default picked {r['pick_default']:.0%}"
              f"  {json.dumps(r['pick_schedule'].get('levels'))}")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
