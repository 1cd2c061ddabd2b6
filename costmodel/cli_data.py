"""`costmodel collect`, `costmodel noise` and `costmodel datasets`."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

from costmodel.cli_args import (CHECKOUT, check_out_dir, fraction, nonneg_int,
                                positive_float, positive_int, random_seed)
from costmodel.errors import InputError


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _repeat_run(value: str) -> str:
    """--run of `noise`: a name for the repeat run, never 'main' (what it is compared with)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must be a non-empty name")
    if value == "main":
        raise argparse.ArgumentTypeError("'main' holds the measurements the repeat run is "
                                         "compared with; name the repeat run otherwise")
    return value


def cmd_collect(args: argparse.Namespace) -> int:
    from costmodel.collect import collect, real_model_items, synthetic_items
    from costmodel.programs import FAMILIES, REAL_MODELS

    families = list(FAMILIES) if args.families.strip() in ("all", "") else _csv(args.families)
    if args.samples and not families:
        raise InputError(f"--families {args.families!r} names no family")
    models = [] if args.real_models == "none" else (
        list(REAL_MODELS) if args.real_models == "all" else _csv(args.real_models))
    # Real-model dispatches first: they are few, and a run stopped early should have them.
    if args.dispatch_schedules and not models:
        raise InputError("--dispatch-schedules samples real dispatches' schedules: "
                         "give --real-models too")
    items = real_model_items(models, schedules=args.dispatch_schedules, seed=args.seed,
                             progress=not args.quiet) if models else []
    if args.samples:
        items += synthetic_items(families, args.samples, seed=args.seed,
                                 schedules_per_group=args.schedules_per_group,
                                 aligned_share=args.aligned_share)
    if not items:
        raise InputError("nothing to collect: give --samples N and/or --real-models")
    check_out_dir(args.out)
    from costmodel.distributed import resolve_scheduler
    with _sigterm_interrupts():
        stats = collect(items, args.out, workers=args.workers, time_cap_s=args.time_cap,
                        checkpoint_every=args.checkpoint_every, progress=not args.quiet,
                        scheduler=resolve_scheduler(args.scheduler),
                        allow_mixed_hardware=args.allow_mixed_hardware,
                        collection=collection_record(args, families, models))
    _summary(args.out, stats)
    if stats.interrupted:
        print("interrupted: finished samples are saved; run the same command to resume",
              file=sys.stderr)
        return 130
    return 0


