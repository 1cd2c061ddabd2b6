"""How does the latency model's held-out ranking grow with training data?

For one evaluation split (``costmodel eval``'s folds), train the latency heads with
`costmodel train`'s recipe on a random share of each fold's training *groups* (whole
candidate groups, so a group's schedules stay together), predict the fold's test rows, and
report the eval's metrics over the pooled test predictions, per share:

    .venv/bin/python benchmarks/learning_curve.py [--data datasets/cpu-v2[,MORE]] [--split unseen_shapes]
        [--fractions 0.25 0.5 1] [--draws 2] [--jobs 2] [--json]

``--extra D[,D2]`` adds the rows of more datasets of the same CPU to every fold's training
rows at the full share (never to its test rows, and without the test groups' kernels or, on
unseen families, the test families), and reports that fit beside the curve, on the same
test rows: what another collection is worth. ``--transfer-data D[,D2]`` (datasets of other
CPUs, as in `costmodel eval`) joins every fit at every share, never with the test kernels,
families or models: the curve of a model trained like `train --transfer-data`.

Beside them: how well the full-data model ranks its own training rows, the dataset's
repeat-run noise ceiling, and the least-squares gain in Kendall tau per doubling of the
training groups. ``--overfit`` also fits an unregularised XGBoost (depth 10, 2000 trees, no
early stopping) to every row and reports how well it ranks those same rows, with the count of
candidate pairs of a group whose feature rows are identical: whether the features can tell a
group's schedules apart at all, as against generalising to new groups. The run prints
figures; it checks nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from costmodel.cli_args import int_at_least, positive_int, random_seed, shipped  # noqa: E402

KEYS = ("kendall_tau", "pairwise_accuracy", "top1_slowdown", "top5_slowdown", "tenset_top1",
        "mape")

def _metrics(frame, idx: np.ndarray, cost: np.ndarray, value: np.ndarray | None) -> dict:
    from costmodel.model.data import group_index
    from costmodel.model.metrics import ranking_metrics, regression_metrics
    from costmodel.model.targets import TARGETS

    y = frame.y["latency"][idx]
    _, members = group_index(frame.ranking_group[idx].astype(str))
    m = ranking_metrics(cost, y, members)
    if value is not None:
        m.update(regression_metrics(value, y, TARGETS["latency"].forward))
    return {k: m.get(k) for k in KEYS if m.get(k) is not None}


def _overfit(frame) -> dict:
    """Rank every row with a model fitted to all of them, without regularisation."""
    import xgboost as xgb

    from costmodel.model.data import group_index

    y = frame.y["latency"]
    ok = np.flatnonzero(np.isfinite(y) & (y > 0))
    X = frame.X[ok]
    _, members = group_index(frame.ranking_group[ok].astype(str))
    pairs = same = 0
    for idx in members:
        rows = X[idx]
        eq = (rows[:, None, :] == rows[None, :, :]) | (np.isnan(rows[:, None, :])
                                                       & np.isnan(rows[None, :, :]))
        full = eq.all(axis=2)
        pairs += len(idx) * (len(idx) - 1) // 2
        same += int(np.triu(full, 1).sum())
    m = xgb.XGBRegressor(n_estimators=2000, max_depth=10, learning_rate=0.1,
                         tree_method="hist", n_jobs=1, random_state=0)
    m.fit(X, np.log(y[ok]))
    cost = m.predict(X)
    return {"kendall_tau": _metrics(frame, ok, cost, None)["kendall_tau"], "pairs": pairs,
            "identical_feature_pairs": same}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=shipped("datasets/cpu-v2"),
                    help="a dataset, or several of one CPU joined by commas")
    ap.add_argument("--extra", default=None,
                    help="datasets (comma list, same CPU) added to every fold's training rows "
                         "at the full share; tested rows stay --data's")
    ap.add_argument("--transfer-data", default=None, metavar="DATASETS",
                    help="other CPUs' datasets (comma list) in every fit, as `costmodel eval "
                         "--transfer-data`")
    ap.add_argument("--model", default=shipped("models/default"),
                    help="gives the roofline calibration (the latency head's margin)")
    ap.add_argument("--split", default="unseen_shapes",
                    choices=("unseen_shapes", "unseen_families", "random_within_groups"))
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--draws", type=positive_int, default=2,
                    help="random subsets per fraction below 1 (their metrics are averaged)")
    ap.add_argument("--folds", type=int_at_least(2), default=3)
    ap.add_argument("--seed", type=random_seed, default=0)
    ap.add_argument("--jobs", type=positive_int, default=1, help="fits at once (one process each)")
    ap.add_argument("--overfit", action="store_true",
                    help="also fit an unregularised model to every row (what the features "
                         "can express)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    bad = [f for f in args.fractions if not 0.0 < f <= 1.0]
    if bad:
        ap.error(f"fractions must lie in (0, 1] (got {bad})")

    from tqdm import tqdm

    from costmodel.errors import InputError
    from costmodel.model.artifact import read_manifest
    from costmodel.model.datasets import (check_same_hardware, check_transfer, concat_frames,
                                          data_paths, load_frames, load_manifests,
                                          load_transfer, with_transfer)
    from costmodel.model.evaluate import fold_results, noise_ceiling
    from costmodel.model.splits import make_split

    machine = read_manifest(args.model).get("machine", {})
    paths = data_paths(args.data)
    extra_paths = data_paths(args.extra) if args.extra else []
    if extra_paths:
        try:   # data_paths' own check: no dataset twice, by resolved path
            data_paths(f"{args.data},{args.extra}")
        except InputError:
            ap.error("--extra repeats a dataset of --data")
        check_same_hardware(paths + extra_paths, load_manifests(paths + extra_paths))
    tpaths = data_paths(args.transfer_data) if args.transfer_data else []
    if tpaths:
        try:   # data_paths' own check, as for --extra above
            data_paths(",".join(paths + extra_paths + tpaths))
        except InputError:
            ap.error("--transfer-data repeats a dataset of --data or --extra")
    transfer = (load_transfer(tpaths) if check_transfer(tpaths, load_manifests(paths[:1]))
                else [])
    base = load_frames(paths)
    # The split is made on --data (and the transfer rows, which it never tests); --extra
    # rows go between the two in one frame, so fold indices past --data's shift by them.
    sp = make_split(args.split, with_transfer(base, transfer), k=args.folds, seed=args.seed)
    own = concat_frames([base, load_frames(extra_paths)]) if extra_paths else base
    frame = with_transfer(own, transfer)
    frame.y = {"latency": frame.y["latency"]}
    extra_rows = np.arange(len(base), len(own))
    if len(extra_rows) and transfer:
        shift = len(extra_rows)
        sp.folds = [tuple(np.where(ix >= len(base), ix + shift, ix) for ix in fold)
                    for fold in sp.folds]
    other = (np.zeros(len(frame), dtype=bool) if frame.transfer is None
             else frame.transfer)
    if sp.unavailable or not sp.folds:
        print(f"error: split {args.split} is unavailable on {args.data}: {sp.unavailable}",
              file=sys.stderr)
        return 2
    fracs = sorted(set(args.fractions))
    # One eval fold task per (share, draw, fold), named "share#draw": the fold's training
    # groups subsampled here; at the full share the training rows are also predicted (after
    # the test rows), for how well the model ranks what it was fitted on.
    tasks, n_test, n_groups = [], {}, {}
    for frac in fracs:
        for d in range(1 if frac == 1.0 else args.draws):
            for fi, (tr, te) in enumerate(sp.folds):
                # The share is of --data's groups; transfer rows join every share whole.
                groups = np.unique(frame.group[tr[~other[tr]]])
                if frac < 1.0:
                    rng = np.random.default_rng([args.seed + fi, d, int(frac * 1e6)])
                    keep = rng.choice(groups, max(2, round(len(groups) * frac)), replace=False)
                    tr = tr[np.isin(frame.group[tr], keep) | other[tr]]
                name = f"{frac}#{d}"
                n_test[name, fi] = len(te)
                n_groups[name, fi] = len(np.unique(frame.group[tr[~other[tr]]]))
                # At the full share the own training rows are predicted after the test rows.
                tasks.append((name, fi, tr, np.concatenate([te, tr[~other[tr]]])
                              if frac == 1.0 else te,
                              args.seed + fi))
                if frac == 1.0 and len(extra_rows):
                    # Never the test groups' kernels (a kernel in both is one group), and
                    # on unseen families never the test families' other shapes either (a
                    # test group's family is a test family, so that check covers both).
                    unit = frame.family if args.split == "unseen_families" else frame.group
                    add = extra_rows[~np.isin(unit[extra_rows], unit[te])]
                    both = np.concatenate([tr, add])
                    n_groups["extra", fi] = len(np.unique(frame.group[both[~other[both]]]))
                    tasks.append(("extra", fi, both, te, args.seed + fi))
    bar = tqdm(total=len(tasks), desc="fits", unit="fit", file=sys.stderr,
               disable=args.json and not sys.stderr.isatty())
    rows_of = {(t[0], t[1]): t[3] for t in tasks}
    results = {(name, fi): (rows_of[name, fi], out["latency"], dt)
               for name, fi, out, dt in fold_results(frame, ["latency"], machine, tasks,
                                                     args.jobs, lambda r: bar.update(1))}
    bar.close()

    rows = []
    for frac in fracs:
        per_draw, groups, secs, own = [], [], 0.0, []
        for d in range(1 if frac == 1.0 else args.draws):
            name = f"{frac}#{d}"
            te_all, cost, value = [], [], []
            for fi in range(len(sp.folds)):
                idx, out, dt = results[name, fi]
                k = n_test[name, fi]
                te_all.append(idx[:k])
                cost.append(out["rank_cost"][:k])
                value.append(out["value"][:k])
                groups.append(n_groups[name, fi])
                secs += dt
                if len(idx) > k:
                    own.append(_metrics(frame, idx[k:], out["rank_cost"][k:],
                                        None)["kendall_tau"])
            per_draw.append(_metrics(frame, np.concatenate(te_all), np.concatenate(cost),
                                     np.concatenate(value)))
        row = {"fraction": frac, "train_groups_per_fold": float(np.mean(groups)),
               **{k: float(np.mean([m[k] for m in per_draw])) for k in per_draw[0]},
               "fit_seconds": round(secs, 1)}
        if own:
            row["train_fit_kendall_tau"] = float(np.mean(own))
        rows.append(row)
    res = {"data": args.data, **({"transfer_data": args.transfer_data} if transfer else {}),
           "split": args.split, "folds": len(sp.folds), "seed": args.seed,
           "draws": args.draws, "curve": rows}
    if len(extra_rows):
        te_all, cost, value = [], [], []
        for fi in range(len(sp.folds)):
            idx, out, _ = results["extra", fi]
            te_all.append(idx)
            cost.append(out["rank_cost"])
            value.append(out["value"])
        res["extra"] = {"data": args.extra, "rows": int(len(extra_rows)),
                        "train_groups_per_fold": float(np.mean(
                            [n_groups["extra", fi] for fi in range(len(sp.folds))])),
                        **_metrics(frame, np.concatenate(te_all), np.concatenate(cost),
                                   np.concatenate(value))}
    if len(rows) > 1:
        x = np.log2([r["train_groups_per_fold"] for r in rows])
        res["kendall_tau_gain_per_doubling"] = float(np.polyfit(x, [r["kendall_tau"]
                                                                    for r in rows], 1)[0])
    ceiling = noise_ceiling(base, ["latency"])
    if ceiling.get("available") and "latency" in ceiling:
        res["noise_ceiling"] = {k: ceiling["latency"][k] for k in ("kendall_tau", "mape")}
    if args.overfit:
        print("fitting the unregularised model to every row (about a minute)...",
              file=sys.stderr, flush=True)
        res["overfit"] = _overfit(frame)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"{args.data}, {args.split}, {len(sp.folds)} folds, seed {args.seed}")
    print(f"{'fraction':>8s} {'groups':>7s} " + " ".join(f"{k:>17s}" for k in KEYS))
    for r in rows:
        print(f"{r['fraction']:8.3g} {r['train_groups_per_fold']:7.0f} "
              + " ".join(f"{r.get(k, float('nan')):17.3f}" for k in KEYS))
    if "extra" in res:
        e = res["extra"]
        print(f"{'+extra':>8s} {e['train_groups_per_fold']:7.0f} "
              + " ".join(f"{e.get(k, float('nan')):17.3f}" for k in KEYS)
              + f"   (all of --data's training groups plus {args.extra})")
    for r in rows:
        if "train_fit_kendall_tau" in r:
            print(f"tau on its own training rows (fraction {r['fraction']:g}): "
                  f"{r['train_fit_kendall_tau']:.3f}")
    if "kendall_tau_gain_per_doubling" in res:
        print(f"tau gain per doubling of training groups: "
              f"{res['kendall_tau_gain_per_doubling']:+.3f}")
    if "noise_ceiling" in res:
        nc = res["noise_ceiling"]
        print(f"noise ceiling (repeat runs): tau {nc['kendall_tau']:.3f}, MAPE {nc['mape']:.3f}")
    if "overfit" in res:
        o = res["overfit"]
        print(f"unregularised fit on every row: tau {o['kendall_tau']:.3f} on those rows; "
              f"{o['identical_feature_pairs']} of {o['pairs']} within-group pairs share a "
              f"feature row")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
