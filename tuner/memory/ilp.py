"""Exact optimum of small instances: a mixed-integer program solved by HiGHS
(scipy.optimize.milp), and a brute-force reference for tiny ones.

Variables: x_b (buffer b in fast memory), o_b (its offset, continuous: with integer sizes
a continuous packing of fixed-interval buffers can always be slid down to integer offsets,
so this loses nothing), y_ab (which of two time-overlapping buffers sits below) and T_t
(op t's runtime). T_t >= compute_t, >= fast bytes / fast_bw and >= slow bytes / slow_bw,
which at the optimum is the max; disjunctive big-M constraints keep fast buffers that are
live at the same time apart; a per-op capacity cut tightens the relaxation.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from tuner.memory.greedy import Assignment, best_fit, finish, place
from tuner.memory.hardware import Instance
from tuner.memory.problem import MemoryProblemError


@dataclass
class IlpResult:
    assignment: Assignment | None
    optimal: bool
    status: str
    bound_us: float | None  # dual bound on the runtime
    seconds: float


def overlapping_pairs(inst: Instance) -> list[tuple[int, int]]:
    idx = [b for b in range(inst.n) if inst.fits[b]]
    return [(a, b) for a, b in itertools.combinations(idx, 2)
            if inst.fs[a] <= inst.fe[b] and inst.fs[b] <= inst.fe[a]]


def solve_ilp(inst: Instance, time_limit: float = 60.0, mip_rel_gap: float = 1e-5) -> IlpResult:
    t0 = time.process_time()
    n, T, S = inst.n, inst.T, inst.slots
    pairs = overlapping_pairs(inst)
    ix, io = 0, n
    iy = 2 * n
    it = iy + len(pairs)
    nv = it + T
    c = np.zeros(nv)
    c[ix:ix + n] = inst.serial * inst.inv_slow
    c[it:] = 1.0
    lb, ub = np.zeros(nv), np.full(nv, np.inf)
    ub[ix:ix + n] = inst.fits.astype(float)
    ub[io:io + n] = np.maximum(S - inst.k, 0)
    ub[iy:it] = 1
    lb[it:] = inst.compute
    integrality = np.zeros(nv)
    integrality[ix:ix + n] = 1
    integrality[iy:it] = 1

    rows = 2 * T + T + 2 * len(pairs)
    A = lil_matrix((rows, nv))
    lo, hi = np.full(rows, -np.inf), np.full(rows, np.inf)
    r = 0
    for t in range(T):
        # T_t - inv_fast * sum acc x >= 0
        A[r, it + t] = 1
        for b in np.nonzero(inst.acc[t])[0]:
            A[r, ix + b] = -inst.inv_fast * inst.acc[t, b]
        lo[r] = 0
        r += 1
        # T_t + inv_slow * sum (acc - copy) x >= inv_slow * slow_base
        A[r, it + t] = 1
        for b in np.nonzero(inst.acc[t] - inst.copy[t])[0]:
            A[r, ix + b] = inst.inv_slow * (inst.acc[t, b] - inst.copy[t, b])
        lo[r] = inst.inv_slow * inst.slow_base[t]
        r += 1
        # capacity cut: granules live at op t
        for b in range(n):
            if inst.fs[b] <= t <= inst.fe[b] and inst.fits[b]:
                A[r, ix + b] = inst.k[b]
        hi[r] = S
        r += 1
    M = float(S)
    for p, (a, b) in enumerate(pairs):
        y = iy + p
        # y = 1: a below b;  y = 0: b below a (only binding when both are fast)
        A[r, io + a], A[r, io + b], A[r, y] = 1, -1, M
        A[r, ix + a], A[r, ix + b] = M, M
        hi[r] = 3 * M - inst.k[a]
        r += 1
        A[r, io + b], A[r, io + a], A[r, y] = 1, -1, -M
        A[r, ix + a], A[r, ix + b] = M, M
        hi[r] = 2 * M - inst.k[b]
        r += 1
    res = milp(c, constraints=LinearConstraint(A.tocsr(), lo, hi), integrality=integrality,
               bounds=Bounds(lb, ub),
               options={"time_limit": float(time_limit), "mip_rel_gap": mip_rel_gap,
                        "disp": False})
    secs = time.process_time() - t0
    bound = getattr(res, "mip_dual_bound", None)
    if res.x is None:
        return IlpResult(None, False, res.message, bound, secs)
    x = np.round(res.x[ix:ix + n]).astype(int)
    offsets = _integer_offsets(inst, x, res.x[io:io + n])
    return IlpResult(finish(inst, offsets, "ilp", secs), res.status == 0, res.message, bound, secs)


def _integer_offsets(inst: Instance, x: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """Slide the solver's (continuous) offsets down to integers, lowest first; each buffer
    lands at or below its offset, so the packing stays valid."""
    grid = np.zeros((inst.T, inst.slots), dtype=np.int8)
    out = np.full(inst.n, -1, dtype=int)
    for b in sorted(np.nonzero(x)[0], key=lambda b: offs[b]):
        valid = inst.valid_offsets(grid, b)
        cand = np.nonzero(valid)[0]
        if not len(cand):
            raise MemoryProblemError("internal: ILP packing could not be made integral")
        o = int(cand[0])
        place(inst, grid, b, o)
        out[b] = o
    return out


def brute_force(inst: Instance, max_buffers: int = 10) -> tuple[float, np.ndarray]:
    """Optimal runtime by trying every subset; a subset fits iff some order of lowest-fit
    placements packs it (sorting any packing by offset gives such an order)."""
    if inst.n > max_buffers:
        raise MemoryProblemError(f"brute force is for at most {max_buffers} buffers")
    best_rt, best_off = inst.allslow, np.full(inst.n, -1)
    idx = [b for b in range(inst.n) if inst.fits[b]]
    for r in range(1, len(idx) + 1):
        for subset in itertools.combinations(idx, r):
            x = np.zeros(inst.n)
            x[list(subset)] = 1
            rt = inst.runtime(x)
            if rt >= best_rt - 1e-12:
                continue
            offs = _pack(inst, subset)
            if offs is not None:
                best_rt, best_off = rt, offs
    return best_rt, best_off


def _pack(inst: Instance, subset: tuple[int, ...]) -> np.ndarray | None:
    for perm in itertools.permutations(subset):
        grid = np.zeros((inst.T, inst.slots), dtype=np.int8)
        offs = np.full(inst.n, -1, dtype=int)
        for b in perm:
            cand = np.nonzero(inst.valid_offsets(grid, b))[0]
            if not len(cand):
                break
            place(inst, grid, b, int(cand[0]))
            offs[b] = int(cand[0])
        else:
            return offs
    return None


__all__ = ["IlpResult", "brute_force", "best_fit", "overlapping_pairs", "solve_ilp"]
