"""Feature vectors for the cost model: IR features + schedule features + hashed IR n-grams.

A row is ``base(ir) ++ schedule(ir, schedule)``. The base part depends only on the IR with
any ``compilation_info`` removed (so the same kernel gives the same base features whether or
not a schedule is attached), and is computed once per kernel; the schedule part is computed
for many candidates at once with numpy. Bump FEATURE_SCHEMA on any change to the layout or
meaning of a column: saved models record it and refuse to load under another version.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import is_, ne

import numpy as np

from costmodel.errors import InputError
from costmodel.ir.families import FAMILIES as OP_FAMILIES
from costmodel.programs.schedule import LEVELS, PIPELINES, Schedule

FEATURE_SCHEMA = "cm-features-6"

#: Hashed IR-token n-grams: buckets and orders.
NGRAM_BUCKETS = 256
NGRAM_ORDERS = (1, 2, 3)
#: Root-op loop dims kept as explicit columns (extents and per-level tiles).
MAX_DIMS = 8
DIALECTS = ("arith", "math", "linalg", "tensor", "func", "hal", "scf", "memref", "flow",
            "iree_tensor_ext", "util", "vector", "iree_linalg_ext", "affine", "iree_codegen")
_TOTAL_KEYS = ("flops", "bytes", "bytes_read", "bytes_written", "n_ops", "n_structured_ops",
               "n_edges", "max_region_depth", "max_loop_depth", "n_parallel_loops",
               "n_reduction_loops", "n_transcendental")
_ROOT_KEYS = ("flops", "bytes", "bytes_read", "bytes_written", "n_transcendental")
#: AVX2 f32 lanes: tiles that are multiples of this vectorize without masking.
VECTOR_LANES = 8


def _base_names() -> list[str]:
    names = [f"total.log_{k}" for k in _TOTAL_KEYS]
    names += ["total.intensity", "total.weighted_intensity", "total.static"]
    names += [f"total.family.{f}" for f in OP_FAMILIES]
    names += [f"total.dialect.{d}" for d in DIALECTS]
    names += [f"root.log_{k}" for k in _ROOT_KEYS]
    names += ["root.intensity", "root.elem_bits", "root.n_parallel", "root.n_reduction",
              "root.n_loops", "root.log_innermost", "root.log_iterations", "root.payload_ops",
              "root.family_code"]
    names += [f"root.log_extent{i}" for i in range(MAX_DIMS)]
    names += [f"root.dim{i}_reduction" for i in range(MAX_DIMS)]
    names += [f"ngram.{b}" for b in range(NGRAM_BUCKETS)]
    names += [OTHER_CPU]
    return names


def _schedule_names() -> list[str]:
    names = ["sched.is_default", "sched.peeling", "sched.data_tiling", "sched.ukernels"]
    names += [f"sched.pipeline.{p}" for p in PIPELINES]
    for lv in LEVELS:
        names += [f"sched.{lv}.present", f"sched.{lv}.n_tiled", f"sched.{lv}.log_volume",
                  f"sched.{lv}.log_tiles", f"sched.{lv}.log_pad", f"sched.{lv}.lanes_aligned"]
        names += [f"sched.{lv}.log_t{i}" for i in range(MAX_DIMS)]
    names += ["sched.log_vector_volume", "sched.log_acc_volume", "sched.innermost_vector",
              "sched.innermost_vector_aligned", "sched.log_workgroups",
              "sched.log_pad_flops"]
    names += _TILE_NAMES
    return names


#: cm-features-6: 1 on training rows timed on another CPU than the model's
#: (``--transfer-data``), 0 on every row scored: the trees keep the two CPUs' costs apart.
#: Without it, another CPU's rows made a Zen 3 model worse (unseen shapes tau 0.613 ->
#: 0.574); with it, better (0.639; history, stop 46).
OTHER_CPU = "data.other_cpu"

#: cm-features-3: how each operand's vector tile lies in memory (operands are row-major: the
#: last result of an access map is the contiguous one).
_CONTIG_NAMES = ["tile.n_transposed", "tile.out_transposed", "tile.in_transposed",
                 "tile.log_min_contig", "tile.log_out_contig", "tile.log_in_contig",
                 "tile.log_runs", "tile.min_contig_lane_eff", "tile.log_wg_min_contig",
                 "tile.log_wg_runs"]
#: cm-features-4: loop dims whose tile is a dynamic size at a level. A tile that does not
#: divide its enclosing (static) size leaves every tile of that loop dynamic
#: (``affine.min``), and so every tile nested in it, unless it is 1; IREE's CPU pipelines
#: then often cannot vectorize the op (convs go scalar: 67% of cm-features-3's sampled
#: conv2d_nchw schedules compiled to under 15% vector instructions, ~10x slower).
_DYN_NAMES = (["tile.n_dyn_wg", "tile.n_dyn_cache", "tile.n_dyn_vec", "tile.dyn_par_vec",
               "tile.dyn_red_vec", "tile.dyn_inner_vec"]
              + [f"tile.dyn_vec{i}" for i in range(MAX_DIMS)])
#: cm-features-5: sliding windows (convolutions, pooling). IREE's CPU pipelines vectorize a
#: 2-D window only after decomposing it to 1-D, which needs an output dim and its window dim
#: both tiled to 1 at the vector level (``DownscaleSizeOneWindowed2DConvolution``); the rest
#: stay scalar (cpu-v2/v5/v6/v7: 1.5-2.4x slower than their group's mean, vector share
#: 0.09-0.16 against 0.24-0.28).
_WINDOW_NAMES = ["tile.windows", "tile.windows_kept", "tile.window_decomposable",
                 "tile.log_window_vec"]
#: cm-features-2: tiles relative to the problem (effective tile per level after "0 = not
#: tiled" inherits the parent tile), register and cache pressure, vector work.
_TILE_NAMES = (
    ["tile.log_vec_volume", "tile.log_vec_par", "tile.log_vec_red", "tile.log_acc_regs",
     "tile.acc_over_regs", "tile.log_vec_regs", "tile.inner_vec", "tile.inner_lane_eff",
     "tile.inner_is_red", "tile.innerpar_vec", "tile.innerpar_lane_eff", "tile.log_vec_iters",
     "tile.log_vec_pad", "tile.log_padded_flops", "tile.log_workgroups", "tile.log_cache_tiles",
     "tile.log_vec_per_wg", "tile.scalar"]
    + [f"tile.{lv}.{k}" for lv in ("wg", "cache", "vec")
       for k in ("log_footprint", "over_l1", "over_l2")]
    + [f"tile.log_ext_over_vec{i}" for i in range(MAX_DIMS)]
    + [f"tile.log_ext_over_wg{i}" for i in range(MAX_DIMS)]
    + _CONTIG_NAMES + _DYN_NAMES + _WINDOW_NAMES)
#: This machine's per-core caches (AMD EPYC, AVX2: 16 ymm registers of 8 f32 lanes).
L1_BYTES = 32 * 1024
L2_BYTES = 512 * 1024
VECTOR_REGS = 16


BASE_NAMES = _base_names()
SCHEDULE_NAMES = _schedule_names()
FEATURE_NAMES = BASE_NAMES + SCHEDULE_NAMES
N_BASE = len(BASE_NAMES)
N_FEATURES = len(FEATURE_NAMES)


# -- IR preparation ---------------------------------------------------------------------
_CI = re.compile(r"compilation_info\s*=\s*#iree_codegen\.compilation_info<")


def strip_schedule(text: str) -> str:
    """The IR with every ``compilation_info = #iree_codegen.compilation_info<...>`` removed."""
    out = []
    pos = 0
    while True:
        m = _CI.search(text, pos)
        if not m:
            out.append(text[pos:])
            break
        depth, i = 1, m.end()
        while i < len(text) and depth:
            c = text[i]
            depth += (c == "<") - (c == ">")
            i += 1
        start, end = m.start(), i
        # Drop the separating comma, or the whole {...} if the attribute was alone.
        pre = text[:start].rstrip()
        post = text[end:].lstrip()
        if pre.endswith("{") and post.startswith("}"):
            start = len(pre) - 1
            end = len(text) - len(post) + 1
            # keep one space so "linalg.matmul {..} ins" stays "linalg.matmul  ins"
        elif post.startswith(","):
            end = len(text) - len(post) + 1
        elif pre.endswith(","):
            start = len(pre) - 1
        out.append(text[pos:start])
        pos = end
    return "".join(out)


