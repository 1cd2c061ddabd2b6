"""The `tuner` command line: benchmarks and study inspection."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from costmodel import __version__
from costmodel.errors import CostModelError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tuner", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tuner {__version__}")
    sub = parser.add_subparsers(dest="command")

    bench = sub.add_parser("bench", help="reproducible tuning benchmarks")
    bsub = bench.add_subparsers(dest="bench_command", required=True)
    sol = bsub.add_parser("solver", help='the "Learning to Relax" SOR/SSOR-CG comparison')
    sol.add_argument("--json", action="store_true",
                     help="print setting -> strategy -> {total, last20, ...} as JSON")
    sol.add_argument("--T", type=int, default=5000, help="instances per sequence (default 5000)")
    sol.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    sol.add_argument("--settings", nargs="+", default=None,
                     help="synthetic-high, synthetic-low, heat (default: all)")
    sol.add_argument("--strategies", nargs="+", default=None,
                     help="online strategies to run (default: the benchmark set)")
    sol.add_argument("--cache-dir", type=Path, default=None,
                     help="where iteration tables are cached (default $TUNER_CACHE_DIR or "
                          "~/.cache/costmodel-tuner/solver)")
    sol.add_argument("--no-progress", action="store_true")

    studies = sub.add_parser("studies", help="list the studies in a store")
    studies.add_argument("--storage", required=True, help="e.g. sqlite:///tuning.db")
    studies.add_argument("--json", action="store_true")
    sol.set_defaults(func=_bench_solver)
    studies.set_defaults(func=_studies)
    # Each capability registers its own subcommands (and `tuner bench` entries) here.
    for add_parsers in _extensions():
        add_parsers(sub, bsub)
    return parser


def _extensions() -> list:
    """`add_parsers(sub, bench_sub)` of every command module; imported lazily by each."""
    return []


def _bench_solver(args: argparse.Namespace) -> int:
    from tuner.errors import SolverInputError
    from tuner.solver import bench
    from tuner.solver.instances import OMEGAS, SETTINGS
    from tuner.strategies import STRATEGIES

    settings = args.settings or list(SETTINGS)
    for s in settings:
        if s not in SETTINGS:
            raise SolverInputError(f"unknown setting {s!r}; choose from {', '.join(SETTINGS)}")
    if args.T < 10:
        raise SolverInputError("--T must be at least 10")
    strategies = bench.BENCH_STRATEGIES
    if args.strategies:
        unknown = [s for s in args.strategies if s not in STRATEGIES]
        if unknown:
            raise SolverInputError(f"unknown strategies {unknown}; one of {', '.join(sorted(STRATEGIES))}")
        strategies = {s: bench.BENCH_STRATEGIES.get(s, {}) for s in args.strategies}
    progress = None
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=len(settings) * len(args.seeds) * args.T * len(OMEGAS), unit="solve",
                   unit_scale=True, desc="iteration tables", file=sys.stderr, leave=False)
        plays = [0]

        def progress(kind: str, k: int) -> None:
            if kind == "solves":
                bar.update(k)
            else:
                plays[0] += k
                bar.set_postfix(strategy_runs=plays[0])
    try:
        results = bench.run(settings, T=args.T, seeds=args.seeds, strategies=strategies,
                            cache_dir=args.cache_dir, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"cumulative iterations, mean over seeds {args.seeds}, T = {args.T}; "
              "ratios are of the means")
        print(bench.format_results(results))
    return 0


def _studies(args: argparse.Namespace) -> int:
    from tuner.store import open_storage
    from tuner.study import Study

    store = open_storage(args.storage)
    rows = []
    for rec in store.list_studies():
        study = Study(store, rec)
        trials = study.trials()
        best = study.best()
        rows.append({"name": rec.name, "strategy": rec.config["strategy"], "trials": len(trials),
                     "complete": sum(t.complete for t in trials),
                     "best": None if best is None else {"params": best.params, "value": best.value}})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['name']}: {r['strategy']}, {r['complete']}/{r['trials']} reported, best {r['best']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        func = getattr(args, "func", None)
        if func is not None:
            return func(args)
    except CostModelError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:          # e.g. `tuner bench solver --json | head`
        sys.stderr.close()
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
