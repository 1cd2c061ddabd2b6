"""Training: preprocessing, per-target heads with early stopping, conformal calibration."""

from __future__ import annotations

import sys
import time

import numpy as np

from costmodel.errors import InputError
from costmodel.model.data import Frame, group_index
from costmodel.model.features import N_BASE
from costmodel.model.heads import (BLEND_GRID, TARGET_PARAMS, TargetHeads, fit_ranker,
                                   fit_regression, margin, refit_regression, within_group_std)
from costmodel.model.intervals import conformal_quantile, interval
from costmodel.model.metrics import ranking_metrics, regression_metrics
from costmodel.model.novelty import DISPATCH_COLUMN, DISPATCH_FOLDS, family_root, is_dispatch
from costmodel.model.offset import OFFSET_TARGETS, RooflineOffset
from costmodel.model.preprocess import Preprocessor
from costmodel.model.splits import holdout_groups
from costmodel.model.structure import Structure, structure_columns
from costmodel.model.targets import TARGETS

#: The feature column of a kernel's root-op family (an index into ir.families.FAMILIES).
FAMILY_COLUMN = "root.family_code"
ALPHA = 0.1  # 90% predictive intervals
MIN_ROWS = 12
#: Training weight of a latency label flagged ``noisy`` (its timing CI never reached the
#: target): such labels moved a median 34% between repeat runs, clean ones 6.4%.
NOISY_WEIGHT = 0.2


def row_weights(frame: Frame, name: str) -> np.ndarray | None:
    """Per-row training weights of target ``name``: noisy timings count NOISY_WEIGHT.

    Only latency is timed; the other targets are deterministic compiler outputs."""
    if name != "latency" or frame.noisy is None or not frame.noisy.any():
        return None
    return np.where(frame.noisy, NOISY_WEIGHT, 1.0)


