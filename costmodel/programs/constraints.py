"""Validity of a schedule for a (family, shape), checked before spending a compile on it.

``check_schedule`` returns None when the schedule is valid, else a one-line reason.
The rules are those IREE 3.13's llvm-cpu backend enforces (each one was observed as a
compiler error) plus "tile <= loop extent", which keeps the space finite:

* one entry per loop dim of the root op at every level (the compiler reports a wrong
  length as a misplaced tile, e.g. "expected only reduction dims to be set ...");
* parallel levels are 0 on reduction dims and reduction levels 0 on parallel dims
  ("expected only parallel dims to be set in the distribution tiling level");
* the vector tile's size in bytes stays below native_vector_size * 512
  ("One or more operations with large vector sizes (16384 bytes) were found" on AVX2;
  32768 on AVX-512). For contractions IREE checks the whole contraction's iteration
  space, so the volume counts parallel and reduction vector tiles together;
* the same limit binds two other vectors the root's config implies (both observed):
  with a cache_reduction level the zero-fill of the accumulator is vectorized at the
  workgroup tile (distribution, narrowed by cache_parallel), and in softmax/layernorm the
  elementwise consumer fused after the root reduction is vectorized over the root's
  parallel vector tile (workgroup tile, with cache_reduction) times the whole reduced
  extent.

It also rejects generic and conv roots with a loop of extent 1: IREE folds those loops
first and drops the compilation_info (the schedule compiles but is silently ignored).
Named matmul, batch_matmul and matvec roots keep their schedule with unit loops.

Not enforced, because IREE accepts it (measured): distribution tiles that are not
multiples of the vector tiles, and vector tiles larger than the distribution tile. The
sampler still produces multiples, which is what sensible schedules look like.

The vector rule is exact when the vector tiles divide the loop extents. When they do not,
the conv pipeline gives up vectorizing (dynamic shapes stay scalar code, which compiles),
so the rule can reject a conv schedule the compiler would accept; such schedules are slow.
"""

from __future__ import annotations

from costmodel.programs.compile import DEFAULT_TARGET_CPU, target_info
from costmodel.programs.families.base import Family, LoopInfo
from costmodel.programs.schedule import LEVELS, PARALLEL_LEVELS, PIPELINES, Schedule


def vector_shape(loops: LoopInfo, schedule: Schedule) -> tuple[int, ...]:
    """Per loop dim, the extent one vector op covers after all tiling levels.

    A 0 at the vector level means "not tiled there", so the dim keeps the extent of the
    enclosing tile (cache level, else distribution, else the whole loop).
    """
    tiles = schedule.tiles
    out = []
    for d, extent in enumerate(loops.ranges):
        if loops.is_reduction(d):
            chain = ("vector_reduction", "cache_reduction")
        else:
            chain = ("vector_common_parallel", "cache_parallel", "distribution")
        size = extent
        for level in chain:
            t = tiles.get(level)
            if t and d < len(t) and t[d] > 0:
                size = min(t[d], extent)
                break
        out.append(size)
    return tuple(out)


def vector_bytes(loops: LoopInfo, schedule: Schedule, elem_bytes: int) -> int:
    return _prod(vector_shape(loops, schedule)) * elem_bytes


