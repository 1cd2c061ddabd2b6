"""SOR and SSOR-preconditioned CG on scipy sparse matrices, with pyamg's SOR sweep.

Note: pyamg 5.4's ``sor(..., sweep="symmetric")`` forwards to symmetric Gauss-Seidel
*without* omega, so SSOR here is an explicit forward then backward ``sor`` sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from pyamg.relaxation.relaxation import sor

from tuner.errors import SolverInputError


@dataclass(frozen=True)
class SolveResult:
    x: np.ndarray
    iterations: int      # sweeps (SOR) or CG iterations until the tolerance was met
    converged: bool      # False: the cap was hit, the count is censored at maxiter
    residual: float      # final relative residual ||b - A x|| / ||b||


def _prepare(A, b, omega: float) -> tuple[sp.csr_array, np.ndarray]:
    if not sp.issparse(A):
        raise SolverInputError("A must be a scipy sparse matrix")
    A = sp.csr_array(A, dtype=float)
    A.sort_indices()
    b = np.asarray(b, dtype=float).ravel()
    if A.shape[0] != A.shape[1] or A.shape[0] != b.shape[0]:
        raise SolverInputError(f"shape mismatch: A {A.shape}, b {b.shape}")
    if not 0.0 < omega < 2.0:
        raise SolverInputError(f"omega must lie in (0, 2), got {omega}")
    if np.any(A.diagonal() == 0):
        raise SolverInputError("A has a zero on its diagonal")
    return A, b


def sor_solve(A, b, omega: float, *, tol: float = 1e-8, maxiter: int = 10_000,
              x0: np.ndarray | None = None) -> SolveResult:
    """Forward SOR sweeps until ||b - A x|| < tol ||b|| (checked after every sweep)."""
    A, b = _prepare(A, b, omega)
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=float).ravel()
    nb = float(np.linalg.norm(b))
    if nb == 0.0:
        return SolveResult(np.zeros_like(b), 0, True, 0.0)
    res = float(np.linalg.norm(b - A @ x)) / nb
    if res < tol:
        return SolveResult(x, 0, True, res)
    for it in range(1, maxiter + 1):
        sor(A, x, b, omega, iterations=1, sweep="forward")
        res = float(np.linalg.norm(b - A @ x)) / nb
        if res < tol:
            return SolveResult(x, it, True, res)
    return SolveResult(x, maxiter, False, res)


def ssor_apply(A: sp.csr_array, r: np.ndarray, omega: float) -> np.ndarray:
    """z = M^-1 r for the SSOR preconditioner: forward then backward SOR sweep from 0."""
    z = np.zeros_like(r)
    sor(A, z, r, omega, iterations=1, sweep="forward")
    sor(A, z, r, omega, iterations=1, sweep="backward")
    return z


def ssor_pcg(A, b, omega: float, *, tol: float = 1e-8, maxiter: int = 10_000,
             x0: np.ndarray | None = None) -> SolveResult:
    """Conjugate gradients preconditioned by SSOR(omega), for SPD A; stops on ||r|| < tol ||b||."""
    A, b = _prepare(A, b, omega)
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=float).ravel()
    nb = float(np.linalg.norm(b))
    if nb == 0.0:
        return SolveResult(np.zeros_like(b), 0, True, 0.0)
    r = b - A @ x
    if np.linalg.norm(r) < tol * nb:
        return SolveResult(x, 0, True, float(np.linalg.norm(r)) / nb)
    z = ssor_apply(A, r, omega)
    p = z.copy()
    rz = float(r @ z)
    for it in range(1, maxiter + 1):
        Ap = A @ p
        pAp = float(p @ Ap)
        if pAp <= 0:
            raise SolverInputError("A is not positive definite (p^T A p <= 0 in CG)")
        alpha = rz / pAp
        x += alpha * p
        r -= alpha * Ap
        rn = float(np.linalg.norm(r))
        if rn < tol * nb:
            return SolveResult(x, it, True, rn / nb)
        z = ssor_apply(A, r, omega)
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return SolveResult(x, maxiter, False, float(np.linalg.norm(r)) / nb)
