"""The entry points the CLI and the gRPC service share: map one program, and a registry of
mallocGame sessions for outside agents (CompilerGym-style start / step / end)."""

from __future__ import annotations

import threading
import time
import uuid
from tuner.memory.hardware import PRESETS, Hardware, Instance, capacity_for, preset
from tuner.memory.problem import MemoryProblem, MemoryProblemError, problem_from_mlir

AGENTS = ("greedy", "bandit", "ilp", "rl")
_agent_cache: dict = {}
_agent_lock = threading.Lock()


def make_hardware(problem: MemoryProblem, hardware: str | dict | Hardware | None = None, *,
                  capacity: int | None = None, capacity_fraction: float | None = None) -> Hardware:
    """A preset name, a dict of Hardware fields (over the default preset) or a Hardware;
    `capacity` (bytes) or `capacity_fraction` (of peak live bytes) override its capacity."""
    if isinstance(hardware, Hardware):
        hw = hardware
    elif isinstance(hardware, dict):
        base = PRESETS.get(hardware.get("name") or "scratchpad-256k")
        # Unset (zero / empty) fields of a proto message mean "the preset's value".
        fields = {**(base.to_dict() if base else {}),
                  **{k: v for k, v in hardware.items() if v not in (None, "", 0, 0.0)}}
        hw = Hardware.from_dict(fields)
    else:
        hw = preset(hardware or "scratchpad-256k")
    if capacity is not None and capacity_fraction is not None:
        raise MemoryProblemError("give a capacity or a capacity fraction, not both")
    if capacity is not None:
        if capacity <= 0:
            raise MemoryProblemError("capacity must be positive")
        hw = hw.with_capacity(capacity)
    elif capacity_fraction is not None:
        hw = hw.with_capacity(capacity_for(problem, capacity_fraction))
    return hw


def load_problem(ir_text: str | bytes | None = None, problem: dict | MemoryProblem | None = None,
                 *, name: str = "program", filename: str = "<input>") -> MemoryProblem:
    if (ir_text is None) == (problem is None):
        raise MemoryProblemError("give either IR text or a problem")
    if problem is not None:
        return problem if isinstance(problem, MemoryProblem) else MemoryProblem.from_dict(problem)
    return problem_from_mlir(ir_text, name=name, filename=filename)


def rl_agent():
    from tuner.memory.agent import RLAgent

    with _agent_lock:
        if "rl" not in _agent_cache:
            # The settings `tuner bench memory` reports figures for.
            _agent_cache["rl"] = RLAgent.load(episodes=2, cpu_budget_s=20.0)
        return _agent_cache["rl"]


def solve(inst: Instance, agent: str = "rl", *, ilp_time_limit: float = 60.0):
    from tuner.memory.bandit import cetc_greedy
    from tuner.memory.greedy import greedy
    from tuner.memory.ilp import solve_ilp

    if agent == "greedy":
        return greedy(inst)
    if agent == "bandit":
        return cetc_greedy(inst)[0]
    if agent == "ilp":
        res = solve_ilp(inst, time_limit=ilp_time_limit)
        if res.assignment is None:
            raise MemoryProblemError(f"the ILP found no solution within {ilp_time_limit} s: {res.status}")
        return res.assignment
    if agent == "rl":
        return rl_agent().solve(inst)
    raise MemoryProblemError(f"unknown agent {agent!r}; choose from {', '.join(AGENTS)}")


def map_memory(ir_text: str | bytes | None = None, problem: dict | MemoryProblem | None = None, *,
               hardware: str | dict | Hardware | None = None, capacity: int | None = None,
               capacity_fraction: float | None = None, agent: str = "rl",
               ilp_time_limit: float = 60.0, name: str = "program",
               filename: str = "<input>") -> dict:
    prob = load_problem(ir_text, problem, name=name, filename=filename)
    hw = make_hardware(prob, hardware, capacity=capacity, capacity_fraction=capacity_fraction)
    inst = Instance(prob, hw)
    a = solve(inst, agent, ilp_time_limit=ilp_time_limit)
    return {"program": prob.name, "n_ops": prob.n_ops, "n_buffers": prob.n_buffers,
            "hardware": hw.to_dict(), "assignment": a.to_dict(),
            "buffers": [{"name": b.name, "size": b.size, "start": b.start, "end": b.end,
                         "kind": b.kind, "offset_bytes": int(o * inst.granule) if o >= 0 else -1}
                        for b, o in zip(prob.buffers, a.offsets)]}


class SessionRegistry:
    """Live mallocGame sessions by id; idle ones expire so abandoned clients cannot pile up."""

    def __init__(self, max_sessions: int = 256, idle_seconds: float = 3600.0) -> None:
        self._sessions: dict[str, tuple] = {}
        self._lock = threading.Lock()
        self.max_sessions, self.idle_seconds = max_sessions, idle_seconds

    def start(self, inst: Instance):
        from tuner.memory.game import MallocGame

        now = time.monotonic()
        with self._lock:
            for sid in [s for s, (_, t) in self._sessions.items() if now - t > self.idle_seconds]:
                del self._sessions[sid]
            if len(self._sessions) >= self.max_sessions:
                raise MemoryProblemError(f"too many open sessions ({self.max_sessions}); end some")
            sid = uuid.uuid4().hex
            game = MallocGame(inst)
            self._sessions[sid] = (game, now)
        return sid, game

    def get(self, sid: str):
        with self._lock:
            entry = self._sessions.get(sid)
            if entry is None:
                raise KeyError(sid)
            self._sessions[sid] = (entry[0], time.monotonic())
            return entry[0]

    def end(self, sid: str):
        with self._lock:
            entry = self._sessions.pop(sid, None)
        if entry is None:
            raise KeyError(sid)
        return entry[0]


__all__ = ["AGENTS", "SessionRegistry", "load_problem", "make_hardware", "map_memory", "solve"]
