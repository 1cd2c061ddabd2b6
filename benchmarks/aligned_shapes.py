"""Do aligned loop extents make a kernel run that much faster here, and how rare are they in
a plain collection plan?

IREE's default schedule for `batch_matmul` at real models' shapes (transformer attention and
projection dispatches: every extent a multiple of 16) beside nearby shapes that are not,
timed one after the other in one run on the local-sync device (pin it: `taskset -c 0`).
Then the share of synthetic groups whose extents are all multiples of 16 in the plan of
`datasets/cpu-v4` (aligned share 0) and at `--aligned-share 0.3`.

    taskset -c 0 .venv/bin/python benchmarks/aligned_shapes.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: (aligned shape, nearby shapes that are not), as B, M, N, K. The aligned ones are
#: dispatches of `transformer_encoder` (6 heads x 96 tokens x 32 per head; 96 x 192 x 192).
PAIRS = (((6, 96, 32, 96), ((6, 97, 33, 95), (6, 100, 36, 100), (6, 88, 40, 88))),
         ((6, 96, 96, 32), ((6, 95, 97, 33), (6, 100, 100, 36))),
         ((1, 96, 192, 192), ((1, 97, 191, 193), (1, 100, 196, 188))))


def _gflops(bmnk: tuple[int, ...]) -> tuple[float, float]:
    from costmodel.measure import CompileOptions, measure
    from costmodel.programs import FAMILIES

    b, m, n, k = bmnk
    ir = FAMILIES["batch_matmul"].render({"B": b, "M": m, "N": n, "K": k})
    lat = measure(ir, options=CompileOptions()).to_dict()["latency_median_s"]
    return lat, 2.0 * b * m * n * k / lat / 1e9


def _aligned_share(share: float) -> dict[str, float]:
    from costmodel.collect import synthetic_items
    from costmodel.collect.plan import ALIGN
    from costmodel.programs.families.base import is_aligned

    rec = json.loads((Path(__file__).resolve().parent.parent / "datasets" / "cpu-v4"
                      / "manifest.json").read_text())["collection"]
    items = synthetic_items(rec["families"], rec["samples"], seed=rec["seed"],
                            schedules_per_group=rec["schedules_per_group"],
                            aligned_share=share)
    groups = {it.group_id: (it.family, it.shape) for it in items}
    mm = [s for f, s in groups.values() if "matmul" in f]
    return {"all_groups": sum(is_aligned(s, ALIGN) for _, s in groups.values()) / len(groups),
            "matmul_groups": sum(is_aligned(s, ALIGN) for s in mm) / max(1, len(mm))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for aligned, others in PAIRS:
        for shape in (aligned, *others):
            lat, gf = _gflops(shape)
            rows.append({"shape": "x".join(map(str, shape)), "aligned": shape == aligned,
                         "latency_us": lat * 1e6, "gflop_per_s": gf})
            if not args.json:
                print(f"{rows[-1]['shape']:>14} {'aligned' if shape == aligned else '':>7} "
                      f"{lat * 1e6:8.2f} us {gf:7.1f} GFLOP/s", flush=True)
    plans = {"0": _aligned_share(0.0), "0.3": _aligned_share(0.3)}
    if args.json:
        print(json.dumps({"batch_matmul_default": rows, "aligned_group_share": plans}, indent=2))
        return 0
    for share, r in plans.items():
        print(f"plan of datasets/cpu-v4 at aligned share {share}: {r['all_groups']:.1%} of "
              f"groups aligned ({r['matmul_groups']:.1%} of the matmul-like ones)")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run
    run(main)
