"""XLA-style greedy memory-space assignment, the baseline every other agent is compared to.

After XLA's memory-space assignment: buffers are sorted by memory-boundedness (the runtime
an alternate-memory placement saves, divided by the square root of the size, as XLA's
cost analysis does), then each is put into the fast-memory heap with best fit — the
smallest free gap over its live range that holds it — when that still saves time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuner.memory.hardware import Instance


@dataclass
class Assignment:
    offsets: np.ndarray  # slot offset per buffer, -1 = slow memory
    runtime_us: float
    allslow_us: float
    agent: str
    cpu_s: float = 0.0
    detail: dict | None = None  # agent-specific figures (the RL agent's phases)

    @property
    def speedup(self) -> float:
        return self.allslow_us / self.runtime_us

    @property
    def fast(self) -> np.ndarray:
        return (self.offsets >= 0).astype(float)

    def to_dict(self) -> dict:
        return {"agent": self.agent, "offsets": [int(o) for o in self.offsets],
                "runtime_us": self.runtime_us, "allslow_us": self.allslow_us,
                "speedup": self.speedup, "cpu_s": self.cpu_s}


def finish(inst: Instance, offsets: np.ndarray, agent: str, cpu_s: float = 0.0) -> Assignment:
    offsets = np.asarray(offsets, dtype=int)
    inst.check(offsets)
    return Assignment(offsets, inst.runtime((offsets >= 0).astype(float)), inst.allslow, agent,
                      cpu_s)


def memory_boundedness(inst: Instance, exponent: float = 0.5) -> np.ndarray:
    return inst.alone / np.power(inst.sizes, exponent)


def greedy_order(inst: Instance, exponent: float = 0.5) -> np.ndarray:
    """Buffers by decreasing memory-boundedness; ties by start time, then index."""
    score = memory_boundedness(inst, exponent)
    return np.array(sorted(range(inst.n), key=lambda b: (-score[b], inst.fs[b], b)), dtype=int)


def best_fit(inst: Instance, grid: np.ndarray, b: int, *, first_fit: bool = False) -> int:
    """Offset of the smallest free gap over b's window that holds it; -1 if none."""
    k = inst.k[b]
    if k > inst.slots:
        return -1
    free = inst.free_mask(grid, b)
    best, best_len, s = -1, inst.slots + 1, 0
    while s < inst.slots:
        if not free[s]:
            s += 1
            continue
        e = s
        while e < inst.slots and free[e]:
            e += 1
        length = e - s
        if length >= k:
            if first_fit:
                return s
            if length < best_len:
                best, best_len = s, length
        s = e
    return best


def place(inst: Instance, grid: np.ndarray, b: int, o: int) -> None:
    grid[inst.fs[b]:inst.fe[b] + 1, o:o + inst.k[b]] += 1


class Traffic:
    """Per-op fast/slow traffic of a partial assignment, updated one buffer at a time."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.fast = np.zeros(inst.T)
        self.slow = inst.slow_base.copy()
        self.serial = 0.0
        self.runtime = inst.allslow

    def copy(self) -> "Traffic":
        t = Traffic.__new__(Traffic)
        t.inst, t.fast, t.slow = self.inst, self.fast.copy(), self.slow.copy()
        t.serial, t.runtime = self.serial, self.runtime
        return t

    def gain(self, b: int) -> float:
        """Runtime saved by also putting b in fast memory (only b's ops change)."""
        inst = self.inst
        lo, hi = inst.fs[b], inst.fe[b] + 1
        col, cp = inst.acc[lo:hi, b], inst.copy[lo:hi, b]
        c = inst.compute[lo:hi]
        f, s = self.fast[lo:hi], self.slow[lo:hi]
        before = np.maximum(c, np.maximum(f * inst.inv_fast, s * inst.inv_slow)).sum()
        after = np.maximum(c, np.maximum((f + col) * inst.inv_fast,
                                         (s - col + cp) * inst.inv_slow)).sum()
        return float(before - after - inst.serial[b] * inst.inv_slow)

    def add(self, b: int) -> float:
        g = self.gain(b)
        inst = self.inst
        self.fast += inst.acc[:, b]
        self.slow += inst.copy[:, b] - inst.acc[:, b]
        self.serial += inst.serial[b]
        self.runtime -= g
        return g


def greedy(inst: Instance, *, exponent: float = 0.5, first_fit: bool = False,
           order: np.ndarray | None = None) -> Assignment:
    """XLA-style greedy: memory-boundedness order, best fit, only placements that help."""
    import time

    t0 = time.process_time()
    grid = np.zeros((inst.T, inst.slots), dtype=np.int8)
    offsets = np.full(inst.n, -1, dtype=int)
    traffic = Traffic(inst)
    for b in (greedy_order(inst, exponent) if order is None else order):
        if traffic.gain(b) <= 0:
            continue
        o = best_fit(inst, grid, b, first_fit=first_fit)
        if o < 0:
            continue
        place(inst, grid, b, o)
        traffic.add(b)
        offsets[b] = o
    return finish(inst, offsets, "greedy", time.process_time() - t0)
