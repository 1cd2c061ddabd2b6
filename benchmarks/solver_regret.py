"""Where does an online strategy's excess over the best fixed omega go: which omegas, when?

For each table (setting, seed) and play, every round adds each arm's probability times its
excess cost over the best fixed omega on that instance (the *expected* excess of the round,
not the one draw), split by arm and by phase of the sequence; so do the expected plays.
Figures are shares of the best fixed omega's total, means over tables and plays:

    .venv/bin/python benchmarks/solver_regret.py [--setting synthetic-high]
        [--strategy tsallis_inf_smooth] [--seeds 0 1 2] [--plays 5] [--json]

Strategies that expose their distribution (``p``: EXP3, Tsallis-INF) are supported; the
iteration tables come from `tuner bench solver`'s cache (computed on first use).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from costmodel.cli_args import int_at_least, positive_int, random_seed  # noqa: E402

PHASES = (0, 100, 500, 1000, 2000, 3000, 4000, 5000)


def excess(table, name: str, options: dict, seed: int, phases: list[int]) -> tuple:
    """(expected excess by phase x arm, expected plays by phase x arm) of one play."""
    from tuner.solver.bench import play

    cost = table.cost.astype(float)
    best = int(cost.sum(axis=0).argmin())
    ex = np.zeros((len(phases) - 1, cost.shape[1]))
    plays = np.zeros_like(ex)
    phase = np.searchsorted(phases, np.arange(len(cost)), side="right") - 1

    def before_ask(t: int, strategy) -> None:
        p = np.asarray(strategy.p)
        ex[phase[t]] += p * (cost[t] - cost[t, best])
        plays[phase[t]] += p

    play(table, name, options, seed, before_ask=before_ask)
    return ex / cost[:, best].sum(), plays


def main(argv: list[str] | None = None) -> int:
    from tuner.solver.bench import BENCH_STRATEGIES, PLAY_STRIDE, SOR_SOLVES, runs_on
    from tuner.solver.instances import SETTINGS
    from tuner.solver.table import load_table
    from tuner.strategies import STRATEGIES

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--setting", default="synthetic-high", choices=SETTINGS)
    ap.add_argument("--strategy", default="tsallis_inf_smooth",
                    help="a `tuner bench solver` entry (default tsallis_inf_smooth)")
    ap.add_argument("--seeds", type=random_seed, nargs="+", default=[0, 1, 2])
    ap.add_argument("--plays", type=positive_int, default=5)
    ap.add_argument("--T", type=int_at_least(10), default=5000)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if args.strategy not in BENCH_STRATEGIES:
        ap.error(f"unknown strategy {args.strategy!r}; one of {', '.join(BENCH_STRATEGIES)}")
    opts = dict(BENCH_STRATEGIES[args.strategy])
    if not runs_on(opts, args.setting):
        ap.error(f"{args.strategy} needs an SOR setting ({', '.join(SOR_SOLVES)}); "
                 f"{args.setting} is solved by SSOR-preconditioned CG")
    if not hasattr(STRATEGIES[opts.pop("strategy", args.strategy)], "_set_p"):
        ap.error(f"{args.strategy} does not keep a distribution over the omegas (EXP3 and "
                 f"Tsallis-INF entries do)")
    phases = sorted({min(p, args.T) for p in PHASES} | {args.T})
    ex_sum, play_sum, n, omegas = 0.0, 0.0, 0, None
    for seed in args.seeds:
        table = load_table(args.setting, args.T, seed)
        omegas = table.omegas
        for k in range(args.plays):
            ex, plays = excess(table, args.strategy, BENCH_STRATEGIES[args.strategy],
                               seed + PLAY_STRIDE * k, phases)
            ex_sum, play_sum, n = ex_sum + ex, play_sum + plays, n + 1
    ex, plays = ex_sum / n, play_sum / n
    res = {"setting": args.setting, "strategy": args.strategy, "seeds": args.seeds,
           "plays": args.plays, "omegas": [round(float(w), 4) for w in omegas],
           "excess_total": float(ex.sum()),
           "excess_by_arm": ex.sum(axis=0).tolist(), "plays_by_arm": plays.sum(axis=0).tolist(),
           "phases": [{"rounds": [phases[i], phases[i + 1]], "excess": float(ex[i].sum()),
                       "excess_by_arm": ex[i].tolist()} for i in range(len(phases) - 1)]}
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"{args.strategy} on {args.setting}, seeds {args.seeds}, {args.plays} plays each: "
          f"expected excess {ex.sum():.4f} of the best fixed omega's total")
    print(f"{'rounds':>11s} {'excess':>7s}  " + " ".join(f"{w:5.2f}" for w in omegas))
    for i in range(len(phases) - 1):
        print(f"{phases[i]:5d}-{phases[i + 1]:5d} {ex[i].sum():7.4f}  "
              + " ".join(f"{1000 * v:5.1f}" for v in ex[i]))
    print(f"{'all':>11s} {ex.sum():7.4f}  " + " ".join(f"{1000 * v:5.1f}" for v in ex.sum(0)))
    print(f"{'plays':>11s} {'':7s}  " + " ".join(f"{v:5.0f}" for v in plays.sum(0)))
    print("(per arm: thousandths of the best fixed omega's total; plays: expected count)")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
