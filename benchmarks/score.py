"""Batched in-process scoring throughput: `python benchmarks/score.py [--model DIR] [--json]`.

Scores N candidate schedules of one matmul kernel with ``model.predict(kernel=...,
schedules=[...])`` (the IR is parsed once, as a tuner would) and prints candidate
schedules/s for all of the model's targets and for latency alone (median of repeats).
Without --model it trains a throwaway latency model on --data (default datasets/cpu-v1).

Each rate is given twice: by wall-clock time and by this process's CPU time
(``*_per_cpu_s``). Scoring is single-threaded, so on an idle core the two agree; on a
shared core the CPU-time figure leaves out the time other processes held the core. Run it
pinned to one core, e.g. ``taskset -c 1 .venv/bin/python benchmarks/score.py --model
models/default``. ``featurize`` times the schedule features alone (parse + numpy columns),
``predict_from_features`` the preprocessing and XGBoost heads alone (its rows are one
kernel's, so they are specialized too).

Scoring a kernel's candidates specializes the trees to that kernel once it has had 20,000
rows scored (costmodel/model/specialize.py), so the medians are the rate of a kernel scored
again, as a tuner does. ``latency_first_call_*`` is one call on a kernel never scored
before, which includes building the specialization; ``specialization_speedup`` is the
median ratio of unspecialized to specialized CPU time, the two timed in alternation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import costmodel  # noqa: E402
from costmodel.cli_args import positive_int, shipped  # noqa: E402
from costmodel.programs import FAMILIES, sample_schedules  # noqa: E402


def _model(args) -> tuple[costmodel.model.CostModel, str]:
    if args.model:
        return costmodel.load(args.model), args.model
    from costmodel.cli import main

    # The throwaway model is loaded into memory, then its directory goes, whatever happens.
    with tempfile.TemporaryDirectory(prefix="score-model-") as tmp:
        out = str(Path(tmp) / "model")
        if main(["train", "--data", args.data, "--targets", "latency", "--out", out,
                 "--quiet"]) != 0:
            raise SystemExit(2)
        return costmodel.load(out), f"throwaway model (trained on {args.data}, latency only)"


def _specialization_ratio(model, kernel, scheds: list, repeats: int) -> dict:
    """Latency scoring with the trees specialized to the kernel and without, timed in
    alternation (CPU time) so the ratio holds on a shared machine whose speed drifts."""
    heads = model.heads["latency"]
    spec = heads.spec_reg, heads.spec_rank
    on, off = [], []
    try:
        for _ in range(repeats):
            for times, (reg, rank) in ((on, spec), (off, (None, None))):
                heads.spec_reg, heads.spec_rank = reg, rank
                c = time.process_time()
                model.predict(kernel=kernel, schedules=scheds, targets=["latency"])
                times.append(time.process_time() - c)
    finally:
        heads.spec_reg, heads.spec_rank = spec
    return {"latency_unspecialized_schedules_per_cpu_s": len(scheds) / statistics.median(off),
            "specialization_speedup": statistics.median(o / n for o, n in zip(off, on))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model")
    ap.add_argument("--data", default=shipped("datasets/cpu-v1"),
                    help="dataset for the throwaway model (default: the checkout's cpu-v1)")
    ap.add_argument("--candidates", type=positive_int, default=20000)
    ap.add_argument("--repeats", type=positive_int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    model, where = _model(args)
    fam = FAMILIES["matmul"]
    rng = np.random.default_rng(0)
    shape = fam.sample_shape(rng)
    base = [s.to_dict() for s in sample_schedules(fam, shape, rng, 500)]
    scheds = (base * (args.candidates // len(base) + 1))[:args.candidates]
    ir = fam.render(shape)
    t = time.perf_counter()
    kernel = model.kernel(ir)
    parse_s = time.perf_counter() - t
    out = {"model": where, "candidates": len(scheds), "distinct_schedules": len(base),
           "kernel_parse_s": parse_s}

    def rate(fn) -> tuple[float, float]:
        """Candidates/s by wall clock and by CPU time (medians over --repeats)."""
        wall, cpu = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        return len(scheds) / statistics.median(wall), len(scheds) / statistics.median(cpu)

    for label, targets in (("all_targets", model.targets), ("latency", ["latency"])):
        out[f"{label}_schedules_per_s"], out[f"{label}_schedules_per_cpu_s"] = rate(
            lambda t=targets: model.predict(kernel=kernel, schedules=scheds, targets=t))
    out.update(_specialization_ratio(model, kernel, scheds, args.repeats))
    out["featurize_schedules_per_s"], out["featurize_schedules_per_cpu_s"] = rate(
        lambda: model.features(kernel, scheds))
    X = model.features(kernel, scheds)
    out["predict_from_features_schedules_per_s"], out[
        "predict_from_features_schedules_per_cpu_s"] = rate(
        lambda: model.predict(features=X, targets=model.targets))
    # A first call on another kernel of the family (nothing is specialized for it yet), in
    # the warm process; featurized first, so asking IREE for its default is not timed.
    other = model.kernel(fam.render(fam.sample_shape(rng)))
    model.features(other, scheds[:len(base)])
    t, c = time.perf_counter(), time.process_time()
    model.predict(kernel=other, schedules=scheds, targets=["latency"])
    out["latency_first_call_schedules_per_s"] = len(scheds) / (time.perf_counter() - t)
    out["latency_first_call_schedules_per_cpu_s"] = len(scheds) / (time.process_time() - c)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k}: {v:,.0f}" if isinstance(v, float) and v > 100 else f"{k}: {v}")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
