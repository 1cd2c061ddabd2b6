"""Hardware model: a fast scratchpad and slow main memory, and the runtime of an assignment.

Per op t: time_t = max(compute_t, fast_bytes_t / fast_bw, slow_bytes_t / slow_bw), the
roofline with one channel per memory. compute_t = FLOPs / peak FLOP/s (the roofline's
compute estimate; `host_preset` calibrates peak and bandwidth on this machine with
costmodel's microbenchmark). Prefetches of weights and inputs placed in fast memory, and
evictions of program outputs, are asynchronous copies on the slow channel: they are spread
over the `prefetch_window` ops before the first use (after the last use), overlapping
their compute, and the buffer holds its fast-memory space during that window. A copy with
no op to hide behind (first use is op 0, or last use the last op) is paid in full.

Fast memory is cut into `slots` equal granules: a buffer of k granules sits at an offset
o in [0, slots - k]. Every agent works on the same granules, so results compare.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from tuner.memory.problem import MemoryProblem, MemoryProblemError

GB = 1e9


@dataclass(frozen=True)
class Hardware:
    name: str
    capacity_bytes: int
    fast_bw: float  # bytes/s
    slow_bw: float  # bytes/s
    peak_flops: float  # FLOP/s
    slots: int = 32
    prefetch_window: int = 2

    def __post_init__(self) -> None:
        if self.capacity_bytes <= 0 or self.fast_bw <= 0 or self.slow_bw <= 0 or self.peak_flops <= 0:
            raise MemoryProblemError(f"hardware {self.name!r}: capacity, bandwidths and peak "
                                     "FLOP/s must be positive")
        if not 1 <= self.slots <= 256:
            raise MemoryProblemError(f"hardware {self.name!r}: slots must be in 1..256")
        if not 0 <= self.prefetch_window <= 64:
            raise MemoryProblemError(f"hardware {self.name!r}: prefetch_window must be in 0..64")

    def with_capacity(self, capacity_bytes: int) -> "Hardware":
        return replace(self, capacity_bytes=int(capacity_bytes))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Hardware":
        try:
            return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        except TypeError as e:
            raise MemoryProblemError(f"malformed hardware: {e}") from None


#: Presets. The scratchpads are accelerator-like (an SRAM 8-16x faster than DRAM);
#: `host` is this machine's calibrated roofline with its L2 as the fast memory.
PRESETS: dict[str, Hardware] = {
    "scratchpad-256k": Hardware("scratchpad-256k", 256 * 1024, 200 * GB, 12.5 * GB, 100e9),
    "scratchpad-1m": Hardware("scratchpad-1m", 1024 * 1024, 200 * GB, 25 * GB, 200e9),
    "edge-64k": Hardware("edge-64k", 64 * 1024, 50 * GB, 4 * GB, 16e9),
}


def host_preset(capacity_bytes: int = 1024 * 1024) -> Hardware:
    """This machine's roofline (peak FLOP/s, DRAM bandwidth), L2 at 4x DRAM as fast memory."""
    from costmodel.model.baselines import microbenchmark

    m = microbenchmark(repeats=3)
    bw = m["bandwidth_bytes_per_s"]
    return Hardware("host", capacity_bytes, 4 * bw, bw, m["peak_flops_per_s"])


def preset(name: str) -> Hardware:
    if name == "host":
        return host_preset()
    try:
        return PRESETS[name]
    except KeyError:
        raise MemoryProblemError(f"unknown hardware preset {name!r}; choose from "
                                 f"{', '.join([*PRESETS, 'host'])}") from None


