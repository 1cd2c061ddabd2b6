"""Schedule validation for ``predict``, ``features`` and the gRPC ``Predict``: reject what
IREE would reject or silently ignore, naming the first bad candidate.

``check_schedule_fields`` checks names and types before parsing (one batched pass per
rule); ``check_schedules`` checks the parsed tiles against the kernel. Everything is derived
from costmodel.programs.schedule (LEVELS, PIPELINES, FLAGS, PARALLEL_LEVELS,
REDUCTION_LEVELS), the definitions the samplers and ``Schedule`` use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import chain, repeat

import numpy as np

from costmodel.errors import InputError
from costmodel.model.features import (_EMPTY, _LEVEL_INDEX, MAX_DIMS, KernelFeatures,
                                      ScheduleArrays, _mask)
from costmodel.programs.schedule import (FLAGS, LEVELS, PARALLEL_LEVELS, PIPELINES,
                                         REDUCTION_LEVELS)

# Everything here is derived from costmodel.programs.schedule (LEVELS, PIPELINES, FLAGS,
# PARALLEL_LEVELS, REDUCTION_LEVELS), the definitions the samplers and Schedule use.
_FLAGS = FLAGS
_KEYS = frozenset({"pipeline", "levels", *_FLAGS})
_LEVEL_SET = frozenset(LEVELS)
_PIPELINE_SET = frozenset(PIPELINES)
#: IREE's own spellings of the ukernels flag (--iree-llvmcpu-enable-ukernels), which the
#: features read as False / True; any other string is rejected.
_UKERNEL_WORDS = frozenset({"none", "all"})
_FLAG_TYPES = frozenset({bool, np.bool_, type(None)})
_LEVEL_TYPES = frozenset({list, tuple, np.ndarray})
#: Largest tile size accepted. IREE clamps a tile larger than its loop to the loop (legal,
#: and the samplers never go past the extent), but nothing real comes near 2^31 - 1 and
#: IREE's int64 tile arithmetic (tile products, padded extents) must not overflow.
TILE_MAX = 2**31 - 1
_PAR_LEVELS = [_LEVEL_INDEX[lv] for lv in LEVELS if lv in PARALLEL_LEVELS]
_RED_LEVELS = [_LEVEL_INDEX[lv] for lv in LEVELS if lv in REDUCTION_LEVELS]


def _int_type(t: type) -> bool:
    """Python and numpy integers; bool (an int subclass) is not a tile size."""
    return issubclass(t, (int, np.integer)) and not issubclass(t, (bool, np.bool_))


def _bad(i: int, s, why: str) -> InputError:
    return InputError(f"schedule {i}: {why}: {str(s)[:200]}")


def _tile_problem(level: str, d: int, t) -> str | None:
    if _int_type(type(t)) and 0 <= t <= TILE_MAX:
        return None
    if _int_type(type(t)):
        shown = f"{float(t):g}" if abs(t) >= 10**6 else str(t)
        why = "negative" if t < 0 else "too large"
    else:
        shown = repr(t) if isinstance(t, (str, bytes)) else str(t)
        why = f"a {type(t).__name__}"
    return f"{level}[{d}]: tile size {shown} is not an integer in [0, {TILE_MAX}] ({why})"


def schedule_problem(s) -> str | None:
    """Why one candidate's fields are invalid (None if they are not): the per-candidate
    reference of the batched checks, and how they name what is wrong."""
    if not isinstance(s, Mapping):
        return f"expected an object, got {type(s).__name__}"
    unknown = s.keys() - _KEYS
    if unknown:
        return f"unknown key(s) {sorted(map(str, unknown))}; known: {sorted(_KEYS)}"
    pipe = s.get("pipeline")
    if pipe is not None and (not isinstance(pipe, str) or pipe not in _PIPELINE_SET):
        return f"unknown pipeline {pipe!r}; known: {', '.join(PIPELINES)}"
    for f in _FLAGS:
        v = s.get(f)
        if type(v) not in _FLAG_TYPES and not (f == "ukernels" and isinstance(v, str)
                                                and v in _UKERNEL_WORDS):
            extra = " (or \"none\" / \"all\")" if f == "ukernels" else ""
            return f"{f} must be true or false{extra}, got {v!r}"
    lv = s.get("levels")
    if lv is None:
        lv = _EMPTY
    if not isinstance(lv, Mapping):
        return f"levels must be an object of level -> tile sizes, got {type(lv).__name__}"
    unknown = lv.keys() - _LEVEL_SET
    if unknown:
        return (f"unknown tiling level(s) {sorted(map(str, unknown))}; "
                f"known: {', '.join(LEVELS)}")
    for name, ts in lv.items():
        if type(ts) not in _LEVEL_TYPES or (isinstance(ts, np.ndarray) and ts.ndim != 1):
            return f"levels[{name!r}] must be a list of tile sizes, got {type(ts).__name__}"
        for d, t in enumerate(ts):
            why = _tile_problem(name, d, t)
            if why:
                return why
    if len({len(ts) for ts in lv.values()}) > 1:
        lens = ", ".join(f"{name} {len(ts)}" for name, ts in lv.items())
        return f"its levels give different numbers of tile sizes ({lens})"
    if pipe is None and lv:
        return ("tile sizes without a pipeline: no pipeline means IREE's default schedule, "
                "which takes no tile sizes (IREE would ignore them)")
    if pipe is not None and not lv:
        return (f"pipeline {pipe} without tile sizes: an explicit schedule needs levels "
                f"(give no pipeline for IREE's default)")
    return None


def _first_problem(scheds: list, rows: Iterable[int] | None = None) -> None:
    """Raise for the first of ``rows`` (default: all) that ``schedule_problem`` rejects."""
    for i in range(len(scheds)) if rows is None else rows:
        why = schedule_problem(scheds[i])
        if why:
            raise _bad(i, scheds[i], why)


def _reject(scheds: list, rows: Iterable[int] | None = None) -> None:
    """A batched check failed: name the culprit (it always exists; the fallback keeps a
    disagreement between the two forms of a rule from letting the batch through)."""
    _first_problem(scheds, rows)
    raise InputError("schedules: a candidate failed validation but none could be named")


def _accessor(items: list, for_dicts, for_mappings, scheds: list):
    """The unbound method to read ``items`` with: dict's own (fast) when all are plain
    dicts, Mapping's when all are mappings; otherwise a candidate is named and rejected."""
    if set(map(type, items)) <= {dict}:
        return for_dicts
    if all(map(isinstance, items, repeat(Mapping))):
        return for_mappings
    _reject(scheds)


