"""Matmul-like families: matmul, batch_matmul, matvec (named linalg ops with a zero fill)."""

from __future__ import annotations

import numpy as np

from costmodel.programs.families.base import ROOT_DICT, Family, dim, tensor


def _contraction(op: str, args: list[tuple[str, list[int]]], out: list[int]) -> str:
    """func @main(args) -> out: zero-filled accumulator, then the named root op."""
    to = tensor(out)
    names = ", ".join(f"%{n}" for n, _ in args)
    types = ", ".join(tensor(s) for _, s in args)
    sig = ", ".join(f"%{n}: {tensor(s)}" for n, s in args)
    return (f"  func.func @main({sig}) -> {to} {{\n"
            f"    %zero = arith.constant 0.000000e+00 : f32\n"
            f"    %acc_e = tensor.empty() : {to}\n"
            f"    %acc = linalg.fill ins(%zero : f32) outs(%acc_e : {to}) -> {to}\n"
            f"    %r = {op} {ROOT_DICT} ins({names} : {types}) outs(%acc : {to}) -> {to}\n"
            f"    return %r : {to}\n  }}\n")


class Matmul(Family):
    name = "matmul"
    root_op = "linalg.matmul"
    pipelines = ("DoubleTilingExpert",)
    unit_loops_drop_schedule = False
    budget = (2e6, 4e8)  # FLOPs
    description = "C[M,N] = A[M,K] @ B[K,N], f32"

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        return {"M": dim(rng, 8, 1024), "N": dim(rng, 8, 1024), "K": dim(rng, 8, 1024)}

    def size(self, s: dict[str, int]) -> float:
        return 2.0 * s["M"] * s["N"] * s["K"]

    def _body(self, s: dict[str, int]) -> str:
        M, N, K = s["M"], s["N"], s["K"]
        return _contraction("linalg.matmul", [("a", [M, K]), ("b", [K, N])], [M, N])


class BatchMatmul(Family):
    name = "batch_matmul"
    root_op = "linalg.batch_matmul"
    pipelines = ("DoubleTilingExpert",)
    unit_loops_drop_schedule = False
    budget = (2e6, 4e8)
    description = "C[B,M,N] = A[B,M,K] @ B[B,K,N], f32"

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        return {"B": dim(rng, 2, 48), "M": dim(rng, 8, 512), "N": dim(rng, 8, 512),
                "K": dim(rng, 8, 512)}

    def size(self, s: dict[str, int]) -> float:
        return 2.0 * s["B"] * s["M"] * s["N"] * s["K"]

    def _body(self, s: dict[str, int]) -> str:
        B, M, N, K = s["B"], s["M"], s["N"], s["K"]
        return _contraction("linalg.batch_matmul", [("a", [B, M, K]), ("b", [B, K, N])],
                            [B, M, N])


class Matvec(Family):
    name = "matvec"
    root_op = "linalg.matvec"
    pipelines = ("DoubleTilingExpert",)
    unit_loops_drop_schedule = False
    budget = (2e5, 4e6)  # matrix elements: it is memory-bound
    description = "y[M] = A[M,K] @ x[K], f32"

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        return {"M": dim(rng, 16, 8192), "K": dim(rng, 16, 8192)}

    def size(self, s: dict[str, int]) -> float:
        return float(s["M"] * s["K"])

    def _body(self, s: dict[str, int]) -> str:
        M, K = s["M"], s["K"]
        return _contraction("linalg.matvec", [("a", [M, K]), ("x", [K])], [M])