class Instance:
    """A problem on a piece of hardware: granule sizes, fast-memory windows and a
    vectorised runtime model. Time unit: microseconds."""

    def __init__(self, problem: MemoryProblem, hw: Hardware) -> None:
        problem.validate()
        self.problem, self.hw = problem, hw
        T, n = problem.n_ops, problem.n_buffers
        self.T, self.n, self.slots = T, n, hw.slots
        self.granule = hw.capacity_bytes / hw.slots
        sizes = np.array([b.size for b in problem.buffers], dtype=float)
        self.sizes = sizes
        self.k = np.array([max(1, math.ceil(s / self.granule - 1e-9)) for s in sizes], dtype=int)
        self.fits = self.k <= hw.slots
        us = 1e6
        self.compute = np.array(problem.flops, dtype=float) / hw.peak_flops * us
        self.acc = problem.access_matrix()
        self.copy = np.zeros((T, n))  # async copy bytes on the slow channel if b is fast
        self.serial = np.zeros(n)  # copy bytes that cannot overlap anything
        self.fs = np.zeros(n, dtype=int)  # fast-memory window [fs, fe]
        self.fe = np.zeros(n, dtype=int)
        W = hw.prefetch_window
        for b, buf in enumerate(problem.buffers):
            fs, fe = buf.start, buf.end
            if buf.prefetch:
                lo = max(0, buf.start - W)
                if lo < buf.start:
                    self.copy[lo:buf.start, b] += buf.size / (buf.start - lo)
                else:
                    self.serial[b] += buf.size
                fs = lo
            if buf.evict:
                hi = min(T - 1, buf.end + W)
                if hi > buf.end:
                    self.copy[buf.end + 1:hi + 1, b] += buf.size / (hi - buf.end)
                else:
                    self.serial[b] += buf.size
                fe = hi
            self.fs[b], self.fe[b] = fs, fe
        self.inv_fast = us / hw.fast_bw
        self.inv_slow = us / hw.slow_bw
        self.slow_base = self.acc.sum(axis=1)  # all-slow traffic per op
        self.allslow = self.runtime_from(np.zeros(T), self.slow_base)
        # Runtime gain of each buffer placed alone (XLA's alternate-memory benefit).
        self.alone = np.array([self.allslow - self.runtime(self._onehot(b)) for b in range(n)])

    def _onehot(self, b: int) -> np.ndarray:
        x = np.zeros(self.n)
        x[b] = 1
        return x

    def runtime_from(self, fast: np.ndarray, slow: np.ndarray, serial: float = 0.0) -> float:
        t = np.maximum(self.compute, np.maximum(fast * self.inv_fast, slow * self.inv_slow))
        return float(t.sum() + serial * self.inv_slow)

    def traffic(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        x = np.asarray(x, dtype=float)
        fast = self.acc @ x
        slow = self.slow_base - fast + self.copy @ x
        return fast, slow, float(self.serial @ x)

    def runtime(self, x: np.ndarray) -> float:
        """Predicted runtime (us) with buffers x (0/1 per buffer) in fast memory."""
        return self.runtime_from(*self.traffic(x))

    def speedup(self, x: np.ndarray) -> float:
        return self.allslow / self.runtime(x)

    def occupancy(self, offsets: np.ndarray) -> np.ndarray:
        """time x slot grid of how many buffers cover each cell (1 everywhere is valid)."""
        grid = np.zeros((self.T, self.slots), dtype=int)
        for b, o in enumerate(offsets):
            if o >= 0:
                grid[self.fs[b]:self.fe[b] + 1, o:o + self.k[b]] += 1
        return grid

    def check(self, offsets: np.ndarray) -> None:
        """Raise MemoryProblemError unless the assignment fits fast memory at every op."""
        offsets = np.asarray(offsets, dtype=int)
        if offsets.shape != (self.n,):
            raise MemoryProblemError(f"assignment has {offsets.shape} entries, need {self.n}")
        for b, o in enumerate(offsets):
            if o >= 0 and o + self.k[b] > self.slots:
                raise MemoryProblemError(f"buffer {b} at slot {o} runs past the capacity")
        grid = self.occupancy(offsets)
        if grid.max(initial=0) > 1:
            t, s = np.argwhere(grid > 1)[0]
            raise MemoryProblemError(f"buffers overlap in fast memory at op {t}, slot {s}")
        used = (grid > 0).sum(axis=1) * self.granule
        if used.max(initial=0) > self.hw.capacity_bytes + 1e-6:
            raise MemoryProblemError("fast memory over capacity")

    def free_mask(self, grid: np.ndarray, b: int) -> np.ndarray:
        """Slots free over all of buffer b's window."""
        return ~(grid[self.fs[b]:self.fe[b] + 1] > 0).any(axis=0)

    def valid_offsets(self, grid: np.ndarray, b: int) -> np.ndarray:
        """Offsets where buffer b fits (a boolean per slot)."""
        k = self.k[b]
        out = np.zeros(self.slots, dtype=bool)
        if k > self.slots:
            return out
        free = self.free_mask(grid, b).astype(int)
        run = np.convolve(free, np.ones(k, dtype=int), mode="valid")  # free cells in [o, o+k)
        out[:len(run)] = run == k
        return out


def capacity_for(problem: MemoryProblem, fraction: float) -> int:
    """A capacity that is `fraction` of the problem's peak live footprint."""
    if not 0 < fraction <= 4:
        raise MemoryProblemError("capacity fraction must be in (0, 4]")
    return max(1, int(problem.peak_live_bytes() * fraction))
