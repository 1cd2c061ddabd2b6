"""The entry function's argument types, read from the MLIR with IREE's bindings.

Handles plain ``func.func``/``util.func`` entry points with tensor or scalar arguments, and
ABI-lowered ones (what the ONNX path produces) whose arguments are ``!hal.buffer_view``:
their tensor types come from the ``hal.tensor.import`` ops that consume them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from iree.compiler import ir

from costmodel.errors import InputError
from costmodel.ir.parse import parse_mlir

_FUNC_OPS = ("func.func", "util.func")
_SCALAR_RE = re.compile(r"^(?:[su]?i\d+|bf16|tf32|f\d+(?:E\w+)?|index)$")
_DTYPES = {
    "f16": np.float16, "f32": np.float32, "f64": np.float64,
    "i1": np.bool_, "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
    "si8": np.int8, "si16": np.int16, "si32": np.int32, "si64": np.int64,
    "ui8": np.uint8, "ui16": np.uint16, "ui32": np.uint32, "ui64": np.uint64,
    "index": np.int64,
}


@dataclass(frozen=True)
class ArgSpec:
    """One argument: a tensor (``shape`` given, -1 marks a dynamic extent) or a scalar."""

    element: str  # MLIR element type text, e.g. "f32"
    shape: tuple[int, ...] | None = None  # None for a scalar

    @property
    def is_tensor(self) -> bool:
        return self.shape is not None

    @property
    def dtype(self) -> np.dtype:
        try:
            return np.dtype(_DTYPES[self.element])
        except KeyError:
            raise InputError(f"no numpy dtype for element type {self.element!r}") from None

    def __str__(self) -> str:
        if self.shape is None:
            return self.element
        dims = "x".join("?" if d < 0 else str(d) for d in self.shape)
        return f"tensor<{dims}x{self.element}>" if dims else f"tensor<{self.element}>"


@dataclass(frozen=True)
class Signature:
    entry: str
    args: tuple[ArgSpec, ...]

    def to_dict(self) -> dict:
        return {"entry": self.entry, "args": [str(a) for a in self.args]}


def _str_attr(op: ir.Operation, name: str) -> str | None:
    if name not in op.attributes:
        return None
    return ir.StringAttr(op.attributes[name]).value


def _functions(module: ir.Module) -> dict[str, ir.Operation]:
    out: dict[str, ir.Operation] = {}
    for view in module.body.operations:
        op = view.operation
        if op.name in _FUNC_OPS and "function_type" in op.attributes:
            name = _str_attr(op, "sym_name")
            if name and len(op.regions) and len(op.regions[0].blocks):  # skip declarations
                out[name] = op
    return out


def _pick_entry(funcs: dict[str, ir.Operation], entry: str | None) -> str:
    if entry is not None:
        if entry not in funcs:
            raise InputError(f"entry function @{entry} not found; module defines "
                             f"{', '.join('@' + n for n in funcs) or 'no functions'}")
        return entry
    public = [n for n, op in funcs.items()
              if _str_attr(op, "sym_visibility") in (None, "public") and not n.endswith("$async")]
    if not public:
        raise InputError("module has no public function to run")
    return public[0]  # IREE exports every public function; the first is the usual entry


def _spec(t: ir.Type) -> ArgSpec | None:
    if isinstance(t, ir.ShapedType) and str(t).startswith("tensor<"):
        st = ir.ShapedType(t)
        if not st.has_rank:
            return ArgSpec(str(st.element_type), (-1,))
        return ArgSpec(str(st.element_type),
                       tuple(-1 if st.is_dynamic_dim(i) else int(d) for i, d in enumerate(st.shape)))
    text = str(t)
    if _SCALAR_RE.match(text):
        return ArgSpec(text)
    return None  # !hal.buffer_view, !hal.fence, ...


def _imported_types(func: ir.Operation) -> dict[int, ArgSpec]:
    """Argument number -> tensor type, from the hal.tensor.import ops reading the arguments."""
    found: dict[int, ArgSpec] = {}

    def visit(op: ir.Operation) -> ir.WalkResult:
        op = op.operation
        if op.name == "hal.tensor.import" and len(op.operands) and len(op.results):
            src = op.operands[0]
            if isinstance(src, ir.BlockArgument):
                spec = _spec(op.results[0].type)
                if spec is not None:
                    found.setdefault(src.arg_number, spec)
        return ir.WalkResult.ADVANCE

    func.walk(visit)
    return found


def signature_of(module: ir.Module, entry: str | None = None) -> Signature:
    """Signature of ``entry`` (default: the first public function) in a parsed module."""
    funcs = _functions(module)
    name = _pick_entry(funcs, entry)
    func = funcs[name]
    ftype = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
    imported = _imported_types(func)
    if not imported and f"{name}$async" in funcs:  # the sync wrapper passes args through
        imported = _imported_types(funcs[f"{name}$async"])
    args = []
    for i, t in enumerate(ftype.inputs):
        spec = _spec(t)
        if spec is None:
            spec = imported.get(i)
        if spec is None:
            raise InputError(f"@{name} argument {i} has type {t}, which cannot be generated")
        args.append(spec)
    return Signature(name, tuple(args))


def entry_signature(mlir_text: str, entry: str | None = None) -> Signature:
    """Parse MLIR text (IRParseError on bad input) and return the entry's signature."""
    parsed = parse_mlir(mlir_text)
    with parsed.context:
        return signature_of(parsed.module, entry)
