"""What the out-of-fold analyses (label_drift.py, top1_misses.py) share: their arguments and
one run of `costmodel eval`'s folds of one split, latency only."""

from __future__ import annotations

import argparse

from costmodel.cli_args import int_at_least, random_seed, shipped

SHIPPED = "datasets/cpu-v2,datasets/cpu-v5,datasets/cpu-v6,datasets/cpu-v7"


def add_fold_args(ap: argparse.ArgumentParser, splits: tuple[str, ...]) -> None:
    """--data, --model, --split (first of ``splits`` by default), --folds, --seed, --json."""
    ap.add_argument("--data", default=",".join(shipped(p) for p in SHIPPED.split(",")),
                    help="a dataset, or several of one CPU joined by commas")
    ap.add_argument("--model", default=shipped("models/default"),
                    help="gives the roofline calibration (the latency head's margin)")
    ap.add_argument("--split", default=splits[0], choices=splits)
    ap.add_argument("--folds", type=int_at_least(2), default=3)
    ap.add_argument("--seed", type=random_seed, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object")


def out_of_fold(args: argparse.Namespace, *, progress: bool = False):
    """(dataset paths, frame, the split's out-of-fold latency predictions, eval result).

    The predictions are ``evaluate``'s: y, value, rank_cost, group (ranking groups), rows."""
    import costmodel
    from costmodel.errors import InputError
    from costmodel.model.datasets import data_paths, load_frames
    from costmodel.model.evaluate import evaluate

    paths = data_paths(args.data)
    machine = costmodel.load(args.model).manifest.get("machine") or {}
    frame = load_frames(paths)
    preds: dict = {}
    res = evaluate(frame, ["latency"], machine, folds=args.folds, seed=args.seed,
                   splits=[args.split], predictions=preds, progress=progress)
    if args.split not in preds:
        raise InputError(f"{args.data} has no {args.split} split (too few groups, families "
                         "or real models)")
    return paths, frame, preds[args.split]["latency"], res
