"""The `tuner` command line: benchmarks and study inspection."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from costmodel import __version__
from costmodel.cli_args import positive_int, random_seed
from costmodel.errors import CostModelError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tuner", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tuner {__version__}")
    sub = parser.add_subparsers(dest="command")

    bench = sub.add_parser("bench", help="reproducible tuning benchmarks")
    scheduler_help = ("Dask scheduler, e.g. tcp://HOST:8786 (default: $COSTMODEL_SCHEDULER, "
                      "else local; 'local' forces local)")
    bench.add_argument("--scheduler", default=None, help=scheduler_help)
    bsub = bench.add_subparsers(dest="bench_command", required=True)
    sol = bsub.add_parser("solver", help='the "Learning to Relax" SOR/SSOR-CG comparison')
    sol.add_argument("--json", action="store_true",
                     help="print setting -> strategy -> {total, last20, ...} as JSON")
    sol.add_argument("--T", type=positive_int, default=5000, help="instances per sequence (default 5000)")
    sol.add_argument("--seeds", type=random_seed, nargs="+", default=[0, 1, 2])
    sol.add_argument("--plays", type=positive_int, default=1,
                     help="runs of each online strategy per table, with different strategy "
                          "seeds; a seed's figure is their mean (default 1)")
    sol.add_argument("--settings", nargs="+", default=None,
                     help="synthetic-high, synthetic-low, heat (default: all)")
    sol.add_argument("--strategies", nargs="+", default=None,
                     help="online strategies to run (default: the benchmark set)")
    sol.add_argument("--cache-dir", type=Path, default=None,
                     help="where iteration tables are cached (default $TUNER_CACHE_DIR or "
                          "~/.cache/costmodel-tuner/solver)")
    sol.add_argument("--no-progress", action="store_true")
    sol.add_argument("--scheduler", default=argparse.SUPPRESS, help=scheduler_help)

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
    from tuner import cli_memory, cli_report, cli_schedules
    return [cli_report.add_parsers, cli_memory.add_parsers, cli_schedules.add_parsers]


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
    if args.plays < 1:
        raise SolverInputError("--plays must be at least 1")
    strategies = bench.BENCH_STRATEGIES
    if args.strategies:
        unknown = [s for s in args.strategies if s not in STRATEGIES
                   and s not in bench.BENCH_STRATEGIES]
        if unknown:
            raise SolverInputError(f"unknown strategies {unknown}; one of "
                                   f"{', '.join(sorted(set(STRATEGIES) | set(bench.BENCH_STRATEGIES)))}")
        strategies = {s: bench.BENCH_STRATEGIES.get(s, {}) for s in args.strategies}
    progress = None
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=len(settings) * len(args.seeds) * args.T * len(OMEGAS), unit="solve",
                   unit_scale=True, desc="iteration tables", file=sys.stderr, leave=False)
        # Cached tables skip the solves: the strategy runs get their own rate and ETA.
        runs = tqdm(total=len(settings) * len(args.seeds) * len(strategies) * args.plays,
                    unit="run", desc="strategy runs", file=sys.stderr, leave=False, position=1)

        def progress(kind: str, k: int) -> None:
            (bar if kind == "solves" else runs).update(k)
    try:
        from costmodel.distributed import resolve_scheduler
        address = resolve_scheduler(args.scheduler)
        if address is not None:  # iteration tables on the cluster, into the local cache
            _tables_on_cluster(address, settings, args.T, args.seeds, args.cache_dir,
                               show_progress=not args.no_progress)
        results = bench.run(settings, T=args.T, seeds=args.seeds, strategies=strategies,
                            cache_dir=args.cache_dir, progress=progress, plays=args.plays)
    finally:
        if bar is not None:
            runs.close()
            bar.close()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        plays = f", {args.plays} plays per seed" if args.plays > 1 else ""
        print(f"cumulative iterations, mean over seeds {args.seeds}{plays}, T = {args.T}; "
              "ratios are of the means")
        print(bench.format_results(results))
    return 0


def _table_chunk(seq):
    from tuner.solver.table import compute_table
    return compute_table(seq)


def _tables_on_cluster(address, settings, T, seeds, cache_dir, *, show_progress=False) -> None:
    """Compute missing iteration tables as chunks of instances on a Dask cluster.

    Each (instance, omega) solve is independent, so chunks give the same table; a chunk
    lost with its worker is rerun elsewhere. Tables land in the cache load_table reads.
    """
    import dataclasses
    import hashlib
    import math

    import numpy as np

    from costmodel.distributed import DaskExecutor
    from tuner.solver.instances import OMEGAS, make_sequence
    from tuner.solver.table import TABLE_VERSION, Table, default_cache_dir, save_table

    cache = default_cache_dir() if cache_dir is None else Path(cache_dir)
    wkey = hashlib.sha256(np.asarray(OMEGAS, dtype=float).tobytes()).hexdigest()[:10]
    todo = [(s, seed) for s in settings for seed in seeds
            if not (cache / f"{s}-T{T}-seed{seed}-w{wkey}-v{TABLE_VERSION}.npz").exists()]
    if not todo:
        return
    with DaskExecutor(address) as ex:
        size = max(50, math.ceil(T / (4 * max(1, ex.n_workers))))
        jobs, seqs = [], {}
        for s, seed in todo:
            seq = seqs[s, seed] = make_sequence(s, T, seed)
            for lo in range(0, T, size):
                sl = slice(lo, lo + size)
                jobs.append(((s, seed, lo), dataclasses.replace(
                    seq, contexts=seq.contexts[sl], d=seq.d[sl], a=seq.a[sl], b=seq.b[sl])))
        parts: dict = {}
        from tqdm import tqdm
        bar = tqdm(total=len(todo) * T * len(OMEGAS), unit="solve", unit_scale=True, leave=False,
                   desc=f"iteration tables on {ex.n_workers} workers", file=sys.stderr,
                   disable=not show_progress)
        for done in ex.map_unordered(_table_chunk, [j for _, j in jobs], name="sor-table",
                                     keys=[f"{s}-{seed}-{lo}" for (s, seed, lo), _ in jobs]):
            if done.error is not None:
                raise CostModelError(f"iteration-table chunk lost: {done.error}")
            parts[jobs[done.index][0]] = done.result
            bar.update(done.result.size)
        bar.close()
    for (s, seed), seq in seqs.items():
        it = np.concatenate([parts[s, seed, lo] for lo in range(0, T, size)])
        save_table(cache / f"{s}-T{T}-seed{seed}-w{wkey}-v{TABLE_VERSION}.npz",
                   Table(s, it, seq.contexts, np.asarray(OMEGAS, dtype=float), seq.maxiter))


def _studies(args: argparse.Namespace) -> int:
    from tuner.store import open_storage

    store = open_storage(args.storage, readonly=True)
    rows = []
    try:
        for rec in store.list_studies():
            # Straight from the store: listing needs no strategy state, so no replay (which
            # would fail on a study of another config version or strategy code).
            asks = [t for t, m in store.events(rec.id) if m is None]
            meas = store.measurements(rec.id)
            sign = -1.0 if rec.config.get("direction") == "maximize" else 1.0
            done = [t for t in asks if t.id in meas and not meas[t.id].censored]
            best = min(done, key=lambda t: sign * meas[t.id].value, default=None)
            rows.append({"name": rec.name, "strategy": rec.config.get("strategy", "?"),
                         "trials": len(asks), "complete": sum(t.id in meas for t in asks),
                         "best": None if best is None else {"params": best.params,
                                                            "value": meas[best.id].value}})
    finally:
        store.close()
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
    except (PermissionError, FileExistsError, IsADirectoryError, NotADirectoryError) as e:
        # A path the up-front checks could not foresee (e.g. changed while running).
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
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
