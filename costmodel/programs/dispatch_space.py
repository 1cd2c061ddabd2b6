"""Valid candidate schedules of one real dispatch: random draws and local moves.

Knobs: tile sizes at every llvm-cpu level (distribution, cache_parallel, cache_reduction,
vector_common_parallel, vector_reduction), the pipeline (IREE's choice plus the
alternatives that make sense for the root's kind), loop peeling, and the ukernels flag.
Every candidate passes ``DispatchTarget.check`` (divisibility-free validity rules and the
vector-size limit) before it is compiled. Data tiling is decided when IREE forms the
dispatches of a whole model, so for a formed dispatch it is a model-level flag, not a
per-dispatch knob (single-kernel family modules keep it, see costmodel.programs.space).
Used by the dataset's real-dispatch groups and by the tuner's schedule search.
"""

from __future__ import annotations

import numpy as np

from costmodel.programs.dispatch_target import DispatchTarget
from costmodel.programs.families import LoopInfo
from costmodel.programs.schedule import Schedule
from costmodel.programs.space import sample_schedule

_MUTABLE_LEVELS = ("distribution", "cache_parallel", "cache_reduction",
                   "vector_common_parallel", "vector_reduction")


class _DispatchFamily:
    """Duck-typed costmodel Family for one dispatch, so the dataset's sampler can be reused."""

    name = "dispatch"
    unit_loops_drop_schedule = False

    def __init__(self, target: DispatchTarget) -> None:
        self.target = target
        self.pipelines = target.pipelines
        self.consumer_spans_reduction = target.consumer_spans_reduction

    def loop_info(self, shape: dict) -> LoopInfo:
        return self.target.loops

    def elem_bytes(self, shape: dict) -> int:
        return self.target.elem_bytes


class DispatchSpace:
    """Valid candidate schedules of one dispatch."""

    def __init__(self, target: DispatchTarget, *, allow_ukernels: bool = True) -> None:
        self.target = target
        self.allow_ukernels = allow_ukernels
        self._family = _DispatchFamily(target)
        # The conv pipeline decomposes 2-D convs only when some loops have vector tile 1;
        # IREE's own config shows which, so candidates on that pipeline keep them at 1.
        d = target.default
        self._conv_units = tuple(
            i for i in range(target.loops.n_loops)
            if any(d.tile(lv) and d.tile(lv)[i] == 1
                   for lv in ("vector_common_parallel", "vector_reduction")))

    def _fix(self, s: Schedule) -> Schedule:
        levels = {k: list(v) for k, v in s.levels}
        if s.pipeline == "ConvTileAndDecomposeExpert":
            for lv in ("vector_common_parallel", "vector_reduction"):
                if lv in levels:
                    for i in self._conv_units:
                        if levels[lv][i] != 0:
                            levels[lv][i] = 1
        return Schedule.make(s.pipeline, levels, peeling=s.peeling,
                             ukernels=s.ukernels and self.allow_ukernels)

    def random(self, rng: np.random.Generator) -> Schedule:
        for _ in range(50):
            s = self._fix(sample_schedule(self._family, {}, rng))
            s = Schedule.make(s.pipeline, s.tiles, peeling=s.peeling,
                              ukernels=self.allow_ukernels and rng.random() < 0.15)
            if self.target.check(s) is None:
                return s
        return self.mutate(self.target.default, rng)

    def mutate(self, s: Schedule, rng: np.random.Generator, moves: int = 1) -> Schedule:
        """A valid neighbour: one tile doubled/halved/set to a divisor, a level added or
        dropped, the pipeline or peeling flipped."""
        if s.is_default:
            s = self.target.default
        loops = self.target.loops
        for _ in range(100):
            levels = {k: list(v) for k, v in s.levels}
            pipeline, peeling, uk = s.pipeline, s.peeling, s.ukernels
            for _ in range(moves):
                r = rng.random()
                if r < 0.08 and len(self.target.pipelines) > 1:
                    pipeline = str(rng.choice(self.target.pipelines))
                elif r < 0.14:
                    peeling = not peeling
                elif r < 0.18 and self.allow_ukernels:
                    uk = not uk
                elif r < 0.26:
                    lv = str(rng.choice(("cache_parallel", "cache_reduction")))
                    if lv in levels:
                        del levels[lv]
                    else:
                        base = levels.get("distribution", [0] * loops.n_loops)
                        red = lv == "cache_reduction"
                        levels[lv] = [
                            (loops.ranges[d] if red else base[d]) if loops.is_reduction(d) == red
                            else 0 for d in range(loops.n_loops)]
                else:
                    lv = str(rng.choice([k for k in _MUTABLE_LEVELS if k in levels]))
                    dims = [d for d in range(loops.n_loops)
                            if loops.is_reduction(d) == (lv in ("cache_reduction",
                                                                "vector_reduction"))]
                    if not dims:
                        continue
                    d = int(rng.choice(dims))
                    levels[lv][d] = _step(levels[lv][d], loops.ranges[d], rng)
            cand = self._fix(Schedule.make(pipeline, levels, peeling=peeling, ukernels=uk))
            if cand.key() != s.key() and self.target.check(cand) is None:
                return cand
        return self.random(rng)

    def candidates(self, n: int, rng: np.random.Generator, *, local_share: float = 0.5,
                   seen: set[str] | None = None) -> list[Schedule]:
        """``n`` distinct valid candidates: ``local_share`` of them within a few moves of
        IREE's default (good schedules are often near it), the rest random."""
        seen = set(seen or ()) | {self.target.default.key()}
        out: list[Schedule] = []
        for _ in range(50 * n):
            if len(out) >= n:
                break
            if rng.random() < local_share:
                s = self.mutate(self.target.default, rng, moves=int(rng.integers(1, 4)))
            else:
                s = self.random(rng)
            if s.key() not in seen:
                seen.add(s.key())
                out.append(s)
        return out


def _step(t: int, extent: int, rng: np.random.Generator) -> int:
    r = rng.random()
    if t == 0:
        return int(min(extent, rng.choice((8, 16, 32, 64))))
    if r < 0.4:
        return int(min(extent, t * 2))
    if r < 0.8:
        return max(1, t // 2)
    divs = [x for x in range(1, min(extent, 512) + 1) if extent % x == 0]
    return int(rng.choice(divs))