def check_schedule_fields(scheds: list) -> None:
    """Reject, naming the first bad candidate, what IREE would reject or silently ignore:
    a non-object, unknown keys, levels or pipelines (IREE ignores an unknown level name,
    so a typo such as ``vector_reduce`` would score a schedule IREE never runs), flags
    that are not booleans, and tile lists that are not lists of integers (bool, float,
    NaN, str and None entries included). ``check_schedules`` does the rest on the parsed
    arrays.

    Each rule is one C-level pass over the whole batch (type sets, set inclusions), so a
    valid batch costs a few passes over its entries; ``schedule_problem`` runs only to
    name the culprit once a pass has failed."""
    n = len(scheds)
    if not n:
        return
    get = _accessor(scheds, dict.get, Mapping.get, scheds)
    if not all(map(_KEYS.issuperset, scheds)):
        _reject(scheds)
    if not (set(map(type, map(get, scheds, repeat("pipeline")))) <= {str, type(None)}
            and set(map(get, scheds, repeat("pipeline"))) <= _PIPELINE_SET | {None}):
        _reject(scheds)
    for f in _FLAGS:
        types = set(map(type, map(get, scheds, repeat(f))))
        if not types <= _FLAG_TYPES and not (
                f == "ukernels" and types <= _FLAG_TYPES | {str}
                and {v for v in map(get, scheds, repeat(f)) if isinstance(v, str)}
                <= _UKERNEL_WORDS):
            _reject(scheds)
    lvls = [_EMPTY if lv is None else lv for lv in map(get, scheds, repeat("levels"))]
    values = _accessor(lvls, dict.values, Mapping.values, scheds)
    if not all(map(_LEVEL_SET.issuperset, lvls)):
        _reject(scheds)
    lvalues = list(chain.from_iterable(map(values, lvls)))
    ltypes = set(map(type, lvalues))
    if not ltypes <= _LEVEL_TYPES or (np.ndarray in ltypes and any(
            isinstance(v, np.ndarray) and v.ndim != 1 for v in lvalues)):
        _reject(scheds)
    # The one pass over every tile entry: a set of their types (bool, float, str, None
    # all differ from int here, where a numpy conversion would accept or round them).
    if not all(map(_int_type, set(map(type, chain.from_iterable(lvalues))))):
        _reject(scheds)


