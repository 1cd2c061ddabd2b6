"""Multi-op families: softmax, layernorm and attention.

They are written as separate linalg ops (not linalg.softmax), because IREE decomposes
linalg.softmax before configuration and drops a compilation_info put on it; on a generic
the attribute survives. Only the ROOT op carries the schedule; IREE configures the ops
it fuses with the root from the root's config, and ops in other dispatches by heuristics.
"""

from __future__ import annotations

import numpy as np

from costmodel.programs.families.base import ROOT_DICT, Family, dim, tensor
from costmodel.programs.families.generic import amap, generic_head

_ROWS_IN = [amap(2, [0, 1]), amap(2, [0])]  # x[M,N] -> row value [M]


def _softmax_ops(x: str, t: str, rows: str, root_on_sum: bool,
                 scale: str | None = None, indent: str = "    ") -> str:
    """Row softmax of %{x} (2-D view [m, n]) into %{x}_p; optional scale inside the exp."""
    ident, row = amap(2, [0, 1]), amap(2, [0])
    scaled = (f"{indent}    %sc = arith.constant {scale} : f32\n"
              f"{indent}    %d1 = arith.mulf %d0, %sc : f32\n") if scale else ""
    d = "%d1" if scale else "%d0"
    return (
        f"{indent}%ninf = arith.constant 0xFF800000 : f32\n"
        f"{indent}%zero = arith.constant 0.000000e+00 : f32\n"
        f"{indent}%re = tensor.empty() : {rows}\n"
        f"{indent}%mx0 = linalg.fill ins(%ninf : f32) outs(%re : {rows}) -> {rows}\n"
        f"{indent}%mx = {generic_head(_ROWS_IN, ['parallel', 'reduction'])} "
        f"ins(%{x} : {t}) outs(%mx0 : {rows}) {{\n"
        f"{indent}^bb0(%v: f32, %acc: f32):\n"
        f"{indent}  %r = arith.maximumf %v, %acc : f32\n"
        f"{indent}  linalg.yield %r : f32\n{indent}}} -> {rows}\n"
        f"{indent}%fe = tensor.empty() : {t}\n"
        f"{indent}%ex = {generic_head([ident, row, ident], ['parallel', 'parallel'])} "
        f"ins(%{x}, %mx : {t}, {rows}) outs(%fe : {t}) {{\n"
        f"{indent}^bb0(%v: f32, %m: f32, %o: f32):\n"
        f"{indent}  %d0 = arith.subf %v, %m : f32\n{scaled}"
        f"{indent}  %r = math.exp {d} : f32\n"
        f"{indent}  linalg.yield %r : f32\n{indent}}} -> {t}\n"
        f"{indent}%sm0 = linalg.fill ins(%zero : f32) outs(%re : {rows}) -> {rows}\n"
        f"{indent}%sm = {generic_head(_ROWS_IN, ['parallel', 'reduction'], root=root_on_sum)} "
        f"ins(%ex : {t}) outs(%sm0 : {rows}) {{\n"
        f"{indent}^bb0(%v: f32, %acc: f32):\n"
        f"{indent}  %r = arith.addf %v, %acc : f32\n"
        f"{indent}  linalg.yield %r : f32\n{indent}}} -> {rows}\n"
        f"{indent}%{x}_p = {generic_head([ident, row, ident], ['parallel', 'parallel'])} "
        f"ins(%ex, %sm : {t}, {rows}) outs(%fe : {t}) {{\n"
        f"{indent}^bb0(%v: f32, %s: f32, %o: f32):\n"
        f"{indent}  %r = arith.divf %v, %s : f32\n"
        f"{indent}  linalg.yield %r : f32\n{indent}}} -> {t}\n")


class Softmax(Family):
    name = "softmax"
    root_op = "linalg.generic"
    consumer_spans_reduction = True
    pipelines = ("DoubleTilingExpert",)
    budget = (3e4, 4e6)  # elements
    description = ("row softmax of x[M,N] as max-reduce, exp, sum-reduce, divide; "
                   "root = the sum reduction (IREE makes it the root of its dispatch)")

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        # N <= 1024: the elementwise consumer fused after the root reduction is vectorized
        # over all of N. IREE rejects vectors of 16 KiB or more (AVX2), and compile time
        # explodes well before that (a 2x2000 consumer vector takes over a minute).
        return {"M": dim(rng, 4, 8192), "N": dim(rng, 8, 1024)}

    def size(self, s: dict[str, int]) -> float:
        return float(s["M"] * s["N"])

    def _body(self, s: dict[str, int]) -> str:
        t, rows = tensor([s["M"], s["N"]]), tensor([s["M"]])
        return (f"  func.func @main(%x: {t}) -> {t} {{\n"
                + _softmax_ops("x", t, rows, root_on_sum=True)
                + f"    return %x_p : {t}\n  }}\n")


