"""Local improvement of a mapping with the same predicted-runtime model every agent is
scored by (no solver): the RL agent's final phase.

Moves change the fast-memory set: add one or two buffers, drop one, swap one for one, one
for two or two for one. All moves of a kind are scored at once (the runtime model is
linear in the set up to a per-op max, so a batch of sets is a few matrix products); the
best-scoring ones are then checked for a packing, best first, and the first that packs is
taken. A set packs if the new buffers fit the gaps left as they are, or if a lowest-fit
repack in one of a few orders places every buffer: the current buffers by offset (which
always reproduces their packing) with a new one tried at every position, or by start,
size or size x lifetime. Moves of two or three buffers are only scored when their
windows overlap (otherwise they split into smaller moves). When no move helps, a kick
forces a slow buffer in (ejecting overlapping ones), drops a few fast ones, or empties a
span of ops and refills it in another order, and the search climbs again (iterated local
search), keeping the best mapping found.
"""

from __future__ import annotations

import time

import numpy as np

from tuner.memory.hardware import Instance

EPS = 1e-9


class SetModel:
    """Runtime of fast-memory sets, vectorised over many sets at once. Row n of every
    per-buffer matrix is zero: the index of "no buffer" in a move."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        zero = np.zeros((1, inst.T))
        self.accT = np.vstack([inst.acc.T, zero])  # buffer x op: bytes moved to the fast channel
        self.dslowT = np.vstack([(inst.copy - inst.acc).T, zero])  # change of slow traffic
        self.serial = np.append(inst.serial * inst.inv_slow, 0.0)
        live = np.zeros((inst.n + 1, inst.T))
        for b in range(inst.n):
            live[b, inst.fs[b]:inst.fe[b] + 1] = inst.k[b]
        self.live_k = live  # granules each buffer holds at each op

    def state(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Per-op fast bytes, slow bytes, live granules and serial time of set x."""
        x = np.append(x, 0.0)
        return (x @ self.accT, self.inst.slow_base + x @ self.dslowT, x @ self.live_k,
                float(x @ self.serial))

    def runtimes(self, fast: np.ndarray, slow: np.ndarray, serial: np.ndarray) -> np.ndarray:
        inst = self.inst
        t = np.maximum(inst.compute, np.maximum(fast * inst.inv_fast, slow * inst.inv_slow))
        return t.sum(axis=-1) + serial

    def moves(self, x: np.ndarray, rem: np.ndarray,
              add: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Runtime of x with the buffers of rem[i] (rows of up to 2; n = none) taken out and
        those of add[j] put in, for every (i, j), and whether every op then stays within
        the slots (the capacity cut): two |rem| x |add| arrays."""
        fast, slow, live, serial = self.state(x)
        both = lambda mat, sets: mat[sets[:, 0]] + mat[sets[:, 1]]  # noqa: E731
        # Loop over the smaller side, vectorise over the other.
        sign, loop, vec = (-1.0, rem, add) if len(rem) <= len(add) else (1.0, add, rem)
        fv, sv, lv = both(self.accT, vec), both(self.dslowT, vec), both(self.live_k, vec)
        ev = self.serial[vec].sum(1)
        rt = np.empty((len(loop), len(vec)))
        ok = np.empty((len(loop), len(vec)), dtype=bool)
        for i, r in enumerate(loop):
            f0 = fast + sign * self.accT[r].sum(0)
            s0 = slow + sign * self.dslowT[r].sum(0)
            l0 = live + sign * self.live_k[r].sum(0)
            e0 = serial + sign * self.serial[r].sum()
            ok[i] = ((l0 - sign * lv) <= self.inst.slots).all(axis=1)
            rt[i] = self.runtimes(f0 - sign * fv, s0 - sign * sv, e0 - sign * ev)
        return (rt, ok) if sign < 0 else (rt.T, ok.T)


def _first_fit(inst: Instance, grid: np.ndarray, b: int) -> int:
    """Lowest offset where b fits over its window, -1 if none."""
    k = inst.k[b]
    busy = grid[inst.fs[b]:inst.fe[b] + 1].any(axis=0)
    if not busy.any():
        return 0 if k <= inst.slots else -1
    free = np.concatenate(([0], (~busy).astype(np.int32)))
    run = np.cumsum(free)
    ok = np.nonzero(run[k:] - run[:-k] == k)[0] if k <= inst.slots else []
    return int(ok[0]) if len(ok) else -1


def _put(inst: Instance, grid: np.ndarray, b: int, o: int, v: int = 1) -> None:
    grid[inst.fs[b]:inst.fe[b] + 1, o:o + inst.k[b]] += v


def lowest_fit(inst: Instance, order, grid: np.ndarray | None = None,
               offsets: np.ndarray | None = None) -> np.ndarray | None:
    """Place buffers in `order` at their lowest free offset; None if one does not fit."""
    grid = np.zeros((inst.T, inst.slots), dtype=np.int8) if grid is None else grid
    out = np.full(inst.n, -1, dtype=int) if offsets is None else offsets
    for b in order:
        o = _first_fit(inst, grid, b)
        if o < 0:
            return None
        _put(inst, grid, b, o)
        out[b] = o
    return out


class Packer:
    """Finds a packing of the current set with some buffers removed and others added."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.length = inst.fe - inst.fs + 1

    def pack(self, offsets: np.ndarray, remove: tuple[int, ...],
             add: tuple[int, ...]) -> np.ndarray | None:
        inst = self.inst
        out = offsets.copy()
        grid = np.zeros((inst.T, inst.slots), dtype=np.int8)
        for r in remove:
            out[r] = -1
        keep = [int(b) for b in np.nonzero(out >= 0)[0]]
        for b in keep:
            _put(inst, grid, b, out[b])
        # 1. the new buffers in the gaps, everyone else where they are
        trial = out.copy()
        if lowest_fit(inst, sorted(add, key=lambda b: -inst.k[b]), grid.copy(), trial) is not None:
            return trial
        # 2. repack by offset with one new buffer tried at every position
        by_off = sorted(keep, key=lambda b: (out[b], b))
        if len(add) == 1:
            a = add[0]
            prefix = np.zeros_like(grid)
            base = np.full(inst.n, -1, dtype=int)
            for i in range(len(by_off) + 1):
                g, o = prefix.copy(), base.copy()
                res = lowest_fit(inst, [a, *by_off[i:]], g, o)
                if res is not None:
                    return res
                if i < len(by_off):
                    b = by_off[i]
                    ob = _first_fit(inst, prefix, b)
                    _put(inst, prefix, b, ob)
                    base[b] = ob
        # 3. whole repacks in a few fixed orders
        every = keep + list(add)
        for key in (lambda b: (-inst.k[b] * self.length[b], b),
                    lambda b: (-inst.k[b], inst.fs[b]),
                    lambda b: (inst.fs[b], -inst.k[b]),
                    lambda b: (out[b] if out[b] >= 0 else -1, b)):
            res = lowest_fit(inst, sorted(every, key=key))
            if res is not None:
                return res
        return None


class LocalSearch:
    def __init__(self, inst: Instance, *, top: int = 64) -> None:
        self.inst = inst
        self.model = SetModel(inst)
        self.packer = Packer(inst)
        self.top = top  # best-scoring moves checked for a packing, per climb step
        self.cand = np.array([b for b in range(inst.n) if inst.fits[b] and inst.acc[:, b].any()],
                             dtype=int)
        ov = np.zeros((inst.n + 1, inst.n + 1), dtype=bool)  # windows share an op
        ov[:-1, :-1] = ((inst.fs[:, None] <= inst.fe[None, :])
                        & (inst.fs[None, :] <= inst.fe[:, None]))
        self.overlap = ov

    def _moves(self, x: np.ndarray, fixed: frozenset[int]) -> list[tuple[tuple, tuple]]:
        """(removed, added) of the `top` best moves that pass the capacity cut and help.
        Moves of two or three buffers are only tried when the buffers' windows overlap
        (at least two of the three pairs): otherwise they split into smaller moves."""
        n, ov = self.inst.n, self.overlap
        ins = np.array([b for b in self.cand if x[b] == 0], dtype=int)
        outs = np.array([b for b in np.nonzero(x)[0] if int(b) not in fixed], dtype=int)
        nn = lambda m: np.full(m, n, dtype=int)  # noqa: E731 - "no buffer"
        ai, aj = np.triu_indices(len(ins), 1)
        A1 = np.column_stack([ins, nn(len(ins))])
        A2all = np.column_stack([ins[ai], ins[aj]])
        a12 = ov[A2all[:, 0], A2all[:, 1]].astype(int)
        A2 = A2all[a12 > 0]
        ri, rj = np.triu_indices(len(outs), 1)
        R2 = np.column_stack([outs[ri], outs[rj]])
        none = np.array([[n, n]])
        batches = [(none, np.vstack([A1, A2])), (np.column_stack([outs, nn(len(outs))]), none)]
        for r in outs:  # one out, one or two in
            e = a12 + ov[r, A2all[:, 0]] + ov[r, A2all[:, 1]]
            batches.append((np.array([[r, n]]), np.vstack([A1[ov[r, ins]], A2all[e >= 2]])))
        e2 = ov[R2[:, 0], R2[:, 1]].astype(int)
        for a in ins:  # two out, one in
            e = e2 + ov[a, R2[:, 0]] + ov[a, R2[:, 1]]
            batches.append((R2[(e >= 2) & (ov[a, R2[:, 0]] | ov[a, R2[:, 1]])],
                            np.array([[a, n]])))
        cur = self.inst.runtime(x)
        found: list[tuple[float, tuple, tuple]] = []
        for R, A in batches:
            if not len(R) or not len(A):
                continue
            rt, ok = self.model.moves(x, R, A)
            i, j = np.nonzero(ok & (rt < cur - EPS * cur))
            if len(i) > self.top:
                sel = np.argpartition(rt[i, j], self.top)[:self.top]
                i, j = i[sel], j[sel]
            found += [(float(rt[p, q]), tuple(int(b) for b in R[p] if b < n),
                       tuple(int(b) for b in A[q] if b < n)) for p, q in zip(i, j)]
        found.sort(key=lambda m: m[0])
        return [(r, a) for _, r, a in found[:self.top]]

    def climb(self, offsets: np.ndarray, deadline: float,
              fixed: frozenset[int] = frozenset()) -> tuple[np.ndarray, float]:
        """Take the best packable move until none helps (or the CPU deadline passes);
        buffers in `fixed` stay in fast memory."""
        offsets = offsets.copy()
        while time.process_time() < deadline:
            x = (offsets >= 0).astype(float)
            moved = False
            for rem, add in self._moves(x, fixed):
                if time.process_time() >= deadline:
                    break
                res = self.packer.pack(offsets, rem, add)
                if res is not None:
                    offsets, moved = res, True
                    break
            if not moved:
                break
        return offsets, self.inst.runtime((offsets >= 0).astype(float))

    def _force_in(self, offsets: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, int] | None:
        """Put a random slow buffer (weighted by its own gain) into fast memory, ejecting
        time-overlapping fast buffers in random order until it packs."""
        inst = self.inst
        slow = [b for b in self.cand if offsets[b] < 0 and inst.alone[b] > 0]
        if not slow:
            return None
        w = inst.alone[slow]
        b = int(rng.choice(slow, p=w / w.sum()))
        cur = offsets.copy()
        rivals = [int(a) for a in np.nonzero(cur >= 0)[0]
                  if inst.fs[a] <= inst.fe[b] and inst.fs[b] <= inst.fe[a]]
        rng.shuffle(rivals)
        for i in range(len(rivals) + 1):
            res = self.packer.pack(cur, tuple(rivals[:i]), (b,))
            if res is not None:
                return res, b
        return None

    def _ruin_window(self, offsets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Empty a random span of ops of fast buffers and refill it in another order (by
        start, by benefit density, or at random), keeping only placements that help."""
        inst = self.inst
        lo = int(rng.integers(inst.T))
        hi = min(inst.T - 1, lo + int(rng.integers(1, max(2, inst.T))))
        hit = (inst.fs <= hi) & (inst.fe >= lo)
        out = offsets.copy()
        out[hit] = -1
        grid = np.zeros((inst.T, inst.slots), dtype=np.int8)
        for b in np.nonzero(out >= 0)[0]:
            _put(inst, grid, b, out[b])
        cands = [int(b) for b in self.cand if hit[b] and inst.alone[b] > 0]
        how = int(rng.integers(3))
        if how == 0:
            cands.sort(key=lambda b: (inst.fs[b], -inst.k[b]))
        elif how == 1:
            cands.sort(key=lambda b: -inst.alone[b] / inst.k[b] / (inst.fe[b] - inst.fs[b] + 1))
        else:
            rng.shuffle(cands)
        x = (out >= 0).astype(float)
        rt = inst.runtime(x)
        for b in cands:
            o = _first_fit(inst, grid, b)
            if o < 0:
                continue
            x[b] = 1
            new = inst.runtime(x)
            if new < rt:
                _put(inst, grid, b, o)
                out[b], rt = o, new
            else:
                x[b] = 0
        return out

    def search(self, offsets: np.ndarray, cpu_s: float, rng: np.random.Generator,
               patience: int = 100) -> np.ndarray:
        """Iterated local search from `offsets` for at most `cpu_s` CPU seconds; stops
        early after `patience` kicks in a row that find nothing better. A kick forces a
        slow buffer in, drops a few fast ones, or empties and refills a span of ops."""
        deadline = time.process_time() + cpu_s
        best, best_rt = self.climb(offsets, deadline)
        stale = 0
        while time.process_time() < deadline and stale < patience:
            fast = np.nonzero(best >= 0)[0]
            start, fixed = None, frozenset()
            kind = rng.random()
            if kind < 0.4:
                forced = self._force_in(best, rng)
                if forced is not None:
                    start, fixed = forced[0], frozenset({forced[1]})
            elif kind < 0.7:
                start = self._ruin_window(best, rng)
            if start is None:
                if not len(fast):
                    break
                start = best.copy()
                start[rng.choice(fast, size=min(len(fast), int(rng.integers(1, 4))),
                                 replace=False)] = -1
            cand, rt = self.climb(start, deadline, fixed)
            if fixed:
                cand, rt = self.climb(cand, deadline)
            if rt < best_rt - EPS * best_rt:
                best, best_rt, stale = cand, rt, 0
            else:
                stale += 1
        return best
