"""Would the cost model rank a new model's dispatches better if it had also trained on other
models' measured schedule pools?

Leave one architecture out (transformer_encoder and its wide variant are one architecture, as
are the two MobileNet blocks): for each architecture A with measured pools, train the latency
heads with `costmodel train`'s recipe on

* ``base``: the dataset without A's real-model rows, and
* ``pools``: the same plus the measured pools of every *other* architecture
  (`python -m tuner.schedules.pool`; `tuner bench schedules` reads the same cache),

then rank A's pools (IREE's default plus 128 sampled schedules per dispatch, timed on the machine
that measured the pools) and report the eval's within-dispatch metrics over all dispatches:

    .venv/bin/python benchmarks/pool_transfer.py [--data datasets/cpu-v2[,...]] [--cache-dir D]
        [--seed 0] [--json]

The pools carry latency only, from another machine than the dataset may be: this is about
within-dispatch ranking, not absolute latency.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from costmodel.cli_args import positive_int, random_seed, shipped  # noqa: E402
from real_dispatch_ranking import add_cache_arg, measured_pools  # noqa: E402

KEYS = ("kendall_tau", "top1_slowdown", "top5_slowdown", "tenset_top1", "tenset_top5")


def architecture(pool_name: str) -> str:
    """``transformer_encoder$async_dispatch_2_...`` -> ``transformer_encoder``."""
    return pool_name.split("$")[0]


def pool_frame(model, pools):
    """The pools as training rows (latency only; other targets missing)."""
    from costmodel.model.data import Frame
    from costmodel.model.features import FEATURE_NAMES, N_BASE, SCHEDULE_NAMES
    from real_dispatch_ranking import pool_rows

    Xs, ys, group, arch, keys, scheds, is_default = [], [], [], [], [], [], []
    for p in pools:
        X, y = pool_rows(model, p)
        members = [p.target.default.to_dict()] + [r.schedule for r in p.measured() if r.feasible]
        Xs.append(X)
        ys.append(y)
        group += [p.name] * len(y)
        arch += [architecture(p.name)] * len(y)
        keys += [f"{p.name}#{i}" for i in range(len(y))]
        scheds += [json.dumps(s, sort_keys=True) for s in members]
        is_default += [True] + [False] * (len(y) - 1)
    X, y = np.vstack(Xs), np.concatenate(ys)
    n, missing = len(y), np.full(len(y), np.nan)
    return Frame(
        X=X, y={"latency": y}, group=np.array(group), family=np.full(n, "dispatch:pool"),
        source=np.full(n, "real_model_pool"), model=np.array(arch), shape=np.full(n, ""),
        is_default=np.array(is_default), data_tiling=np.zeros(n, bool),
        ukernels=np.zeros(n, bool), flops=np.expm1(X[:, FEATURE_NAMES.index("total.log_flops")]),
        bytes=np.expm1(X[:, FEATURE_NAMES.index("total.log_bytes")]),
        pad=X[:, N_BASE + SCHEDULE_NAMES.index("sched.log_pad_flops")],
        sample_key=np.array(keys), schedule_json=np.array(scheds), data_hash="pools",
        noisy=np.zeros(n, bool), latency_ci_rel=missing)


def concat(a, b):
    """Rows of frame ``a`` then ``b`` (latency only)."""
    from costmodel.model.data import Frame

    kw = {}
    for k, v in a.__dict__.items():
        w = b.__dict__[k]
        if k == "y":
            kw[k] = {"latency": np.concatenate([v["latency"], w["latency"]])}
        elif isinstance(v, np.ndarray):
            both = np.concatenate([v, w])
            kw[k] = both.astype(str) if both.dtype.kind in "USO" else both
        else:
            kw[k] = v
    return Frame(**kw)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=shipped("datasets/cpu-v2"),
                    help="dataset directory, or several of one machine joined by commas")
    ap.add_argument("--model", default=shipped("models/default"),
                    help="featurizes the pools and gives the roofline calibration")
    ap.add_argument("--seed", type=random_seed, default=0)
    ap.add_argument("--pool", type=positive_int, default=128, help="pool size (as measured)")
    ap.add_argument("--dispatches", type=positive_int, default=40, help="suite size (as measured)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    add_cache_arg(ap)
    args = ap.parse_args(argv)

    import costmodel
    from costmodel.model.datasets import data_paths, load_frames
    from costmodel.model.metrics import ranking_metrics
    from costmodel.model.train import fit, predict_rows

    model = costmodel.load(args.model)
    pf = pool_frame(model, measured_pools(args.pool, args.dispatches, args.cache_dir))
    data = load_frames(data_paths(args.data))
    data.y = {"latency": data.y["latency"]}
    archs = sorted(set(pf.model))
    groups = [np.flatnonzero(pf.group == g) for g in dict.fromkeys(pf.group)]
    res: dict = {"data": args.data, "seed": args.seed, "dispatches": len(groups),
                 "candidates": len(pf), "architectures": archs}
    for arm in ("base", "pools"):
        cost = np.zeros(len(pf))
        t0 = time.perf_counter()
        for a in archs:
            train = data.take(np.flatnonzero(~np.char.startswith(data.model.astype(str), a)))
            if arm == "pools":
                train = concat(train, pf.take(np.flatnonzero(pf.model != a)))
            pre, heads, _ = fit(train, ["latency"], seed=args.seed,
                                machine=model.manifest["machine"], say=None)
            test = np.flatnonzero(pf.model == a)
            cost[test] = predict_rows(pre, heads, pf.X[test])["latency"]["rank_cost"]
        m = ranking_metrics(cost, pf.y["latency"], groups)
        res[arm] = {k: m[k] for k in KEYS}
        res[arm]["seconds"] = round(time.perf_counter() - t0, 1)
        if not args.json:
            print(f"{arm:6s} " + "  ".join(f"{k} {m[k]:.3f}" for k in KEYS), flush=True)
    if args.json:
        print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
