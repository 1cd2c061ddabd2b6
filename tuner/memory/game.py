"""mallocGame: place buffers one at a time into a time x offset fast-memory grid.

State: the time x offset occupancy grid plus per-buffer features. Buffers come in the
greedy's memory-boundedness order (the ones that cannot fit at all are left in slow
memory and not asked about). Action o < slots puts the current buffer at offset o for its
whole fast-memory window; action `slots` leaves it in slow memory. Offsets where the buffer
would overlap another one or run past the capacity are masked. The reward of a step is the
predicted runtime it saves as a share of the all-slow runtime, so an episode's return is
1 - runtime / all-slow runtime.
"""

from __future__ import annotations

import numpy as np

from tuner.memory.greedy import Assignment, Traffic, finish, greedy_order, place
from tuner.memory.hardware import Instance
from tuner.memory.problem import MemoryProblemError

#: Per-buffer feature columns (observation "buffers" matrix).
BUFFER_FEATURES = ("granules", "size_frac", "start", "end", "alone_gain", "gain_now",
                   "is_weight", "is_input", "is_output", "placed", "decided")


class MallocGame:
    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.order = [int(b) for b in greedy_order(inst)
                      if inst.fits[b] and inst.acc[:, b].any()]
        self.grid = np.zeros((inst.T, inst.slots), dtype=np.int8)
        self.offsets = np.full(inst.n, -1, dtype=int)
        self.traffic = Traffic(inst)
        self.step_index = 0

    @property
    def n_actions(self) -> int:
        return self.inst.slots + 1

    @property
    def slow_action(self) -> int:
        return self.inst.slots

    @property
    def done(self) -> bool:
        return self.step_index >= len(self.order)

    @property
    def current(self) -> int:
        return self.order[self.step_index] if not self.done else -1

    def clone(self) -> "MallocGame":
        g = MallocGame.__new__(MallocGame)
        g.inst, g.order = self.inst, self.order
        g.grid, g.offsets = self.grid.copy(), self.offsets.copy()
        g.traffic, g.step_index = self.traffic.copy(), self.step_index
        return g

    def legal_actions(self) -> np.ndarray:
        """Boolean mask over actions; slow memory is always legal."""
        mask = np.zeros(self.n_actions, dtype=bool)
        if self.done:
            return mask
        mask[:-1] = self.inst.valid_offsets(self.grid, self.current)
        mask[-1] = True
        return mask

    def step(self, action: int) -> float:
        """Play an action; return its reward. MemoryProblemError for masked actions."""
        if self.done:
            raise MemoryProblemError("the episode is over")
        action = int(action)
        if not 0 <= action < self.n_actions or not self.legal_actions()[action]:
            raise MemoryProblemError(f"action {action} is not legal for buffer {self.current}")
        b = self.current
        self.step_index += 1
        if action == self.slow_action:
            return 0.0
        place(self.inst, self.grid, b, action)
        self.offsets[b] = action
        return self.traffic.add(b) / self.inst.allslow

    @property
    def runtime_us(self) -> float:
        return self.traffic.runtime

    def assignment(self, agent: str, cpu_s: float = 0.0) -> Assignment:
        return finish(self.inst, self.offsets, agent, cpu_s)

    # -- observations ---------------------------------------------------------------------
    def buffer_features(self) -> np.ndarray:
        inst = self.inst
        T = max(inst.T - 1, 1)
        decided = np.zeros(inst.n)
        decided[self.order[:self.step_index]] = 1
        kinds = [b.kind for b in inst.problem.buffers]
        gain_now = np.array([self.traffic.gain(b) if not decided[b] else 0.0
                             for b in range(inst.n)]) / inst.allslow
        return np.column_stack([
            inst.k / inst.slots, inst.sizes / inst.hw.capacity_bytes, inst.fs / T, inst.fe / T,
            inst.alone / inst.allslow, gain_now,
            [k == "constant" for k in kinds], [k == "input" for k in kinds],
            [k == "output" for k in kinds], self.offsets >= 0, decided]).astype(np.float32)

    def observation(self) -> dict:
        return {"occupancy": (self.grid > 0).astype(np.uint8), "buffers": self.buffer_features(),
                "current": self.current, "legal": self.legal_actions()}


# -- the fixed-size vector the policy/value network reads -----------------------------------
TIME_BINS = 16
LOOKAHEAD = 4


def encode(game: MallocGame) -> np.ndarray:
    """Occupancy pooled to TIME_BINS x slots, the current buffer's window, free slots over
    that window, its features, the next LOOKAHEAD buffers and the progress so far."""
    inst = game.inst
    S = inst.slots
    edges = np.linspace(0, inst.T, TIME_BINS + 1).astype(int)
    occ = (game.grid > 0)
    pooled = np.stack([occ[edges[i]:max(edges[i + 1], edges[i] + 1)].mean(axis=0)
                       for i in range(TIME_BINS)])
    b = game.current
    win = np.zeros(TIME_BINS)
    free = np.zeros(S)
    cur = np.zeros(8)
    if b >= 0:
        lo = np.searchsorted(edges, inst.fs[b], side="right") - 1
        hi = np.searchsorted(edges, inst.fe[b], side="right") - 1
        win[max(lo, 0):min(hi, TIME_BINS - 1) + 1] = 1
        free = inst.free_mask(game.grid, b).astype(float)
        kind = inst.problem.buffers[b].kind
        cur = np.array([inst.k[b] / S, (inst.fe[b] - inst.fs[b] + 1) / inst.T,
                        inst.alone[b] / inst.allslow, game.traffic.gain(b) / inst.allslow,
                        kind == "constant", kind == "input", kind == "output",
                        inst.fs[b] / inst.T], dtype=float)
    nxt = np.zeros((LOOKAHEAD, 3))
    for j, nb in enumerate(game.order[game.step_index + 1:game.step_index + 1 + LOOKAHEAD]):
        nxt[j] = (inst.k[nb] / S, inst.alone[nb] / inst.allslow,
                  (inst.fe[nb] - inst.fs[nb] + 1) / inst.T)
    prog = np.array([game.step_index / max(len(game.order), 1),
                     1.0 - game.traffic.runtime / inst.allslow,
                     inst.compute.sum() / inst.allslow])
    return np.concatenate([pooled.ravel(), win, free, cur * 10, nxt.ravel() * 10, prog]
                          ).astype(np.float32)


def input_size(slots: int) -> int:
    return TIME_BINS * slots + TIME_BINS + slots + 8 + 3 * LOOKAHEAD + 3
