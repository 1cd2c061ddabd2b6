"""Measured samples per minute of distributed collection with 1 and 2 Dask workers.

Each run starts a LocalCluster of N process workers (one thread and one ``timing_core``
each, as `dask worker --nthreads 1 --resources timing_core=1`), warms every worker up with
one measurement (imports, IREE tools), then collects the same real items (compile + timed
run) into a fresh dataset. Timed runs are pinned to the last core this process may use and,
per host, never overlap each other or a compile (see costmodel/distributed/gate.py), so extra
workers on one host speed up only the compiles; more hosts add timing capacity.

    taskset -c 0 .venv/bin/python benchmarks/scale.py            # what this machine allows
    .venv/bin/python benchmarks/scale.py --workers 1 2 4 --samples 48
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from costmodel.cli_args import (check_out_file, positive_float, positive_int,  # noqa: E402
                                random_seed, shipped)


def run(n_workers: int, samples: int, time_cap: float, seed: int) -> dict:
    from distributed import Client

    from costmodel.collect import synthetic_items
    from costmodel.distributed import DaskExecutor
    from costmodel.distributed.cluster import local_cluster
    from costmodel.distributed.collect import collect_distributed

    fams = ["matmul", "elementwise", "transpose", "softmax"]
    items = synthetic_items(fams, samples, schedules_per_group=4, seed=seed)[:samples]
    warm = synthetic_items(["transpose"], n_workers, schedules_per_group=1, seed=seed + 1000)
    with tempfile.TemporaryDirectory() as tmp, local_cluster(n_workers) as cl, Client(cl) as c:
        c.wait_for_workers(n_workers, timeout=300)
        ex = DaskExecutor(c)
        collect_distributed(warm, f"{tmp}/warm", ex, time_cap_s=time_cap, progress=False)
        t0 = time.perf_counter()
        stats = collect_distributed(items, f"{tmp}/ds", ex, time_cap_s=time_cap, progress=False)
        secs = time.perf_counter() - t0
    return {"workers": n_workers, "samples": stats.measured, "feasible": stats.feasible,
            "seconds": round(secs, 1), "samples_per_minute": round(60 * stats.measured / secs, 1),
            "per_worker": sorted(stats.per_worker.values())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=positive_int, nargs="+", default=[1, 2])
    ap.add_argument("--samples", type=positive_int, default=24)
    ap.add_argument("--time-cap", type=positive_float, default=0.2)
    ap.add_argument("--seed", type=random_seed, default=7)
    ap.add_argument("--out", default=shipped("benchmarks/results/scale.json"))
    args = ap.parse_args(argv)
    check_out_file(args.out)   # before minutes of measuring
    cores = sorted(os.sched_getaffinity(0))
    print(f"cores allowed: {cores}; timed runs pinned to core {cores[-1]}; "
          f"load before: {os.getloadavg()[0]:.2f}")
    results = [run(n, args.samples, args.time_cap, args.seed) for n in args.workers]
    base = results[0]["samples_per_minute"]
    print(f"{'workers':>7} {'samples':>7} {'seconds':>8} {'samples/min':>12} {'speedup':>8}  per worker")
    for r in results:
        print(f"{r['workers']:>7} {r['samples']:>7} {r['seconds']:>8.1f} "
              f"{r['samples_per_minute']:>12.1f} {r['samples_per_minute'] / base:>8.2f}  "
              f"{r['per_worker']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cores": cores, "time_cap_s": args.time_cap,
                                          "load_after": os.getloadavg()[0],
                                          "runs": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run as run_cli

    run_cli(main)
