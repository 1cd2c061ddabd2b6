"""Batched SOR and SSOR-preconditioned CG for 5-point stencil systems.

The benchmark needs the iteration count of every (instance, arm) pair: about 10^5
independent solves per sequence. Every system in both sequences has the form
``A = d*I - a*(sum of the 4 grid neighbours)`` on an N x N interior grid with zero
Dirichlet padding, with scalars ``d`` and ``a`` per system. So the pairs are swept
together, one grid point at a time, with the batch as the contiguous inner axis: each
numpy call updates one unknown of every pair at once. The update order and formula are
those of pyamg's ``sor_gauss_seidel`` kernel (row-major, lexicographic), and tests check
the iteration counts against ``tuner.solver.methods`` (pyamg) pair by pair.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tuner.errors import SolverInputError


def _check(d: np.ndarray, a: np.ndarray, omega: np.ndarray, b: np.ndarray, n: int) -> None:
    B = len(d)
    if not (len(a) == len(omega) == B and b.shape == (B, n * n)):
        raise SolverInputError("d, a, omega need one entry per system and b shape (B, N*N)")
    if np.any(omega <= 0) or np.any(omega >= 2):
        raise SolverInputError("omega must lie in (0, 2)")


def _pad(v: np.ndarray, n: int) -> np.ndarray:
    """(B, n*n) -> (n+2, n+2, B) with a zero border."""
    out = np.zeros((n + 2, n + 2, v.shape[0]))
    out[1:-1, 1:-1, :] = v.T.reshape(n, n, -1)
    return out


def _residual_sq(x: np.ndarray, b: np.ndarray, d: np.ndarray, a: np.ndarray,
                 out: np.ndarray) -> np.ndarray:
    """Squared 2-norm of b - A x per system; x padded (n+2, n+2, B), b (n, n, B)."""
    np.add(x[:-2, 1:-1], x[2:, 1:-1], out=out)
    out += x[1:-1, :-2]
    out += x[1:-1, 2:]
    out *= a
    out += b
    out -= d * x[1:-1, 1:-1]
    out *= out
    return out.sum(axis=(0, 1))


def _forward_sweep(x: np.ndarray, b: np.ndarray, a: np.ndarray, d: np.ndarray,
                   omega: np.ndarray, one_minus: np.ndarray, n: int, tmp: np.ndarray) -> None:
    """One forward SOR sweep in place, in pyamg's order of operations:
    rsum over the row's columns in CSR order (up, left, right, down), then
    x_i = (1 - w) x_i + w (b_i - rsum) / d, where rsum = -a * (neighbour sum)."""
    for i in range(1, n + 1):
        up, row, down = x[i - 1], x[i], x[i + 1]
        bi = b[i - 1]
        for j in range(1, n + 1):
            np.add(up[j], row[j - 1], out=tmp)
            tmp += row[j + 1]
            tmp += down[j]
            tmp *= a
            tmp += bi[j - 1]
            tmp /= d
            tmp *= omega
            xi = row[j]
            xi *= one_minus
            xi += tmp


def _backward_sweep(x: np.ndarray, b: np.ndarray, a: np.ndarray, d: np.ndarray,
                    omega: np.ndarray, one_minus: np.ndarray, n: int, tmp: np.ndarray) -> None:
    for i in range(n, 0, -1):
        up, row, down = x[i - 1], x[i], x[i + 1]
        bi = b[i - 1]
        for j in range(n, 0, -1):
            np.add(up[j], row[j - 1], out=tmp)
            tmp += row[j + 1]
            tmp += down[j]
            tmp *= a
            tmp += bi[j - 1]
            tmp /= d
            tmp *= omega
            xi = row[j]
            xi *= one_minus
            xi += tmp


def sor_iterations(d: np.ndarray, a: np.ndarray, omega: np.ndarray, b: np.ndarray, n: int,
                   *, tol: float, maxiter: int, compact_every: int = 16,
                   progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Forward-SOR sweeps from x0 = 0 until ||b - A x|| < tol ||b|| for each system.

    Returns the sweep count per system; ``maxiter + 1`` marks a system that did not converge
    within ``maxiter`` sweeps (censored). Converged systems leave the batch every
    ``compact_every`` sweeps, so the cost follows the sum of iteration counts.
    """
    d, a, omega = (np.asarray(v, dtype=float) for v in (d, a, omega))
    b = np.asarray(b, dtype=float)
    _check(d, a, omega, b, n)
    B = len(d)
    result = np.full(B, maxiter + 1, dtype=np.int64)
    idx = np.arange(B)
    x = np.zeros((n + 2, n + 2, B))
    bb = np.ascontiguousarray(b.T.reshape(n, n, B))
    thresh = (tol ** 2) * np.einsum("ij,ij->i", b, b)
    result[thresh == 0] = 0  # b = 0: x0 = 0 is exact
    active = thresh > 0
    for sweep in range(1, maxiter + 1):
        if sweep == 1 or (sweep % compact_every == 0 and not active.all()):
            keep = np.flatnonzero(active)
            if len(keep) == 0:
                break
            idx, x, bb = idx[keep], np.ascontiguousarray(x[:, :, keep]), np.ascontiguousarray(bb[:, :, keep])
            d, a, omega, thresh = d[keep], a[keep], omega[keep], thresh[keep]
            one_minus = 1.0 - omega
            active = np.ones(len(idx), dtype=bool)
            tmp = np.empty(len(idx))
            rbuf = np.empty((n, n, len(idx)))
        _forward_sweep(x, bb, a, d, omega, one_minus, n, tmp)
        done = active & (_residual_sq(x, bb, d, a, rbuf) < thresh)
        if done.any():
            result[idx[done]] = sweep
            active &= ~done
            if progress is not None:
                progress(int(done.sum()))
    return result


