"""How well the cost model ranks schedules of real models' dispatches, on measured pools.

On datasets without `--dispatch-schedules` (cpu-v2), `costmodel eval`'s unseen-models
split has only the compiler-default variants of each real dispatch (4 per group, within
~10-30% of each other). The schedule benchmark's pools are a fuller test: every dispatch of
the suite's real models with 128 sampled schedules plus IREE's default, each compiled and
timed on this machine (`python -m tuner.schedules.pool`; `tuner bench schedules` reads the
same cache). Since stop 36 the shipped model also trains on `datasets/cpu-v7`, other sampled
schedules of these same dispatches, so for it the pools are no longer held out (the eval's
unseen-models split on cpu-v7 is the held-out measure). Per dispatch this ranks the pool by
the model's latency rank cost and reports the eval's metrics (within-dispatch Kendall tau,
top-1 / top-5 slowdown, TenSet top-k), beside the roofline baseline (the model's own
calibration, with the schedule's vector padding), trusting IREE's default, and random ranking.
``model_order_trials_to_95`` is, per dispatch, how many candidates one takes in the model's
order until one is within 95% of the pool's best (the tuner bench's measure, for the bare
ranking with no search around it), with its mean and median:

    .venv/bin/python benchmarks/real_dispatch_ranking.py [--model models/default]
        [--pool 128] [--dispatches 40] [--cache-dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from costmodel.cli_args import as_recorded, positive_int, shipped  # noqa: E402

KEYS = ("kendall_tau", "pairwise_accuracy", "top1_slowdown", "top5_slowdown", "tenset_top1",
        "tenset_top5")


def print_table(res: dict, rows: tuple[str, ...]) -> None:
    """The metrics of ``res[who]`` for each of ``rows``, one line each ("-": not defined)."""
    w = max(18, *(len(r) + 1 for r in rows))
    print(f"{'':{w}s}" + "".join(f"{k:>18s}" for k in KEYS))
    for who in rows:
        row = res[who]
        print(f"{who:{w}s}" + "".join(f"{'-' if row.get(k) is None else f'{row[k]:.3f}':>18s}"
                                      for k in KEYS))


def trials_to_fraction(cost: np.ndarray, y: np.ndarray, fraction: float | None = None) -> int:
    """1-based position, in ascending ``cost`` order, of the first candidate whose latency
    ``y`` is within ``fraction`` of the best (best / y >= fraction): the tuner bench's
    ``trials_to`` on a model order, at its ``FRACTION`` unless given."""
    from tuner.schedules.bench import FRACTION

    fraction = FRACTION if fraction is None else fraction
    order = np.argsort(cost, kind="stable")
    return int(np.argmax(y.min() / y[order] >= fraction)) + 1


def pool_rows(model, pool) -> tuple[np.ndarray, np.ndarray]:
    """Raw feature rows and measured latencies of a pool's feasible members, default first."""
    target = pool.target
    feas = [r for r in pool.measured() if r.feasible]
    scheds = [target.default.to_dict()] + [r.schedule for r in feas]
    X = model.features(target.mlir, scheds)
    y = np.array([pool.default_latency] + [r.latency_s for r in feas])
    return X, y


def measured_pools(pool: int, dispatches: int, cache: Path | None = None) -> list:
    """The suite's measured pools in ``cache`` (default: the tuner's); exits with a hint when
    there are none."""
    from tuner.schedules.pool import DEFAULT_CACHE, load_pool, suite_dispatches

    cache = DEFAULT_CACHE if cache is None else cache
    pools = [load_pool(cache, d, pool) for d in suite_dispatches(dispatches, cache)]
    pools = [p for p in pools if p.default_latencies and p.measured()]
    if not pools:
        print(f"no measured pools of size {pool} under {cache}; measure them with "
              f"`python -m tuner.schedules.pool --n {pool} --limit {dispatches}`, or pass "
              "--cache-dir datasets/pools-zen3 (the pools shipped with the repository)",
              file=sys.stderr)
        sys.exit(2)
    return pools


def add_cache_arg(ap) -> None:
    ap.add_argument("--cache-dir", type=Path, default=None,
                    help="measured pools (default $TUNER_CACHE_DIR/schedules or "
                         "~/.cache/costmodel-tuner/schedules; datasets/pools-zen3 ships)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=shipped("models/default"))
    ap.add_argument("--pool", type=positive_int, default=128, help="pool size (as measured)")
    ap.add_argument("--dispatches", type=positive_int, default=40, help="suite size (as measured)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    add_cache_arg(ap)
    args = ap.parse_args(argv)

    import costmodel
    from costmodel.model.baselines import random_metrics, roofline_latency
    from costmodel.model.features import FEATURE_NAMES, N_BASE, SCHEDULE_NAMES
    from costmodel.model.metrics import ranking_metrics

    model = costmodel.load(args.model)
    machine = model.manifest.get("machine") or {}
    pools = measured_pools(args.pool, args.dispatches, args.cache_dir)
    fl, by = FEATURE_NAMES.index("total.log_flops"), FEATURE_NAMES.index("total.log_bytes")
    pad = N_BASE + SCHEDULE_NAMES.index("sched.log_pad_flops")
    Xs, ys, groups, names, n = [], [], [], [], 0
    for p in pools:
        X, y = pool_rows(model, p)
        Xs.append(X)
        ys.append(y)
        groups.append(np.arange(n, n + len(y)))
        names.append(p.name)
        n += len(y)
    X, y = np.vstack(Xs), np.concatenate(ys)
    cost = model.predict(features=X, targets="latency").rank_cost["latency"]
    roof = roofline_latency(np.expm1(X[:, fl]), np.expm1(X[:, by]), X[:, pad], machine)
    is_default = np.zeros(len(y), dtype=bool)
    is_default[[g[0] for g in groups]] = True
    default = {"top1_slowdown": statistics.fmean(float(y[g[0]] / y[g].min() - 1) for g in groups),
               "tenset_top1": float(sum(y[g].min() for g in groups) / sum(y[g[0]] for g in groups))}
    res = {"dispatches": len(pools), "candidates": int(len(y)),
           "model_dir": as_recorded(args.model),
           "model": {k: ranking_metrics(cost, y, groups).get(k) for k in KEYS},
           "roofline": {k: ranking_metrics(roof, y, groups).get(k) for k in KEYS},
           "compiler_default": default,
           "random": {k: v for k, v in random_metrics(y, groups).items() if k in KEYS},
           "per_dispatch": {nm: ranking_metrics(cost[g], y[g], [np.arange(len(g))])["kendall_tau"]
                            for nm, g in zip(names, groups)}}
    trials = {nm: trials_to_fraction(cost[g], y[g]) for nm, g in zip(names, groups)}
    res["model_order_trials_to_95"] = {"mean": statistics.fmean(trials.values()),
                                       "median": statistics.median(trials.values()),
                                       "per_dispatch": trials}
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"{len(pools)} real dispatches, {len(y)} measured candidates ({args.model})")
    print_table(res, ("model", "roofline", "compiler_default", "random"))
    t = res["model_order_trials_to_95"]
    print(f"candidates taken in the model's order to reach 95% of each pool's best: "
          f"mean {t['mean']:.2f}, median {t['median']:g}")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
