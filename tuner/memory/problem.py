"""Memory-mapping problems from real IR: a linear op order and buffers with live ranges.

Buffers come from tensor liveness on the linalg-level IR (an ONNX import lowered with
IREE's input pipeline): every tensor an op computes is one buffer, weights
(`arith.constant` tensors) and program inputs (`hal.tensor.import`) are buffers whose data
starts in slow memory (so do a plain function's tensor arguments), and view ops (reshapes, casts, slices, barriers) alias the buffer
they look into, so accesses through a view count against it and extend its live range.
The op order is the program order of the ops that touch tensor data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from costmodel.errors import InputError

#: Ops whose result is a view of operand 0: no step, no copy.
_VIEWS = frozenset({
    "tensor.expand_shape", "tensor.collapse_shape", "tensor.cast", "tensor.bitcast",
    "tensor.extract_slice", "tensor.reshape", "hal.tensor.barrier", "flow.tensor.reshape",
    "flow.tensor.bitcast", "util.optimization_barrier",
})
#: Ops that hand a tensor to the caller: the buffer must end up in slow memory.
_EXPORTS = frozenset({"hal.tensor.export", "util.return", "func.return"})
KINDS = ("temp", "constant", "input", "output")


class MemoryProblemError(InputError):
    """IR or a problem description that cannot be turned into a memory-mapping problem."""


@dataclass
class Buffer:
    name: str
    size: int  # bytes
    start: int  # first op that touches it (its producer for computed tensors)
    end: int  # last op that touches it (the last op for program outputs)
    kind: str  # temp | constant | input | output
    prefetch: bool  # data starts in slow memory (weights, inputs): fast needs a prefetch
    evict: bool  # the caller reads it from slow memory afterwards: fast needs an eviction


@dataclass
class MemoryProblem:
    """Ops in program order, buffers, and the bytes each op reads and writes of each buffer."""

    name: str
    op_names: list[str]
    flops: list[int]
    buffers: list[Buffer]
    reads: dict[tuple[int, int], int] = field(default_factory=dict)  # (op, buffer) -> bytes
    writes: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def n_ops(self) -> int:
        return len(self.op_names)

    @property
    def n_buffers(self) -> int:
        return len(self.buffers)

    def access_matrix(self) -> np.ndarray:
        """[op, buffer] bytes read plus written."""
        a = np.zeros((self.n_ops, self.n_buffers))
        for (t, b), v in self.reads.items():
            a[t, b] += v
        for (t, b), v in self.writes.items():
            a[t, b] += v
        return a

    def peak_live_bytes(self) -> int:
        """Largest total size of buffers live at one op: the footprint with no reuse."""
        live = np.zeros(self.n_ops)
        for b in self.buffers:
            live[b.start:b.end + 1] += b.size
        return int(live.max()) if len(live) else 0

    def to_dict(self) -> dict:
        return {"name": self.name, "op_names": self.op_names, "flops": self.flops,
                "buffers": [asdict(b) for b in self.buffers],
                "reads": [[t, b, v] for (t, b), v in sorted(self.reads.items())],
                "writes": [[t, b, v] for (t, b), v in sorted(self.writes.items())]}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_dict(cls, d: dict) -> "MemoryProblem":
        """Build and validate a problem from its JSON form; MemoryProblemError when unusable."""
        try:
            ops = [str(n) for n in d["op_names"]]
            flops = [int(f) for f in d.get("flops") or [0] * len(ops)]
            bufs = [Buffer(name=str(b["name"]), size=int(b["size"]), start=int(b["start"]),
                           end=int(b["end"]), kind=str(b.get("kind", "temp")),
                           prefetch=bool(b.get("prefetch", False)),
                           evict=bool(b.get("evict", False))) for b in d["buffers"]]
            reads = {(int(t), int(b)): int(v) for t, b, v in d.get("reads", [])}
            writes = {(int(t), int(b)): int(v) for t, b, v in d.get("writes", [])}
        except (KeyError, TypeError, ValueError) as e:
            raise MemoryProblemError(f"malformed memory problem: {type(e).__name__}: {e}") from None
        p = cls(str(d.get("name", "problem")), ops, flops, bufs, reads, writes)
        p.validate()
        return p

    def validate(self) -> None:
        n, m = self.n_ops, self.n_buffers
        if n == 0 or m == 0:
            raise MemoryProblemError(f"problem {self.name!r} has {n} ops and {m} buffers; "
                                     "need at least one of each")
        if len(self.flops) != n or any(f < 0 for f in self.flops):
            raise MemoryProblemError("flops must have one non-negative entry per op")
        for i, b in enumerate(self.buffers):
            if b.size <= 0:
                raise MemoryProblemError(f"buffer {i} ({b.name}) has size {b.size}; must be > 0")
            if not 0 <= b.start <= b.end < n:
                raise MemoryProblemError(f"buffer {i} ({b.name}) live range [{b.start}, {b.end}] "
                                         f"is outside ops 0..{n - 1}")
            if b.kind not in KINDS:
                raise MemoryProblemError(f"buffer {i} has unknown kind {b.kind!r}")
        for what, acc in (("reads", self.reads), ("writes", self.writes)):
            for (t, b), v in acc.items():
                if not (0 <= t < n and 0 <= b < m) or v < 0:
                    raise MemoryProblemError(f"{what} entry ({t}, {b}, {v}) is out of range")
                if not self.buffers[b].start <= t <= self.buffers[b].end:
                    raise MemoryProblemError(f"{what} of buffer {b} at op {t} is outside its "
                                             "live range")


# -- extraction from MLIR ------------------------------------------------------------------

def _main_body(module, graph) -> tuple[list, list, list]:
    """Top-level ops of the function with the most linalg ops, with their graph nodes, and
    the function's arguments."""
    funcs = _walk_funcs(module)
    func_nodes = [n for n in graph.ops if n.name in ("util.func", "func.func")]
    if len(funcs) != len(func_nodes):
        raise MemoryProblemError("nested modules are not supported; give one module of functions")
    best = None
    for func, fnode in zip(funcs, func_nodes):
        blocks = func.regions[0].blocks
        body = list(blocks[0].operations) if blocks else []
        score = sum(o.operation.name.startswith("linalg.") for o in body)
        if score and (best is None or score > best[0]):
            best = (score, body, fnode.index, list(blocks[0].arguments))
    if best is None:
        raise MemoryProblemError("no function with linalg ops found; give linalg-level IR "
                                 "(e.g. an ONNX import lowered with --compile-to=input)")
    _, body, fidx, args = best
    children = [n for n in graph.ops if n.parent == fidx]
    if len(body) != len(children) or any(o.operation.name != n.name for o, n in zip(body, children)):
        raise MemoryProblemError("internal: op walk and program graph disagree")
    return body, children, args


