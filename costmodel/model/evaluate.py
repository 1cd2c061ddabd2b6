"""``costmodel eval``: cross-validated metrics per split and target, beside baselines and the
noise ceiling.

For each split, every fold retrains the model with the same recipe as ``costmodel train``
on the fold's training rows only and predicts its test rows; metrics are computed over the
pooled test predictions of all folds (groups never straddle folds, so within-group ranking
metrics are well defined).
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from costmodel.model import baselines as bl
from costmodel.model.by_family import family_breakdown
from costmodel.model.data import Frame, group_index
from costmodel.model.metrics import (METRICS, coverage, interval_factor, ranking_metrics,
                                     regression_metrics)
from costmodel.model.splits import SPLITS, make_split
from costmodel.model.targets import TARGETS
from costmodel.model.train import fit, predict_rows


#: Targets whose labels are timed, so some carry the ``noisy`` flag.
CLEAN_TARGETS = ("latency",)
CLEAN_LABELS = ("latency rows whose timing confidence interval reached its target "
                "(samples.noisy is false); within-group metrics rank only those rows; "
                "compare with noise_ceiling_clean (repeat pairs with neither run noisy)")


def _target_rows(frame: Frame, name: str, idx: np.ndarray) -> np.ndarray:
    y = frame.y[name][idx]
    t = TARGETS[name]
    ok = np.isfinite(y) & ((y > 0) if t.transform == "log" else (y >= 0))
    return idx[ok]


def evaluate(frame: Frame, targets: list[str], machine: dict, *, folds: int = 3, seed: int = 0,
             splits: list[str] | None = None, say=None, predictions: dict | None = None,
             progress: bool = False, jobs: int = 1) -> dict:
    """``predictions``, when given, receives the pooled out-of-fold test predictions,
    split -> target -> {y, value, lower, upper, rank_cost, group, rows} (for report plots;
    ``rows`` are the frame's row indices).
    ``progress`` shows a bar over the folds (each retrains the model) on stderr. ``jobs``
    > 1 trains that many folds at once in worker processes (single-threaded XGBoost each);
    every fold keeps its own seed, so the figures are the same as with ``jobs=1``."""
    bar = None
    if progress:
        import sys

        from tqdm import tqdm
        bar = tqdm(total=0, desc="evaluating", unit="fold", file=sys.stderr, leave=False)
    try:
        return _evaluate(frame, targets, machine, folds, seed, splits, say, predictions, bar,
                         max(1, int(jobs)))
    finally:
        if bar is not None:
            bar.close()


#: The frame, targets and machine of the evaluation a worker process serves (set once per
#: worker by _init_worker, so each task ships only its fold's row indices).
_WORKER: dict = {}


def _init_worker(frame: Frame, targets: list[str], machine: dict) -> None:
    _WORKER.update(frame=frame, targets=targets, machine=machine)


def _run_fold(task: tuple) -> tuple:
    """Train on one fold's rows and predict its test rows: (split, fold, outputs, seconds)."""
    split_name, fi, tr, te, seed = task
    frame = _WORKER["frame"]
    t0 = time.perf_counter()
    pre, heads, _ = fit(frame.take(tr), _WORKER["targets"], seed=seed, machine=_WORKER["machine"],
                        say=None)
    return split_name, fi, predict_rows(pre, heads, frame.X[te]), time.perf_counter() - t0


def fold_results(frame: Frame, targets: list[str], machine: dict, tasks: list[tuple],
                  jobs: int, on_done):
    """Yield ``_run_fold`` results, in this process or in ``jobs`` spawned workers. A task
    is (name, fold, train indices, test indices, seed); a result is (name, fold, predict_rows
    output on the test rows, seconds)."""
    if jobs <= 1 or len(tasks) <= 1:
        _init_worker(frame, targets, machine)
        try:
            for t in tasks:
                r = _run_fold(t)
                on_done(r)
                yield r
        finally:
            _WORKER.clear()
        return
    import multiprocessing as mp
    # spawn, not fork: a forked child of a process that already ran OpenMP (XGBoost) can hang.
    ctx = mp.get_context("spawn")
    with ctx.Pool(min(jobs, len(tasks)), initializer=_init_worker,
                  initargs=(frame, targets, machine)) as pool:
        for r in pool.imap_unordered(_run_fold, tasks):
            on_done(r)
            yield r


def _evaluate(frame: Frame, targets: list[str], machine: dict, folds: int, seed: int,
              splits: list[str] | None, say, predictions: dict | None, bar,
              jobs: int = 1) -> dict:
    result: dict = {"splits": {}, "baselines": {"roofline": {}, "random": {},
                                                "compiler_default": {}},
                    "split_info": {}, "unavailable_splits": {},
                    # split -> target -> kernel family -> model / roofline (by_family.py)
                    "by_family": {},
                    # The same metrics on clean labels only (beside, never instead of, the
                    # all-label figures above): rows whose timing is not flagged noisy.
                    "labels_clean": CLEAN_LABELS, "splits_clean": {},
                    "baselines_clean": {"roofline": {}, "random": {}, "compiler_default": {}}}
    made = {}
    for split_name in splits or SPLITS:
        sp = make_split(split_name, frame, k=folds, seed=seed)
        if sp.unavailable or not sp.folds:
            result["unavailable_splits"][split_name] = sp.unavailable or "no usable fold"
            if say:
                say(f"{split_name}: unavailable ({result['unavailable_splits'][split_name]})")
            continue
        made[split_name] = sp
    tasks = [(name, fi, tr, te, seed + fi) for name, sp in made.items()
             for fi, (tr, te) in enumerate(sp.folds)]
    if bar is not None:
        bar.total += len(tasks)
        bar.refresh()

    def done(r) -> None:
        name, fi, _, dt = r
        if say:
            tr, te = made[name].folds[fi]
            say(f"{name}: fold {fi + 1}/{len(made[name].folds)}: trained on {len(tr)} rows, "
                f"tested {len(te)} rows, {dt:.0f}s")
        if bar is not None:
            bar.update(1)

    outs: dict[str, dict[int, dict]] = defaultdict(dict)
    secs: dict[str, float] = defaultdict(float)
    for name, fi, out, dt in fold_results(frame, targets, machine, tasks, jobs, done):
        outs[name][fi] = out
        secs[name] += dt
    for split_name, sp in made.items():
        t0 = time.perf_counter()
        preds: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for fi, (tr, te) in enumerate(sp.folds):
            out = outs[split_name][fi]
            for name in out:
                preds[name]["idx"].append(te)
                preds[name]["fold"].append(np.full(len(te), fi))
                for k in ("value", "lower", "upper", "rank_cost"):
                    preds[name][k].append(out[name][k])
        per_target, roof, rnd, dflt = {}, {}, {}, {}
        clean_t, clean_b = {}, {"roofline": {}, "random": {}, "compiler_default": {}}
        for name in targets:
            if name not in preds:
                continue
            te = np.concatenate(preds[name]["idx"])
            cat = {k: np.concatenate(preds[name][k]) for k in ("value", "lower", "upper",
                                                               "rank_cost", "fold")}
            keep = np.isin(te, _target_rows(frame, name, te))
            te = te[keep]
            cat = {k: v[keep] for k, v in cat.items()}
            m, b = _metrics(frame, name, te, cat, machine, seed)
            per_target[name] = m
            result["by_family"].setdefault(split_name, {})[name] = family_breakdown(
                frame.family, te, cat,
                lambda rows, c, name=name: _metrics(frame, name, rows, c, machine, seed))
            for d, k in ((roof, "roofline"), (rnd, "random"), (dflt, "compiler_default")):
                if k in b:
                    d[name] = b[k]
            if predictions is not None:
                predictions.setdefault(split_name, {})[name] = {
                    "y": frame.y[name][te], "group": frame.ranking_group[te], "rows": te, **cat}
            if name in CLEAN_TARGETS and frame.noisy is not None and frame.noisy[te].any():
                c = ~frame.noisy[te]
                m, b = _metrics(frame, name, te[c], {k: v[c] for k, v in cat.items()},
                                machine, seed)
                clean_t[name] = m
                for k, v in b.items():
                    clean_b[k][name] = v
        if clean_t:
            result["splits_clean"][split_name] = clean_t
            for k, v in clean_b.items():
                result["baselines_clean"][k][split_name] = v
        result["splits"][split_name] = per_target
        result["baselines"]["roofline"][split_name] = roof
        result["baselines"]["random"][split_name] = rnd
        result["baselines"]["compiler_default"][split_name] = dflt
        result["split_info"][split_name] = {"folds": len(sp.folds), "held_out": sp.held_out
                                            if split_name not in ("unseen_shapes",
                                                                  "random_within_groups")
                                            else f"{sum(len(h) for h in sp.held_out)} "
                                                 f"{'groups' if split_name == 'unseen_shapes' else 'row sets'}",
                                            # training and predicting, summed over folds
                                            "seconds": round(secs[split_name]
                                                             + time.perf_counter() - t0, 1)}
        if say:
            lat = per_target.get("latency") or next(iter(per_target.values()), {})
            say(f"{split_name}: {secs[split_name] + time.perf_counter() - t0:.0f}s; latency tau "
                f"{_fmt(lat.get('kendall_tau'))}, top-1 slowdown {_fmt(lat.get('top1_slowdown'))}"
                f", MAPE {_fmt(lat.get('mape'))}")
    return result


def _metrics(frame: Frame, name: str, te: np.ndarray, cat: dict, machine: dict,
             seed: int) -> tuple[dict, dict]:
    """Model metrics and baseline metrics of target ``name`` on test rows ``te``."""
    y = frame.y[name][te]
    # Rank within (group, fold): one model's scores only. random_within_groups spreads a
    # group's rows over folds, and ranking scores of different fold models do not compare.
    _, members = group_index(np.char.add(np.char.add(frame.ranking_group[te].astype(str), "#"),
                                         cat["fold"].astype(str)))
    m = ranking_metrics(cat["rank_cost"], y, members, seed=seed)
    m.update(regression_metrics(cat["value"], y, TARGETS[name].forward))
    m["interval_coverage"] = coverage(cat["lower"], cat["upper"], y)
    m["interval_factor"] = interval_factor(cat["lower"], cat["upper"])
    m["test_rows"] = int(len(te))
    m["test_groups"] = int(len(members))
    b = {"random": bl.random_metrics(y, members),
         "compiler_default": bl.default_metrics(y, members, frame.is_default[te],
                                                frame.data_tiling[te], frame.ukernels[te])}
    if name == "latency":
        pred = bl.roofline_latency(frame.flops[te], frame.bytes[te], frame.pad[te], machine)
        b["roofline"] = bl.roofline_metrics(pred, y, members, TARGETS[name])
    return {k: m.get(k) for k in (*METRICS, "test_rows", "test_groups")}, b


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def noise_ceiling(frame: Frame, targets: list[str], *, clean: bool = False) -> dict:
    """The same metrics between the main run and a repeated run of the same samples.

    ``clean``: only pairs where neither run's timing is flagged noisy, and only the
    timed targets (CLEAN_TARGETS)."""
    if not frame.repeats:
        return {"available": False,
                "reason": "the dataset has no repeated measurements (run `costmodel noise`)"}
    index = {(g, s): i for i, (g, s) in enumerate(zip(frame.ranking_group, frame.schedule_json))}
    out: dict = {"available": True, "runs": sorted({r["run"] for r in frame.repeats})}
    if clean:
        out["labels"] = "clean"
    for name in targets:
        if clean and name not in CLEAN_TARGETS:
            continue
        t = TARGETS[name]
        main_i, rep_v = [], []
        for r in frame.repeats:
            i = index.get((r["group_id"], r["schedule_json"]))
            v = t.value(r)
            if i is None or v is None or not np.isfinite(frame.y[name][i]):
                continue
            if clean and (r.get("noisy") or (frame.noisy is not None and frame.noisy[i])):
                continue
            main_i.append(i)
            rep_v.append(v)
        if len(main_i) < 2:
            continue
        idx = np.asarray(main_i)
        pred = np.asarray(rep_v, dtype=np.float64)
        y = frame.y[name][idx]
        _, members = group_index(frame.ranking_group[idx])
        m = ranking_metrics(pred, y, members)
        m.update(regression_metrics(pred, y, t.forward))
        m["pairs"] = int(len(idx))
        out[name] = m
    return out
