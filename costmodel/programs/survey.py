"""Measure compile feasibility of sampled schedules per family (the numbers in the docs).

    python -m costmodel.programs.survey --per-family 10 --seed 0

For each family it draws shapes, samples explicit schedules (no defaults), checks them
with check_schedule and compiles each for llvm-cpu on the host; it prints the fraction
that compiled and the compiler's reasons for the rest. Runs serially (one core).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time

import numpy as np

from costmodel.programs.compile import quick_compile, configured_root, target_info
from costmodel.programs.constraints import check_schedule
from costmodel.programs.families import FAMILIES
from costmodel.programs.space import sample_schedule


def survey(families: list[str], per_family: int, seed: int, shapes_per_family: int = 2,
           verbose: bool = False, check_applied: bool = True) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    report: dict[str, dict] = {}
    for name in families:
        fam = FAMILIES[name]
        shapes = [fam.sample_shape(rng) for _ in range(shapes_per_family)]
        ok = applied = 0
        reasons: collections.Counter[str] = collections.Counter()
        t0 = time.perf_counter()
        for i in range(per_family):
            shape = shapes[i % len(shapes)]
            sched = sample_schedule(fam, shape, rng)
            assert check_schedule(fam, shape, sched) is None
            res = quick_compile(fam.render(shape, sched), fam.compile_flags(sched))
            ok += res.ok
            if not res.ok:
                reasons[res.error or "?"] += 1
            took = None
            if res.ok and check_applied:
                # Did IREE keep the tiles on the root, over the loops we rendered?
                got = configured_root(fam.render(shape, sched), sched.tiles,
                                      fam.compile_flags(sched))
                took = got == fam.loop_info(shape).ranges
                applied += took
            if verbose:
                print(f"  {name} {shape} {sched.describe()} -> "
                      f"{'ok' if res.ok else res.error} ({res.seconds:.2f}s)"
                      f"{'' if took is None else ' applied' if took else ' NOT APPLIED'}",
                      file=sys.stderr)
        report[name] = {"n": per_family, "ok": ok, "rate": ok / per_family,
                        "applied": applied if check_applied else None,
                        "seconds": round(time.perf_counter() - t0, 1),
                        "errors": dict(reasons)}
        print(f"{name:15s} compiled {ok:3d}/{per_family:<3d} {ok / per_family:5.0%}  "
              + (f"applied {applied}/{ok}  " if check_applied else "")
              + f"{report[name]['seconds']:5.1f}s  {dict(reasons) if reasons else ''}",
              flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-family", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--family", action="append", help="restrict to these families")
    ap.add_argument("--json", help="also write the report here")
    ap.add_argument("--no-check-applied", action="store_true",
                    help="skip checking that IREE kept the tiles on the root op")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    print(f"target: {target_info()}")
    rep = survey(args.family or list(FAMILIES), args.per_family, args.seed, verbose=args.verbose,
                 check_applied=not args.no_check_applied)
    total = sum(r["ok"] for r in rep.values()), sum(r["n"] for r in rep.values())
    print(f"overall {total[0]}/{total[1]} = {total[0] / total[1]:.0%}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rep, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
