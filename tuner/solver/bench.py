"""`tuner bench solver`: the "Learning to Relax" comparison on precomputed iteration tables.

For each setting and seed: cumulative iterations over the whole sequence and over its
last 20% for omega = 1, the best fixed omega in hindsight, the instance-optimal omega
(best per instance on the grid), the closed-form omega* = 1 + (beta/(1+sqrt(1-beta^2)))^2
snapped to the grid (SOR settings only), and each online strategy playing the sequence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tuner.errors import SolverInputError
from tuner.solver.instances import OMEGAS, SETTINGS
from tuner.solver.table import Table, load_table
from tuner.solver.tuner import ORDERED_TSALLIS, sor_tsallis
from tuner.strategies import STRATEGIES, Strategy, make_strategy

#: The SOR settings' solves (see tuner.solver.instances.synthetic): tolerance and unknowns,
#: what an SOR loop tells `sor_tsallis`.
SOR_SOLVES = {"synthetic-high": (1e-8, 100), "synthetic-low": (1e-8, 100)}

CONTEXT_RANGES = {"synthetic-high": (-0.15, 0.45), "synthetic-low": (0.0, 1.0), "heat": (0.0, 10.0)}

# Strategy options used by the benchmark (the defaults of each class otherwise). An entry
# named other than its strategy says which one it runs under "strategy".
BENCH_STRATEGIES: dict[str, dict[str, Any]] = {
    "tsallis_inf": {},
    # omegas are an ordered grid: neighbouring arms share plays (TsallisINF's smoothing).
    "tsallis_inf_smooth": {"strategy": "tsallis_inf", **ORDERED_TSALLIS},
    # SOR settings only: side observations from Young's theory (tuner.solver.young).
    "tsallis_inf_sor": {"strategy": "tsallis_inf", "sor_side": True},
    "exp3": {},
    "ucb1": {},
    "thompson": {},
    "censored_thompson": {},
    "linucb": {},
    "chebcb": {},
    "random": {},
}


def runs_on(options: Mapping[str, Any], setting: str) -> bool:
    """Whether a bench entry applies to a setting: the SOR side model only to SOR solves
    (Young's theory describes SOR, not SSOR-preconditioned CG)."""
    return not options.get("sor_side") or setting in SOR_SOLVES


def play(table: Table, strategy: str, options: Mapping[str, Any], seed: int,
         before_ask: Callable[[int, Strategy], None] | None = None) -> np.ndarray:
    """Run one strategy online over the sequence; returns the cost paid per instance.
    ``before_ask(t, strategy)`` sees the strategy's state before each round's draw
    (benchmarks/solver_regret.py reads its distribution there)."""
    opts = dict(options)
    strategy = opts.pop("strategy", strategy)
    if not runs_on(opts, table.setting):
        raise SolverInputError(f"{table.setting} is not solved by SOR: no SOR side model")
    if opts.pop("sor_side", False):
        opts.update(sor_tsallis(table.omegas, *SOR_SOLVES[table.setting]))
    if STRATEGIES[strategy].contextual:
        opts.setdefault("context_range", CONTEXT_RANGES.get(table.setting, (-1.0, 1.0)))
    s = make_strategy(strategy, len(table.omegas), seed=seed, **opts)
    iters, ctx, cap = table.iterations, table.contexts.tolist(), table.maxiter
    out = np.empty(len(ctx))
    for t, c in enumerate(ctx):
        if before_ask is not None:
            before_ask(t, s)
        p = s.ask(c)
        k = int(iters[t, p.arm])
        cost = min(k, cap)
        s.tell(p, cost, censored=k > cap, context=c)
        out[t] = cost
    return out


def omega_star_arm(table: Table) -> np.ndarray | None:
    """Grid arm nearest the closed-form optimum for the shifted Laplacian (SOR settings)."""
    if not table.setting.startswith("synthetic"):
        return None
    n = 10
    beta = 4.0 * math.cos(math.pi / (n + 1)) / (4.0 + table.contexts)   # Jacobi spectral radius
    w = 1.0 + (beta / (1.0 + np.sqrt(np.maximum(1.0 - beta ** 2, 0.0)))) ** 2
    return np.abs(w[:, None] - table.omegas[None, :]).argmin(axis=1)


def comparators(table: Table) -> dict[str, np.ndarray]:
    cost = table.cost
    best = int(cost.sum(axis=0).argmin())
    out = {"omega=1": cost[:, int(np.abs(table.omegas - 1.0).argmin())],
           "best_fixed": cost[:, best],
           "instance_optimal": cost.min(axis=1)}
    star = omega_star_arm(table)
    if star is not None:
        out["omega_star_formula"] = cost[np.arange(len(cost)), star]
    return out


#: Strategy seed of play p > 0 on the table of seed s: s + PLAY_STRIDE * p (play 0 uses s).
PLAY_STRIDE = 1000


def run(settings: Sequence[str] = SETTINGS, *, T: int = 5000, seeds: Iterable[int] = (0, 1, 2),
        strategies: Mapping[str, Mapping[str, Any]] | None = None, cache_dir: Path | None = None,
        progress: Callable[[str, int], None] | None = None,
        plays: int = 1) -> dict[str, dict[str, dict[str, Any]]]:
    """setting -> strategy -> {total, last20 (means over seeds), *_std, per_seed, best_omega}.

    ``plays`` > 1 runs every online strategy that many times on each table, with different
    strategy seeds, and counts the mean of its plays as that seed's figure: one play of a
    randomised strategy is one draw (on synthetic-high, smoothed Tsallis-INF's ratio to the
    best fixed omega spreads 1.05-1.09 over plays of one table)."""
    if plays < 1:
        raise ValueError("plays must be at least 1")
    strategies = BENCH_STRATEGIES if strategies is None else strategies
    seeds = list(seeds)
    cut = T - T // 5
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for setting in settings:
        per: dict[str, list[tuple[float, float]]] = {}
        best_omegas = []
        for seed in seeds:
            table = load_table(setting, T, seed, cache_dir=cache_dir,
                               progress=(lambda k: progress("solves", k)) if progress else None)
            best_omegas.append(float(table.omegas[int(table.cost.sum(axis=0).argmin())]))
            runs = dict(comparators(table))
            for name, opts in strategies.items():
                if not runs_on(opts, setting):
                    if progress:
                        progress("plays", plays)
                    continue
                paid = []
                for p in range(plays):
                    paid.append(play(table, name, opts, seed + PLAY_STRIDE * p))
                    if progress:
                        progress("plays", 1)
                runs[name] = np.mean(paid, axis=0)
            for name, c in runs.items():
                per.setdefault(name, []).append((float(c.sum()), float(c[cut:].sum())))
        res = {}
        for name, vals in per.items():
            arr = np.array(vals)
            res[name] = {"total": float(arr[:, 0].mean()), "last20": float(arr[:, 1].mean()),
                         "total_std": float(arr[:, 0].std()), "last20_std": float(arr[:, 1].std()),
                         "per_seed": [{"total": v[0], "last20": v[1]} for v in vals]}
        res["best_fixed"]["omegas"] = best_omegas
        results[setting] = res
    return results


def format_results(results: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    lines = []
    for setting, res in results.items():
        io, bf = res["instance_optimal"], res["best_fixed"]
        lines.append(f"\n{setting}  (best fixed omega per seed: "
                     f"{', '.join(f'{w:.2f}' for w in bf.get('omegas', []))})")
        lines.append(f"  {'strategy':20s} {'total':>12s} {'± sd':>9s} {'/inst-opt':>9s} {'/best-fix':>9s}"
                     f" {'last20%':>11s} {'/inst-opt':>9s} {'/best-fix':>9s}")
        for name, r in res.items():
            lines.append(
                f"  {name:20s} {r['total']:12,.0f} {r['total_std']:9,.0f} {r['total'] / io['total']:9.3f}"
                f" {r['total'] / bf['total']:9.3f} {r['last20']:11,.0f} {r['last20'] / io['last20']:9.3f}"
                f" {r['last20'] / bf['last20']:9.3f}")
    return "\n".join(lines)


__all__ = ["BENCH_STRATEGIES", "OMEGAS", "PLAY_STRIDE", "SOR_SOLVES", "comparators",
           "format_results", "play", "run", "runs_on"]
