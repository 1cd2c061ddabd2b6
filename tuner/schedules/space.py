"""The schedule space of one dispatch as a ``tuner.Space``, for ask/tell loops where the
compiler does the measuring. Candidate generation (random draws and local moves) lives in
``costmodel.programs.dispatch_space``, shared with the dataset's real-dispatch groups.
"""

from __future__ import annotations

from costmodel.programs import Schedule, target_info
from costmodel.programs.dispatch_space import DispatchSpace
from costmodel.programs.dispatch_target import DispatchTarget
from tuner.space import Categorical, Space

__all__ = ["DispatchSpace", "dispatch_space", "params_of", "schedule_from_params"]

_POW2 = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


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

