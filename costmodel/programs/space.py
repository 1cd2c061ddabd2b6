"""Random schedules for a (family, shape): the candidates a tuner or a dataset draws from.

The sampler draws tiles the way sensible hand configs look (vector tiles of powers of two
or divisors of the extent, distribution tiles that are multiples of the vector tiles,
optional cache levels) but covers bad corners too (tiny tiles, remainders, big unrolls),
because a cost model has to rank those as well. Every schedule it returns passes
``check_schedule``; the compiler may still reject some, which is a useful label.
"""

from __future__ import annotations

import numpy as np

from costmodel.programs.compile import DEFAULT_TARGET_CPU, target_info
from costmodel.programs.constraints import check_schedule
from costmodel.programs.families.base import Family, LoopInfo
from costmodel.programs.schedule import Schedule

_POW2 = (1, 2, 4, 8, 16, 32, 64)
#: Families where data tiling (and with it the mmt4d ukernel) changes IREE's default
#: lowering; elsewhere the two flags leave the default schedule as it is.
DATA_TILING_FAMILIES = frozenset({"matmul", "batch_matmul", "matvec", "attention"})
#: Loops of conv-like roots that the conv pipeline wants at vector tile 1 (batch, output
#: row, filter row) so it can decompose the 2-D conv into 1-D convs and vectorize those.
_UNIT_DIMS = {
    "conv2d_nhwc": (0, 1, 4),  # n, oh, ow, f, kh, kw, c
    "conv2d_nchw": (0, 2, 5),  # n, f, oh, ow, c, kh, kw
    "depthwise_conv": (0, 1, 4),  # n, oh, ow, c, kh, kw
    "pooling": (0, 1, 4),  # n, oh, ow, c, kh, kw
}


def default_schedules(family: Family) -> list[Schedule]:
    """IREE's own heuristics, once per flag setting that changes what they do."""
    out = [Schedule.default()]
    if family.name in DATA_TILING_FAMILIES:
        out += [Schedule.default(data_tiling=True),
                Schedule.default(data_tiling=True, ukernels=True)]
    return out


def _pick(rng: np.random.Generator, extent: int, prefer: tuple[int, ...], cap: int = 64,
          p_divisor: float = 0.25) -> int:
    """A tile size <= extent: a power of two (``prefer`` ones more likely), or sometimes a
    divisor of the extent, which leaves no remainder iteration."""
    hi = max(1, min(extent, cap))
    if rng.random() < p_divisor:
        divs = [t for t in range(1, hi + 1) if extent % t == 0]
        return int(rng.choice(divs))
    cands = [t for t in _POW2 if t <= hi]
    if extent <= cap and extent not in cands:
        cands.append(extent)  # the whole (small) loop as one vector
    w = np.array([4.0 if t in prefer else 1.0 for t in cands])
    return int(rng.choice(cands, p=w / w.sum()))


