"""Hand tuned schedules back to the compiler: a transform-dialect tuning spec
(``iree-compile --iree-codegen-tuning-spec-path=spec.mlir``) and annotated MLIR.

The spec has one matcher per tuned dispatch. Each matcher recognizes the root op by its
whole DAG (``transform.iree.match.cast_compatible_dag_from_root``: op name, indexing maps,
iterator types, operand types and payload), then ``@apply_op_config`` annotates it with
the tuned ``compilation_info``. Ops no matcher recognizes keep IREE's heuristics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from iree.compiler import ir

from costmodel.programs import Schedule
from costmodel.programs.dispatch_target import DispatchTarget, structured_ops

_DEF_RE = re.compile(r"(%[\w$.-]+)(?::\d+)?\s*=")
_USE_RE = re.compile(r"%[\w$.-]+")
_BB_RE = re.compile(r"\^bb\d+\(([^)]*)\)")


def _sym(name: str) -> str:
    return "match_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def root_dag(target: DispatchTarget) -> str:
    """The matcher region: block arguments for the root's operands, then the root op (and
    the constants its payload captures from outside, copied in)."""
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(target.mlir)
        op = structured_ops(module)[target.root_index]
        text = op.get_asm(use_local_scope=True, enable_debug_info=False)
        names = [v.get_name(use_local_scope=True) for v in op.operands]
        types = [str(v.type) for v in op.operands]
        # Values the payload captures (e.g. a scalar constant): copy their definitions.
        defined = set(_DEF_RE.findall(text))
        for m in _BB_RE.finditer(text):
            defined |= {a.split(":")[0].strip() for a in m.group(1).split(",") if a.strip()}
        head, _, body = text.partition("\n")
        captured = [u for u in dict.fromkeys(_USE_RE.findall(body))
                    if u not in defined and u not in names]
        consts = []
        if captured:
            by_name = {}

            def visit(o: ir.Operation) -> ir.WalkResult:
                for r in o.results:
                    by_name.setdefault(r.get_name(use_local_scope=True), o)
                return ir.WalkResult.ADVANCE

            module.operation.walk(visit)
            for u in captured:
                d = by_name.get(u)
                if d is None or d.name != "arith.constant":
                    raise ValueError(f"{target.name}: root payload captures {u}, which is not "
                                     "a constant; cannot build a spec matcher")
                consts.append(d.get_asm(use_local_scope=True, enable_debug_info=False))
    args = [f"%arg{i + 1}" for i in range(len(names))]
    # Rename operands in the op's first line only (the payload has its own names).
    # Two phases through placeholders: an operand may already be called %arg0, %arg1 ...
    for i, old in sorted(enumerate(names), key=lambda p: -len(p[1])):
        head = re.sub(re.escape(old) + r"(?![\w$.-])", f"@@OPERAND{i}@@", head)
    for i, new in enumerate(args):
        head = head.replace(f"@@OPERAND{i}@@", new)
    result = _DEF_RE.match(text.strip())
    head = head.split("=", 1)[1].lstrip() if result else head  # drop "%7 = "
    root = head + ("\n" + body if body else "")
    bb = ", ".join(f"{a}: {t}" for a, t in zip(args, types))
    inner = "\n".join(consts + ["%root = " + root])
    return f"^bb0({bb}):\n" + _indent(inner, 2)


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line if line.strip() else line for line in text.splitlines())


def tuning_spec(entries: Sequence[tuple[DispatchTarget, Schedule]]) -> str:
    """A tuning spec applying each (dispatch, schedule); default schedules are skipped."""
    matchers, pairs = [], []
    seen: set[str] = set()
    for target, sched in entries:
        if sched.is_default:
            continue
        name = _sym(target.name)
        if name in seen:
            continue
        seen.add(name)
        dag = root_dag(target)
        matchers.append(f"""  transform.named_sequence @{name}(%arg0: !transform.any_op {{transform.readonly}})
      -> (!transform.any_op, !transform.any_param) {{
    transform.match.operation_name %arg0 ["{target.root_op}"] : !transform.any_op
    %ins, %outs = transform.iree.match.cast_compatible_dag_from_root %arg0 {{
{_indent(dag, 4)}
    }} : (!transform.any_op) -> (!transform.any_value, !transform.any_value)
    %config = transform.param.constant {sched.to_attr()} -> !transform.any_param
    transform.yield %arg0, %config : !transform.any_op, !transform.any_param
  }}
""")
        pairs.append(f"@{name} -> @apply_op_config")
    body = "".join(matchers)
    if pairs:
        match = ",\n        ".join(pairs)
        entry = f"""    %res = transform.foreach_match in %variant_op
        {match}
      : (!transform.any_op) -> !transform.any_op
    transform.yield %res : !transform.any_op"""
        attrs = "transform.with_named_sequence, iree_codegen.tuning_spec_with_default_entrypoint"
    else:  # nothing beat the defaults: a spec that changes nothing
        entry = "    transform.yield %variant_op : !transform.any_op"
        attrs = "transform.with_named_sequence"
    return f"""// Tuning spec written by `tuner tune-model`: one matcher per tuned dispatch.
// Use: iree-compile --iree-codegen-tuning-spec-path=<this file> ...
module attributes {{{attrs}}} {{
  transform.named_sequence @apply_op_config(%op: !transform.any_op {{transform.readonly}},
                                            %config: !transform.any_param {{transform.readonly}}) {{
    transform.annotate %op "compilation_info" = %config : !transform.any_op, !transform.any_param
    transform.yield
  }}
{body}  transform.named_sequence @__kernel_config(%variant_op: !transform.any_op {{transform.consumed}})
      -> !transform.any_op attributes {{iree_codegen.tuning_spec_entrypoint}} {{
{entry}
  }}
}}
"""


def annotate_executables(sources: str, entries: Sequence[tuple[DispatchTarget, Schedule]]) -> str:
    """Attach each tuned compilation_info to its dispatch's root in a model compiled to
    ``--compile-to=executable-sources`` (continue with ``--compile-from=executable-sources``).
    Executables are recognized by their export name."""
    tuned = {t.name: (t, s) for t, s in entries if not s.is_default}
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(sources)
        execs: list[ir.Operation] = []

        def visit(op: ir.Operation) -> ir.WalkResult:
            if op.name == "hal.executable.variant":
                execs.append(op)
                return ir.WalkResult.SKIP
            return ir.WalkResult.ADVANCE

        module.operation.walk(visit)
        for var in execs:
            exports, ops = [], []

            def scan(op: ir.Operation) -> ir.WalkResult:
                if op.name == "hal.executable.export":
                    exports.append(ir.StringAttr(op.attributes["sym_name"]).value)
                elif op.name.startswith("linalg.") and op.name not in ("linalg.yield",
                                                                          "linalg.index"):
                    ops.append(op)
                return ir.WalkResult.ADVANCE

            var.walk(scan)
            hit = next((tuned[e] for e in exports if e in tuned), None)
            if hit is None:
                continue
            target, sched = hit
            if target.root_index < len(ops) and ops[target.root_index].name == target.root_op:
                ops[target.root_index].attributes["compilation_info"] = ir.Attribute.parse(
                    sched.to_attr())
        return module.operation.get_asm(enable_debug_info=False)
