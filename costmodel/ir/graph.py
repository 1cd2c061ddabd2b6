"""Build a typed program graph from a parsed MLIR module.

One pre-order walk in C++ visits every op; Python only touches each op once, and
everything that needs stringifying (types, maps, schedule attributes) is decoded
once per unique object through caches, because str() dominates the cost.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field

from iree.compiler import ir
from iree.compiler.dialects import linalg

from costmodel.ir import native
from costmodel.ir.families import (
    LINALG_UNSTRUCTURED, NON_ARITH, TRANSCENDENTAL, generic_family, named_linalg_family,
    other_family,
)
from costmodel.ir.schedule import SCHEDULE_ATTRS, Schedule, ScheduleCache, merge
from costmodel.ir.types import TypeCache, TypeInfo

_ADVANCE = ir.WalkResult.ADVANCE
_SKIP = ir.WalkResult.SKIP
_PRE = ir.WalkOrder.PRE_ORDER
_LOADS = frozenset({"memref.load", "affine.load", "vector.load", "vector.transfer_read",
                    "vector.maskedload", "tensor.extract"})
_STORES = frozenset({"memref.store", "affine.store", "vector.store", "vector.transfer_write",
                     "vector.maskedstore", "tensor.insert"})
_COPIES = frozenset({"tensor.pad", "tensor.concat", "tensor.insert_slice", "memref.copy",
                     "tensor.pack", "tensor.unpack", "linalg.pack", "linalg.unpack"})


# How an op is handled, decided once per op name.
_PLAIN, _ARITH, _LOAD, _STORE, _COPY, _LOOP, _STRUCTURED = range(7)
_SCHEDULED_DIALECTS = ("func", "util", "hal", "iree_linalg_ext", "tensor", "linalg")


def _kind_of(name: str) -> tuple[int, str, bool]:
    """(handling code, family, may carry a schedule attribute) for an op name."""
    dialect = name.split(".", 1)[0]
    family = other_family(name)
    scheduled = dialect in _SCHEDULED_DIALECTS
    if dialect == "linalg" and name not in LINALG_UNSTRUCTURED:
        return _STRUCTURED, family, True
    if dialect in ("arith", "math"):
        return (_PLAIN if name in NON_ARITH else _ARITH), family, False
    if name in _LOADS:
        return _LOAD, family, scheduled
    if name in _STORES:
        return _STORE, family, scheduled
    if name in _COPIES:
        return _COPY, family, scheduled
    if family == "loop":
        return _LOOP, family, False
    return _PLAIN, family, scheduled


@dataclass(slots=True)
class LoopNest:
    """The iteration space of a structured (linalg) op."""

    ranges: tuple[int, ...]  # static extent per loop dim; -1 where dynamic
    iterators: tuple[str, ...]  # "parallel" | "reduction" per dim
    indexing_maps: tuple[str, ...]
    innermost_extent: int  # extent of the loop that walks the output's contiguous dim

    @property
    def n_parallel(self) -> int:
        return sum(1 for it in self.iterators if it == "parallel")

    @property
    def n_reduction(self) -> int:
        return sum(1 for it in self.iterators if it == "reduction")

    @property
    def domain(self) -> int | None:
        size = 1
        for r in self.ranges:
            if r < 0:
                return None
            size *= r
        return size


class OpNode:
    """One recorded op. Cost fields default at class level: most ops never set them,
    and skipping their per-instance assignment is a measurable share of the walk."""

    flops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    static: bool = True  # False when a dynamic shape or trip count made the counts partial
    loops: LoopNest | None = None
    payload: dict[str, int] | None = None  # op-name histogram of a structured op's body
    trip_count: int | None = None  # for loop ops, when static
    schedule: Schedule | None = None

    def __init__(self, index: int, name: str, family: str, parent: int, depth: int,
                 multiplier: int, operand_types: list[TypeInfo],
                 result_types: list[TypeInfo]) -> None:
        self.index = index
        self.name = name
        self.family = family
        self.parent = parent  # index of the enclosing recorded op; -1 at module level
        self.depth = depth  # region nesting depth
        self.multiplier = multiplier  # product of static trip counts of enclosing loops
        self.operand_types = operand_types
        self.result_types = result_types

    def __repr__(self) -> str:
        return f"OpNode({self.index}, {self.name!r}, family={self.family!r})"

    @property
    def dialect(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def element_type(self) -> str | None:
        ts = self.result_types or self.operand_types
        return ts[-1].element if ts else None

    @property
    def bits(self) -> int:
        if self.loops is not None and self.operand_types:
            return self.operand_types[-1].bits
        ts = self.result_types or self.operand_types
        return ts[-1].bits if ts else 0


@dataclass
class ProgramGraph:
    ops: list[OpNode] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)  # producer -> consumer


@dataclass(slots=True)
class _Maps:
    n_dims: int
    dims: tuple[tuple[int, ...], ...]  # per operand: loop dim of each result, -1 if not a dim
    texts: tuple[str, ...]
    identity: bool
    broadcast: bool


class GraphBuilder:
    def __init__(self, *, use_native: bool = True) -> None:
        # The C walk (native.py) and the bindings walk build identical graphs; the C one is
        # faster, the bindings one needs no C compiler.
        self.use_native = use_native
        self.types = TypeCache()
        self.schedules = ScheduleCache()
        self._maps: dict[ir.Attribute, _Maps] = {}
        self._shapes: dict[tuple, tuple] = {}
        self._named_payload: dict[tuple, tuple[dict[str, int], int, str]] = {}
        # Keyed by hash(value): MLIR hashes the value's storage pointer, unique while the
        # module lives, and int keys spare a call into the bindings per lookup.
        self._values: dict[int, tuple[int, TypeInfo]] = {}
        self._kinds: dict[str, tuple[int, str, bool, bool]] = {}
        self.graph = ProgramGraph()

    def build(self, module: ir.Module) -> ProgramGraph:
        # The walk allocates many small objects and no cycles; pausing the cyclic GC
        # avoids repeated collections that cost more than the walk itself.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            lib = native.load() if self.use_native else None
            if lib is not None:
                self._build_native(lib, module.operation)
            else:
                self._visit(module.operation, -1, 0, 1, True)
        finally:
            if was_enabled:
                gc.enable()
        return self.graph

    # -- walking -----------------------------------------------------------------------
    def _visit(self, root: ir.Operation, parent: int, depth: int, mult: int, static: bool) -> None:
        is_root = True
        kinds = self._kinds

        def callback(op: ir.Operation) -> ir.WalkResult:
            nonlocal is_root
            if is_root:
                is_root = False
                return _ADVANCE
            name = op.name
            kind = kinds.get(name)
            if kind is None:
                # Whether an op kind has regions is fixed by its definition, so ask once.
                kind = kinds[name] = (*_kind_of(name), len(op.regions) > 0)
            code = kind[0]
            if code == _STRUCTURED:
                self._structured(op, name, parent, depth, mult, static)
                return _SKIP
            node = self._new(op, name, kind[1], parent, depth, mult, static)
            if code or kind[2]:
                self._simple(op, name, kind, mult, node)
            if kind[3]:
                trip = node.trip_count
                self._visit(op, node.index, depth + 1, mult * (trip or 1),
                            static and (trip is not None or code != _LOOP))
                return _SKIP
            return _ADVANCE

        root.walk(callback, _PRE)

    def _build_native(self, lib: object, root: ir.Operation) -> None:
        """The walk of `_visit`, over the arrays of one C walk (see native.py)."""
        w = native.walk(lib, root, SCHEDULE_ATTRS)
        names: dict[int, str] = {}
        tinfo: dict[int, TypeInfo] = {}
        types, kinds = self.types, self._kinds
        g = self.graph
        ops, edges = g.ops, g.edges
        n = len(w.parent)
        rec = [-1] * n  # walk index -> recorded op index
        mult_of = [1] * n  # trip-count product and static flag seen by an op's children
        static_of = [True] * n
        parents, depths, ends, name_ptrs = w.parent, w.depth, w.end, w.name
        o_start, o_prod, o_type = w.operand_start, w.operand_producer, w.operand_type
        r_start, r_type, sched = w.result_start, w.result_type, w.scheduled

        def type_info(ptr: int) -> TypeInfo:  # callers try tinfo.get first: hits dominate
            t = tinfo[ptr] = types(native.type_of(ptr).maybe_downcast())
            return t

        def name_of(ptr: int) -> str:
            name = names.get(ptr)
            if name is None:
                name = names[ptr] = native.identifier(lib, ptr)
            return name

        i = 1
        while i < n:
            name = name_of(name_ptrs[i])
            p = parents[i]
            parent, mult, static = rec[p], mult_of[p], static_of[p]
            kind = kinds.get(name)
            if kind is None:
                kind = kinds[name] = (*_kind_of(name), ends[i] > i + 1)
            code = kind[0]
            idx = len(ops)
            operand_types = []
            for k in range(o_start[i], o_start[i + 1]):
                operand_types.append(tinfo.get(o_type[k]) or type_info(o_type[k]))
                q = o_prod[k]
                if q >= 0 and rec[q] >= 0:
                    edges.append((rec[q], idx))
            result_types = [tinfo.get(t) or type_info(t) for t in r_type[r_start[i]:r_start[i + 1]]]
            node = OpNode(idx, name, kind[1], parent, depths[i], mult, operand_types,
                          result_types)
            if not static:
                node.static = False
            ops.append(node)
            rec[i] = idx
            if code == _STRUCTURED:
                end = ends[i]
                self._structured(native.operation(w.op[i]), name, parent, depths[i], mult,
                                 static, node=node,
                                 payload=lambda a=i + 1, b=end: _histogram(
                                     [name_of(x) for x in name_ptrs[a:b]]),
                                 scheduled=bool(sched[i]))
                i = end
                continue
            if code or kind[2]:
                scheduled = kind[2] and bool(sched[i])
                handle = native.operation(w.op[i]) if code == _LOOP or scheduled else None
                self._simple(handle, name, kind, mult, node, scheduled=scheduled)
            if ends[i] > i + 1:
                trip = node.trip_count
                mult_of[i] = mult * (trip or 1)
                static_of[i] = static and (trip is not None or code != _LOOP)
                i += 1
            else:
                i = ends[i]

    def _new(self, op: ir.Operation, name: str, family: str, parent: int, depth: int, mult: int,
             static: bool) -> OpNode:
        g = self.graph
        idx = len(g.ops)
        types, values, edges = self.types, self._values, g.edges
        # An operand's type is its producer's result type: reuse it rather than asking
        # MLIR again, so only block arguments cost a type lookup.
        operand_types = []
        for v in op.operands:
            hit = values.get(hash(v))
            if hit is None:
                operand_types.append(types(v.type))
            else:
                operand_types.append(hit[1])
                edges.append((hit[0], idx))
        result_types = []
        for r in op.results:
            t = types(r.type)
            result_types.append(t)
            values[hash(r)] = (idx, t)
        node = OpNode(idx, name, family, parent, depth, mult, operand_types, result_types)
        if not static:
            node.static = False
        g.ops.append(node)
        return node

    # -- ops that are not structured ---------------------------------------------------
    def _simple(self, op: ir.Operation | None, name: str, kind: tuple, mult: int,
                node: OpNode, scheduled: bool | None = None) -> OpNode:
        code = kind[0]
        if code == _PLAIN:
            pass
        elif code == _ARITH:
            if node.result_types:
                n = node.result_types[0].elements
                node.flops = (n or 0) * mult
                if n is None:
                    node.static = False
        elif code == _LOAD:
            node.bytes_read = _nbytes(node.result_types[:1]) * mult
        elif code == _STORE:
            node.bytes_written = _nbytes(node.operand_types[:1]) * mult
        elif code == _COPY:
            node.bytes_read = _nbytes(node.operand_types[:1]) * mult
            node.bytes_written = _nbytes(node.result_types[:1] or node.operand_types[1:2]) * mult
        elif code == _LOOP:
            node.trip_count = _trip_count(op, name)
        if kind[2] if scheduled is None else scheduled:
            node.schedule = self._schedule(op)
        return node

    # -- linalg structured ops ----------------------------------------------------------
    def _structured(self, op: ir.Operation, name: str, parent: int, depth: int, mult: int,
                    static: bool, *, node: OpNode | None = None,
                    payload: Callable[[], tuple[dict[str, int], int]] | None = None,
                    scheduled: bool = True) -> OpNode:
        """Record a linalg op. The C walk passes its node, body histogram and whether a
        schedule attribute is present; the bindings walk finds these itself."""
        try:
            maps_attr = linalg.get_indexing_maps(op)
        except Exception:  # not a LinalgOp after all: record it as a plain op
            kind = self._kinds[name] = (_PLAIN, other_family(name), True, len(op.regions) > 0)
            if node is None:
                node = self._new(op, name, kind[1], parent, depth, mult, static)
            else:
                node.family = kind[1]
            return self._simple(op, name, kind, mult, node, scheduled=scheduled)
        if node is None:
            node = self._new(op, name, "other", parent, depth, mult, static)
        types = node.operand_types
        n_out = len(node.result_types) or _n_outputs(op)
        is_generic = name == "linalg.generic"
        iter_attr = op.attributes["iterator_types"] if is_generic else None
        # Everything that depends only on the maps and operand types is shared by all ops
        # with the same signature; layers of a model repeat these a lot.
        # Attributes are uniqued, so their hashes identify them; int keys avoid calling
        # back into the bindings for __eq__ on every cache hit.
        key = (name, hash(maps_attr), hash(iter_attr), n_out, *map(id, types))
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = self._loop_shape(maps_attr, iter_attr, types, n_out)
        loops, n_in, read, written, shapes_static, maps, domain, n_reduction = shape
        node.loops = loops

        body = payload or (lambda: _payload(op))
        if is_generic:
            payload, n_arith = body()
            family = generic_family(n_reduction, n_in, payload, n_arith, maps.identity,
                                    maps.broadcast)
        else:
            pkey = (name, *map(id, types))
            cached = self._named_payload.get(pkey)
            if cached is None:
                cached = self._named_payload[pkey] = (*body(), named_linalg_family(name))
            payload, n_arith, family = cached
        node.family = family
        node.payload = payload
        if not (static and shapes_static):
            node.static = False
        node.flops = (domain or 0) * n_arith * mult
        if n_reduction or (is_generic and _reads_outputs(op, n_in, n_out)):
            read += written
        node.bytes_read = read * mult
        node.bytes_written = written * mult
        if scheduled:
            node.schedule = self._schedule(op)
        return node

    def _loop_shape(self, maps_attr: ir.ArrayAttr, iter_attr: ir.Attribute | None,
                    types: list[TypeInfo], n_out: int) -> tuple:
        maps = self._maps.get(maps_attr)
        if maps is None:
            maps = self._maps[maps_attr] = _decode_maps(maps_attr)
        n_in = len(types) - n_out
        ranges = _loop_ranges(maps, types)
        if iter_attr is not None:
            iterators = tuple("reduction" if "reduction" in str(a) else "parallel"
                              for a in iter_attr)
        else:  # named ops: a loop that indexes no output is a reduction
            out_dims = {d for dims in maps.dims[n_in:] for d in dims}
            iterators = tuple("parallel" if d in out_dims else "reduction"
                              for d in range(maps.n_dims))
        inner = -1
        for dims in (maps.dims[n_in] if n_out else (), maps.dims[0] if n_in else ()):
            if dims and dims[-1] >= 0:
                inner = ranges[dims[-1]]
                break
        loops = LoopNest(ranges, iterators, maps.texts, inner)
        read = sum(t.nbytes or 0 for t in types[:n_in])
        written = sum(t.nbytes or 0 for t in types[n_in:])
        domain = loops.domain
        shapes_static = domain is not None and all(t.elements is not None for t in types)
        return loops, n_in, read, written, shapes_static, maps, domain, loops.n_reduction

    def _schedule(self, op: ir.Operation) -> Schedule | None:
        attrs = op.attributes
        if not len(attrs):
            return None
        found: list[Schedule] = []
        for key in SCHEDULE_ATTRS:
            if key in attrs:
                found.append(self.schedules(attrs[key]))
        return merge(found)


def _nbytes(types: list[TypeInfo]) -> int:
    return sum(t.nbytes or 0 for t in types)


def _n_outputs(op: ir.Operation) -> int:
    # Buffer (memref) form: no results, so read the ins/outs split from the segment sizes.
    try:
        seg = ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"])
        return int(seg[1])
    except (KeyError, ValueError, IndexError):
        return 1


def _decode_maps(maps_attr: ir.ArrayAttr) -> _Maps:
    dims = []
    texts = []
    identity = True
    broadcast = False
    n_dims = 0
    for a in maps_attr:
        amap = ir.AffineMapAttr(a).value
        n_dims = amap.n_dims
        row = tuple(e.position if isinstance(e, ir.AffineDimExpr) else -1
                    for e in amap.results)
        dims.append(row)
        texts.append(str(amap))
        if len(row) and row != tuple(range(n_dims)):
            identity = False
        if 0 < len(row) < n_dims:
            broadcast = True
    return _Maps(n_dims, tuple(dims), tuple(texts), identity, broadcast)


def _loop_ranges(maps: _Maps, types: list[TypeInfo]) -> tuple[int, ...]:
    ranges = [-1] * maps.n_dims
    for t, dims in zip(types, maps.dims):
        shape = t.shape
        if not shape:
            continue
        for j, d in enumerate(dims):
            if d >= 0 and ranges[d] < 0 and j < len(shape) and shape[j] >= 0:
                ranges[d] = shape[j]
    return tuple(ranges)


def _payload(op: ir.Operation) -> tuple[dict[str, int], int]:
    """Histogram of the body's ops and the count of arithmetic ones (each one FLOP)."""
    hist: dict[str, int] = {}
    is_root = True

    def callback(o: ir.Operation) -> ir.WalkResult:
        nonlocal is_root
        if is_root:
            is_root = False
        else:
            n = o.name
            hist[n] = hist.get(n, 0) + 1
        return _ADVANCE

    op.walk(callback, _PRE)
    return _histogram_counts(hist)


