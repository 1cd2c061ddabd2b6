"""`costmodel train`, `costmodel eval` and `costmodel export-onnx`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from costmodel.cli_args import check_out_dir, check_out_file, positive_int, random_seed
from costmodel.errors import InputError


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _progress(quiet: bool):
    if quiet:
        return None

    def wrap(items, desc):
        from tqdm import tqdm
        return tqdm(items, desc=desc, file=sys.stderr, unit=desc.split()[-1].rstrip("s"),
                    leave=False)
    return wrap


def cmd_train(args: argparse.Namespace) -> int:
    from costmodel.model.artifact import save
    from costmodel.model.baselines import microbenchmark, read_calibration
    from costmodel.model.datasets import (check_transfer, data_paths, load_frames,
                                          load_manifests, load_transfer, transfer_record,
                                          with_transfer)
    from costmodel.model.predictor import CostModel
    from costmodel.model.targets import parse_targets
    from costmodel.model.train import fit, training_manifest

    say = (lambda m: None) if args.quiet else _say
    # The output and targets are checked before any work, local or on a cluster.
    targets = parse_targets(args.targets)
    paths = data_paths(args.data)
    tpaths = _transfer_paths(args)
    _check_model_out(args.out)
    from costmodel.distributed import resolve_scheduler
    if (address := resolve_scheduler(args.scheduler)) is not None:
        if tpaths:
            raise InputError("--transfer-data: training on a Dask cluster reads one dataset; "
                             "train with --transfer-data locally (--scheduler local)")
        if len(paths) > 1:
            raise InputError(f"--data {args.data!r}: training on a Dask cluster reads one "
                             "dataset; train several locally (--scheduler local)")
        from costmodel.model.train_dask import train_command
        return train_command(args, address, say)
    # Before the (slow) featurizing, so a bad file fails at once.
    machine = read_calibration(args.calibration) if args.calibration else None
    t0 = time.perf_counter()
    dmanifests = load_manifests(paths)
    tmanifests = check_transfer(tpaths, dmanifests)
    frame = load_frames(paths, progress=_progress(args.quiet))   # checks one CPU first
    say(f"{args.data}: {len(frame)} feasible samples, {len(set(frame.group))} groups, "
        f"{len(set(frame.family))} families; featurized in {time.perf_counter() - t0:.1f}s")
    transfer = load_transfer(tpaths, progress=_progress(args.quiet))
    if transfer:
        say(f"--transfer-data {args.transfer_data}: {sum(map(len, transfer))} samples, "
            f"{sum(len(set(f.group)) for f in transfer)} groups (fit rows, marked data.other_cpu)")
    own_frame, frame = frame, with_transfer(frame, transfer)
    if machine is not None:
        say(f"roofline calibration from {args.calibration}:")
    else:
        say("microbenchmark (roofline baseline and latency base margin): ...")
        machine = microbenchmark()
    say(f"  {machine['peak_flops_per_s'] / 1e9:.1f} GFLOP/s, "
        f"{machine['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s, dispatch overhead "
        f"{machine.get('dispatch_overhead_s', 0.0) * 1e6:.2f} us")
    say(f"training {', '.join(targets)} (XGBoost, 1 thread, early stopping on held-out groups)")
    pre, heads, info = fit(frame, targets, seed=args.seed, machine=machine, say=say,
                           progress=_progress(args.quiet))
    manifest = training_manifest(
        args.data, dmanifests,
        {"hash": own_frame.data_hash, "rows": len(own_frame),
         "groups": len(set(own_frame.group)), "families": sorted(set(own_frame.family)),
         "defaults_target_cpu": own_frame.defaults_target_cpu},
        args.seed, info, pre, time.perf_counter() - t0, machine,
        transfer=transfer_record(tpaths, tmanifests, transfer) if transfer else None)
    out = save(CostModel(pre, heads, manifest), args.out)
    say(f"saved {out} ({len(heads)} targets) in {time.perf_counter() - t0:.0f}s")
    if not args.quiet:   # the final summary table, on stderr like the progress
        from rich.console import Console
        from rich.table import Table
        t = Table(title=f"holdout (calibration groups): {info['rows']['calibration']} rows")
        for col in ("target", "kendall_tau", "top1_slowdown", "mape", "r2_log"):
            t.add_column(col, justify="left" if col == "target" else "right")
        for name, m in info["holdout_metrics"].items():
            t.add_row(name, *(_f(m.get(k)) for k in ("kendall_tau", "top1_slowdown", "mape",
                                                      "r2_log")))
        Console(stderr=True, width=None if sys.stderr.isatty() else 120).print(t)
    return 0


def _transfer_paths(args: argparse.Namespace) -> list[str]:
    """--transfer-data's datasets; none of them may also be in --data."""
    from costmodel.model.datasets import data_paths

    if not args.transfer_data:
        return []
    paths = data_paths(args.transfer_data)
    mine = {str(Path(p).resolve()) for p in data_paths(args.data)}
    both = [p for p in paths if str(Path(p).resolve()) in mine]
    if both:
        raise InputError(f"--transfer-data {both[0]!r} is also in --data (its rows would "
                         "count twice)")
    return paths


