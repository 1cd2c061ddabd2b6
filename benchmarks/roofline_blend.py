"""Would a geometric blend of the latency model and the roofline predict absolute cost better
on kernels the model has not seen?

`costmodel eval`'s out-of-fold latency predictions per split (the same folds and seed), and
beside them MAPE of exp(w * log model + (1 - w) * log roofline) for a grid of w (1 = the
model, 0 = the roofline baseline, the model's own calibration). An analysis of the test
predictions: a weight picked here is picked on the test rows, so it says what a blend could
do, not what it scores. `costmodel train` now fits such a weight on held-out rows
(``regression_tree_weight``, train.choose_tree_weight), so w = 1 here is the model as
trained, and the others shrink it further.

    .venv/bin/python benchmarks/roofline_blend.py [--data D[,D2,...]]
        [--model models/default] [--splits unseen_models unseen_families] [--jobs 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from costmodel.cli_args import positive_int, shipped  # noqa: E402

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
SPLITS = ("random_within_groups", "unseen_shapes", "unseen_families", "unseen_models")


def training_data(manifest: dict) -> str:
    """The datasets a model was trained on: paths inside the checkout are recorded relative
    to it, so they resolve from any working directory."""
    from costmodel.errors import InputError

    path = (manifest.get("training_data") or {}).get("path")
    if not path:
        raise InputError("the model's manifest records no training data: give --data")
    return ",".join(p if Path(p).is_absolute() else shipped(p) for p in path.split(","))


def blend_mape(y: np.ndarray, model: np.ndarray, roof: np.ndarray) -> dict[str, float]:
    """MAPE per blend weight w (w = 1: the model alone)."""
    lm, lr = np.log(model), np.log(roof)
    return {f"{w:g}": float(np.mean(np.abs(np.exp(w * lm + (1 - w) * lr) - y) / y))
            for w in WEIGHTS}


def main(argv: list[str] | None = None) -> int:
    from costmodel.model import baselines
    from costmodel.model.artifact import load
    from costmodel.model.datasets import data_paths, load_frames
    from costmodel.model.evaluate import evaluate

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None,
                    help="dataset directory, or several of one CPU joined by commas "
                         "(default: the model's training data, as its manifest records it)")
    ap.add_argument("--model", default=shipped("models/default"),
                    help="gives the roofline calibration (as costmodel eval)")
    ap.add_argument("--splits", nargs="+", choices=SPLITS,
                    default=["unseen_models", "unseen_families"])
    ap.add_argument("--jobs", type=positive_int, default=1,
                    help="folds trained at once in worker processes (same figures)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    manifest = load(args.model).manifest
    machine = manifest.get("machine", {})
    frame = load_frames(data_paths(args.data or training_data(manifest)))
    out = {}
    for split in args.splits:
        preds: dict = {}
        evaluate(frame, ["latency"], machine, splits=[split], predictions=preds, jobs=args.jobs)
        p = preds[split]["latency"]
        te = p["rows"]
        roof = baselines.roofline_latency(frame.flops[te], frame.bytes[te], frame.pad[te],
                                          machine)
        out[split] = {"rows": int(len(te)),
                      "mape_by_model_weight": blend_mape(p["y"], p["value"], roof)}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for split, r in out.items():
        cells = "  ".join(f"w={w}: {m:.3f}" for w, m in r["mape_by_model_weight"].items())
        print(f"{split} ({r['rows']} rows): {cells}")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run
    run(main)
