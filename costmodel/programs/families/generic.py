"""linalg.generic families: elementwise chains, reductions, and transposes."""

from __future__ import annotations

import numpy as np

from costmodel.programs.families.base import ROOT_ENTRY, Family, dim, tensor



def amap(n: int, results: list[int] | tuple[int, ...]) -> str:
    """affine_map<(d0, .., dn-1) -> (results)>."""
    ds = ", ".join(f"d{i}" for i in range(n))
    return f"affine_map<({ds}) -> ({', '.join(f'd{i}' for i in results)})>"


def generic_head(maps: list[str], iterators: list[str], root: bool = False) -> str:
    its = ", ".join(f'"{it}"' for it in iterators)
    return (f"linalg.generic {{indexing_maps = [{', '.join(maps)}], iterator_types = [{its}]"
            + (ROOT_ENTRY if root else "") + "}")


# Elementwise payloads: (inputs, lines with %x / %y as the input scalars, result name).
# Each is a real activation pattern from ML models, so the transcendental mix is realistic.
_CHAINS: list[tuple[str, str]] = [
    ("exp_mul", """      %t0 = math.exp %x : f32
      %res = arith.mulf %t0, %y : f32
"""),
    ("tanh_bias", """      %t0 = arith.addf %x, %y : f32
      %res = math.tanh %t0 : f32
"""),
    ("gelu_tanh", """      %c0 = arith.constant 0.5 : f32
      %c1 = arith.constant 1.0 : f32
      %c2 = arith.constant 0.797884583 : f32
      %c3 = arith.constant 0.044715 : f32
      %t0 = arith.addf %x, %y : f32
      %t1 = arith.mulf %t0, %t0 : f32
      %t2 = arith.mulf %t1, %t0 : f32
      %t3 = arith.mulf %t2, %c3 : f32
      %t4 = arith.addf %t0, %t3 : f32
      %t5 = arith.mulf %t4, %c2 : f32
      %t6 = math.tanh %t5 : f32
      %t7 = arith.addf %t6, %c1 : f32
      %t8 = arith.mulf %t0, %c0 : f32
      %res = arith.mulf %t8, %t7 : f32
"""),
    ("silu_gate", """      %c1 = arith.constant 1.0 : f32
      %t0 = arith.negf %x : f32
      %t1 = math.exp %t0 : f32
      %t2 = arith.addf %t1, %c1 : f32
      %t3 = arith.divf %x, %t2 : f32
      %res = arith.mulf %t3, %y : f32
"""),
    ("erf_gelu_sqrt", """      %c0 = arith.constant 0.5 : f32
      %c1 = arith.constant 1.0 : f32
      %c2 = arith.constant 0.707106769 : f32
      %t0 = arith.mulf %x, %c2 : f32
      %t1 = math.erf %t0 : f32
      %t2 = arith.addf %t1, %c1 : f32
      %t3 = arith.mulf %x, %t2 : f32
      %t4 = arith.mulf %t3, %c0 : f32
      %t5 = arith.mulf %y, %y : f32
      %t6 = arith.addf %t5, %c1 : f32
      %t7 = math.sqrt %t6 : f32
      %res = arith.divf %t4, %t7 : f32
"""),
    ("softplus_log", """      %c1 = arith.constant 1.0 : f32
      %t0 = math.exp %x : f32
      %t1 = arith.addf %t0, %c1 : f32
      %t2 = math.log %t1 : f32
      %res = arith.subf %t2, %y : f32
"""),
]
ELEMENTWISE_CHAINS = tuple(name for name, _ in _CHAINS)


#: Operand layouts, each one IREE cannot collapse to fewer loops. IREE's CollapseDimensions
#: pass rebuilds collapsible ops and drops their compilation_info, so e.g. a plain 2-D
#: identity op (which IREE turns 1-D) is rendered 1-D in the first place.
#: (rank, loop dims the second operand y indexes)
_LAYOUTS = (
    (1, (0,)),  # y[D0] same shape as x
    (2, (1,)),  # y[D1]: a bias row broadcast over rows
    (2, (0,)),  # y[D0]: a per-row scale broadcast over columns
    (3, (0, 2)),  # y[D0, D2]: broadcast over the middle dim
)


class Elementwise(Family):
    name = "elementwise"
    root_op = "linalg.generic"
    pipelines = ("DoubleTilingExpert",)
    budget = (3e4, 4e6)  # elements
    description = ("out = f(x, y) with exp/tanh/erf/log/sqrt chains; layouts 1-D, 2-D with a "
                   "row or column broadcast, 3-D with a middle-dim broadcast")

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        layout = int(rng.choice(len(_LAYOUTS), p=[0.3, 0.3, 0.2, 0.2]))
        s = {"CHAIN": int(rng.integers(len(_CHAINS))), "LAYOUT": layout}
        rank = _LAYOUTS[layout][0]
        if rank == 1:
            s["D0"] = dim(rng, 1000, 4_000_000)
        elif rank == 2:
            s.update(D0=dim(rng, 8, 4096), D1=dim(rng, 8, 4096))
        else:
            s.update(D0=dim(rng, 2, 64), D1=dim(rng, 4, 512), D2=dim(rng, 8, 1024))
        return s

    def size(self, s: dict[str, int]) -> float:
        return float(np.prod([v for k, v in s.items() if k.startswith("D")]))

    def _body(self, s: dict[str, int]) -> str:
        rank, ydims = _LAYOUTS[s["LAYOUT"]]
        shape = [s[f"D{i}"] for i in range(rank)]
        t = tensor(shape)
        ty = tensor([shape[d] for d in ydims])
        ident = amap(rank, range(rank))
        head = generic_head([ident, amap(rank, ydims), ident], ["parallel"] * rank, root=True)
        _, payload = _CHAINS[s["CHAIN"]]
        return (f"  func.func @main(%a: {t}, %b: {ty}) -> {t} {{\n"
                f"    %e = tensor.empty() : {t}\n"
                f"    %r = {head} "
                f"ins(%a, %b : {t}, {ty}) outs(%e : {t}) {{\n"
                f"    ^bb0(%x: f32, %y: f32, %o: f32):\n{payload}"
                f"      linalg.yield %res : f32\n    }} -> {t}\n"
                f"    return %r : {t}\n  }}\n")