class LayerNorm(Family):
    name = "layernorm"
    root_op = "linalg.generic"
    consumer_spans_reduction = True
    pipelines = ("DoubleTilingExpert",)
    budget = (3e4, 4e6)  # elements
    description = ("y = (x - mean) * rsqrt(var + eps) * gamma + beta over rows of x[M,N]; "
                   "root = the variance reduction")

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        return {"M": dim(rng, 4, 8192), "N": dim(rng, 16, 1024)}  # N bound: see Softmax

    def size(self, s: dict[str, int]) -> float:
        return float(s["M"] * s["N"])

    def _body(self, s: dict[str, int]) -> str:
        M, N = s["M"], s["N"]
        t, rows, vec = tensor([M, N]), tensor([M]), tensor([N])
        ident, row, col = amap(2, [0, 1]), amap(2, [0]), amap(2, [1])
        red = ["parallel", "reduction"]
        par = ["parallel", "parallel"]
        inv_n = f"{1.0 / N:.9e}"
        return (
            f"  func.func @main(%x: {t}, %gamma: {vec}, %beta: {vec}) -> {t} {{\n"
            f"    %zero = arith.constant 0.000000e+00 : f32\n"
            f"    %invn = arith.constant {inv_n} : f32\n"
            f"    %eps = arith.constant 9.99999974E-6 : f32\n"
            f"    %re = tensor.empty() : {rows}\n"
            f"    %s0 = linalg.fill ins(%zero : f32) outs(%re : {rows}) -> {rows}\n"
            f"    %sum = {generic_head([ident, row], red)} ins(%x : {t}) outs(%s0 : {rows}) {{\n"
            f"    ^bb0(%v: f32, %acc: f32):\n"
            f"      %r = arith.addf %v, %acc : f32\n"
            f"      linalg.yield %r : f32\n    }} -> {rows}\n"
            f"    %mean = {generic_head([amap(1, [0])] * 2, ['parallel'])} ins(%sum : {rows}) "
            f"outs(%re : {rows}) {{\n"
            f"    ^bb0(%v: f32, %o: f32):\n"
            f"      %r = arith.mulf %v, %invn : f32\n"
            f"      linalg.yield %r : f32\n    }} -> {rows}\n"
            f"    %var = {generic_head([ident, row, row], red, root=True)} "
            f"ins(%x, %mean : {t}, {rows}) outs(%s0 : {rows}) {{\n"
            f"    ^bb0(%v: f32, %m: f32, %acc: f32):\n"
            f"      %d = arith.subf %v, %m : f32\n"
            f"      %d2 = arith.mulf %d, %d : f32\n"
            f"      %r = arith.addf %d2, %acc : f32\n"
            f"      linalg.yield %r : f32\n    }} -> {rows}\n"
            f"    %fe = tensor.empty() : {t}\n"
            f"    %y = {generic_head([ident, row, row, col, col, ident], par)} "
            f"ins(%x, %mean, %var, %gamma, %beta : {t}, {rows}, {rows}, {vec}, {vec}) "
            f"outs(%fe : {t}) {{\n"
            f"    ^bb0(%v: f32, %m: f32, %q: f32, %g: f32, %b: f32, %o: f32):\n"
            f"      %d = arith.subf %v, %m : f32\n"
            f"      %q1 = arith.mulf %q, %invn : f32\n"
            f"      %q2 = arith.addf %q1, %eps : f32\n"
            f"      %rs = math.rsqrt %q2 : f32\n"
            f"      %n = arith.mulf %d, %rs : f32\n"
            f"      %n1 = arith.mulf %n, %g : f32\n"
            f"      %r = arith.addf %n1, %b : f32\n"
            f"      linalg.yield %r : f32\n    }} -> {t}\n"
            f"    return %y : {t}\n  }}\n")


class Attention(Family):
    name = "attention"
    root_op = "linalg.batch_matmul"
    unit_loops_drop_schedule = False  # a named batch_matmul keeps it (unlike generics)
    pipelines = ("DoubleTilingExpert",)
    budget = (2e6, 3e8)  # FLOPs of the two matmuls
    description = ("softmax(Q K^T * D^-1/2) V with Q[B,S,D], K^T[B,D,L], V[B,L,D]; "
                   "root = the Q K^T batch_matmul")

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        return {"B": dim(rng, 2, 16), "S": dim(rng, 8, 512), "L": dim(rng, 8, 512),
                "D": int(rng.choice([16, 32, 40, 48, 64, 80, 96, 128]))}

    def size(self, s: dict[str, int]) -> float:
        return 4.0 * s["B"] * s["S"] * s["L"] * s["D"]

    def _body(self, s: dict[str, int]) -> str:
        B, S, L, D = s["B"], s["S"], s["L"], s["D"]
        tq, tkt, tv = tensor([B, S, D]), tensor([B, D, L]), tensor([B, L, D])
        ts, ts2, rows = tensor([B, S, L]), tensor([B * S, L]), tensor([B * S])
        scale = f"{1.0 / np.sqrt(D):.9e}"
        # Softmax runs on a [B*S, L] view: collapse_shape is free and keeps one 2-D
        # softmax helper for both families.
        # Outer value names must not collide with the block arguments of the softmax
        # generics (%v, %s, %o, ...): MLIR rejects shadowing inside nested regions.
        return (
            f"  func.func @main(%query: {tq}, %keyt: {tkt}, %value: {tv}) -> {tq} {{\n"
            f"    %z = arith.constant 0.000000e+00 : f32\n"
            f"    %qk_e = tensor.empty() : {ts}\n"
            f"    %qk0 = linalg.fill ins(%z : f32) outs(%qk_e : {ts}) -> {ts}\n"
            f"    %qk = linalg.batch_matmul {ROOT_DICT} ins(%query, %keyt : {tq}, {tkt}) "
            f"outs(%qk0 : {ts}) -> {ts}\n"
            f"    %qk2 = tensor.collapse_shape %qk [[0, 1], [2]] : {ts} into {ts2}\n"
            + _softmax_ops("qk2", ts2, rows, root_on_sum=False, scale=scale)
            + f"    %probs = tensor.expand_shape %qk2_p [[0, 1], [2]] output_shape [{B}, {S}, {L}] "
            f": {ts2} into {ts}\n"
            f"    %out_e = tensor.empty() : {tq}\n"
            f"    %out0 = linalg.fill ins(%z : f32) outs(%out_e : {tq}) -> {tq}\n"
            f"    %out = linalg.batch_matmul ins(%probs, %value : {ts}, {tv}) outs(%out0 : {tq}) "
            f"-> {tq}\n"
            f"    return %out : {tq}\n  }}\n")