def _check_model_out(out: str) -> None:
    """--out of `train`: creatable, and new, empty or a model (replaced only once the new one
    is saved whole: artifact.save renames the old directory aside, so its parent must be
    writable too)."""
    from costmodel.model.artifact import check_save_target
    from costmodel.model.errors import ArtifactError

    path = check_out_dir(out)
    try:
        check_save_target(path)
    except ArtifactError as exc:
        raise InputError(f"--out {exc}") from None
    if path.exists():
        check_out_dir(path.resolve().parent, f"--out {out!r}: the parent directory")


def _f(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def cmd_eval(args: argparse.Namespace) -> int:
    from costmodel.model.artifact import load
    from costmodel.model.datasets import (check_transfer, data_paths, load_frames,
                                          load_manifests, load_transfer, transfer_record,
                                          with_transfer)
    from costmodel.model.evaluate import evaluate, noise_ceiling
    from costmodel.model.report import markdown
    from costmodel.model.splits import SPLITS
    from costmodel.model.targets import parse_targets

    say = (lambda m: None) if args.quiet else _say
    model = load(args.model)
    targets = parse_targets(args.targets) if args.targets else model.targets
    splits = [s.strip() for s in args.splits.split(",")] if args.splits else list(SPLITS)
    bad = [s for s in splits if s not in SPLITS]
    if bad:
        raise InputError(f"unknown split(s) {bad}; known: {', '.join(SPLITS)}")
    if args.folds < 2:   # (positive_int already refused 0 and less at parse time)
        raise InputError(f"--folds must be at least 2, got {args.folds}")
    # The outputs are checked before the evaluation, which can take minutes.
    report = check_out_file(args.report or Path(args.model) / "report.md", "--report")
    html = check_out_file(args.html_report or report.with_suffix(".html"), "--html-report")
    tpaths = _transfer_paths(args)
    tmanifests = (check_transfer(tpaths, load_manifests(data_paths(args.data)[:1]))
                  if tpaths else [])
    frame = load_frames(data_paths(args.data), progress=_progress(args.quiet))
    say(f"{args.data}: {len(frame)} feasible samples, {len(set(frame.group))} groups")
    transfer = load_transfer(tpaths, progress=_progress(args.quiet))
    if args.folds > (n_groups := len(set(frame.group))):
        # Every split holds out whole groups (or rows of them): more folds than groups
        # would leave folds without test rows.
        raise InputError(f"--folds {args.folds}: at most {n_groups} on {args.data} (its "
                         f"candidate groups with feasible samples)")
    result = {"model": str(args.model), "data": str(args.data), "rows": len(frame),
              "groups": len(set(frame.group)), "data_hash": frame.data_hash,
              "model_data_hash": model.manifest.get("training_data", {}).get("hash"),
              "folds": args.folds, "machine": model.manifest.get("machine", {})}
    if transfer:
        # Every fold's training adds these rows (never its test kernels); metrics, baselines
        # and the noise ceiling stay on --data.
        result["transfer_data"] = transfer_record(tpaths, tmanifests, transfer)
    own_frame, frame = frame, with_transfer(frame, transfer)
    seeds = [args.seed + i for i in range(args.seeds)]
    preds: dict = {}
    runs = []
    for i, s in enumerate(seeds):
        if i:
            say(f"fold seed {s} ({i + 1}/{len(seeds)})")
        # The main figures (and the report's plots) are the first seed's; the others only
        # feed the spread.
        runs.append(evaluate(frame, targets, result["machine"], folds=args.folds, seed=s,
                             splits=splits, say=say, predictions=None if i else preds,
                             progress=not args.quiet, jobs=args.jobs))
    result.update(runs[0])
    if len(runs) > 1:
        from costmodel.model.seed_spread import seed_spread
        result["seed_spread"] = seed_spread(runs, seeds)
    result["noise_ceiling"] = noise_ceiling(own_frame, targets)
    if result.get("splits_clean"):
        result["noise_ceiling_clean"] = noise_ceiling(own_frame, targets, clean=True)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(markdown(result))
    from costmodel.report import write_html
    from costmodel.report.eval import eval_document
    write_html(eval_document(result, preds), html)   # beside the markdown report above
    say(f"report: {report}, {html}")
    if args.json:
        print(json.dumps(result))
    else:
        _print_tables(result)
    return 0


def _print_tables(result: dict) -> None:
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 160)
    for block, base, nkey, label in (("splits", "baselines", "noise_ceiling", ""),
                                     ("splits_clean", "baselines_clean", "noise_ceiling_clean",
                                      ", clean labels")):
        _print_block(console, result, block, base, result.get(nkey) or {}, label)
    noise = result.get("noise_ceiling") or {}
    if not noise.get("available"):
        console.print(f"noise ceiling: unavailable ({noise.get('reason')})")
    for split, why in result.get("unavailable_splits", {}).items():
        console.print(f"{split}: unavailable ({why})")
    if result.get("seed_spread"):
        _print_spread(console, result["seed_spread"])


