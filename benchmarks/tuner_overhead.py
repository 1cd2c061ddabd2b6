"""Decision overhead of the tuner, in process: `python benchmarks/tuner_overhead.py [--json]`.

For each strategy over the 20 solver arms (a solver loop's setting), on a warm strategy
(1,000 reports in) fed a synthetic loss stream, in rounds of 2,000 decisions:
``decision_us`` is the median over rounds of the process CPU time per ask + tell (the
goal: <= 20 us), ``decision_wall_us`` the same in wall time (inflated when other work
shares the core), and ``ask_us`` / ``tell_us`` split the wall time between the two calls
from per-call timers in a separate pass. Also ``SolverTuner.suggest``+``report`` through
a Study on the in-memory store and on SQLite (which includes the fsync that makes a
report durable). Run it pinned to one core: ``taskset -c 1 python benchmarks/tuner_overhead.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from tuner.solver.bench import BENCH_STRATEGIES, SOR_SOLVES  # noqa: E402
from tuner.solver.instances import OMEGAS  # noqa: E402
from tuner.solver.tuner import SolverTuner, sor_tsallis  # noqa: E402
from tuner.strategies import STRATEGIES, make_strategy  # noqa: E402

#: Strategies as configured variants (the solver benchmark's named entries).
VARIANTS = {n: o for n, o in BENCH_STRATEGIES.items() if "strategy" in o}

K = 20


def _stream(n: int, seed: int = 0) -> tuple[list[float], np.ndarray]:
    rng = np.random.default_rng(seed)
    ctx = rng.uniform(-0.15, 0.45, n)
    base = 50 + 400 * (np.arange(K) / K - 0.6) ** 2
    losses = base[None, :] * (1 + 3 * (0.45 - ctx[:, None])) * rng.uniform(0.9, 1.1, (n, K))
    return ctx.tolist(), losses


def bench_strategy(name: str, warm: int = 1000, n: int = 2000, rounds: int = 7) -> dict[str, float]:
    opts = dict(VARIANTS.get(name, {}))
    strategy = opts.pop("strategy", name)
    if opts.pop("sor_side", False):   # the side model of the synthetic sequences' solves
        opts.update(sor_tsallis(OMEGAS[:K], *SOR_SOLVES["synthetic-high"]))
    if STRATEGIES[strategy].contextual:
        opts["context_range"] = (-0.15, 0.45)
    s = make_strategy(strategy, K, seed=0, **opts)
    ctx, losses = _stream(warm + n * (rounds + 2))
    rows = losses.tolist()
    for t in range(warm):
        p = s.ask(ctx[t])
        s.tell(p, rows[t][p.arm], context=ctx[t])
    cpu_us, wall_us = [], []
    t = warm
    ask, tell = s.ask, s.tell
    for _ in range(rounds):           # whole rounds: no timer inside the loop
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(t, t + n):
            c = ctx[i]
            p = ask(c)
            tell(p, rows[i][p.arm], context=c)
        wall_us.append((time.perf_counter() - w0) / n * 1e6)
        cpu_us.append((time.process_time() - c0) / n * 1e6)
        t += n
    a = b = 0.0                       # one more round with per-call timers: the split
    pc = time.perf_counter
    for i in range(t, t + n):
        c = ctx[i]
        t0 = pc()
        p = ask(c)
        t1 = pc()
        tell(p, rows[i][p.arm], context=c)
        t2 = pc()
        a += t1 - t0
        b += t2 - t1
    share = a / (a + b)
    wall = statistics.median(wall_us)
    return {"decision_us": round(statistics.median(cpu_us), 2), "decision_wall_us": round(wall, 2),
            "ask_us": round(wall * share, 2), "tell_us": round(wall * (1 - share), 2)}


def bench_tuner(storage: str, n: int) -> float:
    tuner = SolverTuner(storage, strategy="chebcb", context_range=(-0.15, 0.45))
    ctx, losses = _stream(n)
    t0 = time.perf_counter()
    for t in range(n):
        omega, token = tuner.suggest(ctx[t])
        tuner.report(token, int(losses[t, 0]))
    return (time.perf_counter() - t0) / n * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--strategies", nargs="+", default=None, metavar="NAME",
                    help="strategies to time (default: all)")
    ap.add_argument("--no-tuner", action="store_true",
                    help="skip the SolverTuner (Study + store) timings")
    args = ap.parse_args()
    names = args.strategies or list(STRATEGIES) + list(VARIANTS)
    unknown = sorted(set(names) - set(STRATEGIES) - set(VARIANTS))
    if unknown:
        ap.error(f"unknown strategies {unknown}; one of "
                 f"{', '.join(sorted(set(STRATEGIES) | set(VARIANTS)))}")
    load0 = os.getloadavg()[0]
    out: dict[str, object] = {"strategies": {name: bench_strategy(name) for name in names}}
    # Other work on the machine inflates even CPU time (cold caches): say how busy it was.
    out["load_avg_1min"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    if not args.no_tuner:
        out["solver_tuner_memory_us"] = round(bench_tuner("memory:", 3000), 1)
        with tempfile.TemporaryDirectory() as d:
            out["solver_tuner_sqlite_us"] = round(bench_tuner(f"sqlite:///{d}/t.db", 200), 1)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{'strategy':20s} {'ask+tell CPU us':>15s} {'wall us':>8s} {'(ask':>7s} {'tell)':>7s}"
          f"   (K = {K} arms, goal <= 20 us CPU)")
    for name, r in out["strategies"].items():  # type: ignore[union-attr]
        print(f"{name:20s} {r['decision_us']:15.2f} {r['decision_wall_us']:8.2f} {r['ask_us']:7.2f}"
              f" {r['tell_us']:7.2f}")
    print(f"load average (1 min) before / after: {out['load_avg_1min']} on {os.cpu_count()} cores")
    if not args.no_tuner:
        print(f"SolverTuner suggest+report, memory store: {out['solver_tuner_memory_us']:.1f} us")
        print(f"SolverTuner suggest+report, SQLite (durable, fsync per report): "
              f"{out['solver_tuner_sqlite_us']:.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