def _walk_funcs(module) -> list:
    out = []
    for op in module.body.operations:
        name = op.operation.name
        if name in ("util.func", "func.func"):
            out.append(op)
        elif name == "builtin.module" or op.operation.regions and name.endswith("module"):
            for blk in op.operation.regions[0].blocks:
                out.extend(o for o in blk.operations if o.operation.name in ("util.func", "func.func"))
    return out


def problem_from_mlir(text: str | bytes, *, name: str = "program",
                      filename: str = "<input>") -> MemoryProblem:
    """Extract the memory-mapping problem of linalg-level MLIR. Raises IRParseError or
    MemoryProblemError."""
    from costmodel.ir.graph import build_graph
    from costmodel.ir.parse import parse_mlir
    from costmodel.ir.types import TypeCache

    parsed = parse_mlir(text, filename=filename)
    types = TypeCache()
    with parsed.context:
        graph = build_graph(parsed.module)
        body, nodes, args = _main_body(parsed.module, graph)
        root: dict[int, int | None] = {}  # value hash -> buffer id (None: no data yet)
        sizes: list[int] = []
        names: list[str] = []
        kinds: list[str] = []
        op_names: list[str] = []
        flops: list[int] = []
        reads: dict[tuple[int, int], int] = {}
        writes: dict[tuple[int, int], int] = {}
        touched: dict[int, list[int]] = {}
        exported: set[int] = set()

        def nbytes(v) -> int | None:
            t = types(v.type)
            return t.nbytes if t.kind == "tensor" else None

        def new_buffer(v, kind: str, label: str) -> int:
            b = len(sizes)
            sizes.append(nbytes(v) or 0)
            names.append(label)
            kinds.append(kind)
            root[hash(v)] = b
            return b

        def access(acc: dict, t: int, b: int | None, n: int | None) -> None:
            if b is None or not n:
                return
            acc[(t, b)] = acc.get((t, b), 0) + n
            touched.setdefault(b, []).append(t)

        def require_size(v, what: str) -> None:
            t = types(v.type)
            if t.kind == "tensor" and t.nbytes is None:
                raise MemoryProblemError(
                    f"{what} is {t.text}: every buffer needs a size, so dynamic or unranked "
                    "shapes are not supported; give static shapes")

        # A plain `func.func` takes its inputs as tensor arguments (an IREE import wraps
        # them in hal.tensor.import instead): their data starts in slow memory too.
        for i, a in enumerate(args):
            require_size(a, f"argument {i}")
            if nbytes(a):
                new_buffer(a, "input", f"arg{i}")

        for op, node in zip(body, nodes):
            o = op.operation
            nm = o.name
            for r in o.results:
                require_size(r, f"the result of {nm}")
            tensor_results = [r for r in o.results if nbytes(r) is not None]
            tensor_operands = [v for v in o.operands if nbytes(v) is not None]
            if nm == "arith.constant":
                for r in tensor_results:
                    new_buffer(r, "constant", f"cst#{len(sizes)}")
                continue
            if nm == "hal.tensor.import":
                for r in tensor_results:
                    new_buffer(r, "input", f"input#{len(sizes)}")
                continue
            if nm == "tensor.empty":
                for r in tensor_results:
                    root[hash(r)] = None
                continue
            if nm in _VIEWS:
                src = root.get(hash(o.operands[0])) if len(o.operands) else None
                for r in o.results:
                    root[hash(r)] = src
                continue
            if nm in _EXPORTS:
                for v in tensor_operands:
                    b = root.get(hash(v))
                    if b is not None:
                        exported.add(b)
                for r in tensor_results:
                    root[hash(r)] = root.get(hash(o.operands[0])) if len(o.operands) else None
                continue
            if not tensor_results and not tensor_operands:
                continue
            t = len(op_names)
            op_names.append(nm)
            flops.append(int(node.flops))
            n_out = len(tensor_results)
            if nm.startswith("linalg.") and node.loops is not None:
                ins, outs = tensor_operands[:len(tensor_operands) - n_out], tensor_operands[len(tensor_operands) - n_out:]
                in_bytes = sum(nbytes(v) or 0 for v in ins)
                reads_outs = node.bytes_read > in_bytes
                for v in ins:
                    access(reads, t, root.get(hash(v)), nbytes(v))
                if reads_outs:
                    for v in outs:
                        access(reads, t, root.get(hash(v)), nbytes(v))
                for r in tensor_results:
                    access(writes, t, new_buffer(r, "temp", f"%{t}:{nm}"), nbytes(r))
            elif nm == "tensor.insert_slice":
                # In place: the result is the destination with the source written into it.
                src, dest = o.operands[0], o.operands[1]
                access(reads, t, root.get(hash(src)), nbytes(src))
                b = root.get(hash(dest))
                if b is None:
                    b = new_buffer(o.results[0], "temp", f"%{t}:{nm}")
                root[hash(o.results[0])] = b
                access(writes, t, b, nbytes(src))
            else:  # pad, concat, generic tensor ops: read every operand, write new results
                for v in tensor_operands:
                    access(reads, t, root.get(hash(v)), nbytes(v))
                for r in tensor_results:
                    access(writes, t, new_buffer(r, "temp", f"%{t}:{nm}"), nbytes(r))

    if not op_names:
        raise MemoryProblemError("the IR has no ops that read or write tensors")
    last = len(op_names) - 1
    keep = [b for b in range(len(sizes)) if b in touched and sizes[b] > 0]
    remap = {b: i for i, b in enumerate(keep)}
    buffers = []
    for b in keep:
        ts = touched[b]
        kind = "output" if b in exported and kinds[b] == "temp" else kinds[b]
        buffers.append(Buffer(name=names[b], size=sizes[b], start=min(ts),
                              end=last if b in exported else max(ts), kind=kind,
                              prefetch=kinds[b] in ("constant", "input"),
                              evict=b in exported))
    prob = MemoryProblem(name, op_names, flops, buffers,
                         {(t, remap[b]): v for (t, b), v in reads.items() if b in remap},
                         {(t, remap[b]): v for (t, b), v in writes.items() if b in remap})
    prob.validate()
    return prob