def _print_spread(console, spread: dict) -> None:
    from rich.table import Table

    from costmodel.model.seed_spread import cell

    seeds = ", ".join(map(str, spread["seeds"]))
    for split, per_target in spread["splits"].items():
        t = Table(title=f"{split} across fold seeds {seeds}: mean [min, max] (model | roofline)")
        t.add_column("metric")
        for target in per_target:
            t.add_column(target, justify="right")
        roof = spread["roofline"].get(split, {})
        for k in dict.fromkeys(k for m in per_target.values() for k in m):
            t.add_row(k, *(f"{cell(m.get(k))} | {cell(roof.get(target, {}).get(k))}"
                           for target, m in per_target.items()))
        console.print(t)


def _print_block(console, result: dict, block: str, base: str, noise: dict, label: str) -> None:
    from rich.table import Table

    from costmodel.model.metrics import METRICS

    for split, per_target in result.get(block, {}).items():
        t = Table(title=f"{split}{label} (model | roofline | random | default"
                        f"{' | noise' if noise.get('available') else ''})")
        t.add_column("metric")
        for target in per_target:
            t.add_column(target, justify="right")
        for k in METRICS:
            cells = []
            for target, m in per_target.items():
                parts = [_f(m.get(k))]
                for b in ("roofline", "random", "compiler_default"):
                    parts.append(_f(result[base][b].get(split, {}).get(target, {}).get(k)))
                if noise.get("available"):
                    parts.append(_f(noise.get(target, {}).get(k)))
                cells.append(" | ".join(parts))
            t.add_row(k, *cells)
        console.print(t)


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from costmodel.model.artifact import read_manifest
    from costmodel.model.onnx_export import check, export

    read_manifest(args.model)   # a clear error for a wrong --model before anything else
    check_out_dir(args.out or Path(args.model) / "onnx",
                  "--out" if args.out else "--out (default MODEL/onnx)")
    if args.check_data and not (Path(args.check_data) / "manifest.json").is_file():
        raise InputError(f"--check-data {args.check_data!r}: not a dataset directory "
                         "(no manifest.json)")
    path = export(args.model, args.out)
    print(path)
    if args.check_data:
        from costmodel.model.data import load_frame
        worst = check(args.model, str(path), load_frame(args.check_data).X)
        for head, rel in worst.items():
            print(f"  {head}: max relative difference ONNX vs native {rel:.2e}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the cost model on a dataset")
    p.add_argument("--data", required=True,
                   help="dataset directory, e.g. datasets/cpu-v1, or several of one CPU "
                        "joined by commas")
    p.add_argument("--targets", default="latency,instructions,spills,code_size",
                   help="comma list of latency, instructions, spills, code_size")
    p.add_argument("--out", required=True, help="model directory, e.g. models/NAME")
    p.add_argument("--seed", type=random_seed, default=0)
    p.add_argument("--transfer-data", default=None, metavar="DATASETS",
                   help="datasets timed on other CPUs (comma list): extra training rows, "
                        "marked by the feature data.other_cpu and ranked within their own "
                        "timings; validation and calibration stay on --data")
    p.add_argument("--calibration", default=None,
                   help="roofline calibration to reuse instead of measuring it: a model "
                        "directory (its manifest's) or a JSON file with peak_flops_per_s, "
                        "bandwidth_bytes_per_s and dispatch_overhead_s; the latency head's "
                        "margin depends on it, so this makes retraining reproducible")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler, e.g. tcp://HOST:8786: train with xgboost.dask "
                        "(default: $COSTMODEL_SCHEDULER, else local; 'local' forces local)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a model's recipe per split, beside baselines")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True,
                   help="dataset directory, or several of one CPU joined by commas")
    p.add_argument("--transfer-data", default=None, metavar="DATASETS",
                   help="datasets timed on other CPUs that every fold also trains on, as "
                        "`train --transfer-data` (never its test kernels; never tested on)")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.add_argument("--report", help="markdown report path (default: MODEL/report.md)")
    p.add_argument("--html-report", help="HTML report with plots (default: the markdown "
                                         "report's path with .html)")
    p.add_argument("--targets", help="subset of the model's targets")
    p.add_argument("--splits", help="comma list (default: all four)")
    p.add_argument("--folds", type=positive_int, default=3,
                   help="folds per split (2 up to the dataset's candidate groups; default 3)")
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="folds trained at once in worker processes (same figures; default 1)")
    p.add_argument("--seed", type=random_seed, default=0)
    p.add_argument("--seeds", type=positive_int, default=1,
                   help="rerun with fold seeds SEED..SEED+N-1 and report each figure's mean, "
                        "min and max (seed_spread); the main figures stay SEED's (default 1)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("export-onnx", help="write the model's heads as ONNX")
    p.add_argument("--model", required=True)
    p.add_argument("--out", help="output directory (default: MODEL/onnx)")
    p.add_argument("--check-data", help="dataset to compare ONNX Runtime with XGBoost on")
    p.set_defaults(func=cmd_export_onnx)
