"""`costmodel train --scheduler ...`: the same recipe as train.fit, on a Dask cluster.

The Parquet files are read as Dask dataframes, rows are shuffled so every candidate group
sits whole in one partition, and each partition is featurized on a worker; nothing but
per-column statistics, the validation/calibration predictions and the boosters comes back
here, so the training data may exceed one machine's memory. The dataset path must be
readable by the workers (shared storage, or a URL Dask can read).

Differences from the local recipe, by necessity: whole groups go to fit / validation /
calibration by a hash of the group id (not a permutation of all groups), and XGBoost trains
with xgboost.dask (histograms allreduced across workers). Quality matches local training
within noise; tests/test_distributed.py checks it.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from costmodel.errors import InputError
from costmodel.model.default_configs import dataset_target_cpu
from costmodel.model.train import ALPHA, MIN_ROWS, training_manifest

#: Fractions of groups held out for validation (early stopping, head choice) and calibration.
VAL, CAL = 0.15, 0.15
_SAMPLE_COLS = ["sample_key", "run", "feasible", "group_id", "family", "ir_hash", "schedule_json",
                "latency_median_s", "static_instructions", "instructions", "spills", "vmfb_bytes"]


def split_of(group: str, seed: int) -> int:
    """0 = fit, 1 = validation, 2 = calibration: a stable hash of the group id and seed."""
    u = int.from_bytes(hashlib.sha256(f"{seed}:{group}".encode()).digest()[:8], "little") / 2**64
    return 1 if u < VAL else 2 if u < VAL + CAL else 0


def _feature_cols() -> list[str]:
    from costmodel.model.features import FEATURE_NAMES
    return [f"f{i}" for i in range(len(FEATURE_NAMES))]


def _meta(targets: list[str]):
    import pandas as pd
    cols = {c: pd.Series(dtype="float64") for c in _feature_cols()}
    for t in targets:
        cols[f"y_{t}"] = pd.Series(dtype="float64")
    cols.update(group=pd.Series(dtype="object"), family=pd.Series(dtype="object"),
                split=pd.Series(dtype="int64"), qid=pd.Series(dtype="int64"))
    return pd.DataFrame(cols)


def featurize_partition(df, targets: list[str], seed: int, defaults_cpu: str | None = None):
    """Worker side: feature rows for one partition of whole groups, sorted by group.
    ``defaults_cpu``: default candidates get IREE's defaults for that CPU, as load_frame's."""
    import pandas as pd

    from costmodel.model.features import feature_matrix, kernel_features, strip_schedule
    from costmodel.model.targets import TARGETS

    if len(df) == 0:
        return _meta(targets)
    df = df.sort_values(["group_id", "sample_key"]).reset_index(drop=True)
    X = np.zeros((len(df), len(_feature_cols())))
    kernels: dict[str, list[int]] = {}
    for i, text in enumerate(df["ir"]):
        kernels.setdefault(strip_schedule(text), []).append(i)
    for text, idx in kernels.items():
        X[idx] = feature_matrix(kernel_features(text),
                                [json.loads(df["schedule_json"].iat[i]) for i in idx],
                                defaults_cpu=defaults_cpu)
    out = pd.DataFrame(X, columns=_feature_cols())
    records = df[_SAMPLE_COLS].to_dict("records")
    for t in targets:
        out[f"y_{t}"] = [np.nan if (v := TARGETS[t].value(_py(r))) is None else v for r in records]
    out["group"] = df["group_id"].astype(object).to_numpy()
    out["family"] = df["family"].astype(object).to_numpy()
    out["split"] = np.array([split_of(g, seed) for g in out["group"]], dtype=np.int64)
    # Integer query ids for the ranker; rows are sorted by them within the partition.
    out["qid"] = np.array([int.from_bytes(hashlib.sha256(g.encode()).digest()[:7], "little")
                           for g in out["group"]], dtype=np.int64)
    return out.sort_values(["qid"], kind="stable").reset_index(drop=True)


def _py(row: dict) -> dict:
    return {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else v)
            for k, v in row.items()}


def _check_dataset(root: Path) -> dict:
    """Manifest, schema version and checksums, streamed (no table is loaded here)."""
    from costmodel.dataset.schema import SCHEMA_VERSION
    from costmodel.dataset.store import MANIFEST, PROGRAMS, SAMPLES, DatasetError, file_sha256

    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{root}: no readable {MANIFEST} ({exc})") from None
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(f"{root}: schema version {manifest.get('schema_version')}, this build "
                           f"reads {SCHEMA_VERSION}")
    for name in (SAMPLES, PROGRAMS):
        meta = (manifest.get("files") or {}).get(name)
        if meta is None or not (root / name).exists():
            raise DatasetError(f"{root}: {name} missing")
        if file_sha256(root / name) != meta["sha256"]:
            raise DatasetError(f"{root / name}: checksum does not match the manifest")
    return manifest


def feature_frame(client, root: str | Path, targets: list[str], *, seed: int = 0,
                  npartitions: int | None = None, defaults_cpu: str | None = None):
    """The featurized training rows as a persisted Dask dataframe (whole groups per partition)."""
    import dask.dataframe as dd

    root = Path(root)
    samples = dd.read_parquet(str(root / "samples.parquet"), columns=_SAMPLE_COLS)
    samples = samples[(samples["run"] == "main") & samples["feasible"]]
    programs = dd.read_parquet(str(root / "programs.parquet"), columns=["ir_hash", "ir"])
    rows = samples.merge(programs, on="ir_hash", how="left")
    n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
    nparts = npartitions or max(2, 2 * n_workers)
    rows = rows.shuffle("group_id", npartitions=nparts)
    feats = rows.map_partitions(featurize_partition, targets, seed, defaults_cpu,
                                meta=_meta(targets))
    return client.persist(feats)


def fit_dask(client, root: str | Path, targets: list[str], *, seed: int = 0, alpha: float = ALPHA,
             say=None):
    """Train on a cluster: returns (Preprocessor, heads, info, summary) like train.fit."""
    import dask
    import xgboost.dask as dxgb

    from costmodel.model.data import group_index
    from costmodel.model.heads import (EARLY_STOP, MAX_ROUNDS, RANK_PARAMS, REG_PARAMS,
                                       TargetHeads)
    from costmodel.model.intervals import conformal_quantile
    from costmodel.model.metrics import ranking_metrics, regression_metrics
    from costmodel.model.preprocess import Preprocessor
    from costmodel.model.targets import TARGETS

    def compute(*xs):  # on this client's cluster, even when it is not Dask's default client
        return dask.compute(*xs, scheduler=client)

    manifest = _check_dataset(Path(root))
    cpu = dataset_target_cpu(manifest)
    feats = feature_frame(client, root, targets, seed=seed, defaults_cpu=cpu)
    cols = _feature_cols()
    Xall = feats[cols].map_partitions(lambda d: d.replace([np.inf, -np.inf], np.nan).fillna(0.0),
                                      meta=feats[cols]._meta)
    fit_rows = feats["split"] == 0
    n, counts, groups, families, lo, hi = compute(
        feats.shape[0], feats["split"].value_counts(), feats["group"].nunique(),
        feats["family"].unique(), Xall[fit_rows].min(), Xall[fit_rows].max())
    if n < MIN_ROWS:
        raise InputError(f"only {n} feasible samples; need at least {MIN_ROWS} to train")
    # The local pipeline drops constant columns (VarianceThreshold(0)) fitted on the fit rows.
    pre = Preprocessor(np.flatnonzero(hi.to_numpy() > lo.to_numpy()))
    kept = [cols[i] for i in pre.kept]
    X = Xall[kept]
    heads, holdout = {}, {}
    for name in targets:
        t = TARGETS[name]
        y = feats[f"y_{name}"]
        ok = y.notnull() & ((y > 0) if t.transform == "log" else (y >= 0))
        z = y.map_partitions(_forward, t, meta=y._meta)
        part = {k: ok & (feats["split"] == k) for k in (0, 1, 2)}
        n_fit = int(compute(part[0].sum())[0])
        if n_fit < 4:
            if say:
                say(f"  {name}: skipped, only {n_fit} rows with a value")
            continue
        t0 = time.perf_counter()
        params = dict(REG_PARAMS, seed=seed)
        dfit = dxgb.DaskDMatrix(client, X[part[0]], z[part[0]])
        dval = dxgb.DaskDMatrix(client, X[part[1]], z[part[1]])
        has_val = int(compute(part[1].sum())[0]) > 0
        if has_val:
            out = dxgb.train(client, params, dfit, MAX_ROUNDS, evals=[(dval, "val")],
                             early_stopping_rounds=EARLY_STOP, verbose_eval=False)
            reg_rounds = out["booster"].best_iteration + 1
        else:
            reg_rounds = 300
        rank_params = dict(RANK_PARAMS, seed=seed)
        rel = _relevance(feats, z, ok)
        rfit = dxgb.DaskDMatrix(client, X[part[0]], rel[part[0]], qid=feats["qid"][part[0]])
        if has_val:
            rval = dxgb.DaskDMatrix(client, X[part[1]], rel[part[1]], qid=feats["qid"][part[1]])
            rout = dxgb.train(client, rank_params, rfit, MAX_ROUNDS, evals=[(rval, "val")],
                              early_stopping_rounds=EARLY_STOP, verbose_eval=False)
            rank_rounds = rout["booster"].best_iteration + 1
        else:
            rank_rounds = 200
        fv = part[0] | part[1]
        reg = dxgb.train(client, params, dxgb.DaskDMatrix(client, X[fv], z[fv]), reg_rounds)["booster"]
        rank = dxgb.train(client, rank_params,
                          dxgb.DaskDMatrix(client, X[fv], rel[fv], qid=feats["qid"][fv]),
                          rank_rounds)["booster"]
        source = "ranking"
        if has_val:
            # Which head orders the validation groups better? (judged here: one column each)
            pv_reg = dxgb.predict(client, out["booster"], X[part[1]])
            pv_rank = dxgb.predict(client, rout["booster"], X[part[1]])
            a, b, zv, gv = compute(pv_reg, pv_rank, z[part[1]], feats["group"][part[1]])
            _, members = group_index(np.asarray(gv))
            zv = np.asarray(zv)
            tau_reg = ranking_metrics(np.asarray(a), zv, members)["kendall_tau"]
            tau_rank = ranking_metrics(-np.asarray(b), zv, members)["kendall_tau"]
            if tau_reg is not None and (tau_rank is None or tau_reg > tau_rank):
                source = "regression"
        for bst in (reg, rank):
            bst.set_param({"nthread": 1})
        zc, yc, gc, xc_rank = compute(dxgb.predict(client, reg, X[part[2]]), y[part[2]],
                                           feats["group"][part[2]],
                                           dxgb.predict(client, rank, X[part[2]]))
        zc, yc = np.asarray(zc, dtype=np.float64), np.asarray(yc, dtype=np.float64)
        q = conformal_quantile(t.forward(yc) - zc, alpha) if len(zc) else float("inf")
        h = TargetHeads(t, reg, rank, q, alpha, source, reg_rounds, rank_rounds)
        heads[name] = h
        if len(zc):
            _, members = group_index(np.asarray(gc))
            cost = -np.asarray(xc_rank, dtype=np.float64) if source == "ranking" else zc
            m = ranking_metrics(cost, yc, members)
            m.update(regression_metrics(t.inverse(zc), yc, t.forward))
            holdout[name] = m
        if say:
            say(f"  {name}: {reg_rounds} regression / {rank_rounds} ranking rounds, ranking by "
                f"the {source} head; 90% interval = x/ {np.exp(q):.3f}; "
                f"{time.perf_counter() - t0:.1f}s")
    if not heads:
        raise InputError("no target had enough samples to train")
    info = {"rows": {"fit": int(counts.get(0, 0)), "validation": int(counts.get(1, 0)),
                     "calibration": int(counts.get(2, 0))},
            "holdout_metrics": holdout, "alpha": alpha}
    summary = {"rows": int(n), "groups": int(groups), "families": sorted(map(str, families)),
               "hash": "parquet-sha256:" + manifest["files"]["samples.parquet"]["sha256"],
               "manifest": manifest, "defaults_target_cpu": cpu}
    return pre, heads, info, summary


def _forward(s, t):
    import pandas as pd
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.Series(t.forward(s.to_numpy()), index=s.index, name=s.name)


def _relevance(feats, z, ok):
    """Integer relevance within each group (the lowest cost is most relevant), as local."""
    import pandas as pd

    def rel(df):
        out = np.zeros(len(df))
        zz = df["z"].to_numpy()
        okk = df["ok"].to_numpy()
        for _, idx in df.groupby("group", sort=False).indices.items():
            idx = idx[okk[idx]]
            if len(idx) < 2:
                continue
            r = np.argsort(np.argsort(zz[idx], kind="stable"), kind="stable")
            m = len(idx)
            out[idx] = np.floor((m - 1 - r) * min(1.0, 31.0 / max(m - 1, 1)))
        return pd.Series(out, index=df.index)

    both = feats[["group"]].assign(z=z, ok=ok)
    return both.map_partitions(rel, meta=("rel", "float64"))


def train_command(args, address: str, say) -> int:
    """`costmodel train --scheduler ADDRESS`: fit on the cluster, save like the local command."""
    from costmodel.distributed.scheduler import connect
    from costmodel.model.artifact import save
    from costmodel.model.baselines import microbenchmark
    from costmodel.model.predictor import CostModel
    from costmodel.model.targets import parse_targets

    targets = parse_targets(args.targets)
    t0 = time.perf_counter()
    client = connect(address)
    try:
        say(f"training {', '.join(targets)} on {address} (xgboost.dask, "
            f"{len(client.scheduler_info(n_workers=-1)['workers'])} workers)")
        with client.as_current():  # xgboost.dask looks the client up globally
            pre, heads, info, summary = fit_dask(client, args.data, targets, seed=args.seed,
                                                 say=say)
    finally:
        client.close()
    dm = summary["manifest"]
    machine = microbenchmark()
    manifest = training_manifest(
        args.data, dm, {k: summary[k] for k in ("hash", "rows", "groups", "families",
                                            "defaults_target_cpu")},
        args.seed, info, pre, time.perf_counter() - t0, machine,
        scheduler=address, engine="xgboost.dask")
    out = save(CostModel(pre, heads, manifest), args.out)
    say(f"saved {out} ({len(heads)} targets) in {time.perf_counter() - t0:.0f}s")
    for name, m in info["holdout_metrics"].items():
        say(f"  holdout {name}: tau {_f(m.get('kendall_tau'))}, MAPE {_f(m.get('mape'))}, "
            f"R2(log) {_f(m.get('r2_log'))}")
    return 0


def _f(v) -> str:
    return "-" if v is None else f"{v:.3f}"