def _multiple(rng: np.random.Generator, base: int, limit: int, factors=(1, 2, 4, 8, 16, 32)) -> int:
    """base * m for a random m, capped at the largest multiple of base <= limit."""
    top = max(base, (limit // base) * base)
    return int(min(base * int(rng.choice(factors)), top))


def sample_schedule(family: Family, shape: dict[str, int], rng: np.random.Generator, *,
                    limit_bytes: int | None = None,
                    target_cpu: str = DEFAULT_TARGET_CPU) -> Schedule:
    """One random explicit schedule that passes check_schedule."""
    if limit_bytes is None:
        limit_bytes = target_info(target_cpu).vector_limit_bytes
    loops = family.loop_info(shape)
    for _ in range(50):
        s = _draw(family, shape, loops, rng, limit_bytes)
        if check_schedule(family, shape, s, limit_bytes=limit_bytes) is None:
            return s
    raise RuntimeError(f"could not sample a valid schedule for {family.name} {shape}")


def _draw(family: Family, shape: dict[str, int], loops: LoopInfo, rng: np.random.Generator,
          limit_bytes: int) -> Schedule:
    n = loops.n_loops
    red = [loops.is_reduction(d) for d in range(n)]
    par_dims = [d for d in range(n) if not red[d]]
    inner = par_dims[-1] if par_dims else -1  # the output's contiguous dim: SIMD lanes go here
    unit = _UNIT_DIMS.get(family.name, ())
    is_conv = bool(unit)
    p_div = 0.6 if is_conv else 0.25  # conv vectorizes only tiles that divide the extents

    vec = [0] * n
    for d, extent in enumerate(loops.ranges):
        if d in unit and rng.random() < 0.85:
            vec[d] = 1
        elif red[d]:
            vec[d] = _pick(rng, extent, (1, 4, 8, 16), p_divisor=p_div)
        elif d == inner:
            vec[d] = _pick(rng, extent, (8, 16, 32), p_divisor=p_div)
        else:
            vec[d] = _pick(rng, extent, (1, 2, 4, 8), cap=32, p_divisor=p_div)
    # Shrink the largest vector dim until the vector fits the compiler's size limit; most
    # draws also stay under a quarter of it, because huge unrolled vectors mostly cost
    # compile time (tens of seconds) and are rarely fast.
    elem = family.elem_bytes(shape)
    cap = limit_bytes // 4 if rng.random() < 0.85 else limit_bytes
    while _prod(vec) * elem >= cap and max(vec) > 1:
        d = max(range(n), key=lambda i: vec[i])
        vec[d] = max(1, vec[d] // 2)
    red_extent = _prod(loops.ranges[d] for d in range(n) if red[d])
    if family.consumer_spans_reduction:
        # The fused consumer is vectorized over parallel tiles x the whole reduced extent.
        # Keep it under a quarter of the limit: compile time explodes with its size
        # (softmax, measured: 1024 elements 1-2 s, 2048 8 s, 4000 over 60 s).
        while _prod(vec[d] for d in par_dims) * red_extent * elem >= limit_bytes // 4 and any(
                vec[d] > 1 for d in par_dims):
            d = max(par_dims, key=lambda i: vec[i])
            vec[d] = max(1, vec[d] // 2)

    dist = [0] * n
    for d in par_dims:
        r = rng.random()
        if r < 0.1:
            dist[d] = 0  # not distributed: one workgroup spans the dim
        elif r < 0.2:
            dist[d] = loops.ranges[d]
        else:
            dist[d] = _multiple(rng, vec[d], loops.ranges[d])
    levels: dict[str, list[int]] = {"distribution": dist}
    if rng.random() < 0.25 and par_dims:
        levels["cache_parallel"] = [
            _multiple(rng, vec[d], dist[d] or loops.ranges[d], (1, 2, 4)) if not red[d] else 0
            for d in range(n)]
    if rng.random() < 0.25 and any(red):
        # With a cache_reduction level the accumulator fill is vectorized at the workgroup
        # tile, so only add one when that tile fits the vector limit.
        cp = levels.get("cache_parallel", [0] * n)
        wg = [min(loops.ranges[d], dist[d] or loops.ranges[d], cp[d] or loops.ranges[d])
              for d in par_dims]
        fits = _prod(wg) * elem < limit_bytes
        if family.consumer_spans_reduction:
            # ... and so is the fused consumer, over the whole reduced extent too.
            fits = _prod(wg) * red_extent * elem < limit_bytes // 4
        if fits:
            levels["cache_reduction"] = [
                _multiple(rng, vec[d], loops.ranges[d], (2, 4, 8, 16)) if red[d] else 0
                for d in range(n)]
    levels["vector_common_parallel"] = [0 if red[d] else vec[d] for d in range(n)]
    if any(red):
        levels["vector_reduction"] = [vec[d] if red[d] else 0 for d in range(n)]
    pipeline = family.pipelines[int(rng.integers(len(family.pipelines)))]
    return Schedule.make(pipeline, levels,
                         peeling=pipeline == "DoubleTilingExpert" and rng.random() < 0.3,
                         data_tiling=rng.random() < 0.15, ukernels=rng.random() < 0.15)


def _prod(xs) -> int:
    n = 1
    for x in xs:
        n *= x
    return n


def sample_schedules(family: Family, shape: dict[str, int], rng: np.random.Generator, n: int,
                     *, include_default: bool = True,
                     target_cpu: str = DEFAULT_TARGET_CPU) -> list[Schedule]:
    """Up to ``n`` distinct schedules: IREE's defaults first (if asked), then random ones."""
    out: list[Schedule] = default_schedules(family)[:n] if include_default else []
    seen = {s.key() for s in out}
    limit = target_info(target_cpu).vector_limit_bytes
    for _ in range(20 * n):
        if len(out) >= n:
            break
        s = sample_schedule(family, shape, rng, limit_bytes=limit)
        if s.key() not in seen:
            seen.add(s.key())
            out.append(s)
    return out


__all__ = ["DATA_TILING_FAMILIES", "default_schedules", "sample_schedule", "sample_schedules"]
