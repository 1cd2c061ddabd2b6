"""Schedule spaces per dispatch: candidate generation (random and local moves) and the
equivalent ``tuner.Space`` for ask/tell loops where the compiler does the measuring.

Knobs: tile sizes at every llvm-cpu level (distribution, cache_parallel, cache_reduction,
vector_common_parallel, vector_reduction), the pipeline (IREE's choice plus the
alternatives that make sense for the root's kind), loop peeling, and the ukernels flag.
Every candidate passes ``DispatchTarget.check`` (divisibility-free validity rules and the
vector-size limit) before it is compiled. Data tiling is decided when IREE forms the
dispatches of a whole model, so for a formed dispatch it is a model-level flag, not a
per-dispatch knob (single-kernel family modules keep it, see costmodel.programs.space).
"""

from __future__ import annotations

import numpy as np

from costmodel.programs import LoopInfo, Schedule, target_info
from costmodel.programs.space import sample_schedule
from tuner.schedules.dispatch import DispatchTarget
from tuner.space import Categorical, Space

_POW2 = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
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


# -- the same space as a tuner.Space (for Suggest/Report loops) -------------------------

def _choices(extent: int, zero: bool) -> tuple[int, ...]:
    vals = [t for t in _POW2 if t <= extent]
    if extent <= 512 and extent not in vals:
        vals.append(extent)
    return tuple(([0] if zero else []) + sorted(vals))


def dispatch_space(target: DispatchTarget) -> Space:
    """A ``tuner.Space`` over the dispatch's knobs: ``pipeline``, ``peeling``, ``ukernels``
    and per loop dim ``d<i>`` (distribution, parallel dims), ``v<i>`` (vector tile) ...
    Feed it to ``Study.create`` / the TunerService ``CreateStudy``; turn an assignment back
    into a schedule with ``schedule_from_params``."""
    loops = target.loops
    params: list = [Categorical("pipeline", tuple(target.pipelines)),
                    Categorical("peeling", (False, True)),
                    Categorical("ukernels", (False, True))]
    # IREE's default is where every search starts, so its tile sizes (48, say) are choices too.
    default = params_of(target, target.default)

    def choices(name: str, extent: int, zero: bool) -> tuple[int, ...]:
        return tuple(sorted(set(_choices(extent, zero)) | {int(default[name])}))

    vec_terms = []
    for d, extent in enumerate(loops.ranges):
        if loops.is_reduction(d):
            params.append(Categorical(f"r{d}", choices(f"r{d}", extent, False)))
            vec_terms.append(f"r{d}")
        else:
            params.append(Categorical(f"d{d}", choices(f"d{d}", extent, True)))
            params.append(Categorical(f"v{d}", choices(f"v{d}", extent, False)))
            vec_terms.append(f"v{d}")
    limit = target_info().vector_limit_bytes // target.elem_bytes
    return Space(params, [f"{' * '.join(vec_terms)} < {limit}"])


def schedule_from_params(target: DispatchTarget, params: dict) -> Schedule:
    loops = target.loops
    dist, vec, red = [], [], []
    for d in range(loops.n_loops):
        if loops.is_reduction(d):
            dist.append(0), vec.append(0), red.append(int(params[f"r{d}"]))
        else:
            dist.append(int(params[f"d{d}"])), vec.append(int(params[f"v{d}"])), red.append(0)
    levels = {"distribution": dist, "vector_common_parallel": vec}
    if any(loops.is_reduction(d) for d in range(loops.n_loops)):
        levels["vector_reduction"] = red
    return Schedule.make(str(params["pipeline"]), levels, peeling=bool(params.get("peeling")),
                         ukernels=bool(params.get("ukernels")))


def params_of(target: DispatchTarget, s: Schedule) -> dict:
    """The dispatch_space assignment closest to ``s`` (cache levels are dropped)."""
    s = target.default if s.is_default else s
    loops = target.loops
    out: dict = {"pipeline": s.pipeline, "peeling": s.peeling, "ukernels": s.ukernels}
    d_t, v_t, r_t = (s.tile("distribution"), s.tile("vector_common_parallel"),
                     s.tile("vector_reduction"))
    for d in range(loops.n_loops):
        if loops.is_reduction(d):
            out[f"r{d}"] = r_t[d] if r_t else loops.ranges[d]
        else:
            out[f"d{d}"] = d_t[d] if d_t else 0
            out[f"v{d}"] = v_t[d] if v_t else loops.ranges[d]
    return out