def _stable_hash(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")


def ngram_vector(tokens: Sequence[str]) -> np.ndarray:
    """log1p counts of hashed 1..3-grams (stable blake2b hashing, not Python's hash())."""
    v = np.zeros(NGRAM_BUCKETS)
    for n in NGRAM_ORDERS:
        for i in range(len(tokens) - n + 1):
            v[_stable_hash("\x1f".join(tokens[i:i + n])) % NGRAM_BUCKETS] += 1
    return np.log1p(v)


def _log(x: float) -> float:
    return math.log1p(max(float(x), 0.0))


def _elem_bits(t: str | None) -> int:
    if not t:
        return 0
    m = re.search(r"(\d+)$", t)
    return int(m.group(1)) if m else (1 if t == "i1" else 0)


@dataclass
class KernelFeatures:
    """Schedule-independent features of one kernel, plus what schedule features need."""

    base: np.ndarray  # shape (N_BASE,)
    #: per structured op: (flops, ranges, is_reduction, operand access maps, element bytes);
    #: a map is one list of (dim, coefficient) terms per result expression.
    structured: list[tuple]
    text_hash: str
    #: IREE's default schedule of this kernel made explicit, per target CPU and ukernels
    #: setting ("none", "all"; None where IREE gave none), e.g. {"znver3": {"none": {...}}}:
    #: default candidates are featurized by it (see costmodel.programs.defaults).
    defaults: dict[str, dict[str, dict | None]] | None = None
    #: The IR with schedules stripped, for resolving defaults on demand (not serialized).
    source: str | None = field(default=None, repr=False, compare=False)

    def root_index(self, ndims: int | None, red_hint: int = 0, par_hint: int = 0) -> int:
        """Index of the op a schedule applies to (-1 if none): the costliest op with
        ``ndims`` loops whose reduction dims include the dims the schedule tiles at reduction
        levels (``red_hint`` bit mask) and whose parallel dims include ``par_hint``'s
        (softmax: the root is the reduction, not the costlier elementwise exp after it)."""
        if not self.structured:
            return -1
        ops = list(enumerate(self.structured))
        cands = [(i, s) for i, s in ops if ndims is None or len(s[1]) == ndims]
        fit = [(i, s) for i, s in cands
               if (red_hint & ~_mask(s[2])) == 0 and (par_hint & _mask(s[2])) == 0]
        return max(fit or cands or ops, key=lambda t: t[1][0])[0]

    def to_dict(self) -> dict:
        out = {"base": self.base.tolist(), "structured": [list(s) for s in self.structured],
               "text_hash": self.text_hash}
        if self.defaults is not None:
            out["defaults"] = self.defaults
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> KernelFeatures:
        base = np.asarray(d["base"], dtype=np.float64)
        if base.shape != (N_BASE,):
            from costmodel.model.artifact import SchemaMismatchError
            raise SchemaMismatchError(
                f"precomputed kernel features have {base.shape[0]} base columns, "
                f"schema {FEATURE_SCHEMA} needs {N_BASE}")
        try:
            structured = [(int(a), list(b), list(c), [[[(int(t[0]), int(t[1])) for t in e]
                                                        for e in m] for m in maps], int(eb))
                          for a, b, c, maps, eb in d["structured"]]
        except (TypeError, ValueError, IndexError) as e:
            from costmodel.model.artifact import SchemaMismatchError
            raise SchemaMismatchError(f"precomputed kernel features do not match schema "
                                      f"{FEATURE_SCHEMA}: {e}") from None
        defaults = d.get("defaults")
        if defaults is not None and not (isinstance(defaults, Mapping) and all(
                isinstance(per, Mapping) and all(v is None or isinstance(v, Mapping)
                                                 for v in per.values())
                for per in defaults.values())):
            raise InputError("precomputed kernel features: 'defaults' must map a target CPU "
                             "to {ukernels setting: schedule dict or null}")
        return cls(base, structured, d.get("text_hash", ""),
                   None if defaults is None else {c: dict(v) for c, v in defaults.items()})


def _mask(red: Sequence[bool]) -> int:
    return sum(1 << i for i, r in enumerate(red) if r)


_TERM = re.compile(r"^(?:(\d+)\s*\*\s*)?d(\d+)(?:\s*\*\s*(\d+))?$")


def parse_access_map(text: str) -> list[list[tuple[int, int]]]:
    """``(d0, d1, d2) -> (d0, d1 * 2 + d4)`` -> [[(0, 1)], [(1, 2), (4, 1)]]: the dims each
    result reads with their strides (constants and floordiv/mod terms count stride 1)."""
    rhs = text.split("->", 1)[-1].strip()
    if rhs.startswith("("):
        rhs = rhs[1:-1]
    out = []
    depth, cur = 0, []
    for ch in rhs + ",":
        if ch == "," and depth == 0:
            expr = "".join(cur).strip()
            cur = []
            if not expr:
                continue
            terms = []
            for t in expr.replace("-", "+").split("+"):
                t = t.strip()
                m = _TERM.match(t)
                if m:
                    terms.append((int(m.group(2)), int(m.group(1) or m.group(3) or 1)))
                else:
                    terms += [(int(d), 1) for d in re.findall(r"d(\d+)", t)]
            out.append(terms)
            continue
        depth += (ch == "(") - (ch == ")")
        cur.append(ch)
    return out


def kernel_features(ir_text: str) -> KernelFeatures:
    """Parse the IR once (schedule stripped) and compute its base features."""
    from costmodel.ir import analyze_text, tokenize

    stripped = strip_schedule(ir_text)
    feats = analyze_text(stripped).to_dict()
    k = kernel_features_from(feats, tokenize(stripped),
                             hashlib.sha256(stripped.encode()).hexdigest()[:24])
    k.source = stripped
    return k


def kernel_features_from(feats: Mapping, tokens: Sequence[str], text_hash: str = "") -> KernelFeatures:
    """Base features from precomputed ``analyze_text(...).to_dict()`` and ``tokenize(...)``."""
    t = feats["total"]
    v: list[float] = [_log(t.get(k, 0)) for k in _TOTAL_KEYS]
    v += [float(t.get("intensity", 0.0)), float(t.get("weighted_intensity", 0.0)),
          float(bool(t.get("static", True)))]
    fams = t.get("families", {})
    v += [_log(fams.get(f, 0)) for f in OP_FAMILIES]
    dials = t.get("dialects", {})
    v += [_log(dials.get(d, 0)) for d in DIALECTS]
    structured = []
    root = None
    for op in feats.get("ops", []):
        loops = op.get("loops")
        if not loops:
            continue
        red = [it == "reduction" for it in loops.get("iterator_types", [])]
        ranges = [int(r) if isinstance(r, (int, float)) and r > 0 else 1
                  for r in loops.get("ranges", [])]
        maps = [parse_access_map(str(m)) for m in loops.get("indexing_maps", [])]
        ebytes = max(1, _elem_bits(op.get("element_type")) // 8)
        structured.append((int(op.get("flops", 0)), ranges, red, maps, ebytes))
        key = (op.get("flops", 0), op.get("bytes", 0))
        if root is None or key > (root.get("flops", 0), root.get("bytes", 0)):
            root = op
    if root is not None:
        loops = root["loops"]
        ranges = [int(r) if isinstance(r, (int, float)) and r > 0 else 1 for r in loops["ranges"]]
        red = [it == "reduction" for it in loops.get("iterator_types", [])]
        v += [_log(root.get(k, 0)) for k in _ROOT_KEYS]
        v += [float(root.get("intensity", 0.0)), float(_elem_bits(root.get("element_type"))),
              float(loops.get("n_parallel", 0)), float(loops.get("n_reduction", 0)),
              float(len(ranges)), _log(loops.get("innermost_extent") or 0),
              float(sum(math.log(r) for r in ranges)),
              float(sum((root.get("payload") or {}).values())),
              float(OP_FAMILIES.index(root["family"]) if root.get("family") in OP_FAMILIES else -1)]
        v += [math.log(ranges[i]) if i < len(ranges) else 0.0 for i in range(MAX_DIMS)]
        v += [float(red[i]) if i < len(red) else 0.0 for i in range(MAX_DIMS)]
    else:
        v += [0.0] * (len(_ROOT_KEYS) + 9 + 2 * MAX_DIMS)
    base = np.concatenate([np.asarray(v, dtype=np.float64), ngram_vector(tokens), [0.0]])
    assert base.shape == (N_BASE,), (base.shape, N_BASE)
    return KernelFeatures(base, structured, text_hash)


# -- schedule features (vectorized over candidates) ------------------------------------
_PIPE_INDEX = {p: i for i, p in enumerate(PIPELINES)}
_LEVEL_INDEX = {lv: i for i, lv in enumerate(LEVELS)}


def _as_dict(s) -> Mapping:
    if s.__class__ is dict:
        return s
    if isinstance(s, Schedule):
        # Only what the features read (to_dict() would copy every level into a list).
        return {"pipeline": s.pipeline, "levels": dict(s.levels), "peeling": s.peeling,
                "data_tiling": s.data_tiling, "ukernels": s.ukernels}
    if isinstance(s, str):
        import json
        try:
            return json.loads(s)
        except ValueError as e:
            raise InputError(f"schedule is not valid JSON: {e}") from None
    return s


@dataclass
class ScheduleArrays:
    """The raw fields of n candidates as arrays (what the feature columns are computed from)."""

    flags: np.ndarray  # (n, 4): is_default, peeling, data_tiling, ukernels
    pipe: np.ndarray  # (n,) index into PIPELINES, -1 for none/unknown
    tiles: np.ndarray  # (n, levels, MAX_DIMS) tile sizes, 0 = not tiled / not given
    present: np.ndarray  # (n, levels) 1.0 where the level is given
    ndim: np.ndarray  # (n,) loop count the schedule is for (last level's length), -1 = none
    mixed: np.ndarray | None = None  # (n,) True where given levels differ in length


def _schedule_arrays_one(s: Mapping) -> tuple:
    """One candidate's fields, the plain way: the reference for the batched parser, and its
    path for the rare candidates whose levels have different lengths."""
    pipe = s.get("pipeline")
    uk = s.get("ukernels")
    flags = (pipe is None, bool(s.get("peeling")), bool(s.get("data_tiling")),
             bool(uk) and uk != "none")
    row = np.zeros((len(LEVELS), MAX_DIMS))
    present = np.zeros(len(LEVELS))
    nd = -1
    for lv, ts in (s.get("levels") or {}).items():
        j = _LEVEL_INDEX.get(lv)
        if j is None:  # IREE ignores unknown levels; so do the features
            continue
        nd = len(ts)
        ts = list(ts)[:MAX_DIMS]
        row[j, :len(ts)] = ts
        present[j] = 1.0
    return flags, -1 if pipe is None else _PIPE_INDEX.get(pipe, -1), row, present, nd


_EMPTY: dict = {}


def _schedule_arrays(scheds: list) -> ScheduleArrays:
    """Batched parse: each field and each level is read for all candidates by one C-level
    ``map`` (dict.get: plain dicts only; anything else takes the per-candidate path), and
    tiles are flattened straight into numpy (no per-candidate row building)."""
    n = len(scheds)
    nl, D = len(LEVELS), MAX_DIMS
    get = dict.get

    def field(key: str) -> list:
        return list(map(get, scheds, repeat(key)))

    def truth(values) -> np.ndarray:
        return np.fromiter(map(bool, values), dtype=bool, count=n)

    pipes = field("pipeline")
    uks = field("ukernels")
    flags = np.empty((n, 4))
    flags[:, 0] = np.fromiter(map(is_, pipes, repeat(None)), dtype=bool, count=n)
    flags[:, 1] = truth(field("peeling"))
    flags[:, 2] = truth(field("data_tiling"))
    flags[:, 3] = truth(uks) & truth(map(ne, uks, repeat("none")))
    pipe = np.fromiter(map(_PIPE_INDEX.get, pipes, repeat(-1)), dtype=np.int64, count=n)
    lvls = [lv or _EMPTY for lv in field("levels")]
    tiles = np.zeros((n, nl, D))
    lens = np.full((n, nl), -1, dtype=np.int64)
    for j, name in enumerate(LEVELS):
        col = list(map(get, lvls, repeat(name), repeat(())))
        ln = np.fromiter(map(len, col), dtype=np.int64, count=n)
        given = np.fromiter(map(dict.__contains__, lvls, repeat(name)), dtype=bool, count=n)
        lens[:, j] = np.where(given, ln, -1)
        total = int(ln.sum())
        if not total:
            continue
        flat = np.fromiter(chain.from_iterable(col), dtype=np.float64, count=total)
        ks = np.unique(ln[ln > 0]).tolist()
        if len(ks) == 1 and ks[0] <= D and total == n * ks[0]:  # every candidate, one length
            tiles[:, j, :ks[0]] = flat.reshape(n, ks[0])
            continue
        start = np.cumsum(ln) - ln
        for k in ks:
            rows = np.flatnonzero(ln == k)
            kk = min(k, D)
            tiles[rows, j, :kk] = flat[start[rows, None] + np.arange(kk)]
    present = (lens >= 0).astype(np.float64)
    # The loop count is the length of the last known level given (dict order); when all
    # given levels agree (always, for real schedules) order does not matter.
    hi = lens.max(1)
    lo = np.where(lens >= 0, lens, np.iinfo(np.int64).max).min(1)
    ndim = hi.copy()
    mixed = (hi >= 0) & (lo != hi)
    for i in np.flatnonzero(mixed).tolist():
        ndim[i] = _schedule_arrays_one(scheds[i])[4]
    return ScheduleArrays(flags, pipe, tiles, present, ndim, mixed)


def _schedule_arrays_slow(scheds: list) -> ScheduleArrays:
    """The per-candidate parse of every candidate; a bad one is an InputError naming it."""
    parts = []
    for i, s in enumerate(scheds):
        try:
            parts.append(_schedule_arrays_one(s))
        except (AttributeError, TypeError, ValueError) as e:
            raise InputError(f"schedule {i} is not a valid schedule "
                             f"({type(e).__name__}: {e}): {str(s)[:200]}") from None
    n = len(parts)
    return ScheduleArrays(
        np.asarray([p[0] for p in parts], dtype=np.float64).reshape(n, 4),
        np.asarray([p[1] for p in parts], dtype=np.int64).reshape(n),
        np.asarray([p[2] for p in parts], dtype=np.float64).reshape(n, len(LEVELS), MAX_DIMS),
        np.asarray([p[3] for p in parts], dtype=np.float64).reshape(n, len(LEVELS)),
        np.asarray([p[4] for p in parts], dtype=np.int64).reshape(n),
        np.asarray([len({len(v) for v in (c.get("levels") or {}).values()}) > 1
                    for c in scheds], dtype=bool).reshape(n))


def _parse_schedules(schedules: Iterable, kernel: KernelFeatures | None = None
                     ) -> ScheduleArrays:
    """The candidates as arrays. With ``kernel`` (every public path: ``schedule_matrix``,
    so ``predict``, ``features`` and the gRPC ``Predict``) each is also validated, first
    its fields (``check_schedule_fields``), then its tiles against the kernel
    (``check_schedules``); without it (IREE's own resolved defaults) it is only parsed."""
    if isinstance(schedules, (str, bytes, Mapping)) or not isinstance(schedules, Iterable):
        raise InputError(f"schedules must be a list of schedules, "
                         f"got {type(schedules).__name__}")
    scheds = list(schedules)
    if set(map(type, scheds)) - {dict}:
        scheds = [_as_dict_at(i, s) for i, s in enumerate(scheds)]
    if kernel is not None:
        from costmodel.model.schedule_check import check_schedule_fields
        check_schedule_fields(scheds)
    try:
        a = _schedule_arrays(scheds)
    except (AttributeError, TypeError, ValueError):
        # Malformed input somewhere: the per-candidate parser names the culprit (or, for
        # odd but acceptable values such as numeric strings, parses them as before).
        a = _schedule_arrays_slow(scheds)
    if kernel is not None:
        from costmodel.model.schedule_check import check_schedules
        check_schedules(kernel, scheds, a)
    return a


def _as_dict_at(i: int, s) -> Mapping:
    try:
        return _as_dict(s)
    except InputError as e:
        raise InputError(f"schedule {i}: {e}") from None


def schedule_matrix(kernel: KernelFeatures, schedules: Iterable, *,
                    defaults_cpu: str | None = None) -> np.ndarray:
    """Schedule features for each candidate: shape (n, len(SCHEDULE_NAMES)).

    ``defaults_cpu``: featurize default candidates by IREE's default schedule for that
    target CPU (asking IREE, once per kernel, CPU and ukernels setting, when the kernel
    does not have it yet); None leaves them featureless."""
    a = _parse_schedules(schedules, kernel)
    if defaults_cpu is not None:
        rows = default_rows(a)
        if rows.size:
            resolved = resolve_defaults(kernel, a, rows, defaults_cpu)
            if resolved:
                _substitute_defaults(a, rows, resolved)
    return _schedule_matrix(kernel, a)


def resolve_defaults(kernel: KernelFeatures, a: ScheduleArrays, rows: np.ndarray,
                     target_cpu: str) -> dict[str, dict | None]:
    """``kernel.defaults[target_cpu]``, filled for the settings the default candidates
    ``rows`` of ``a`` need (asking IREE needs the kernel's IR: kernels rebuilt from
    ``to_dict()`` carry only the defaults they were saved with)."""
    have = (kernel.defaults or {}).get(target_cpu, {})
    if not rows.size or kernel.source is None:
        return have
    need = {"all" if u else "none" for u in (a.flags[rows, 3] > 0).tolist()} - set(have)
    if need:
        from costmodel.programs.defaults import resolve_default
        have = {**have, **{k: resolve_default(kernel.source, k, target_cpu=target_cpu)
                           for k in sorted(need)}}
        # New dicts, assigned at once: kernels are shared between server threads (and
        # between models, which may want other CPUs).
        kernel.defaults = {**(kernel.defaults or {}), target_cpu: have}
    return have


def default_rows(a: ScheduleArrays) -> np.ndarray:
    """Candidates left to IREE's heuristics that a resolved default can describe: no
    pipeline, no levels, no data tiling (which rewrites the root into another op)."""
    return np.flatnonzero((a.flags[:, 0] > 0) & (a.flags[:, 2] == 0) & (a.present.sum(1) == 0))


def _substitute_defaults(a: ScheduleArrays, rows: np.ndarray,
                         defaults: Mapping[str, dict | None]) -> None:
    """Give the default candidates ``rows`` the tiles and pipeline IREE will use; they keep
    ``sched.is_default`` (IREE's own lowering may differ from the same explicit config)."""
    keys = np.where(a.flags[rows, 3] > 0, "all", "none")
    for key in ("none", "all"):
        sched = defaults.get(key)
        sel = rows[keys == key]
        if sched is None or not sel.size:
            continue
        b = _parse_schedules([sched])
        a.pipe[sel] = b.pipe[0]
        a.tiles[sel] = b.tiles[0]
        a.present[sel] = b.present[0]
        a.ndim[sel] = b.ndim[0]


def _schedule_matrix(kernel: KernelFeatures, a: ScheduleArrays) -> np.ndarray:
    n = len(a.pipe)
    if n == 0:
        return np.zeros((0, len(SCHEDULE_NAMES)))
    D = MAX_DIMS
    flags, tiles, present = a.flags, a.tiles, a.present
    pipes = np.zeros((n, len(PIPELINES)))
    pi = a.pipe
    has = pi >= 0
    pipes[np.flatnonzero(has), pi[has]] = 1.0
    extents = np.ones((n, D))
    is_red = np.zeros((n, D), dtype=bool)
    ndim = np.zeros(n, dtype=np.int64)
    out = np.empty((n, len(SCHEDULE_NAMES)))
    tile_feats = out[:, len(SCHEDULE_NAMES) - len(_TILE_NAMES):]  # filled in place
    tile_feats[:] = 0.0
    # Which op the schedule is for: by loop count, and by the dims it tiles as reduction
    # or parallel (one root lookup per distinct pattern, not per candidate).
    bits = 1 << np.arange(D, dtype=np.int64)
    li = _LEVEL_INDEX
    red_hint = ((tiles[:, [li["cache_reduction"], li["vector_reduction"]]] > 0).any(1)
                * bits).sum(-1)
    par_hint = ((tiles[:, [li["distribution"], li["cache_parallel"],
                           li["vector_common_parallel"]]] > 0).any(1) * bits).sum(-1)
    nd_arr = a.ndim
    # One integer key per pattern (masks have D <= 8 bits): a 1-D unique is cheap.
    keys = ((nd_arr + 1) << (2 * D)) | (red_hint << D) | par_hint
    ukeys, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)
    uniq = np.stack([(ukeys >> (2 * D)) - 1, (ukeys >> D) & ((1 << D) - 1),
                     ukeys & ((1 << D) - 1)], axis=1)
    # Resolve each pattern to a root op, then compute per root op (usually one per kernel).
    root_of = np.asarray([kernel.root_index(None if nd < 0 else nd, rh, ph)
                          for nd, rh, ph in uniq.tolist()], dtype=np.int64)[inverse]
    explicit = nd_arr >= 0
    roots = np.unique(root_of)
    for ri in roots.tolist():
        rows = slice(None) if len(roots) == 1 else np.flatnonzero(root_of == ri)
        if ri < 0:
            continue
        _, r, red, maps, ebytes = kernel.structured[ri]
        k = min(len(r), D)
        extents[rows, :k] = np.asarray(r[:k], dtype=np.float64)
        is_red[rows, :k] = np.asarray(red[:k], dtype=bool)
        ndim[rows] = k
        sel = np.flatnonzero(explicit if len(roots) == 1 else explicit[rows])
        if isinstance(rows, np.ndarray):
            sel = rows[sel]
        if k and len(sel) == n:  # all candidates (the usual case): no row gathers
            _tile_features(tiles, extents, is_red, k, maps, ebytes, out=tile_feats)
        elif k and len(sel):
            tile_feats[sel] = _tile_features(tiles[sel], extents[sel], is_red[sel], k, maps,
                                             ebytes)
    valid = np.arange(MAX_DIMS)[None, :] < ndim[:, None]  # (n, D)
    nl = len(LEVELS)
    # Dims past the widest root op are untiled for every candidate: compute on the first
    # kw dims only, and zero-pad to MAX_DIMS before summing (same arrays, same sums).
    kw = int(min(max(ndim.max(), 1), D))
    tk = tiles[..., :kw]
    ext = extents[:, None, :kw]  # (n,1,kw)
    tiled = (tk > 0) & valid[:, None, :kw]
    shape = (n, nl, kw)
    # Untiled dims contribute log2(1) = 0 (and a padding ratio of 1) at every level.
    t = np.minimum(tk, ext, out=np.ones(shape), where=tiled)
    n_tiles = np.divide(ext, t, out=np.ones(shape), where=tiled)
    np.ceil(n_tiles, out=n_tiles)
    pad_ratio = np.divide(n_tiles * t, ext, out=np.ones(shape), where=tiled)
    eighth = t * (1.0 / VECTOR_LANES)  # t % 8 == 0 <=> t / 8 is whole (exact: power of 2)
    n_tiled = _count_true(_wide(tiled, False))
    log_volume = _wide(_log2(t), 0.0).sum(-1)
    log_tiles = _wide(_log2(n_tiles), 0.0).sum(-1)
    log_pad = _wide(_log_nonunit(pad_ratio), 0.0).sum(-1)
    aligned = ~_any_true(_wide(tiled & (np.floor(eighth) != eighth), False)) & (n_tiled > 0)
    log_t = _wide(np.where(tiled, _log2(np.maximum(tk, 1.0)), 0.0), 0.0)
    vcp = _LEVEL_INDEX["vector_common_parallel"]
    vr = _LEVEL_INDEX["vector_reduction"]
    dist = _LEVEL_INDEX["distribution"]
    # Write every block straight into the output row (no intermediate concatenations).
    n_fixed = 4 + len(PIPELINES)
    width = 6 + D
    out[:, :4] = flags
    out[:, 4:n_fixed] = pipes
    per_level = out[:, n_fixed:n_fixed + nl * width].reshape(n, nl, width)
    per_level[..., 0] = present
    per_level[..., 1] = n_tiled
    per_level[..., 2] = log_volume
    per_level[..., 3] = log_tiles
    per_level[..., 4] = log_pad
    per_level[..., 5] = aligned
    per_level[..., 6:] = log_t
    assert np.shares_memory(per_level, out)
    e = n_fixed + nl * width
    # Innermost parallel dim's vector tile: the vector width the code generator sees.
    last_par = np.where(valid & ~is_red, np.arange(MAX_DIMS)[None, :], -1).max(-1)
    rows = np.arange(n)
    inner = np.where(last_par >= 0, tiles[rows, vcp, np.maximum(last_par, 0)], 0.0)
    out[:, e] = log_volume[:, vcp] + log_volume[:, vr]  # vector volume
    out[:, e + 1] = log_volume[:, vcp]  # accumulator volume
    out[:, e + 2] = np.log2(1 + inner)
    out[:, e + 3] = (inner > 0) & (inner % VECTOR_LANES == 0)
    out[:, e + 4] = log_tiles[:, dist]  # workgroups
    # FLOPs spent on padding when vector tiles do not divide the extents (masking/peeling).
    out[:, e + 5] = log_pad[:, vcp] + log_pad[:, vr]
    assert e + 6 + len(_TILE_NAMES) == out.shape[1]
    return out


#: log2 of whole numbers up to here comes from a table (np.log2's own values).
_LOG2_TABLE = np.log2(np.arange(1, 4097, dtype=np.float64))


def _log2(x: np.ndarray) -> np.ndarray:
    """np.log2(x) for x >= 1, bit for bit: tile sizes and counts are small whole numbers,
    looked up in a table of np.log2 values; anything else goes to np.log2."""
    with np.errstate(invalid="ignore"):
        i = x.astype(np.int64)
    ok = (i == x) & (i <= len(_LOG2_TABLE)) & (i >= 1)
    out = _LOG2_TABLE.take(np.where(ok, i, 1) - 1)
    if not ok.all():
        out[~ok] = np.log2(x[~ok])
    return out


def _log_nonunit(x: np.ndarray) -> np.ndarray:
    """np.log(x), computed only where x != 1 (padding ratios are mostly exactly 1)."""
    out = np.zeros(x.shape)
    m = x != 1.0
    out[m] = np.log(x[m])
    return out


def _wide(x: np.ndarray, fill) -> np.ndarray:
    """(..., k) -> (..., MAX_DIMS), padded with ``fill``."""
    if x.shape[-1] == MAX_DIMS:
        return x
    out = np.full(x.shape[:-1] + (MAX_DIMS,), fill, dtype=x.dtype)
    out[..., :x.shape[-1]] = x
    return out


def _bytes_as_words(b: np.ndarray) -> np.ndarray:
    """A (..., 8) bool array as one uint64 per row of 8 (contiguous copy if needed)."""
    return np.ascontiguousarray(b).view(np.uint64)[..., 0]


def _count_true(b: np.ndarray) -> np.ndarray:
    """b.sum(-1) for (..., 8) bools: the 8 one-byte 0/1 flags of a word summed by one
    multiply (the total, at most 8, lands in the top byte without carries)."""
    assert b.shape[-1] == 8
    return ((_bytes_as_words(b) * np.uint64(0x0101010101010101)) >> np.uint64(56)).astype(np.int64)


def _any_true(b: np.ndarray) -> np.ndarray:
    """b.any(-1) for (..., 8) bools."""
    assert b.shape[-1] == 8
    return _bytes_as_words(b) != 0


def _spans(T: np.ndarray, expr: list) -> np.ndarray:
    """Elements one access-map result spans over tile T: stride * (tile - 1) + 1, summed."""
    span = np.ones(T.shape[0])
    for d, c in expr:
        if d < T.shape[1]:
            span = span + c * (T[:, d] - 1)
    return span


def _footprint(T: np.ndarray, maps: list, ebytes: int) -> np.ndarray:
    """Bytes one tile touches: per operand, the product of its access-map results' spans
    (``_spans``), summed over operands."""
    total = np.zeros(T.shape[0])
    for m in maps:
        vol = np.ones(T.shape[0])
        for terms in m:
            vol = vol * _spans(T, terms)
        total += vol
    return total * ebytes


def _tile_features(tiles: np.ndarray, ext: np.ndarray, red: np.ndarray, k: int,
                   maps: list, ebytes: int, out: np.ndarray | None = None) -> np.ndarray:
    """The _TILE_NAMES block for explicit schedules of one root (tiles: (n, levels, D))."""
    n = tiles.shape[0]
    li = _LEVEL_INDEX
    E = ext[:, :k]
    R = red[:, :k]
    lv = lambda name: tiles[:, li[name], :k]  # noqa: E731
    # Effective tile per level: 0 = not tiled at that level = the parent level's tile.
    wg = np.where(lv("distribution") > 0, np.minimum(lv("distribution"), E), E)
    cache_t = np.where(R, lv("cache_reduction"), lv("cache_parallel"))
    cache = np.where(cache_t > 0, np.minimum(cache_t, wg), wg)
    vec_t = np.where(R, lv("vector_reduction"), lv("vector_common_parallel"))
    vec = np.where(vec_t > 0, np.minimum(vec_t, cache), cache)
    lg = np.log2
    vol_par = np.where(R, 1.0, vec).prod(-1)
    vol_red = np.where(R, vec, 1.0).prod(-1)
    last = k - 1
    par_idx = np.where(~R, np.arange(k)[None, :], -1).max(-1)
    rows = np.arange(n)
    inner = vec[:, last]
    inner_par = np.where(par_idx >= 0, vec[rows, np.maximum(par_idx, 0)], 1.0)
    lanes = VECTOR_LANES
    lane_eff = lambda v: v / (np.ceil(v / lanes) * lanes)  # noqa: E731
    # Accumulators: the parallel vector tile, rounded up to whole registers on the
    # innermost parallel dim.
    acc_regs = np.ceil(inner_par / lanes) * vol_par / np.maximum(inner_par, 1.0)
    vec_regs = np.ceil(vec.prod(-1) / lanes)
    n_vec = np.ceil(E / vec)
    vec_iters = n_vec.prod(-1)
    pad = (n_vec * vec).prod(-1) / E.prod(-1)
    n_wg = np.ceil(E / wg).prod(-1)
    n_cache = np.ceil(wg / cache).prod(-1)
    fps = []
    for T in (wg, cache, vec):
        fp = _footprint(T, maps, ebytes)
        fps += [lg(fp), np.maximum(lg(fp / L1_BYTES), 0.0), np.maximum(lg(fp / L2_BYTES), 0.0)]
    cols = [lg(vec.prod(-1)), lg(vol_par), lg(vol_red), lg(acc_regs),
            np.maximum(lg(acc_regs / VECTOR_REGS), 0.0), lg(vec_regs), lg(inner),
            lane_eff(inner), R[:, last].astype(np.float64), lg(inner_par), lane_eff(inner_par),
            lg(vec_iters), lg(pad), lg(E.prod(-1) * pad), lg(n_wg), lg(n_cache),
            lg(vec_iters / n_wg), (vec.prod(-1) == 1).astype(np.float64), *fps]
    if out is None:
        out = np.zeros((n, len(_TILE_NAMES)))
    for i, c in enumerate(cols):
        out[:, i] = c
    c0 = len(cols)
    out[:, c0:c0 + MAX_DIMS] = 0.0
    out[:, c0:c0 + k] = lg(E / vec)
    out[:, c0 + MAX_DIMS:c0 + 2 * MAX_DIMS] = 0.0
    out[:, c0 + MAX_DIMS:c0 + MAX_DIMS + k] = lg(E / wg)
    c1 = c0 + 2 * MAX_DIMS + len(_CONTIG_NAMES)
    out[:, c0 + 2 * MAX_DIMS:c1] = np.stack(_contiguity(vec, wg, maps, k), axis=1)
    c2 = c1 + len(_DYN_NAMES)
    out[:, c1:c2] = _dynamic_tiles((lv("distribution"), cache_t, vec_t), E, R)
    out[:, c2:] = _windows(vec, R, maps, k)
    return out


def _window_pairs(red: np.ndarray, maps: list, k: int) -> list[tuple[int, int]]:
    """(output dim, window dim) pairs: access-map results that add a parallel loop dim and a
    reduction one (``oh * s + kh * d``), as a convolution's or pooling's input map does
    (``red``: which of the root's k loop dims are reductions)."""
    pairs = set()
    for m in maps:
        for e in m:
            ds = [d for d, _ in e if d < k]
            if len(ds) == 2 and red[ds[0]] != red[ds[1]]:
                pairs.add(tuple(sorted(ds, key=lambda d: bool(red[d]))))
    return sorted(pairs)


def _windows(vec: np.ndarray, R: np.ndarray, maps: list, k: int) -> np.ndarray:
    """The _WINDOW_NAMES columns from the effective vector tiles ``vec`` (n, k)."""
    n = vec.shape[0]
    out = np.zeros((n, len(_WINDOW_NAMES)))
    pairs = _window_pairs(R[0], maps, k) if n else []
    out[:, 2] = 1.0
    if not pairs:
        return out
    kept = np.zeros(n)
    wvec = np.zeros(n)
    for p, w in pairs:
        kept += (vec[:, p] != 1) | (vec[:, w] != 1)
        wvec += np.log2(vec[:, w])
    out[:, 0] = len(pairs)
    out[:, 1] = kept
    out[:, 2] = kept <= 1  # at most one window left: a 1-D conv, which vectorizes
    out[:, 3] = wvec
    return out


def _dynamic_tiles(level_tiles: Sequence[np.ndarray], E: np.ndarray, R: np.ndarray
                   ) -> np.ndarray:
    """The _DYN_NAMES columns: per loop dim, whether its tile is a dynamic size after the
    workgroup, cache and vector levels (``level_tiles``: each level's requested tiles, 0 = not
    tiled, for the root's k loop dims E with reduction dims R, as in ``_tile_features``)."""
    n, k = E.shape
    size = E.copy()
    dyn = np.zeros((n, k), dtype=bool)
    per_level = []
    for t in level_tiles:
        cut = (t > 0) & (dyn | (t < size))
        # A static size split evenly stays static; any other split is dynamic unless by 1.
        ragged = cut & (dyn | (np.fmod(size, np.maximum(t, 1.0)) != 0))
        dyn = np.where(cut, ragged & (t != 1), dyn)
        size = np.where(cut, t, size)
        per_level.append(dyn.sum(-1))
    out = np.zeros((n, len(_DYN_NAMES)))
    out[:, 0], out[:, 1], out[:, 2] = per_level
    out[:, 3] = (dyn & ~R).any(-1)
    out[:, 4] = (dyn & R).any(-1)
    out[:, 5] = dyn[:, k - 1]
    out[:, 6:6 + k] = dyn
    return out


def _contiguity(vec: np.ndarray, wg: np.ndarray, maps: list, k: int) -> list[np.ndarray]:
    """The _CONTIG_NAMES columns. A vector read is "transposed" when the operand's last loop
    dim with a vector tile > 1 is not a dim of its contiguous (last) map result: the vector
    then runs across rows and IREE lowers it to gathers or shuffles. ``runs``: contiguous
    pieces one vector tile (or workgroup tile) touches, summed over operands. (Counts of
    vector loads/stores and per-tile reuse were tried as well: no gain over 3 seeds.)"""
    n = vec.shape[0]
    ar = np.arange(k)[None, :]
    n_tr, out_tr, in_tr = (np.zeros(n) for _ in range(3))
    min_c, out_c, in_c = np.full(n, np.inf), np.ones(n), np.full(n, np.inf)
    runs, wg_runs, wg_min = np.zeros(n), np.zeros(n), np.full(n, np.inf)
    eff = np.ones(n)
    last_map = len(maps) - 1
    for j, m in enumerate(maps):
        if not m:
            continue
        dims = sorted({d for e in m for d, _ in e if d < k})
        last = [d for d, _ in m[-1] if d < k]
        if not dims:
            continue
        on = np.zeros(k, dtype=bool)
        on[dims] = True
        in_last = np.zeros(k, dtype=bool)
        in_last[last] = True
        big = (vec > 1) & on[None, :]
        inner = np.where(big, ar, -1).max(-1)  # operand's innermost vector dim (loop order)
        tr = (inner >= 0) & ~in_last[np.maximum(inner, 0)]
        contig, wc = _spans(vec, m[-1]), _spans(wg, m[-1])
        vol = np.prod([_spans(vec, e) for e in m], axis=0)  # elements the tile touches
        wvol = np.prod([_spans(wg, e) for e in m], axis=0)
        touched = vol > 1
        n_tr += tr
        runs += vol / contig
        wg_runs += wvol / wc
        wg_min = np.minimum(wg_min, wc)
        min_c = np.where(touched, np.minimum(min_c, contig), min_c)
        eff = np.where(touched, np.minimum(eff, contig / (np.ceil(contig / VECTOR_LANES)
                                                          * VECTOR_LANES)), eff)
        if j == last_map:
            out_tr, out_c = tr.astype(np.float64), contig
        else:
            in_tr = np.maximum(in_tr, tr)
            in_c = np.where(touched, np.minimum(in_c, contig), in_c)
    fin = lambda a: np.where(np.isfinite(a), a, 1.0)  # noqa: E731
    lg = np.log2
    return [n_tr, out_tr, in_tr, lg(fin(min_c)), lg(out_c), lg(fin(in_c)), lg(runs + 1.0),
            eff, lg(fin(wg_min)), lg(wg_runs + 1.0)]


def feature_matrix(kernel: KernelFeatures, schedules: Sequence, *,
                   defaults_cpu: str | None = None) -> np.ndarray:
    """Full rows (base ++ schedule) for candidates of one kernel: shape (n, N_FEATURES)."""
    sm = schedule_matrix(kernel, schedules, defaults_cpu=defaults_cpu)
    return np.concatenate([np.broadcast_to(kernel.base, (sm.shape[0], N_BASE)), sm], axis=1)


assert len(SCHEDULE_NAMES) == (4 + len(PIPELINES) + len(LEVELS) * (6 + MAX_DIMS) + 6
                               + len(_TILE_NAMES))