def _apply_ssor(r: np.ndarray, z: np.ndarray, a, d, omega, one_minus, n, tmp) -> None:
    """z = M^-1 r for SSOR: a forward then a backward SOR sweep on A z = r from z = 0."""
    z[...] = 0.0
    _forward_sweep(z, r, a, d, omega, one_minus, n, tmp)
    _backward_sweep(z, r, a, d, omega, one_minus, n, tmp)


def ssor_pcg_iterations(d: np.ndarray, a: np.ndarray, omega: np.ndarray, b: np.ndarray, n: int,
                        *, tol: float, maxiter: int) -> np.ndarray:
    """SSOR-preconditioned CG from x0 = 0 until ||r|| < tol ||b||; ``maxiter + 1`` = censored.

    Mirrors ``tuner.solver.methods.ssor_pcg`` (same recurrences, same stopping rule).
    """
    d, a, omega = (np.asarray(v, dtype=float) for v in (d, a, omega))
    b = np.asarray(b, dtype=float)
    _check(d, a, omega, b, n)
    B = len(d)
    result = np.full(B, maxiter + 1, dtype=np.int64)
    one_minus = 1.0 - omega
    tmp = np.empty(B)
    r = np.zeros((n + 2, n + 2, B))
    r[1:-1, 1:-1] = b.T.reshape(n, n, B)
    x = np.zeros((n, n, B))
    thresh = (tol ** 2) * np.einsum("ij,ij->i", b, b)
    active = thresh > 0
    result[~active] = 0
    z = np.zeros_like(r)
    _apply_ssor(r[1:-1, 1:-1], z, a, d, omega, one_minus, n, tmp)
    p = z.copy()
    rz = np.einsum("ijk,ijk->k", r, z)
    Ap = np.empty((n, n, B))
    for it in range(1, maxiter + 1):
        # Ap = A p on the padded grid.
        np.add(p[:-2, 1:-1], p[2:, 1:-1], out=Ap)
        Ap += p[1:-1, :-2]
        Ap += p[1:-1, 2:]
        Ap *= -a
        Ap += d * p[1:-1, 1:-1]
        pAp = np.einsum("ijk,ijk->k", p[1:-1, 1:-1], Ap)
        alpha = np.where(active, rz / np.where(pAp == 0, 1.0, pAp), 0.0)
        x += alpha * p[1:-1, 1:-1]
        r[1:-1, 1:-1] -= alpha * Ap
        rr = np.einsum("ijk,ijk->k", r, r)
        done = active & (rr < thresh)
        result[done] = it
        active &= ~done
        if not active.any():
            break
        _apply_ssor(r[1:-1, 1:-1], z, a, d, omega, one_minus, n, tmp)
        rz_new = np.einsum("ijk,ijk->k", r, z)
        beta = rz_new / np.where(rz == 0, 1.0, rz)
        rz = rz_new
        p *= beta
        p += z
    return result
