"""A dispatch as a schedule target: its root op, loop nest and IREE's default schedule.

A dispatch is a standalone benchmark module (``costmodel.programs.Dispatch``) or any MLIR
module with one ``hal.executable`` or one ``func.func`` holding linalg ops. IREE's
heuristics decide which linalg op is the root (the one whose lowering_config carries a
``distribution`` level); we ask the compiler (``--compile-to=executable-configurations``)
rather than guess, and keep the root's position among the module's structured ops so the
same op can carry an explicit ``compilation_info`` in the stripped module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from iree.compiler import ir

from costmodel.errors import InputError
from costmodel.ir import analyze_text
from costmodel.programs import LoopInfo, Schedule, executable_configurations, target_info
from costmodel.programs.constraints import check_tiles
from costmodel.programs.dispatches import PIPELINE_RE, strip_schedules

_EXPORT_RE = re.compile(r"hal\.executable\.export public @(\S+) ordinal")
#: The entry of a dispatch benchmark module: one i32 repeat count, no inputs.
BENCHMARK_ENTRY_RE = re.compile(
    r"util\.func public @(\S+)\(%arg0: i32\)[^\n]*iree\.benchmark = \"dispatch\"")
#: Dispatch kinds IREE names for plain copies: no compute root worth a schedule.
COPY_KINDS = ("slow_memcpy",)
_ELEM_BYTES = {"f32": 4, "f16": 2, "bf16": 2, "i8": 1, "i32": 4, "f64": 8, "i64": 8}
#: Pipelines worth trying per root kind; IREE's own choice is always added first.
_KIND_PIPELINES = {
    "contraction": ("DoubleTilingExpert",),
    "conv": ("ConvTileAndDecomposeExpert", "DoubleTilingExpert"),
    "generic": ("DoubleTilingExpert",),
}


class DispatchError(InputError):
    """The module has no tunable root op (or more than one executable)."""


@dataclass(frozen=True)
class DispatchTarget:
    """Everything the tuner needs about one dispatch."""

    name: str  # export name, e.g. mlp$async_dispatch_0_matmul_8x512x256_f32
    mlir: str  # module text without any schedule attribute
    root_index: int  # position of the root among the module's structured (linalg) ops
    root_op: str  # e.g. linalg.matmul
    loops: LoopInfo
    elem_bytes: int
    default: Schedule  # the config IREE's heuristics chose, made explicit
    pipelines: tuple[str, ...]
    entry: str | None = None  # benchmark entry (one i32 repeat count), if a benchmark module
    consumer_spans_reduction: bool = False
    root_text: str = field(default="", compare=False)  # root op's IR (for spec matching)

    @property
    def kind(self) -> str:
        m = re.search(r"_dispatch_\d+_([a-z_]+?)(?:_\d|$)", self.name)
        return m.group(1) if m else "other"

    def check(self, schedule: Schedule) -> str | None:
        """None when ``schedule`` passes the validity rules, else the reason."""
        return check_tiles(self.loops, schedule, elem_bytes=self.elem_bytes,
                           limit_bytes=target_info().vector_limit_bytes,
                           pipelines=self.pipelines,
                           consumer_spans_reduction=self.consumer_spans_reduction,
                           # Dispatch codegen does not fold unit loops (they were formed
                           # already), so explicit configs on them keep their effect.
                           reject_unit_loops=False)

    def render(self, schedule: Schedule) -> str:
        """The module with ``schedule``'s compilation_info on the root (default: unchanged)."""
        if schedule.is_default:
            return self.mlir
        return attach_compilation_info(self.mlir, self.root_index, schedule.to_attr())


def structured_ops(module: ir.Module) -> list[ir.Operation]:
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        name = op.name
        if name.startswith("linalg.") and name not in ("linalg.yield", "linalg.index"):
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


def attach_compilation_info(mlir: str, root_index: int, attr: str) -> str:
    """Set ``compilation_info`` on the root_index-th structured op of ``mlir``."""
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(mlir)
        ops = structured_ops(module)
        if not 0 <= root_index < len(ops):
            raise DispatchError(f"root op #{root_index} not found ({len(ops)} linalg ops)")
        ops[root_index].attributes["compilation_info"] = ir.Attribute.parse(attr)
        return module.operation.get_asm(enable_debug_info=False)


