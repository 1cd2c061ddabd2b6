"""Op-family classification, shared by features, generators and reports."""

from __future__ import annotations

#: Ops whose cost is arithmetic: each counts one FLOP per element it produces.
NON_ARITH = frozenset({
    "arith.constant", "arith.bitcast", "arith.index_cast", "arith.index_castui",
    "arith.extf", "arith.extsi", "arith.extui", "arith.truncf", "arith.trunci",
    "arith.sitofp", "arith.uitofp", "arith.fptosi", "arith.fptoui",
})
TRANSCENDENTAL = frozenset({
    "math.exp", "math.exp2", "math.expm1", "math.log", "math.log1p", "math.log2", "math.log10",
    "math.tanh", "math.sinh", "math.cosh", "math.sin", "math.cos", "math.tan", "math.atan",
    "math.atan2", "math.erf", "math.erfc", "math.powf", "math.rsqrt", "math.sqrt", "math.cbrt",
    "math.asin", "math.acos", "math.fpowi", "math.ipowi",
})

_MATMUL = ("matmul", "batch_matmul", "matvec", "vecmat", "batch_matvec", "batch_vecmat", "mmt4d",
           "batch_mmt4d", "contract", "batch_reduce_matmul", "dot", "quantized_matmul",
           "quantized_batch_matmul", "matmul_transpose_a", "matmul_transpose_b",
           "batch_matmul_transpose_a", "batch_matmul_transpose_b")
_ELEMENTWISE = ("map", "elementwise", "add", "sub", "mul", "div", "div_unsigned", "max", "min",
                "exp", "log", "abs", "ceil", "floor", "negf", "reciprocal", "round", "sqrt",
                "rsqrt", "square", "tanh", "erf", "powf", "select")

#: linalg ops that are not structured (no indexing maps) and are classified by name.
LINALG_UNSTRUCTURED = frozenset({
    "linalg.yield", "linalg.index", "linalg.softmax", "linalg.pack", "linalg.unpack",
    "linalg.winograd_filter_transform", "linalg.winograd_input_transform",
    "linalg.winograd_output_transform",
})

FAMILIES = ("matmul", "conv", "depthwise_conv", "pooling", "elementwise", "reduction",
            "contraction", "fill", "copy", "transpose", "broadcast", "softmax", "pack",
            "loop", "arith", "math", "memory", "tensor", "vector", "func", "other")


def named_linalg_family(name: str) -> str | None:
    """Family of a named linalg op from its name, or None for linalg.generic."""
    short = name.split(".", 1)[1]
    if short == "generic":
        return None
    if short in _MATMUL:
        return "matmul"
    if short.startswith("depthwise_conv"):
        return "depthwise_conv"
    if short.startswith("conv"):
        return "conv"
    if short.startswith("pooling"):
        return "pooling"
    if short in ("fill", "fill_rng_2d"):
        return "fill"
    if short in ("copy", "transpose", "broadcast"):
        return short
    if short == "reduce":
        return "reduction"
    if short in _ELEMENTWISE:
        return "elementwise"
    return "other"


def generic_family(n_reduction: int, n_inputs: int, payload: dict[str, int],
                   n_arith: int, all_identity: bool, any_broadcast: bool) -> str:
    """Family of a linalg.generic from its loop nest and payload."""
    if n_reduction:
        muls = payload.get("arith.mulf", 0) + payload.get("arith.muli", 0)
        adds = payload.get("arith.addf", 0) + payload.get("arith.addi", 0)
        if n_inputs >= 2 and muls and adds:
            return "contraction"
        return "reduction"
    if n_arith:
        return "elementwise"
    if any_broadcast:
        return "broadcast"
    return "copy" if all_identity else "transpose"


def other_family(name: str) -> str:
    dialect = name.split(".", 1)[0]
    if name in ("scf.for", "scf.forall", "scf.parallel", "scf.while", "affine.for",
                "affine.parallel"):
        return "loop"
    if dialect in ("arith", "math", "func", "tensor", "vector"):
        return dialect
    if dialect in ("memref", "bufferization") or name in ("affine.load", "affine.store"):
        return "memory"
    if name == "linalg.softmax":
        return "softmax"
    if name in ("linalg.pack", "linalg.unpack", "tensor.pack", "tensor.unpack"):
        return "pack"
    return "other"
