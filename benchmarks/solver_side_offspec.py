"""Tsallis-INF with SOR side observations away from the sequences it was designed on.

    .venv/bin/python benchmarks/solver_side_offspec.py [--seeds 0 1 2] [--json]

Four sequences no choice of the side model was made on, each played by plain, smoothed and
side-informed Tsallis-INF (ratio of cumulative iterations to the best fixed omega, whole
run and last 20%):

* ``grid16-tol1e-6`` and ``grid8-tol1e-10``: shifted 5-point Laplacians (consistently
  ordered, as the model assumes) on other grids, tolerances and shift distributions;
* ``ninepoint``: a shifted 9-point Laplacian (8 x 8), which is *not* consistently ordered;
* ``graph``: a shifted Laplacian of a random geometric graph (64 nodes), neither a stencil
  nor consistently ordered.

The first two use the batched stencil kernels (T = 2000); the last two solve 200 systems
per omega with pyamg's SOR and play T = 2000 draws from them (about a minute and a half).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from costmodel.cli_args import random_seed  # noqa: E402
from tuner.solver.bench import play  # noqa: E402
from tuner.solver.instances import OMEGAS, Sequence  # noqa: E402
from tuner.solver.methods import sor_solve  # noqa: E402
from tuner.solver.table import Table, compute_table  # noqa: E402
from tuner.solver.tuner import ORDERED_TSALLIS, sor_tsallis  # noqa: E402

T = 2000
CAP = 10_000


def stencil_table(n: int, tol: float) -> tuple[Table, float, int]:
    """A shifted 5-point Laplacian sequence on an n x n grid (stencil kernels)."""
    rng = np.random.default_rng(11)
    lam_min = 4 - 4 * np.cos(np.pi / (n + 1))
    c = -0.9 * lam_min + rng.beta(0.7, 2.0, size=T) * 0.8
    seq = Sequence(f"grid{n}", n, "sor", c, 4.0 + c, np.ones(T), rng.standard_normal((T, n * n)),
                   tol=tol, maxiter=CAP)
    return Table(seq.name, compute_table(seq), c, np.asarray(OMEGAS), CAP), tol, n * n


def matrix_table(name: str, A0: sp.csr_array, systems: int = 200) -> tuple[Table, float, int]:
    """``systems`` shifted copies of A0 solved by pyamg SOR at every omega; T draws of them."""
    rng = np.random.default_rng(5)
    N = A0.shape[0]
    lam_min = float(np.linalg.eigvalsh(A0.toarray()).min())
    shifts = -0.9 * lam_min + rng.beta(0.5, 1.5, systems) * 2.0
    it = np.zeros((systems, len(OMEGAS)), int)
    for m, c in enumerate(shifts):
        A = sp.csr_array(A0 + c * sp.eye_array(N))
        b = rng.standard_normal(N)
        for k, w in enumerate(OMEGAS):
            r = sor_solve(A, b, w, tol=1e-8, maxiter=CAP)
            it[m, k] = r.iterations if r.converged else CAP + 1
    idx = rng.integers(0, systems, T)
    return Table(name, it[idx], shifts[idx], np.asarray(OMEGAS), CAP), 1e-8, N


def ninepoint(n: int = 8) -> sp.csr_array:
    eye = sp.eye_array(n)
    off = sp.diags_array([np.ones(n - 1), np.ones(n - 1)], offsets=[-1, 1])
    adj = sp.kron(off, eye) + sp.kron(eye, off) + sp.kron(off, off)
    return sp.csr_array(8.0 * sp.eye_array(n * n) - adj)


def graph_laplacian(nodes: int = 64, radius2: float = 0.06) -> sp.csr_array:
    g = np.random.default_rng(9).random((nodes, 2))
    d2 = ((g[:, None, :] - g[None, :, :]) ** 2).sum(-1)
    w = ((d2 < radius2) & (d2 > 0)).astype(float)
    return sp.csr_array(sp.diags_array(w.sum(1)) - sp.csr_array(w))


def ratios(table: Table, tol: float, unknowns: int, seeds: list[int]) -> dict:
    cost = table.cost
    best_arm = int(cost.sum(0).argmin())
    best, cut = cost[:, best_arm].sum(), len(cost) - len(cost) // 5
    best_last = cost[cut:, best_arm].sum()
    out = {"best_fixed_omega": float(OMEGAS[best_arm])}
    for name, opts in (("plain", {}), ("smoothed", dict(ORDERED_TSALLIS)),
                       ("sor_side", sor_tsallis(OMEGAS, tol, unknowns))):
        paid = [play(table, "tsallis_inf", opts, s) for s in seeds]
        out[name] = {"total": float(np.mean([p.sum() / best for p in paid])),
                     "last20": float(np.mean([p[cut:].sum() / best_last for p in paid]))}
    return out


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=random_seed, nargs="+", default=[0, 1, 2])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    builds = {"grid16-tol1e-6": lambda: stencil_table(16, 1e-6),
              "grid8-tol1e-10": lambda: stencil_table(8, 1e-10),
              "ninepoint": lambda: matrix_table("ninepoint", ninepoint()),
              "graph": lambda: matrix_table("graph", graph_laplacian())}
    res = {}
    for name, build in tqdm(builds.items(), unit="sequence", file=sys.stderr,
                            disable=args.json):
        res[name] = ratios(*build(), args.seeds)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print("ratio to the best fixed omega, whole run / last 20%, mean over seeds "
          f"{args.seeds}")
    print(f"  {'sequence':16s} {'plain':>15s} {'smoothed':>15s} {'SOR side obs.':>15s}")
    for name, r in res.items():
        cells = [f"{r[k]['total']:.3f} / {r[k]['last20']:.3f}" for k in
                 ("plain", "smoothed", "sor_side")]
        print(f"  {name:16s} " + " ".join(f"{c:>15s}" for c in cells))
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