def stderr_say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fit(frame: Frame, targets: list[str], *, seed: int = 0, alpha: float = ALPHA,
        machine: dict | None = None, say=None,
        progress=None) -> tuple[Preprocessor, dict[str, TargetHeads], dict]:
    """Fit preprocessing and heads on ``frame``.

    ``machine`` (the roofline calibration from ``baselines.microbenchmark``) gives the
    latency regression head its base margin (offset.py); without it the head fits the plain
    log target.

    Rows are split by whole groups into fit (70%), validation (15%: early stopping and the
    choice of the ranking head) and calibration (15%: conformal intervals and the holdout
    metrics). After early stopping the heads are refit on fit + validation with the chosen
    number of rounds; calibration rows are never seen by a head.

    Rows marked ``frame.transfer`` (timed on another CPU, ``--transfer-data``) are fit
    rows only, ranked in groups of their own dataset's timings; validation, calibration,
    the held-out refits' test rows and so every choice and interval are this CPU's rows.
    """
    tr = np.zeros(len(frame), dtype=bool) if frame.transfer is None else frame.transfer
    if int((~tr).sum()) < MIN_ROWS:
        raise InputError(f"only {int((~tr).sum())} feasible samples; need at least "
                         f"{MIN_ROWS} to train")
    own = np.flatnonzero(~tr)
    val_idx, cal_idx, fit_idx = (own[i] for i in holdout_groups(frame.group[own],
                                                                (0.15, 0.15), seed))
    fit_idx = np.concatenate([fit_idx, np.flatnonzero(tr)])
    pre = Preprocessor.fit(frame.X[fit_idx])
    X = pre.transform(frame.X)
    held_out = _held_out_families(frame, cal_idx, seed, own)
    dcol = pre.names.index(DISPATCH_COLUMN) if DISPATCH_COLUMN in pre.names else None
    structure = Structure.build(X[own], structure_columns(pre.names, N_BASE, pre.kept))
    heads: dict[str, TargetHeads] = {}
    holdout: dict[str, dict] = {}
    recipe: dict[str, dict] = {}
    for name in (targets if progress is None else progress(targets, "training heads")):
        t = TARGETS[name]
        y = frame.y[name]
        ok = np.isfinite(y) & ((y > 0) if t.transform == "log" else (y >= 0))
        f, v, c = (i[ok[i]] for i in (fit_idx, val_idx, cal_idx))
        if len(f) < 4:
            if say:
                say(f"  {name}: skipped, only {len(f)} rows with a value")
            continue
        z = t.forward(np.where(ok, y, 1.0))
        w = row_weights(frame, name)
        ws = (lambda i: None) if w is None else (lambda i: w[i])  # noqa: E731
        # The ranker's pairs come from whole kernels (``group``), even where a kernel was
        # collected twice: per-dataset groups measured the same on held-out shapes and
        # models (stop 45: tau 0.665 / 0.667 vs 0.667 / 0.669 over fold seeds 0 and 1) and
        # ranked this machine's pools worse (TenSet top-1 0.28 vs 0.48). Metrics and the
        # holdout rank within ``ranking_group``. Rows of other CPUs pair only within their
        # own dataset's timings (``ranking_group``).
        g = frame.group if frame.transfer is None else np.where(tr, frame.ranking_group,
                                                                  frame.group)
        rp = TARGET_PARAMS.get(name, {}).get("regression")
        kp = TARGET_PARAMS.get(name, {}).get("ranking")
        off = RooflineOffset.for_columns(pre.names, machine) if name in OFFSET_TARGETS else None
        zr = z if off is None else z - off(X)  # what the regression head fits
        t0 = time.perf_counter()
        reg, reg_rounds = fit_regression(X[f], zr[f], X[v], zr[v], seed=seed, say=say,
                                         name=name, weight=ws(f), weight_v=ws(v), params=rp)
        rank, rank_rounds = fit_ranker(X[f], z[f], g[f], X[v], z[v], g[v], seed=seed, say=say,
                                       name=name, weight=ws(f), params=kp)
        h = TargetHeads(t, reg, rank, 0.0, alpha, "regression", reg_rounds, rank_rounds,
                        offset=off)
        fv = np.concatenate([f, v])
        # Held-out tree outputs (trees, offset, truth): out-of-family and out-of-model
        # refits, made once and used for both the tree weight and the interval widths.
        by_family = held_out is not None and len(c) > 0
        fam_keep = fam_test = fam_new = None
        if by_family:
            fam_keep, fam_test = fv[~held_out[fv]], np.flatnonzero(held_out & ok & ~tr)
        fam = (_held_out_parts(X, zr, z, off, fam_keep, fam_test, reg_rounds, seed, ws, rp)
               if by_family else None)
        per_model = (_out_of_model_parts(X, zr, z, off, ok, np.concatenate([fv, c]), frame.model,
                                         is_dispatch(X, dcol) & ~tr, reg_rounds, seed, ws, rp)
                     if dcol is not None and len(c) else [])
        if off is not None:
            val = (margin(reg, X[v]), off(X[v]), z[v]) if len(v) else None
            h.tree_weight = choose_tree_weight([p for p in (val, fam, _pooled(per_model))
                                                if p is not None])
        if fam is not None:
            # The wider band goes to kernels of a new structure (structure.py), so it is
            # calibrated on held-out families' rows whose structure the refit had not seen
            # (two families may share one: both convolution layouts).
            new = structure.build_from(X[fam_keep]).is_new(X[fam_test])
            fam_new = tuple(a[new] for a in fam) if new.any() else None
        h.rank_source, h.rank_weight = _choose_ordering(h, X[v], z[v], g[v])
        if off is not None and per_model:
            # Real models' dispatches in training are few; on a new model the trees'
            # correction may transfer worse (or better) than on synthetic kernels.
            h.dispatch_tree_weight, h.dispatch_col = choose_tree_weight(per_model), dcol
            if FAMILY_COLUMN in pre.names:
                h.family_col = pre.names.index(FAMILY_COLUMN)
                h.dispatch_family_weights = choose_family_weights(per_model,
                                                                  X[:, h.family_col])
        h.reg = refit_regression(X[fv], zr[fv], reg_rounds, seed=seed, weight=ws(fv), params=rp)
        h.rank, _ = fit_ranker(X[fv], z[fv], g[fv], None, [], None, seed=seed,
                               rounds=rank_rounds, weight=ws(fv), params=kp)
        zc, cc = h.predict_log_and_cost(X[c]) if len(c) else (np.zeros(0), np.zeros(0))
        h.q = conformal_quantile(z[c] - zc, alpha) if len(c) else float("inf")
        if by_family:
            h.structure = structure
            h.q_novel = h.q if fam_new is None else max(
                h.q, conformal_quantile(_residuals(fam_new, h.tree_weight), alpha))
        if per_model:
            # Exchangeable units are models, not rows (a model's dispatches err together):
            # take each held-out model's own conformal quantile and the largest of them. With
            # K models seen, a new model's quantile exceeds that with probability at most
            # 1/(K+1). Pooling the rows instead covered 0.83-0.87 on unseen models (cpu-v2,
            # instructions, code_size).
            qd = max(conformal_quantile(_residuals(p, h.tree_weights(X[p[3]])), alpha)
                     for p in per_model)
            h.q_dispatch, h.dispatch_col = max(h.q, qd), dcol
        recipe[name] = {"regression_rounds": int(reg_rounds),
                        "param_overrides": TARGET_PARAMS.get(name, {}),
                        "noisy_label_weight": None if w is None else NOISY_WEIGHT,
                        "regression_offset": None if off is None else "log_roofline",
                        "tree_weight": h.tree_weight,
                        "dispatch_tree_weight": h.dispatch_tree_weight,
                        "dispatch_family_weights": h.family_weight_names(),
                        "novel_log_half_width": h.q_novel,
                        "dispatch_log_half_width": h.q_dispatch}
        heads[name] = h
        if len(c):
            _, members = group_index(frame.ranking_group[c])
            m = ranking_metrics(cc, y[c], members)
            m.update(regression_metrics(t.inverse(zc), y[c], t.forward))
            holdout[name] = m
        if say:
            novel = "" if h.q_novel is None else f", kernels of a new structure x/ {np.exp(h.q_novel):.3f}"
            if h.q_dispatch is not None:
                novel += f", real-model dispatches x/ {np.exp(h.q_dispatch):.3f}"
            trees = "" if off is None else f"trees weigh {h.tree_weight:.2f} over the roofline; "
            if h.dispatch_tree_weight is not None:
                fams = ", ".join(f"{k} {v:.2f}" for k, v in h.family_weight_names().items())
                trees += (f"{h.dispatch_tree_weight:.2f} on real-model dispatches"
                          f"{f' ({fams})' if fams else ''}; ")
            say(f"  {name}: {trees}ranking by {h.rank_source} (rank weight "
                f"{h.rank_weight:.3g}); 90% interval = x/ {np.exp(h.q):.3f} (log half-width "
                f"{h.q:.3f}){novel}; {time.perf_counter() - t0:.1f}s")
    if not heads:
        raise InputError("no target had enough samples to train")
    info = {"rows": {"fit": int(len(fit_idx)), "validation": int(len(val_idx)),
                     "calibration": int(len(cal_idx)),
                     **({"transfer": int(tr.sum())} if tr.any() else {})},
            "holdout_metrics": holdout, "alpha": alpha, "recipe": recipe}
    return pre, heads, info


