"""Memory mapping: which buffers live in a fast scratchpad, and where (mallocGame).

>>> from tuner.memory import problem_from_mlir, Instance, preset, greedy, solve_ilp, RLAgent
>>> inst = Instance(problem_from_mlir(mlir_text), preset("scratchpad-256k"))
>>> greedy(inst).speedup, RLAgent.load().solve(inst).speedup
"""

from __future__ import annotations

from tuner.memory.agent import RLAgent
from tuner.memory.bandit import cetc_greedy
from tuner.memory.game import MallocGame
from tuner.memory.greedy import Assignment, greedy
from tuner.memory.hardware import PRESETS, Hardware, Instance, capacity_for, preset
from tuner.memory.ilp import brute_force, solve_ilp
from tuner.memory.problem import Buffer, MemoryProblem, MemoryProblemError, problem_from_mlir
from tuner.memory.service import map_memory

__all__ = ["PRESETS", "Assignment", "Buffer", "Hardware", "Instance", "MallocGame",
           "MemoryProblem", "MemoryProblemError", "RLAgent", "brute_force", "capacity_for",
           "cetc_greedy", "greedy", "map_memory", "preset", "problem_from_mlir", "solve_ilp"]
