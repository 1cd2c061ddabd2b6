"""The Family interface: a kernel family samples shapes and renders complete MLIR modules.

Every module is one ``func.func @main`` on tensors with exactly one ROOT op (the main
linalg op). A schedule's ``compilation_info`` is attached to the root only; IREE then
derives configs for the other ops of the dispatch from it.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from costmodel.programs.schedule import Schedule

#: Markers the renderers put where the root op's compilation_info goes. ROOT_DICT stands
#: for a whole attribute dict (ops that print none otherwise); ROOT_ENTRY for one more
#: entry, with its leading comma, inside a dict the op already has.
ROOT_DICT = "@@ROOT_DICT@@"
ROOT_ENTRY = "@@ROOT_ENTRY@@"
ELEMENT_BYTES = {"f32": 4, "f16": 2, "bf16": 2, "i8": 1, "i32": 4}


def group_id(family: str, shape: dict[str, int]) -> str:
    """Stable id of a (family, shape): every schedule of the same problem shares it."""
    key = json.dumps({"family": family, "shape": {k: int(v) for k, v in shape.items()}},
                     sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def tensor(shape: list[int] | tuple[int, ...], elem: str = "f32") -> str:
    return f"tensor<{'x'.join(str(int(d)) for d in shape)}x{elem}>" if shape else f"tensor<{elem}>"


def dim(rng: np.random.Generator, lo: int, hi: int, *, nice: float = 0.35) -> int:
    """A loop extent in [lo, hi], log-uniform so small and large sizes are both common.

    With probability ``nice`` it is rounded to a multiple of 8 (or a power of two below 8),
    otherwise it stays as drawn, which gives awkward sizes like 77 or 123 that force
    peeling or masking in the generated code.
    """
    # lo >= 2 in every family: IREE folds unit-extent loops of generics and convs
    # before configuring and drops the root's compilation_info when it does.
    x = int(round(float(np.exp(rng.uniform(np.log(lo), np.log(hi))))))
    x = min(max(x, lo), hi)
    if rng.random() < nice:
        if x >= 8:
            x = max(lo, min(hi, 8 * max(1, round(x / 8))))
        else:
            x = max(lo, 1 << (x.bit_length() - 1))
    return x


@dataclass(frozen=True)
class LoopInfo:
    """The root op's iteration space: one extent and iterator kind per loop dim, in the
    order IREE's lowering_config expects its tile sizes."""

    ranges: tuple[int, ...]
    iterators: tuple[str, ...]  # "parallel" | "reduction"

    @property
    def n_loops(self) -> int:
        return len(self.ranges)

    def is_reduction(self, d: int) -> bool:
        return self.iterators[d] == "reduction"


#: Shape keys that are choices, strides or windows rather than loop extents: never aligned.
NON_EXTENT_KEYS = frozenset({"PERM", "AXIS", "OP", "SUM", "CHAIN", "LAYOUT", "S", "KH", "KW"})


def aligned(shape: dict[str, int], multiple: int) -> dict[str, int]:
    """``shape`` with each loop extent of at least ``multiple`` rounded to the nearest
    multiple of it (smaller extents, like a batch of 3, and non-extent keys kept)."""
    return {k: v if k in NON_EXTENT_KEYS or v < multiple
            else multiple * max(1, int(round(v / multiple))) for k, v in shape.items()}


def is_aligned(shape: dict[str, int], multiple: int) -> bool:
    """Whether every loop extent of at least ``multiple`` in ``shape`` is a multiple of it."""
    return all(v % multiple == 0 for k, v in shape.items()
               if k not in NON_EXTENT_KEYS and v >= multiple)


class Family(ABC):
    """A kernel family. Subclasses set the class attributes and implement the three methods."""

    name: str = ""
    root_op: str = ""  # name of the root linalg op, e.g. "linalg.matmul"
    #: Pipelines that make sense for explicit schedules of this family; the first is the
    #: one IREE's own heuristics choose (measured with --compile-to=executable-configurations).
    pipelines: tuple[str, ...] = ("Default",)
    elem: str = "f32"
    #: Bounds on the sampled problem size (FLOPs for compute-bound families, otherwise
    #: elements touched) so one call takes roughly 0.05-20 ms on one core.
    budget: tuple[float, float] = (1e5, 4e6)
    description: str = ""
    #: True when an elementwise op over the root's full iteration space is fused after a
    #: root reduction (softmax, layernorm): it is vectorized over the whole reduced extent.
    consumer_spans_reduction: bool = False
    #: IREE's FoldUnitExtentDims rebuilds generics and convs that have a loop of extent 1
    #: and drops their compilation_info; named matmul-like roots survive it (measured).
    unit_loops_drop_schedule: bool = True
    #: Compile flags every schedule of this family needs (on top of the schedule's own).
    extra_flags: tuple[str, ...] = ()

    @abstractmethod
    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        """One unconstrained shape draw."""

    @abstractmethod
    def size(self, shape: dict[str, int]) -> float:
        """The quantity the budget bounds."""

    @abstractmethod
    def _body(self, shape: dict[str, int]) -> str:
        """The func.func text with ROOT_DICT or ROOT_ENTRY where the root op's attributes go."""

    def sample_shape(self, rng: np.random.Generator, *,
                     align: int | None = None) -> dict[str, int]:
        """A random shape within the budget (rejection sampling, so the draw stays varied).

        ``align``: every loop extent of at least ``align`` is rounded to a multiple of it
        (``aligned``), as real models' dimensions are."""
        lo, hi = self.budget
        best = None
        for _ in range(200):
            shape = self._draw(rng) if align is None else aligned(self._draw(rng), align)
            s = self.size(shape)
            if lo <= s <= hi:
                return shape
            if best is None or abs(np.log(s / np.sqrt(lo * hi))) < abs(
                    np.log(self.size(best) / np.sqrt(lo * hi))):
                best = shape
        return best  # unreachable for sane budgets; the closest draw is still usable

    def render(self, shape: dict[str, int], schedule: Schedule | None = None) -> str:
        """Complete MLIR module text; the schedule's compilation_info goes on the root op."""
        attr = schedule.to_attr() if schedule is not None else ""
        body = self._body(shape)
        assert body.count(ROOT_DICT) + body.count(ROOT_ENTRY) == 1, "exactly one root op"
        entry = f"compilation_info = {attr}" if attr else ""
        body = body.replace(ROOT_DICT, f"{{{entry}}}" if entry else "")
        body = body.replace(ROOT_ENTRY, f", {entry}" if entry else "")
        return "module {\n" + body + "}\n"

    def group_id(self, shape: dict[str, int]) -> str:
        return group_id(self.name, shape)

    def compile_flags(self, schedule: Schedule) -> list[str]:
        """All flags to compile this family's module under ``schedule``."""
        return [*self.extra_flags, *schedule.compile_flags()]

    def root_name(self, shape: dict[str, int]) -> str:
        """The root op's name for this shape (pooling picks max or sum per shape)."""
        return self.root_op

    def elem_bytes(self, shape: dict[str, int]) -> int:
        return ELEMENT_BYTES[self.elem]

    def loop_info(self, shape: dict[str, int]) -> LoopInfo:
        """Loop dims of the root op, read from the rendered IR by costmodel.ir."""
        from costmodel.programs.loops import root_loop_info
        return root_loop_info(self, shape)
