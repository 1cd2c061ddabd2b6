"""Featurization speed on a 10,000-op module: `python benchmarks/featurize.py [--json]`.

Prints ops/s (median of repeated runs) for
  * featurize: graph building + program features on a parsed module (the goal: >= 100k ops/s),
    through the C walk (costmodel/ir/fastwalk.c) when it can be built here,
  * bindings: the same through the Python bindings' walk only (the fallback),
  * end_to_end: parse + featurize from text,
  * naive: a walk that stringifies every result type and attribute (the baseline),
all measured interleaved in one run, so their ratio is robust to machine noise.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iree.compiler import ir  # noqa: E402

from benchmarks.featurize_module import make_module  # noqa: E402
from costmodel.cli_args import positive_int  # noqa: E402
from costmodel.ir import ProgramFeatures, build_graph, native, parse_mlir  # noqa: E402


def count_ops(module: ir.Module) -> int:
    n = 0

    def cb(_op: ir.Operation) -> ir.WalkResult:
        nonlocal n
        n += 1
        return ir.WalkResult.ADVANCE

    module.operation.walk(cb)
    return n - 1  # the module op itself


def naive(module: ir.Module) -> list:
    out = []

    def cb(op: ir.Operation) -> ir.WalkResult:
        out.append((op.name, [str(r.type) for r in op.results],
                    [str(a) for _, a in op.attributes.items()]))
        return ir.WalkResult.ADVANCE

    module.operation.walk(cb)
    return out


def featurize(module: ir.Module, use_native: bool = True) -> dict:
    return ProgramFeatures(build_graph(module, use_native=use_native)).total()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=positive_int, default=10_000)
    ap.add_argument("--repeats", type=positive_int, default=15)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    text = make_module(args.ops)
    parsed = parse_mlir(text)
    with parsed.context:
        n_ops = count_ops(parsed.module)
        times: dict[str, list[float]] = {"featurize": [], "bindings": [], "end_to_end": [],
                                         "naive": []}
        for _ in range(args.repeats):
            for name in times:
                gc.collect()
                t0 = time.perf_counter()
                if name == "featurize":
                    featurize(parsed.module)
                elif name == "bindings":
                    featurize(parsed.module, use_native=False)
                elif name == "naive":
                    naive(parsed.module)
                else:
                    p = parse_mlir(text)
                    with p.context:
                        featurize(p.module)
                times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "ops": n_ops,
        "repeats": args.repeats,
        **{f"{k}_ops_per_s": round(n_ops / v) for k, v in med.items()},
        **{f"{k}_ms": round(v * 1e3, 1) for k, v in med.items()},
        "speedup_over_naive": round(med["naive"] / med["featurize"], 2),
        "native_walk": native.load() is not None,
        "goal_ops_per_s": 100_000,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
