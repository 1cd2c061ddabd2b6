"""Where could better ranking on unseen shapes come from? Other learners, and an oracle.

On `costmodel eval`'s ``unseen_shapes`` folds (whole candidate groups held out, same seed),
each learner is trained on a fold's training rows and ranks its test rows; figures are the
eval's within-group Kendall tau and top-1 slowdown over the pooled test predictions:

* ``ranker``: a plain pairwise XGBoost ranker on the shipped feature rows (the reference);
* ``ranker+compiled``: the same plus three columns read off each candidate's real compile
  (static instruction count, spills, module size). No scorer has these before compiling:
  this is an oracle, the most a compile-then-predict model could add;
* ``ridge``: ridge regression of group-centred log latency on the group-centred schedule
  columns and their products with four kernel descriptors (a linear model extrapolates
  differently from trees);
* ``mlp``: scikit-learn's MLP (256-128, 3 seeds averaged) on the same centred target;
* ``ranker+ridge`` and ``ranker+mlp``: within-group z-scores summed, 1:1.

It also counts the groups whose measured latencies span under 10% (within the labels'
noise; their tau is near 0 whatever the model does). The run prints figures, checks nothing:

    .venv/bin/python benchmarks/ranking_headroom.py [--data datasets/cpu-v4] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from costmodel.cli_args import as_recorded, shipped  # noqa: E402

KERNEL_DESCRIPTORS = ("total.log_flops", "total.log_bytes", "root.n_parallel", "root.n_reduction")


def _centred(v: np.ndarray, inv: np.ndarray, n: int) -> np.ndarray:
    s = np.zeros((n,) + v.shape[1:])
    np.add.at(s, inv, v)
    c = np.bincount(inv, minlength=n).astype(float).reshape((-1,) + (1,) * (v.ndim - 1))
    return v - (s / c)[inv]


def _zscores(v: np.ndarray, inv: np.ndarray, n: int) -> np.ndarray:
    v = _centred(v, inv, n)
    s = np.zeros(n)
    np.add.at(s, inv, v ** 2)
    sd = np.sqrt(s / np.bincount(inv, minlength=n))[inv]
    return v / np.where(sd > 0, sd, 1.0)


def _ranker(X, z, group, tr, te, seed: int) -> np.ndarray:
    """`costmodel train`'s pairwise ranker setup (relevance by within-group rank), fixed at
    300 rounds."""
    import xgboost as xgb

    from costmodel.model.heads import RANK_PARAMS, rank_dmatrix

    b = xgb.train({**RANK_PARAMS, "seed": seed}, rank_dmatrix(X[tr], z[tr], group[tr]), 300)
    return -b.predict(xgb.DMatrix(X[te]))


def _standardised(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = A.mean(0), A.std(0) + 1e-9
    return np.clip((A - mu) / sd, -6, 6), np.clip((B - mu) / sd, -6, 6)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=shipped("datasets/cpu-v4"))
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    from sklearn.linear_model import Ridge
    from sklearn.neural_network import MLPRegressor
    from tqdm import tqdm

    from costmodel.model.data import load_frame
    from costmodel.model.features import FEATURE_NAMES
    from costmodel.model.metrics import ranking_metrics
    from costmodel.model.splits import make_split

    frame = load_frame(args.data)
    lat = frame.y["latency"]
    y = np.log(lat)
    groups, inv = np.unique(frame.group, return_inverse=True)
    n = len(groups)
    compiled = np.stack([np.log(frame.y["instructions"]), np.log1p(frame.y["spills"]),
                         np.log(frame.y["code_size"])], axis=1)
    sched = [j for j, c in enumerate(FEATURE_NAMES) if c.startswith(("sched.", "tile."))]
    S = _centred(np.clip(np.nan_to_num(frame.X[:, sched]), -50, 50), inv, n)
    K = np.nan_to_num(frame.X[:, [FEATURE_NAMES.index(c) for c in KERNEL_DESCRIPTORS]])
    K = (K - K.mean(0)) / (K.std(0) + 1e-9)
    L = np.hstack([S] + [S * K[:, [i]] for i in range(K.shape[1])])
    yc = _centred(y, inv, n)

    folds = make_split("unseen_shapes", frame, k=3, seed=0).folds
    pred = {k: np.zeros(len(y)) for k in ("ranker", "ranker+compiled", "ridge", "mlp")}
    for fi, (tr, te) in enumerate(tqdm(folds, desc="folds", file=sys.stderr, leave=False)):
        pred["ranker"][te] = _ranker(frame.X, y, frame.group, tr, te, fi)
        pred["ranker+compiled"][te] = _ranker(np.hstack([frame.X, compiled]), y, frame.group,
                                              tr, te, fi)
        A, B = _standardised(L[tr], L[te])
        pred["ridge"][te] = Ridge(alpha=1.0).fit(A, yc[tr]).predict(B)
        A, B = _standardised(S[tr], S[te])
        pred["mlp"][te] = np.mean([MLPRegressor(
            hidden_layer_sizes=(256, 128), alpha=1e-3, max_iter=200, early_stopping=True,
            n_iter_no_change=10, random_state=s).fit(A, yc[tr]).predict(B) for s in range(3)],
            axis=0)
    for other in ("ridge", "mlp"):
        pred[f"ranker+{other}"] = _zscores(pred["ranker"], inv, n) + _zscores(pred[other], inv, n)

    members = [np.flatnonzero(inv == i) for i in range(n)]
    narrow = [m for m in members if len(m) > 1 and lat[m].max() / lat[m].min() < 1.10]
    wide = [m for m in members if len(m) > 1 and lat[m].max() / lat[m].min() >= 1.10]
    res = {"data": as_recorded(args.data), "split": "unseen_shapes", "folds": len(folds),
           "groups_within_10pct": len(narrow), "groups": len(narrow) + len(wide), "learners": {}}
    for k, p in pred.items():
        m = ranking_metrics(p, lat, members)
        res["learners"][k] = {"kendall_tau": m["kendall_tau"],
                              "top1_slowdown": m["top1_slowdown"],
                              "kendall_tau_wider_groups": ranking_metrics(p, lat, wide)["kendall_tau"]}
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"{args.data}, unseen shapes, {len(folds)} folds; {len(narrow)} of {res['groups']} "
          f"groups span under 10%")
    print(f"{'':18s}{'tau':>8s}{'top-1':>8s}{'tau, groups >= 10%':>20s}")
    for k, m in res["learners"].items():
        print(f"{k:18s}{m['kendall_tau']:8.3f}{m['top1_slowdown']:8.3f}"
              f"{m['kendall_tau_wider_groups']:20.3f}")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
