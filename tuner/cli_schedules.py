"""`tuner tune-model`, `tuner train-schedule-prior` and `tuner bench schedules` (registered in
tuner.cli._extensions)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from costmodel.cli_args import (as_recorded, check_out_dir, check_out_file, positive_int,
                                 random_seed)
from costmodel.errors import InputError
from tuner.schedules.prior import DEFAULT_PRIOR

DEFAULT_MODEL = "models/default"
# Defaults name the checkout's files wherever the command runs; a path typed by the user
# stays relative to the working directory.
ROOT = Path(__file__).resolve().parent.parent


def _shipped(relative: str) -> Path:
    return ROOT / relative
SCHEDULER_HELP = ("Dask scheduler, e.g. tcp://HOST:8786: compiles and timed runs go to its "
                  "workers (default: $COSTMODEL_SCHEDULER, else local; 'local' forces local)")


IM2COL_HELP = "also the conv models' dispatches built with im2col, after all the others"


def add_parsers(sub, bsub) -> None:
    tm = sub.add_parser("tune-model", help="tune every dispatch's kernel schedule of a model")
    tm.add_argument("model", type=Path, help="MODEL.onnx or MODEL.mlir (linalg level)")
    tm.add_argument("--budget", type=positive_int, required=True, help="trials per dispatch")
    tm.add_argument("--out", type=Path, required=True,
                    help="output directory: tuning_spec.mlir, annotated.mlir, summary.json, "
                         "tuning.sqlite")
    tm.add_argument("--cost-model", default=None,
                    help=f"cost model directory guiding the search (default: the checkout's "
                         f"{DEFAULT_MODEL})")
    tm.add_argument("--no-cost-model", action="store_true",
                    help="search without the model (evolutionary + random only)")
    tm.add_argument("--prior", default=None,
                    help=f"schedule prior ranking the model's candidates (default {DEFAULT_PRIOR} "
                         "when it exists and matches the cost model)")
    tm.add_argument("--no-prior", action="store_true", help="rank with the cost model alone")
    tm.add_argument("--universe", type=positive_int, default=1000,
                    help="candidates the model scores per dispatch (default 1000)")
    tm.add_argument("--storage", default=None,
                    help="tuner store URL (default sqlite:///OUT/tuning.sqlite)")
    tm.add_argument("--seed", type=random_seed, default=0)
    tm.add_argument("--no-check", action="store_true",
                    help="skip the numeric check and the end-to-end timing")
    from tuner.schedules.model_flags import VARIANTS
    tm.add_argument("--model-flags", choices=("auto", "off", *VARIANTS), default="auto",
                    help="auto (default): build the model with each model-level flag set "
                         "(data tiling, ukernels, im2col for convolutions), keep the fastest "
                         "and tune its dispatches; off: IREE's default pipeline only; a "
                         "variant name: use its flags without the search")
    tm.add_argument("--json", action="store_true", help="print summary.json to stdout")
    tm.add_argument("--scheduler", default=None, help=SCHEDULER_HELP)
    tm.add_argument("--allow-mixed-hardware", action="store_true",
                    help="with --scheduler: also measure on workers of other hardware")
    tm.set_defaults(func=_tune_model)

    tp = sub.add_parser("train-schedule-prior",
                        help="build the schedule prior from the measured benchmark pools")
    tp.add_argument("--cost-model", default=None,
                    help=f"the cost model the prior will be used with (default {DEFAULT_MODEL})")
    tp.add_argument("--out", type=Path, default=_shipped(DEFAULT_PRIOR),
                    help=f"output directory (default {DEFAULT_PRIOR})")
    tp.add_argument("--pool", type=positive_int, default=64, help="candidates per pool (as measured)")
    tp.add_argument("--dispatches", type=positive_int, default=24)
    tp.add_argument("--im2col", action="store_true", help=IM2COL_HELP)
    tp.add_argument("--cache-dir", type=Path, default=None,
                    help="pool cache (default $TUNER_CACHE_DIR/schedules or "
                         "~/.cache/costmodel-tuner/schedules)")
    tp.set_defaults(func=_train_prior)

    bs = bsub.add_parser("schedules", help="schedule search on measured pools of real dispatches")
    bs.add_argument("--json", action="store_true")
    bs.add_argument("--dispatches", type=positive_int, default=20)
    bs.add_argument("--im2col", action="store_true", help=IM2COL_HELP)
    bs.add_argument("--pool", type=positive_int, default=16, help="measured candidates per dispatch")
    bs.add_argument("--seeds", type=random_seed, nargs="+", default=[0, 1, 2, 3, 4])
    bs.add_argument("--budget", type=positive_int, default=32)
    bs.add_argument("--cost-model", default=None,
                    help=f"cost model directory (default {DEFAULT_MODEL})")
    bs.add_argument("--out", type=Path, default=_shipped("benchmarks/results/schedules.json"),
                    help="where the JSON result is also written")
    bs.add_argument("--no-progress", action="store_true")
    bs.add_argument("--scheduler", default=argparse.SUPPRESS,
                    help=SCHEDULER_HELP + "; also accepted before `schedules`")
    bs.add_argument("--allow-mixed-hardware", action="store_true",
                    help="with --scheduler: also measure pools on workers of other hardware")
    bs.add_argument("--cache-dir", type=Path, default=None,
                    help="pool cache (default $TUNER_CACHE_DIR/schedules or "
                         "~/.cache/costmodel-tuner/schedules)")
    bs.set_defaults(func=_bench_schedules)


def _load_model(path: str | None, *, optional: bool = False):
    """The cost model at ``path`` (a user's path, relative to the working directory), else
    the checkout's. ``optional``: the command has --no-cost-model (tune-model only)."""
    import costmodel
    path = str(_shipped(DEFAULT_MODEL)) if path is None else path
    if not Path(path).exists():
        hint = "train one, or pass --no-cost-model" if optional else \
            "train one with `costmodel train`, or pass --cost-model DIR"
        raise InputError(f"cost model {path!r} not found ({hint})")
    return costmodel.load(path)


def _model_id(model) -> str | None:
    """The cost model's identity (its files' checksums): a resumed search needs the same."""
    from tuner.schedules.prior import cost_model_id
    return None if model is None else cost_model_id(model)


def _load_prior(args: argparse.Namespace, model):
    """The schedule prior for ``model``: the one named by --prior (errors are errors), else
    the shipped one when it exists and was built with this cost model."""
    from tuner.schedules.prior import PriorError, SchedulePrior
    if model is None or args.no_prior:
        return None
    if args.prior is not None:
        prior = SchedulePrior.load(args.prior)
        prior.check(model)
        return prior
    if not (_shipped(DEFAULT_PRIOR) / "manifest.json").exists():
        return None
    try:
        prior = SchedulePrior.load(_shipped(DEFAULT_PRIOR))
        prior.check(model)
    except PriorError as exc:
        print(f"note: not using {DEFAULT_PRIOR}: {exc}", file=sys.stderr)
        return None
    return prior


def _train_prior(args: argparse.Namespace) -> int:
    from tuner.schedules.prior import build_from_pools
    check_out_dir(args.out)
    model = _load_model(args.cost_model)
    kw = {} if args.cache_dir is None else {"cache": args.cache_dir}
    prior = build_from_pools(model, pool_size=args.pool, dispatches=args.dispatches,
                             im2col=args.im2col, **kw)
    out = prior.save(args.out)
    m = prior.manifest
    hw = m.get("pools_hardware") or {}
    print(f"schedule prior: {m['rows']} measured schedules of {len(m['dispatches'])} dispatches "
          f"-> {out} (for cost model {m['cost_model']}; pools timed on hardware {hw.get('id')}, "
          f"{hw.get('iree_target_cpu')})")
    return 0


def _tune_model(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from tqdm import tqdm

    from costmodel.distributed import DaskExecutor, resolve_scheduler
    from tuner.schedules.build_guard import TOLERANCE
    from tuner.schedules.model_tune import tune_model
    from tuner.store import check_writable_storage
    address = resolve_scheduler(args.scheduler)  # a bad address fails before any work
    check_out_dir(args.out)
    if args.storage is not None:
        check_writable_storage(args.storage)
    elif (args.out / "tuning.sqlite").exists():  # a rerun's store (tune_model's default)
        check_writable_storage(f"sqlite:///{args.out / 'tuning.sqlite'}", "--out's tuning.sqlite")
    model = None if args.no_cost_model else _load_model(args.cost_model, optional=True)
    prior = _load_prior(args, model)
    executor = None if address is None else DaskExecutor(address)
    where = "" if executor is None else f" on {executor.n_workers} workers"
    # (delay: a model that fails to parse gets its error without an empty bar before it)
    bar = tqdm(desc=f"dispatches{where}", unit="trial", file=sys.stderr, delay=0.5)

    def on_dispatches(n: int) -> None:
        bar.total = n * args.budget
        bar.refresh()

    def on_variant(v: str) -> None:
        bar.set_postfix_str(f"building the model: {v}")
        bar.refresh()

    def on_trial(name, trial, best) -> None:
        bar.set_postfix_str(f"{name.split('$')[-1][:32]} best {best * 1e6:.1f}us")
        bar.update(1)

    try:
        out = tune_model(args.model, args.budget, args.out, cost_model=model, seed=args.seed,
                         universe=args.universe, storage=args.storage, check=not args.no_check,
                         on_trial=on_trial, on_dispatches=on_dispatches, executor=executor,
                         cost_model_id=_model_id(model),
                         allow_mixed_hardware=args.allow_mixed_hardware, prior=prior,
                         model_flags={"auto": True, "off": False}.get(args.model_flags,
                                                                      args.model_flags),
                         on_variant=on_variant)
    finally:
        bar.close()
        if executor is not None:
            executor.close()
    summary = out.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    t = Table(title=f"tune-model {args.model.name} (budget {args.budget})")
    for c in ("dispatch", "default us", "tuned us", "speedup", "trials", "infeasible"):
        t.add_column(c, justify="left" if c == "dispatch" else "right")
    for r in summary["dispatches"]:
        if r["skipped"]:
            t.add_row(r["dispatch"].split("$")[-1], "-", "-", "-", "0", f"skipped: {r['skipped']}")
            continue
        t.add_row(r["dispatch"].split("$")[-1], f"{r['default_latency_s'] * 1e6:.1f}",
                  f"{r['best_latency_s'] * 1e6:.1f}", f"{r['speedup']:.2f}x", str(r["trials"]),
                  str(r["infeasible_trials"]))
    con = Console()
    mf = summary["model_flags"]
    if mf["searched"]:
        con.print("model flags: " + ", ".join(
            f"{v} {r['latency_s'] * 1e6:.1f}us" for v, r in mf["variants"].items())
            + "".join(f", {v} failed to build" for v in mf["failed"])
            + f" -> {mf['chosen']}")
    con.print(t)
    e2e = summary["end_to_end"]
    if e2e["speedup"]:
        con.print(f"end to end: default {e2e['default_s'] * 1e3:.3f} ms, tuned "
                  f"{e2e['tuned_s'] * 1e3:.3f} ms, speedup {e2e['speedup']:.2f}x; numeric check "
                  f"{'ok' if summary['numeric_check'].get('ok') else 'FAILED'} (max abs diff "
                  f"{summary['numeric_check'].get('max_abs_diff', 0):.2g})")
        if e2e["speedup"] < 1.0:  # each dispatch was guarded; the whole build was not
            con.print(f"[yellow]no end-to-end gain: the tuned build timed "
                      f"{1 / e2e['speedup'] - 1:.1%} slower than the default in this run; "
                      f"keep the default build[/yellow]")
    dropped = [r["dispatch"].split("$")[-1] for r in summary["dispatches"]
               if (r.get("build_guard") or {}).get("kept") is False]
    if dropped:
        con.print(f"left out of the spec (each slowed the whole build by more than "
                  f"{TOLERANCE:.0%} on its own): {', '.join(dropped)}")
    if e2e.get("flags_only_s"):
        con.print(f"the chosen flags' build before tuning: {e2e['flags_only_s'] * 1e3:.3f} ms")
    con.print(f"spec: {summary['files']['spec']}  annotated: {summary['files']['annotated']}")
    con.print("build with: iree-compile MODEL.mlir " + " ".join(mf["flags"] + [
        f"--iree-codegen-tuning-spec-path={summary['files']['spec']}"]))
    if "cluster" in summary:
        c = summary["cluster"]
        con.print(f"measured on {c['scheduler']}: hardware {c['hardware_id']}, trials per worker "
                  + ", ".join(f"{w} {n}" for w, n in sorted(c["trials_per_worker"].items()))
                  + (f", {c['resumed_trials']} resumed from the store" if c["resumed_trials"]
                     else ""))
    return 0


def _bench_schedules(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from costmodel.distributed import DaskExecutor, resolve_scheduler
    from tuner.schedules.bench import STRATEGIES, bench
    from tuner.schedules.pool import DEFAULT_CACHE, measure_pools
    address = resolve_scheduler(getattr(args, "scheduler", None))  # a bad address: no work
    check_out_file(args.out)
    import importlib.util
    strategies = STRATEGIES
    if importlib.util.find_spec("optuna") is None:  # said before, not after, the pools
        print("note: no TPE baseline: it needs Optuna, a bench extra "
              "(.venv/bin/pip install -e '.[bench]')", file=sys.stderr)
        strategies = tuple(s for s in STRATEGIES if s != "tpe")
    model = _load_model(args.cost_model)
    quiet = args.no_progress
    executor = None if address is None else DaskExecutor(address)
    where = "" if executor is None else f" on {executor.n_workers} workers"
    bar = tqdm(desc=f"pool (compile+time){where}", unit="trial", file=sys.stderr, disable=quiet)
    try:
        pools = measure_pools(args.pool, limit=args.dispatches, progress=bar.update,
                              on_total=lambda n: setattr(bar, "total", n),
                              cache=args.cache_dir or DEFAULT_CACHE, executor=executor,
                              allow_mixed_hardware=args.allow_mixed_hardware,
                              im2col=args.im2col)
    finally:
        bar.close()
        if executor is not None:
            executor.close()
    pools = [p for p in pools if p.default_latencies and p.measured()]
    bar = tqdm(desc="replay", unit="run", total=len(pools) * len(strategies) * len(args.seeds),
               file=sys.stderr, disable=quiet)
    res = bench(pools, model, seeds=args.seeds, budget=args.budget, strategies=strategies,
                progress=bar.update)
    bar.close()
    # Results files get compared across cost models: say which one this was.
    res["summary"]["cost_model"] = as_recorded(str(args.cost_model))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2))
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table
    t = Table(title="schedule search on measured pools (trials to 95% of the pool's best)")
    for c in ("dispatch", "pool", "default us", "best us", "tuner@budget", *strategies):
        t.add_column(c, justify="left" if c == "dispatch" else "right")
    for r in res["dispatches"]:
        t.add_row(r["dispatch"].split("$")[-1][:40], str(r["pool"]),
                  f"{r['default_latency_s'] * 1e6:.1f}", f"{r['best_latency_s'] * 1e6:.1f}",
                  f"{r['tuner_speedup']:.2f}x",
                  *(f"{r['trials_to_95'][s]:g}" for s in strategies))
    con = Console()
    con.print(t)
    s = res["summary"]
    con.print(f"geomean speedup over IREE default (tuner, budget {s['budget']}, guarded): "
              f"{s['geomean_speedup_over_default']:.3f}x (pool best {s['geomean_pool_best_speedup']:.3f}x)")
    con.print("median trials to 95%: " + ", ".join(
        f"{k} {v:g}" for k, v in s["median_trials_to_95"].items()))
    con.print("mean-trial ratios: " + ", ".join(
        f"{k}/tuner {s[f'trial_ratio_{k}_over_tuner']:.2f}x" for k in ("random", "tpe")
        if s[f"trial_ratio_{k}_over_tuner"] is not None))
    tu = s["tunable"]
    if tu["dispatches"]:
        con.print(f"on the {tu['dispatches']} dispatches where IREE's default is not within 95% "
                  "of the best, median trials to 95%: " + ", ".join(
                      f"{k} {v:g}" for k, v in tu["median_trials_to_95"].items()))
    return 0