def check_schedules(kernel: KernelFeatures, scheds: list, a: ScheduleArrays) -> None:
    """The checks that need the parsed tiles and the kernel, naming the first bad
    candidate: levels of different lengths, tile sizes without a pipeline (IREE's
    default takes none) or a pipeline without tile sizes, tile sizes outside
    [0, TILE_MAX], and a loop count or reduction/parallel tiling that fits no op of the
    kernel (IREE drops such a config or fails to compile it:
    ``costmodel.programs.constraints``). A tile larger than its loop is accepted: IREE
    clamps it. Call ``check_schedule_fields`` first."""
    if not scheds:
        return
    if a.mixed is not None and a.mixed.any():
        _first_problem(scheds, np.flatnonzero(a.mixed).tolist())
        i = int(np.flatnonzero(a.mixed)[0])
        raise _bad(i, scheds[i], "its levels give different numbers of tile sizes")
    # Pipeline and levels go together: none (IREE's default) or both. (Every level name
    # is known here, so "no level present" is "no levels".)
    odd = np.flatnonzero((a.flags[:, 0] > 0) != (a.present.sum(1) == 0))
    if odd.size:
        _first_problem(scheds, odd.tolist())
    # Tile types were checked (integers); their range is checked here, on the parsed tiles.
    t = a.tiles.reshape(len(scheds), -1)
    wide = np.flatnonzero(a.ndim > MAX_DIMS)  # entries past MAX_DIMS are not in a.tiles
    if t.size and not (t.min() >= 0 and t.max() <= TILE_MAX) or wide.size:  # NaN fails
        ok = (t >= 0) & (t <= TILE_MAX)  # (NaN is not in range either)
        _first_problem(scheds, sorted(set(np.flatnonzero(~ok.all(1)).tolist())
                                      | set(wide.tolist())))
        if not ok.all():  # only for candidates check_schedule_fields has not seen
            i = int(np.flatnonzero(~ok.all(1))[0])
            v = t[i][~ok[i]][0]
            raise _bad(i, scheds[i], f"tile size {v:g} is not an integer in [0, {TILE_MAX}]")
    explicit = np.flatnonzero(a.ndim >= 0)
    if not explicit.size:
        return
    if not kernel.structured:
        i = int(explicit[0])
        raise _bad(i, scheds[i], "the kernel has no structured (linalg) op for tile sizes "
                                 "to apply to")
    D = MAX_DIMS
    bits = 1 << np.arange(D, dtype=np.int64)
    red = ((a.tiles[:, _RED_LEVELS] > 0).any(1) * bits).sum(-1)
    par = ((a.tiles[:, _PAR_LEVELS] > 0).any(1) * bits).sum(-1)
    keys = ((a.ndim + 1) << (2 * D)) | (red << D) | par
    ukeys, first = np.unique(keys, return_index=True)
    loops = sorted({len(op[1]) for op in kernel.structured})
    for key, i in zip(ukeys.tolist(), first.tolist()):
        nd, rh, ph = (key >> (2 * D)) - 1, (key >> D) & ((1 << D) - 1), key & ((1 << D) - 1)
        if nd < 0:
            continue
        ops = [op for op in kernel.structured if len(op[1]) == nd]
        if not ops:
            raise _bad(i, scheds[i], f"it gives {nd} tile sizes per level, but the kernel's "
                                     f"ops have {' or '.join(map(str, loops))} loops")
        if not any((rh & ~_mask(op[2])) == 0 and (ph & _mask(op[2])) == 0 for op in ops):
            raise _bad(i, scheds[i], "no op of the kernel fits it: reduction levels may tile "
                                     "only reduction dims, parallel levels only parallel dims"
                                     + _misplaced(scheds[i], max(ops, key=lambda o: o[0])))


def _misplaced(s: Mapping, op: tuple) -> str:
    """The misplaced tiles of ``s`` for the (costliest) op with its loop count."""
    red = op[2]
    bad = [f"{name}[{d}] = {t}" for name, ts in (s.get("levels") or {}).items()
           for d, t in enumerate(ts) if t and d < len(red)
           and (name in REDUCTION_LEVELS) != bool(red[d])]
    kinds = ", ".join("reduction" if r else "parallel" for r in red)
    return f" (the {len(red)}-loop op's dims are [{kinds}]; misplaced: {', '.join(bad)})"