@contextlib.contextmanager
def _sigterm_interrupts():
    """SIGTERM stops a collection the way Ctrl-C does: the finished samples are exported to
    Parquet before exit. A collection started in the background ignores SIGINT (the shell
    sets that), so SIGTERM is how it is stopped, and without this it died with the
    Parquet files up to --checkpoint-every samples behind the staging journal."""
    if threading.current_thread() is not threading.main_thread():
        yield   # signal handlers can only be set from the main thread
        return

    def stop(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def collection_record(args: argparse.Namespace, families: list[str], models: list[str]) -> dict:
    """What ``collect`` planned, for the manifest. Synthetic-plan settings are recorded only
    when synthetic samples were planned (a real-models-only run drew no families)."""
    synthetic = bool(args.samples)
    return {"families": families if synthetic else [], "samples": args.samples,
            "schedules_per_group": args.schedules_per_group if synthetic else None,
            "aligned_share": args.aligned_share if synthetic else None,
            "seed": args.seed, "real_models": models,
            "dispatch_schedules": args.dispatch_schedules}


def cmd_noise(args: argparse.Namespace) -> int:
    from costmodel.collect import collect, noise_items, noise_report
    from costmodel.dataset import update_manifest

    items = noise_items(args.data, args.samples, run=args.run, seed=args.seed)
    check_out_dir(args.data, "--data")   # the repeat run is added to the dataset
    stats = collect(items, args.data, workers=args.workers, time_cap_s=args.time_cap,
                    progress=not args.quiet)
    report = noise_report(args.data, run=args.run)
    update_manifest(args.data, noise=report)
    if args.json:
        print(json.dumps(report))
    else:
        for k, v in report.items():
            if isinstance(v, dict):
                for name, x in v.items():
                    print(f"{k}[{name}]: {x:.4f}")
            else:
                print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    return 130 if stats.interrupted else 0


def _summary(out: str, stats) -> None:
    from rich.console import Console
    from rich.table import Table

    from costmodel.dataset import load

    _, _, manifest = load(out)
    t = Table(title=f"{out}: {manifest['rows']} rows, {manifest['groups']} groups")
    for col in ("family", "rows", "groups"):
        t.add_column(col, justify="left" if col == "family" else "right")
    for fam, n in manifest["rows_per_family"].items():
        t.add_row(fam, str(n), str(manifest["groups_per_family"].get(fam, 0)))
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
    console.print(t)
    console.print(f"this run: {stats.measured} measured ({stats.feasible} feasible, "
                  f"{stats.noisy} noisy), {stats.skipped} already present, "
                  f"{stats.seconds:.0f} s")
    if getattr(stats, "per_worker", None):
        console.print("per worker: " + ", ".join(f"{w} {n}" for w, n in
                                                 sorted(stats.per_worker.items()))
                      + (f"; {stats.failed} lost (rerun to measure them)" if stats.failed else ""))


def cmd_datasets(args: argparse.Namespace) -> int:
    from costmodel.dataset import DatasetError, validate

    # The default is the checkout's datasets/, wherever the command runs.
    root = Path(args.root) if args.root else CHECKOUT / "datasets"
    if not root.is_dir():
        raise InputError(f"--root {str(root)!r} is not a directory")
    found = []
    for d in sorted(p.parent for p in root.glob("*/manifest.json")):
        try:
            m = validate(d)
            found.append({"path": str(d), "valid": True, "manifest": m})
        except DatasetError as exc:
            found.append({"path": str(d), "valid": False, "error": str(exc)})
    if args.json:
        print(json.dumps(found, indent=1))
        return 0
    if not found:
        print(f"no datasets under {root}/")
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"datasets under {root}/")
    for col in ("name", "rows", "feasible", "groups", "families", "real models", "noise tau",
                "hardware"):
        t.add_column(col)
    for f in found:
        if not f["valid"]:
            t.add_row(Path(f["path"]).name, "-", "-", "-", "-", "-", "-", f"INVALID: {f['error']}")
            continue
        m = f["manifest"]
        noise = m.get("noise") or {}
        tau = noise.get("kendall_tau")
        t.add_row(m["name"], str(m["rows"]), str(m.get("rows_feasible")), str(m.get("groups")),
                  str(len(m.get("rows_per_family", {}))), str(len(m.get("real_models", []))),
                  "-" if tau is None else f"{tau:.3f}",
                  f"{m['hardware'].get('cpu_model')} x{m['hardware'].get('cores')}")
    Console(width=None if sys.stdout.isatty() else 160).print(t)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("collect", help="measure programs into a dataset (resumable)")
    p.add_argument("--families", default="all", help="comma list, or 'all' (default)")
    p.add_argument("--samples", type=nonneg_int, default=0, help="synthetic samples to plan")
    p.add_argument("--out", required=True, help="dataset directory, e.g. datasets/NAME")
    p.add_argument("--schedules-per-group", type=positive_int, default=12)
    p.add_argument("--aligned-share", type=fraction, default=0.0,
                   help="share of synthetic groups whose loop extents are all multiples of 16, "
                        "as real models' are (default 0: the plan earlier versions made)")
    p.add_argument("--real-models", default="none", help="'all', 'none' or a comma list")
    p.add_argument("--dispatch-schedules", type=nonneg_int, default=0,
                   help="sampled schedules per real-model dispatch, timed side by side with "
                        "IREE's own (default 0: IREE's schedules only)")
    p.add_argument("--seed", type=random_seed, default=0)
    p.add_argument("--workers", type=positive_int, default=None, help="compile workers")
    p.add_argument("--time-cap", type=positive_float, default=1.0,
                   help="seconds of timing per sample")
    p.add_argument("--checkpoint-every", type=positive_int, default=100)
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler, e.g. tcp://HOST:8786 (default: $COSTMODEL_SCHEDULER, "
                        "else local; 'local' forces local)")
    p.add_argument("--allow-mixed-hardware", action="store_true",
                   help="let workers of different hardware add to one dataset")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("noise", help="re-measure a sample and record the noise ceiling")
    p.add_argument("--data", required=True)
    p.add_argument("--samples", type=positive_int, default=300)
    p.add_argument("--run", type=_repeat_run, default="repeat-1",
                   help="name of the repeat run (not 'main'; default repeat-1)")
    p.add_argument("--seed", type=random_seed, default=0)
    p.add_argument("--workers", type=positive_int, default=None)
    p.add_argument("--time-cap", type=positive_float, default=1.0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_noise)

    p = sub.add_parser("datasets", help="list datasets and their manifests")
    p.add_argument("--root", default=None, help="folder of datasets (default: the checkout's "
                                                 "datasets/)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_datasets)
