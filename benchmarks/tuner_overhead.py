"""Decision overhead of the tuner, in process: `python benchmarks/tuner_overhead.py [--json]`.

For each strategy over the 20 solver arms (a solver loop's setting): median microseconds
per ``ask`` and per ``tell`` of the bare strategy, measured over a warm strategy (1,000
reports in) on a synthetic loss stream, plus ``SolverTuner.suggest``+``report`` through a
Study on the in-memory store and on SQLite (which includes the fsync that makes a report
durable). The goal: ask + tell <= 20 us for the bare strategy.
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

from tuner.solver.tuner import SolverTuner  # noqa: E402
from tuner.strategies import STRATEGIES, make_strategy  # noqa: E402

K = 20


def _stream(n: int, seed: int = 0) -> tuple[list[float], np.ndarray]:
    rng = np.random.default_rng(seed)
    ctx = rng.uniform(-0.15, 0.45, n)
    base = 50 + 400 * (np.arange(K) / K - 0.6) ** 2
    losses = base[None, :] * (1 + 3 * (0.45 - ctx[:, None])) * rng.uniform(0.9, 1.1, (n, K))
    return ctx.tolist(), losses


def bench_strategy(name: str, warm: int = 1000, n: int = 2000, rounds: int = 5) -> dict[str, float]:
    opts = {"context_range": (-0.15, 0.45)} if STRATEGIES[name].contextual else {}
    s = make_strategy(name, K, seed=0, **opts)
    ctx, losses = _stream(warm + n * rounds)
    for t in range(warm):
        p = s.ask(ctx[t])
        s.tell(p, float(losses[t, p.arm]), context=ctx[t])
    ask_us, tell_us = [], []
    pc = time.perf_counter
    t = warm
    for _ in range(rounds):
        a = b = 0.0
        for _ in range(n):
            c, row = ctx[t], losses[t]
            t0 = pc()
            p = s.ask(c)
            t1 = pc()
            s.tell(p, float(row[p.arm]), context=c)
            t2 = pc()
            a += t1 - t0
            b += t2 - t1
            t += 1
        ask_us.append(a / n * 1e6)
        tell_us.append(b / n * 1e6)
    ask, tell = statistics.median(ask_us), statistics.median(tell_us)
    return {"ask_us": round(ask, 2), "tell_us": round(tell, 2), "decision_us": round(ask + tell, 2)}


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
    args = ap.parse_args()
    out: dict[str, object] = {"strategies": {name: bench_strategy(name) for name in STRATEGIES}}
    out["solver_tuner_memory_us"] = round(bench_tuner("memory:", 3000), 1)
    with tempfile.TemporaryDirectory() as d:
        out["solver_tuner_sqlite_us"] = round(bench_tuner(f"sqlite:///{d}/t.db", 200), 1)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{'strategy':20s} {'ask us':>8s} {'tell us':>8s} {'ask+tell':>9s}   (K = {K} arms, goal <= 20 us)")
    for name, r in out["strategies"].items():  # type: ignore[union-attr]
        print(f"{name:20s} {r['ask_us']:8.2f} {r['tell_us']:8.2f} {r['decision_us']:9.2f}")
    print(f"SolverTuner suggest+report, memory store: {out['solver_tuner_memory_us']:.1f} us")
    print(f"SolverTuner suggest+report, SQLite (durable, fsync per report): {out['solver_tuner_sqlite_us']:.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