_REDUCE_OPS = {  # name: (init constant, combiner lines over %x and %acc)
    0: ("0.000000e+00", "      %res = arith.addf %x, %acc : f32\n"),  # sum
    1: ("0xFF800000", "      %res = arith.maximumf %x, %acc : f32\n"),  # max, init -inf
    2: ("0.000000e+00", "      %sq = arith.mulf %x, %x : f32\n"
                        "      %res = arith.addf %sq, %acc : f32\n"),  # sum of squares
}


class Reduction(Family):
    name = "reduction"
    root_op = "linalg.generic"
    pipelines = ("DoubleTilingExpert",)
    budget = (6e4, 8e6)  # input elements
    description = "sum / max / sum-of-squares of x[M,N] over N (AXIS=1) or M (AXIS=0)"

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        return {"M": dim(rng, 4, 8192), "N": dim(rng, 4, 8192),
                "AXIS": int(rng.random() < 0.3), "OP": int(rng.integers(len(_REDUCE_OPS)))}

    def size(self, s: dict[str, int]) -> float:
        return float(s["M"] * s["N"])

    def _body(self, s: dict[str, int]) -> str:
        M, N = s["M"], s["N"]
        t = tensor([M, N])
        # Loops are always (kept dim, reduced dim): IREE interchanges reductions innermost
        # before configuring, so writing that order keeps the tile vectors aligned.
        if s["AXIS"] == 1:
            out, in_map = tensor([M]), amap(2, [0, 1])
        else:
            out, in_map = tensor([N]), amap(2, [1, 0])
        init, combine = _REDUCE_OPS[s["OP"]]
        head = generic_head([in_map, amap(2, [0])], ["parallel", "reduction"], root=True)
        return (f"  func.func @main(%a: {t}) -> {out} {{\n"
                f"    %init = arith.constant {init} : f32\n"
                f"    %e = tensor.empty() : {out}\n"
                f"    %acc0 = linalg.fill ins(%init : f32) outs(%e : {out}) -> {out}\n"
                f"    %r = {head} "
                f"ins(%a : {t}) outs(%acc0 : {out}) {{\n"
                f"    ^bb0(%x: f32, %acc: f32):\n{combine}"
                f"      linalg.yield %res : f32\n    }} -> {out}\n"
                f"    return %r : {out}\n  }}\n")


_PERMS = ((1, 0), (0, 2, 1), (1, 0, 2), (2, 1, 0))


class Transpose(Family):
    name = "transpose"
    root_op = "linalg.generic"
    pipelines = ("DoubleTilingExpert",)
    budget = (6e4, 4e6)  # elements
    description = "2-D or 3-D f32 transpose, as a copy generic over the input's dims"
    # IREE's transpose propagation rebuilds lone transposes and drops their
    # compilation_info; with nothing to propagate into, turning it off changes nothing else.
    extra_flags = ("--iree-global-opt-propagate-transposes=false",)

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        p = int(rng.integers(len(_PERMS)))
        if len(_PERMS[p]) == 2:
            return {"PERM": p, "D0": dim(rng, 8, 4096), "D1": dim(rng, 8, 4096)}
        return {"PERM": p, "D0": dim(rng, 2, 256), "D1": dim(rng, 4, 512), "D2": dim(rng, 4, 512)}

    def size(self, s: dict[str, int]) -> float:
        return float(np.prod([v for k, v in s.items() if k.startswith("D")]))

    def _body(self, s: dict[str, int]) -> str:
        # IREE canonicalizes a transpose to loops over the input's dims (input map identity,
        # output map permuted) before configuring; rendering that form keeps tiles aligned.
        perm = _PERMS[s["PERM"]]
        n = len(perm)
        shape = [s[f"D{i}"] for i in range(n)]
        t_in, t_out = tensor(shape), tensor([shape[p] for p in perm])
        maps = [amap(n, range(n)), amap(n, perm)]
        return (f"  func.func @main(%a: {t_in}) -> {t_out} {{\n"
                f"    %e = tensor.empty() : {t_out}\n"
                f"    %r = {generic_head(maps, ['parallel'] * n, root=True)} "
                f"ins(%a : {t_in}) outs(%e : {t_out}) {{\n"
                f"    ^bb0(%x: f32, %o: f32):\n"
                f"      linalg.yield %x : f32\n    }} -> {t_out}\n"
                f"    return %r : {t_out}\n  }}\n")
