"""Instance sequences: the paper's shifted-Laplacian sequence and a 2D heat equation.

Every system is ``A_t = d_t I - a_t (grid neighbours)`` on an N x N interior grid, so the
batched stencil kernels can solve them; ``matrix(t)`` gives the same system as scipy CSR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from tuner.errors import SolverInputError

OMEGAS: tuple[float, ...] = tuple(float(w) for w in np.linspace(1.0, 1.95, 20))


def laplacian_2d(n: int) -> sp.csr_array:
    """5-point Laplacian (diagonal 4, neighbours -1) on an n x n interior grid, row-major."""
    if n < 1:
        raise SolverInputError("grid size must be >= 1")
    t = sp.diags_array([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], offsets=[-1, 0, 1])
    eye = sp.eye_array(n)
    return sp.csr_array(sp.kron(t, eye) + sp.kron(eye, t))


@dataclass(frozen=True)
class Sequence:
    name: str
    grid: int               # N: the systems are N*N unknowns
    method: str             # "sor" or "ssor_pcg"
    contexts: np.ndarray    # (T,) the scalar context a contextual strategy sees
    d: np.ndarray           # (T,) diagonal
    a: np.ndarray           # (T,) neighbour coupling (off-diagonals are -a)
    b: np.ndarray           # (T, N*N) right-hand sides
    tol: float = 1e-8
    maxiter: int = 10_000

    def __len__(self) -> int:
        return len(self.d)

    def matrix(self, t: int) -> sp.csr_array:
        lap = laplacian_2d(self.grid)
        off = lap - sp.diags_array(lap.diagonal())      # -(neighbour adjacency)
        return sp.csr_array(self.a[t] * off + self.d[t] * sp.eye_array(self.grid ** 2))


def synthetic(T: int = 5000, *, seed: int = 0, variant: str = "high") -> Sequence:
    """Khodak et al.: A_t = A + c_t I, A the 5-point Laplacian of numgrid('S',12) (n = 100).

    c_t = -0.15 + 0.6 Beta(0.5, 1.5) ("high" variance) or Beta(2, 6) ("low");
    b_t ~ N(0, I); tolerance 1e-8, cap 10,000 SOR sweeps.
    """
    rng = np.random.default_rng(seed)
    if variant == "high":
        c = -0.15 + 0.6 * rng.beta(0.5, 1.5, size=T)
    elif variant == "low":
        c = rng.beta(2.0, 6.0, size=T)
    else:
        raise SolverInputError(f"unknown synthetic variant {variant!r} (high or low)")
    n = 10
    b = rng.standard_normal((T, n * n))
    return Sequence(f"synthetic-{variant}", n, "sor", c, 4.0 + c, np.ones(T), b)


def diffusion(t: np.ndarray) -> np.ndarray:
    """The paper's time-varying coefficient max(0.1 sin 2 pi t, -10 sin 2 pi t)."""
    s = np.sin(2 * np.pi * t)
    return np.maximum(0.1 * s, -10.0 * s)


def heat(T: int = 5000, *, seed: int = 0, grid: int = 12, dt: float = 0.01,
         periods: float = 10.0) -> Sequence:
    """2D heat equation u_t = kappa(t) Lap u + f on the unit square, zero Dirichlet walls.

    Crank-Nicolson: (I + dt kappa/2 L_h) u^{k+1} = (I - dt kappa/2 L_h) u^k + dt f^k with
    L_h = -Lap_h (grid spacing h = 1/(grid+1)). kappa follows ``diffusion`` over ``periods``
    periods in T steps; f is 1 plus 10% noise so the state never decays to zero. The
    trajectory is computed once with a direct solver, so every (step, omega) solve is
    independent. Solver: SSOR-preconditioned CG, tolerance 1e-8. Context: kappa.
    """
    rng = np.random.default_rng(seed)
    n = grid
    h2 = 1.0 / (n + 1) ** 2
    L = laplacian_2d(n) / h2
    eye = sp.eye_array(n * n, format="csc")
    kappa = diffusion(np.arange(1, T + 1) * periods / T)
    alpha = dt * kappa / 2.0 / h2          # A = (1 + 4 alpha) I - alpha * neighbours
    u = np.zeros(n * n)
    b = np.empty((T, n * n))
    for k in range(T):
        f = 1.0 + 0.1 * rng.standard_normal(n * n)
        b[k] = u - (dt * kappa[k] / 2.0) * (L @ u) + dt * f
        A = sp.csc_array(eye + (dt * kappa[k] / 2.0) * L)
        u = spla.spsolve(A, b[k])
    return Sequence("heat", n, "ssor_pcg", kappa, 1.0 + 4.0 * alpha, alpha, b)


SETTINGS = ("synthetic-high", "synthetic-low", "heat")


def make_sequence(setting: str, T: int, seed: int) -> Sequence:
    if setting == "synthetic-high":
        return synthetic(T, seed=seed, variant="high")
    if setting == "synthetic-low":
        return synthetic(T, seed=seed, variant="low")
    if setting == "heat":
        return heat(T, seed=seed)
    raise SolverInputError(f"unknown setting {setting!r}; choose from {', '.join(SETTINGS)}")