def _held_out_families(frame: Frame, cal_idx: np.ndarray, seed: int,
                       own: np.ndarray) -> np.ndarray | None:
    """A mask of the rows whose families the out-of-family residuals hold out (a third of
    the families of the ``own`` rows, this CPU's; other CPUs' rows of those families are
    held out too), or None with fewer than two families or no calibration rows."""
    root = np.array([family_root(f) for f in frame.family])
    fams = np.unique(root[own])
    if len(fams) < 2 or not len(cal_idx):
        return None
    rng = np.random.default_rng(seed)
    held = rng.choice(fams, size=max(1, len(fams) // 3), replace=False)
    return np.isin(root, held)


#: Candidate weights of the regression trees over the roofline offset (``offset + w * trees``).
TREE_WEIGHT_GRID = tuple(np.round(np.arange(0.0, 1.0001, 0.05), 2))

#: (tree outputs, offset or 0, log truth) on held-out rows; out-of-model parts add the
#: rows' indices.
Parts = tuple


def _residuals(parts: Parts, w: float | np.ndarray) -> np.ndarray:
    tree, offv, zt = parts[:3]
    return zt - (w * tree + offv)


def _pooled(parts: list[Parts]) -> Parts | None:
    return tuple(np.concatenate(a) for a in zip(*parts)) if parts else None


def choose_tree_weight(sources: list[Parts]) -> float:
    """The weight w in ``offset + w * trees`` with the lowest mean squared log error over
    held-out sources (validation kernels, held-out families, held-out real models; each
    counts once). Ties keep w = 1.

    Trees learn the roofline's error on kernels like those they saw; on unfamiliar ones that
    correction overshoots (cpu-v4, latency: on held-out families the full correction
    overpredicts by a mean 0.28 in log). The loss is symmetric on purpose: MAPE, minimised
    instead, chose w = 0.7 and bought its lower MAPE with underprediction (the roofline is
    below the truth on 95% of rows), dropping R^2 (log) on unseen shapes from 0.92 to 0.83."""
    sources = [s for s in sources if len(s[2])]
    if not sources:
        return 1.0

    def cost(w: float) -> float:
        return float(np.mean([np.mean(_residuals(s, w) ** 2) for s in sources]))

    best = 1.0, cost(1.0)
    for w in TREE_WEIGHT_GRID[::-1]:
        c = cost(float(w))
        if c < best[1] - 1e-12:
            best = float(w), c
    return best[0]


def choose_family_weights(per_model: list[Parts], codes: np.ndarray) -> dict[int, float]:
    """Per root-op family code: ``choose_tree_weight`` over the held-out models' dispatches
    of that family (each model counts once), for families that at least two held-out
    models have. ``codes``: the family-code column, by row index (parts' fourth element).

    One weight for every dispatch under-used the trees on convolutions and over-used them
    on matmuls (real matmuls run near the calibrated peak; synthetic ones taught the trees
    an inefficiency). `costmodel eval --splits unseen_models --seeds 6`, cpu-v4, latency
    MAPE mean: one dispatch weight 0.285, per family 0.257; the roofline 0.284."""
    out: dict[int, float] = {}
    for code in np.unique(np.concatenate([codes[p[3]] for p in per_model])):
        sub = [tuple(a[codes[p[3]] == code] for a in p[:3]) for p in per_model]
        sub = [q for q in sub if len(q[2])]
        if code >= 0 and len(sub) >= 2:  # (-1: a root op of no known family)
            out[int(code)] = choose_tree_weight(sub)
    return out


def _held_out_parts(X, zr, z, off, keep, test, rounds: int, seed: int, ws,
                    params) -> Parts | None:
    """Outputs on rows ``test`` of a regression head refitted on rows ``keep`` only (the
    recipe and rounds of the real head), or None when there is too little to fit or test."""
    if len(keep) < 4 or not len(test):
        return None
    reg = refit_regression(X[keep], zr[keep], rounds, seed=seed, weight=ws(keep),
                           params=params)
    return (margin(reg, X[test]), np.zeros(len(test)) if off is None else off(X[test]), z[test])


def _out_of_model_parts(X, zr, z, off, ok, rows: np.ndarray, model: np.ndarray,
                        dispatch: np.ndarray, rounds: int, seed: int, ws,
                        params) -> list[Parts]:
    """Held-out outputs on real models' dispatches, one entry per model, each predicted by a
    regression head fitted without it (K-fold over the models among ``rows``; same recipe
    and rounds). Empty with fewer than two models."""
    real = rows[dispatch[rows] & (model[rows] != "")]
    models = np.unique(model[real])
    if len(models) < 2:
        return []
    rng = np.random.default_rng(seed)
    folds = np.array_split(rng.permutation(models), min(DISPATCH_FOLDS, len(models)))
    fit_rows = rows[ok[rows]]
    out: list[Parts] = []
    for held in folds:
        mask = np.isin(model, held)
        test = real[mask[real] & ok[real]]
        p = _held_out_parts(X, zr, z, off, fit_rows[~mask[fit_rows]], test, rounds, seed, ws,
                            params)
        if p is not None:
            out += [tuple(a[model[test] == m] for a in (*p, test))
                    for m in np.unique(model[test])]
    return out


def _choose_ordering(h: TargetHeads, Xv, zv, gv) -> tuple[str, float]:
    """What orders candidates best on the validation groups: the regression head, the
    ranking head, or ``zhat - w * rank_score`` for w on a grid (scaled by the ratio of the
    heads' within-group spreads). Ties go to the simpler rule."""
    if not len(zv):
        return "ranking", 0.0
    _, members = group_index(gv)
    zr = h.predict_log(Xv)
    sr = h.rank.inplace_predict(Xv).astype(np.float64)
    scale = within_group_std(zr, members) / max(within_group_std(sr, members), 1e-12)
    best = ("regression", 0.0, ranking_metrics(zr, zv, members)["kendall_tau"] or -2.0)
    for a in BLEND_GRID[1:]:
        tau = ranking_metrics(zr - a * scale * sr, zv, members)["kendall_tau"] or -2.0
        if tau > best[2]:
            best = ("blend", a * scale, tau)
    tau = ranking_metrics(-sr, zv, members)["kendall_tau"] or -2.0
    if tau > best[2]:
        best = ("ranking", 0.0, tau)
    return best[0], float(best[1])


def predict_rows(pre: Preprocessor, heads: dict[str, TargetHeads], Xraw: np.ndarray) -> dict:
    """Per target: value, lower, upper, rank cost for raw feature rows."""
    X = pre.transform(Xraw)
    out = {}
    for name, h in heads.items():
        z, cost = h.predict_log_and_cost(X)
        lo, hi = interval(z, h.half_width(X), h.target.inverse)
        out[name] = {"value": h.target.inverse(z), "lower": lo, "upper": hi,
                     "rank_cost": cost}
    return out


def training_manifest(data_path: str, dataset_manifest: dict | list[dict], data: dict,
                      seed: int, info: dict, pre: Preprocessor, seconds: float,
                      machine: dict, transfer: dict | None = None,
                      **training: object) -> dict:
    """The model manifest's record of how it was trained; the same for local and Dask
    training. ``data`` holds the frame's hash, rows, groups and families. Several dataset
    manifests (`--data A,B`): the first one's name and hardware id lead, and ``datasets``
    lists each. ``transfer``: the other CPUs' datasets the heads also fit
    (``--transfer-data``)."""
    from costmodel.model.heads import RANK_PARAMS, REG_PARAMS

    manifests = dataset_manifest if isinstance(dataset_manifest, list) else [dataset_manifest]
    first = manifests[0]
    record = {"path": str(data_path),
              "name": "+".join(str(m.get("name")) for m in manifests), **data,
              "hardware_id": first.get("hardware", {}).get("id"),
              "dataset_updated": max((str(m["updated"]) for m in manifests
                                      if m.get("updated")), default=None),
              "instructions_source": "callgrind `instructions` where measured, "
                                     "else `static_instructions`"}
    if transfer:
        record["transfer"] = transfer
    if len(manifests) > 1:
        record["hardware_ids"] = sorted({m.get("hardware", {}).get("id") for m in manifests})
        record["datasets"] = [{"path": p.strip(), "name": m.get("name"), "rows": m.get("rows"),
                               "hardware_id": m.get("hardware", {}).get("id"),
                               "updated": m.get("updated")}
                              for p, m in zip(str(data_path).split(","), manifests)]
    return {
        "training_data": record,
        "training": {"seed": seed, "rows": info["rows"], "alpha": info["alpha"],
                     "regression_params": REG_PARAMS, "ranking_params": RANK_PARAMS,
                     "kept_features": len(pre.kept), "heads": info.get("recipe", {}),
                     **training, "seconds": round(seconds, 1)},
        "metrics": {"holdout": info["holdout_metrics"]},
        "machine": machine,
    }
