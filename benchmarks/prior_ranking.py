"""How well the schedule tuner's held-out prior ranks the real dispatches' measured pools.

`tuner bench schedules` guides the search on each real model's dispatches with a schedule
prior trained only on the *other* models' pools (tuner.schedules.bench.held_out_priors), and
the prior reads the cost model's predicted latency relative to IREE's default as one of its
features. So a cost model that ranks the pools better does not by itself make the tuner
better (stop 39: it made it worse). This scores, per pool (its feasible members and IREE's
default), the held-out prior's ranking and, beside it, that cost-model feature alone, with
the eval's metrics (within-dispatch Kendall tau, top-1 / top-5 slowdown, TenSet top-k):

    .venv/bin/python benchmarks/prior_ranking.py [--model models/default] [--pool 128]
        [--dispatches 40] [--seed 0] [--cost-feature latency|rank_cost|both|none]
        [--cache-dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks.real_dispatch_ranking import (KEYS, add_cache_arg, measured_pools,  # noqa: E402
                                              print_table)
from costmodel.cli_args import as_recorded, positive_int, random_seed, shipped  # noqa: E402


#: What the priors read from the cost model: its predicted latency (what the tuner's prior
#: reads), its ordering score (``rank_cost``), both, or nothing (the tile features alone).
COST_FEATURES = ("latency", "rank_cost", "both", "none")


def variant_records(pool, model, which: str):
    """``records_from_pool`` with the cost-model column(s) ``which`` instead of the tuner's
    (the same rows for "latency"), and the indices of the cost-model columns (the last is
    scored beside the prior)."""
    from costmodel.programs import Schedule
    from tuner.schedules import relative
    from tuner.schedules.prior import Records, feature_names, records_from_pool

    rec = records_from_pool(pool, model)
    n_rel = len(relative.feature_names())
    if which == "latency":
        return rec, [feature_names().index("cost_model.log_latency_vs_default")]
    if which == "none":
        return Records(rec.dispatch, rec.X[:, :n_rel], rec.y), []
    target = pool.target
    scheds = [target.default] + [Schedule.from_dict(r.schedule) for r in pool.measured()]
    pred = model.predict(kernel=model.kernel(target.mlir), targets="latency",
                         schedules=[target.default.to_dict()] + [x.to_dict() for x in scheds])
    rc = np.asarray(pred.rank_cost["latency"], dtype=float)
    cols = [rec.X] if which == "both" else [rec.X[:, :n_rel]]
    X = np.column_stack([*cols, rc[1:] - rc[0]])
    return Records(rec.dispatch, X, rec.y), list(range(n_rel, X.shape[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=shipped("models/default"), help="cost model directory")
    ap.add_argument("--pool", type=positive_int, default=128, help="pool size (as measured)")
    ap.add_argument("--dispatches", type=positive_int, default=40, help="suite size (as measured)")
    ap.add_argument("--seed", type=random_seed, default=0, help="the priors' XGBoost seed")
    ap.add_argument("--cost-feature", choices=COST_FEATURES, default="latency",
                    help="what the priors read from the cost model (default: what the tuner's "
                         "prior reads, its predicted latency vs IREE's default)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    add_cache_arg(ap)
    args = ap.parse_args(argv)

    import costmodel
    from costmodel.model.metrics import ranking_metrics
    from tuner.schedules.bench import held_out_priors

    model = costmodel.load(args.model)
    pools = measured_pools(args.pool, args.dispatches, args.cache_dir)
    # Row 0 of each is IREE's default (relative latency 0).
    recs, cols = zip(*(variant_records(p, model, args.cost_feature) for p in pools))
    cols = cols[0]  # the cost-model columns (none with --cost-feature none)
    priors = held_out_priors(pools, model, seeds=(args.seed,), records=recs)[args.seed]
    if any(v is None for v in priors.values()):
        print(f"error: the {len(pools)} pools come from one real model; a held-out prior "
              "needs pools of another (raise --dispatches)", file=sys.stderr)
        return 2
    prior_cost, feature, lat, groups, gain, n = [], [], [], [], {}, 0
    for p, rec in zip(pools, recs):
        ok = np.isfinite(rec.y)
        prior = priors[p.name]
        prior_cost.append(prior.predict_rows(rec.X[ok]))
        if cols:
            feature.append(rec.X[ok, cols[-1]])
        lat.append(np.exp(rec.y[ok]) * p.default_latency)  # seconds, as real_dispatch_ranking
        groups.append(np.arange(n, n + int(ok.sum())))
        n += int(ok.sum())
        if rec.model not in gain:  # one prior per held-out model
            score = prior.booster.get_score(importance_type="gain")
            gain[rec.model] = sum(score.get(f"f{c}", 0.0) for c in cols) / sum(score.values())
    y = np.concatenate(lat)
    res = {"cost_model": as_recorded(args.model), "dispatches": len(pools),
           "candidates": int(len(y)), "seed": args.seed, "cost_feature": args.cost_feature,
           "prior": {k: ranking_metrics(np.concatenate(prior_cost), y, groups).get(k)
                     for k in KEYS},
           "cost_model_feature": ({k: ranking_metrics(np.concatenate(feature), y, groups).get(k)
                                   for k in KEYS} if cols else None),
           # How much the priors lean on the cost model: its column's share of the total gain.
           "cost_model_gain_share": float(np.mean(list(gain.values())))}
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"{len(pools)} real dispatches, {len(y)} measured candidates ({args.model}); "
          f"the priors give the cost model {res['cost_model_gain_share']:.0%} of their gain")
    print_table(res, ("prior", "cost_model_feature") if cols else ("prior",))
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
