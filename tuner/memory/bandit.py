"""A combinatorial-bandit wrapper around the greedy (C-ETC, after "A Framework for Adapting
Offline Algorithms to Solve Combinatorial Multi-Armed Bandit Problems with Bandit Feedback",
Nie et al., ICML 2023).

Arms are buffers; a super-arm is a set of buffers in fast memory (packed best-fit, in the
order chosen); its reward is the runtime reduction measured for that mapping, observed
only as a whole (bandit feedback), possibly noisy. The offline algorithm is the greedy
that grows the set by the largest marginal gain — the robust (1 - 1/e)-style greedy the
framework adapts. C-ETC replaces each of its value queries by the mean of m pulls of that
super-arm, with m = ceil((sigma * horizon / n_queries) ** (2/3)) as the framework's
explore-then-commit schedule (m = 1 when feedback is exact), then commits to the set it
built for the rest of the horizon.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from tuner.memory.greedy import Assignment, Traffic, best_fit, finish, place
from tuner.memory.hardware import Instance


def cetc_greedy(inst: Instance, *, noise: float = 0.0, horizon: int = 100_000, seed: int = 0,
                reward: Callable[[np.ndarray], float] | None = None) -> tuple[Assignment, dict]:
    """Explore with the bandit-fed greedy, commit to its set. `reward(x)` is the feedback
    for fast-memory set x (default: the predicted runtime reduction, plus Gaussian noise of
    `noise` x all-slow runtime). Returns the assignment and {pulls, queries, m}."""
    t0 = time.process_time()
    rng = np.random.default_rng(seed)

    def feedback(x: np.ndarray) -> float:
        if reward is not None:
            return reward(x)
        return inst.allslow - inst.runtime(x) + noise * inst.allslow * rng.standard_normal()

    cands = [b for b in range(inst.n) if inst.fits[b] and inst.acc[:, b].any()]
    n_queries = max(1, len(cands) * (len(cands) + 1) // 2)
    m = 1 if noise == 0 and reward is None else max(1, math.ceil((noise * horizon / n_queries) ** (2 / 3)))
    grid = np.zeros((inst.T, inst.slots), dtype=np.int8)
    offsets = np.full(inst.n, -1, dtype=int)
    x = np.zeros(inst.n)
    traffic = Traffic(inst)
    pulls = 0
    base = np.mean([feedback(x) for _ in range(m)])
    pulls += m
    remaining = list(cands)
    while remaining:
        best, best_val, best_o = None, base, -1
        for b in remaining:
            if traffic.gain(b) <= 0 and reward is None and noise == 0:
                continue  # exact feedback: a set that saves nothing cannot win this round
            o = best_fit(inst, grid, b)
            if o < 0:
                continue
            x[b] = 1
            val = np.mean([feedback(x) for _ in range(m)])
            x[b] = 0
            pulls += m
            if val > best_val:
                best, best_val, best_o = b, val, o
        if best is None:
            break
        place(inst, grid, best, best_o)
        traffic.add(best)
        offsets[best] = best_o
        x[best] = 1
        base = best_val
        remaining.remove(best)
    out = finish(inst, offsets, "bandit", time.process_time() - t0)
    return out, {"pulls": pulls, "m": m, "queries_budget": n_queries,
                 "commit_pulls": max(0, horizon - pulls)}