def analyze_dispatch(mlir: str, *, name: str | None = None, entry: str | None = None,
                     flags: tuple[str, ...] = ()) -> DispatchTarget:
    """Find the root op and IREE's default schedule of a one-dispatch module.
    Malformed IR raises costmodel.errors.IRParseError (line:column)."""
    from costmodel.ir.parse import parse_mlir
    parse_mlir(mlir, filename=name or "<dispatch>")  # typed error before any compile
    mlir = strip_schedules(mlir)
    configured = executable_configurations(mlir, list(flags))
    ops = [o for o in analyze_text(configured, filename="<configured>").to_dict()["ops"]
           if "loops" in o]
    roots = [i for i, o in enumerate(ops)
             if (o.get("schedule") or {}).get("levels", {}).get("distribution") is not None]
    if len(roots) != 1:
        raise DispatchError(f"{name or 'module'}: expected one root op with a distribution "
                            f"tiling level after configuration, found {len(roots)}")
    i = roots[0]
    root = ops[i]
    loops = LoopInfo(ranges=tuple(root["loops"]["ranges"]),
                     iterators=tuple(root["loops"]["iterator_types"]))
    pm = PIPELINE_RE.search(configured)
    pipeline = pm.group(1) if pm else "Default"
    levels = {k: v for k, v in root["schedule"]["levels"].items()}
    default = Schedule.make(pipeline, levels)
    elem = str(root.get("element_type") or "f32")
    elem_bytes = next((b for k, b in _ELEM_BYTES.items() if elem.endswith(k)), 4)
    family = root.get("family") or "generic"
    extra = _KIND_PIPELINES.get("conv" if "conv" in family or "pool" in family else
                                "contraction" if family in ("matmul", "batch_matmul", "matvec",
                                                            "contraction") else "generic",
                                ("DoubleTilingExpert",))
    pipelines = tuple(dict.fromkeys((pipeline, *extra)))
    n_struct_after = ops[i + 1:] if i + 1 < len(ops) else []
    spans = bool(any(it == "reduction" for it in loops.iterators) and any(
        len(o["loops"]["ranges"]) == loops.n_loops and "reduction" not in
        o["loops"]["iterator_types"] for o in n_struct_after))
    if name is None:
        m = _EXPORT_RE.search(mlir)
        name = m.group(1) if m else "dispatch"
    if entry is None:
        m = BENCHMARK_ENTRY_RE.search(mlir)
        entry = m.group(1) if m else None
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(mlir)  # keep a reference: ops die with their module
        sops = structured_ops(module)
        # Up to the root the two must agree op for op; after it IREE's configuration may
        # have fused elementwise consumers (an im2col matmul's bias + relu become one).
        if len(sops) <= i or [o.name for o in sops[:i + 1]] != [o["name"] for o in ops[:i + 1]]:
            raise DispatchError(f"{name}: configured ops do not line up with the module's")
        root_text = str(sops[i])
    return DispatchTarget(name=name, mlir=mlir, root_index=i, root_op=root["name"], loops=loops,
                          elem_bytes=elem_bytes, default=default, pipelines=pipelines,
                          entry=entry, consumer_spans_reduction=spans, root_text=root_text)


def target_to_json(target: DispatchTarget, sticks: bool) -> dict:
    """What ``analyze_dispatch`` and ``schedule_sticks`` found (two compiles), as JSON; the
    module text and entry are the caller's to keep."""
    return {"sticks": sticks, "name": target.name, "root_index": target.root_index,
            "root_op": target.root_op, "ranges": list(target.loops.ranges),
            "iterators": list(target.loops.iterators), "elem_bytes": target.elem_bytes,
            "default": target.default.to_dict(), "pipelines": list(target.pipelines),
            "spans": target.consumer_spans_reduction, "root_text": target.root_text}


def target_from_json(t: dict, mlir: str, entry: str | None) -> DispatchTarget:
    """The target ``target_to_json`` wrote, over the module text ``mlir``."""
    return DispatchTarget(name=t["name"], mlir=mlir, root_index=t["root_index"],
                          root_op=t["root_op"],
                          loops=LoopInfo(tuple(t["ranges"]), tuple(t["iterators"])),
                          elem_bytes=t["elem_bytes"], default=Schedule.from_dict(t["default"]),
                          pipelines=tuple(t["pipelines"]), entry=entry,
                          consumer_spans_reduction=t["spans"], root_text=t["root_text"])


def _probe_schedule(target: DispatchTarget) -> Schedule:
    """The default with one vector tile changed: a config IREE would not pick itself."""
    levels = {k: list(v) for k, v in target.default.levels}
    vec = levels.get("vector_common_parallel") or [0] * target.loops.n_loops
    for d in sorted(range(len(vec)), key=lambda i: -vec[i]):
        if vec[d] > 1:
            vec[d] //= 2
            break
    else:
        for d in range(len(vec)):
            if not target.loops.is_reduction(d) and target.loops.ranges[d] >= 2:
                vec[d] = 2
                break
    levels["vector_common_parallel"] = vec
    return Schedule.make(target.default.pipeline, levels)


def schedule_sticks(target: DispatchTarget) -> bool:
    """Whether IREE keeps an explicit compilation_info on this dispatch's root.

    IREE drops it when it rewrites the op before configuring (measured: the NCHW convs of
    the small CNN and ResNet block); tuning such a dispatch would only re-time the default.
    """
    probe = _probe_schedule(target)
    configured = executable_configurations(target.render(probe))
    want = {k: list(v) for k, v in probe.levels}
    for o in analyze_text(configured, filename="<configured>").to_dict()["ops"]:
        levels = (o.get("schedule") or {}).get("levels") or {}
        if "distribution" in levels:
            return {k: list(v) for k, v in levels.items()} == want
    return False