def check_tiles(loops: LoopInfo, schedule: Schedule, *, elem_bytes: int,
                limit_bytes: int, pipelines: tuple[str, ...] = PIPELINES,
                consumer_spans_reduction: bool = False,
                reject_unit_loops: bool = True) -> str | None:
    """The rules above for a known loop nest; None if valid, else the reason."""
    if schedule.is_default:
        return None  # IREE picks everything itself
    if schedule.pipeline not in PIPELINES:
        return f"unknown pipeline {schedule.pipeline!r}; known: {', '.join(PIPELINES)}"
    if schedule.pipeline not in pipelines:
        return (f"pipeline {schedule.pipeline} is not used for this family "
                f"(allowed: {', '.join(pipelines)})")
    tiles = schedule.tiles
    if not tiles:
        return "explicit schedule with no tile sizes"
    n = loops.n_loops
    if reject_unit_loops and 1 in loops.ranges:
        # Not a tile rule but just as fatal: IREE folds unit-extent loops of generics and
        # convs before it configures and rebuilds the op without its compilation_info.
        return (f"loop {loops.ranges.index(1)} has extent 1; IREE folds unit loops and "
                f"drops the schedule")
    for level, sizes in tiles.items():
        if level not in LEVELS:
            return f"unknown tiling level {level!r}"
        if len(sizes) != n:
            return f"{level} has {len(sizes)} entries but the root op has {n} loops"
        for d, (t, extent) in enumerate(zip(sizes, loops.ranges)):
            if t < 0:
                return f"{level}[{d}] = {t} is negative"
            if t == 0:
                continue
            red = loops.is_reduction(d)
            if level in PARALLEL_LEVELS and red:
                return f"{level}[{d}] = {t} tiles a reduction dim; parallel levels need 0 there"
            if level not in PARALLEL_LEVELS and not red:
                return f"{level}[{d}] = {t} tiles a parallel dim; reduction levels need 0 there"
            if extent > 0 and t > extent:
                return f"{level}[{d}] = {t} exceeds the loop extent {extent}"
    nbytes = vector_bytes(loops, schedule, elem_bytes)
    if nbytes >= limit_bytes:
        shape = "x".join(map(str, vector_shape(loops, schedule)))
        return (f"vector tile {shape} is {nbytes} bytes; the compiler rejects vectors of "
                f"{limit_bytes} bytes or more")
    if any(tiles.get("cache_reduction", ())):
        wg = workgroup_tile(loops, schedule)
        fill = _prod(wg) * elem_bytes
        if fill >= limit_bytes:
            return (f"with cache_reduction the accumulator fill is vectorized at the workgroup "
                    f"tile {'x'.join(map(str, wg))} = {fill} bytes, over the {limit_bytes}-byte "
                    f"vector limit")
    if consumer_spans_reduction:
        cons = consumer_vector_shape(loops, schedule)
        cbytes = _prod(cons) * elem_bytes
        if cbytes >= limit_bytes:
            return (f"the fused elementwise consumer gets vector {'x'.join(map(str, cons))} "
                    f"(parallel vector tiles x full reduced extent) = {cbytes} bytes, over the "
                    f"{limit_bytes}-byte vector limit")
    return None


def consumer_vector_shape(loops: LoopInfo, schedule: Schedule) -> tuple[int, ...]:
    """Vector of the elementwise op fused after a root reduction (softmax, layernorm): the
    whole reduced extent times the root's parallel vector tile, or its workgroup tile when
    a cache_reduction level keeps the consumer outside the vector loops (both measured)."""
    if any(schedule.tiles.get("cache_reduction", ())):
        par = iter(workgroup_tile(loops, schedule))
        return tuple(loops.ranges[d] if loops.is_reduction(d) else next(par)
                     for d in range(loops.n_loops))
    vec = vector_shape(loops, schedule)
    return tuple(loops.ranges[d] if loops.is_reduction(d) else vec[d]
                 for d in range(loops.n_loops))


def workgroup_tile(loops: LoopInfo, schedule: Schedule) -> tuple[int, ...]:
    """Per parallel dim, the tile one workgroup iteration covers (distribution, narrowed
    by cache_parallel); reduction dims are left out."""
    tiles = schedule.tiles
    out = []
    for d, extent in enumerate(loops.ranges):
        if loops.is_reduction(d):
            continue
        size = extent
        for level in ("distribution", "cache_parallel"):
            t = tiles.get(level)
            if t and d < len(t) and t[d] > 0:
                size = min(size, t[d])
        out.append(size)
    return tuple(out)


def _prod(xs) -> int:
    n = 1
    for x in xs:
        n *= x
    return n


def check_schedule(family: Family, shape: dict[str, int], schedule: Schedule, *,
                   limit_bytes: int | None = None,
                   target_cpu: str = DEFAULT_TARGET_CPU) -> str | None:
    """None if ``schedule`` is valid for ``family`` at ``shape``, else why not."""
    if schedule.is_default:
        return None
    if limit_bytes is None:
        limit_bytes = target_info(target_cpu).vector_limit_bytes
    return check_tiles(family.loop_info(shape), schedule, elem_bytes=family.elem_bytes(shape),
                       limit_bytes=limit_bytes, pipelines=family.pipelines,
                       consumer_spans_reduction=family.consumer_spans_reduction,
                       reject_unit_loops=family.unit_loops_drop_schedule)