def _histogram(names: list[str]) -> tuple[dict[str, int], int]:
    hist: dict[str, int] = {}
    for n in names:
        hist[n] = hist.get(n, 0) + 1
    return _histogram_counts(hist)


def _histogram_counts(hist: dict[str, int]) -> tuple[dict[str, int], int]:
    n_arith = sum(c for n, c in hist.items()
                  if (n.startswith("arith.") or n.startswith("math.")) and n not in NON_ARITH)
    return hist, n_arith


def n_transcendental(payload: dict[str, int] | None) -> int:
    return sum(c for n, c in (payload or {}).items() if n in TRANSCENDENTAL)


def _reads_outputs(op: ir.Operation, n_in: int, n_out: int) -> bool:
    args = op.regions[0].blocks[0].arguments
    for k in range(n_in, n_in + n_out):
        for _ in args[k].uses:
            return True
    return False


def _const_int(v: ir.Value) -> int | None:
    owner = v.owner
    if not isinstance(owner, ir.OpView) and not isinstance(owner, ir.Operation):
        return None
    if owner.name != "arith.constant":
        return None
    try:
        return ir.IntegerAttr(owner.attributes["value"]).value
    except (KeyError, ValueError):
        return None


def _span(lb: int | None, ub: int | None, step: int | None) -> int | None:
    if lb is None or ub is None or not step or step < 0:
        return None
    return max(0, -(-(ub - lb) // step))


def _trip_count(op: ir.Operation, name: str) -> int | None:
    """Static trip count of a loop op (product over its dims), or None if any bound is dynamic."""
    try:
        if name == "scf.for":
            a, b, c = (_const_int(op.operands[i]) for i in range(3))
            return _span(a, b, c)
        if name == "affine.for":
            attrs = op.attributes
            lb = _affine_const(attrs["lowerBoundMap"])
            ub = _affine_const(attrs["upperBoundMap"])
            return _span(lb, ub, ir.IntegerAttr(attrs["step"]).value)
        if name == "scf.forall":
            attrs = op.attributes
            lbs = list(ir.DenseI64ArrayAttr(attrs["staticLowerBound"]))
            ubs = list(ir.DenseI64ArrayAttr(attrs["staticUpperBound"]))
            steps = list(ir.DenseI64ArrayAttr(attrs["staticStep"]))
            return _product([_span(*t) if min(t) > -(2**62) else None
                             for t in zip(lbs, ubs, steps)])
        if name == "scf.parallel":
            seg = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))
            n = seg[0]
            vals = [_const_int(op.operands[i]) for i in range(3 * n)]
            return _product([_span(vals[i], vals[n + i], vals[2 * n + i]) for i in range(n)])
    except (KeyError, ValueError, IndexError):
        return None
    return None


def _affine_const(attr: ir.Attribute) -> int | None:
    amap = ir.AffineMapAttr(attr).value
    results = list(amap.results)
    if len(results) != 1 or not isinstance(results[0], ir.AffineConstantExpr):
        return None
    return results[0].value


def _product(xs: list[int | None]) -> int | None:
    out = 1
    for x in xs:
        if x is None:
            return None
        out *= x
    return out


def build_graph(module: ir.Module, *, use_native: bool = True) -> ProgramGraph:
    return GraphBuilder(use_native=use_native).build(module)
