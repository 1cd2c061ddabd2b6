"""A schedule prior learned from measured schedules of other dispatches (transfer, as in
Ansor's and TenSet's pre-training on tuning records).

The cost model is trained on synthetic kernel families and ranks the candidates of real-model
dispatches poorly. Measured tuning records of real dispatches (the benchmark's pools, or any
earlier tuning run) teach which schedule shapes win relative to IREE's default on this
machine. The prior is an XGBoost regressor on

* the schedule's tiles relative to IREE's default, aligned by loop role (relative.py), and
* the cost model's own predicted log latency relative to its prediction for the default,

predicting log(latency / default latency). (Format 1 read the cost model's whole feature row
instead: it ranked held-out dispatches worse, see relative.py.) ``ModelGuided`` search uses it
in place of the cost model's raw prediction; its online residual model still corrects it per
dispatch.

Saved as ``prior.ubj`` + ``manifest.json`` (format, the cost model's feature schema, the
dispatches it was trained on, sha256 of the booster). No pickle.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from costmodel.errors import CostModelError
from costmodel.programs import Schedule
from tuner.schedules import relative

FORMAT = "tuner-schedule-prior"
FORMAT_VERSION = 2
DEFAULT_PRIOR = "models/schedule-prior"
PARAMS = {"n_estimators": 300, "max_depth": 5, "learning_rate": 0.05, "subsample": 0.8,
          "colsample_bytree": 0.8}


class PriorError(CostModelError):
    """A schedule prior is missing, corrupt, or made for other cost-model features."""


@dataclass
class Records:
    """One dispatch's measured schedules as prior training rows."""

    dispatch: str
    X: np.ndarray  # prior feature rows
    y: np.ndarray  # log(latency / default latency); NaN where the compile failed

    @property
    def model(self) -> str:
        """The real model a dispatch came from: records of one model are held out together."""
        return self.dispatch.split("_dispatch_")[0]


def feature_names() -> list[str]:
    return relative.feature_names() + ["cost_model.log_latency_vs_default"]


def prior_features(cost_model, kernel, schedules: Sequence, target) -> np.ndarray:
    """Rows of ``schedules`` of dispatch ``target`` (a ``DispatchTarget``): tiles relative to
    IREE's default, plus the cost model's log latency relative to its prediction for the
    default (one predict call for all of them)."""
    scheds = [s if isinstance(s, Schedule) else Schedule.from_dict(s) for s in schedules]
    dicts = [target.default.to_dict()] + [s.to_dict() for s in scheds]
    pred = cost_model.predict(kernel=kernel, schedules=dicts, targets="latency")
    lp = np.log(np.maximum(np.asarray(pred.values["latency"], dtype=float), 1e-12))
    return np.column_stack([relative.relative_features(target, scheds), lp[1:] - lp[0]])


def records_from_pool(pool, cost_model) -> Records:
    """A measured benchmark pool (``tuner.schedules.pool.Pool``) as prior training rows."""
    target = pool.target
    results = pool.measured()
    # IREE's default is a record too: relative latency 0 by definition.
    scheds = [target.default] + [Schedule.from_dict(r.schedule) for r in results]
    X = prior_features(cost_model, cost_model.kernel(target.mlir), scheds, target)
    default = pool.default_latency
    y = [0.0] + [math.log(r.latency_s / default) if r.feasible else math.nan for r in results]
    return Records(pool.name, X, np.asarray(y))


def cost_model_id(cost_model) -> str:
    """Identity of a cost model: the checksums of its files (the prior reads its predictions,
    so a prior is only valid with the cost model it was built with)."""
    files = (getattr(cost_model, "manifest", None) or {}).get("files") or {}
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]


def prior_id(prior: SchedulePrior | None) -> str | None:
    """The booster's checksum once saved (None without a prior): part of a run's identity."""
    if prior is None:
        return None
    return ((prior.manifest.get("files") or {}).get("prior.ubj") or "unsaved")[:16]


class SchedulePrior:
    def __init__(self, booster, manifest: dict) -> None:
        self.booster = booster
        self.manifest = manifest

    @classmethod
    def fit(cls, records: Sequence[Records], *, cost_model=None, seed: int = 0) -> SchedulePrior:
        import xgboost as xgb

        from costmodel.model.features import FEATURE_SCHEMA
        X = np.vstack([r.X for r in records])
        y = np.concatenate([r.y for r in records])
        ok = np.isfinite(y)  # failed compiles teach nothing about speed
        if ok.sum() < 10:
            raise PriorError(f"a schedule prior needs at least 10 measured schedules; got "
                             f"{int(ok.sum())}")
        reg = xgb.XGBRegressor(**PARAMS, n_jobs=1, random_state=seed).fit(X[ok], y[ok])
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "feature_schema": FEATURE_SCHEMA, "n_features": int(X.shape[1]),
                    "features": feature_names(),
                    "dispatches": sorted(r.dispatch for r in records),
                    "rows": int(ok.sum()), "params": PARAMS, "seed": seed,
                    "cost_model": cost_model_id(cost_model) if cost_model is not None else None}
        return cls(reg.get_booster(), manifest)

    def predict(self, cost_model, kernel, schedules: Sequence, target) -> np.ndarray:
        """Predicted log(latency / default latency) per schedule of dispatch ``target``."""
        self.check(cost_model)
        return self.predict_rows(prior_features(cost_model, kernel, schedules, target))

    def check(self, cost_model) -> None:
        """Refuse a cost model other than the one the prior was built with: its predictions
        are one of the prior's features."""
        want = self.manifest.get("cost_model")
        if want is not None and want != cost_model_id(cost_model):
            raise PriorError(f"this schedule prior was built with another cost model ({want}); "
                             "rebuild it with `tuner train-schedule-prior` for this one")

    def predict_rows(self, X: np.ndarray) -> np.ndarray:
        import xgboost as xgb
        if X.shape[1] != self.manifest["n_features"]:
            raise PriorError(f"prior expects {self.manifest['n_features']} features, got "
                             f"{X.shape[1]}")
        return self.booster.predict(xgb.DMatrix(X))

    def save(self, out: str | os.PathLike) -> Path:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(out / "prior.ubj"))
        manifest = dict(self.manifest, files={"prior.ubj": _sha256(out / "prior.ubj")},
                        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        with tempfile.NamedTemporaryFile("w", dir=out, delete=False, suffix=".tmp") as tmp:
            tmp.write(json.dumps(manifest, indent=1) + "\n")
        os.replace(tmp.name, out / "manifest.json")
        os.chmod(out / "manifest.json", 0o644)
        self.manifest = manifest
        return out

    @classmethod
    def load(cls, path: str | os.PathLike) -> SchedulePrior:
        import xgboost as xgb

        from costmodel.model.features import FEATURE_SCHEMA
        path = Path(path)
        try:
            manifest = json.loads((path / "manifest.json").read_text())
        except FileNotFoundError:
            raise PriorError(f"{path}: not a schedule prior (no manifest.json); build one with "
                             "`tuner train-schedule-prior`") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PriorError(f"{path}/manifest.json: unreadable: {exc}") from None
        if manifest.get("format") != FORMAT:
            raise PriorError(f"{path}: not a schedule prior of format {FORMAT}")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise PriorError(f"{path}: schedule prior format v{manifest.get('format_version')}, "
                             f"this code reads v{FORMAT_VERSION}: rebuild it with "
                             "`tuner train-schedule-prior`")
        if manifest.get("feature_schema") != FEATURE_SCHEMA:
            raise PriorError(f"{path}: prior was built on cost-model features "
                             f"{manifest.get('feature_schema')!r}, this code computes "
                             f"{FEATURE_SCHEMA!r}: rebuild it with `tuner train-schedule-prior`")
        f = path / "prior.ubj"
        want = (manifest.get("files") or {}).get("prior.ubj")
        if not f.is_file() or want is None or _sha256(f) != want:
            raise PriorError(f"{f}: missing or checksum mismatch; rebuild the prior")
        booster = xgb.Booster()
        booster.load_model(str(f))
        return cls(booster, manifest)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_from_pools(cost_model, *, pool_size: int = 64, dispatches: int = 24,
                     cache: Path | None = None, seed: int = 0,
                     im2col: bool = False) -> SchedulePrior:
    """A prior from every measured benchmark pool in the cache (``tuner bench schedules`` or
    ``python -m tuner.schedules.pool`` fills it); nothing is compiled or timed here."""
    from tuner.schedules.pool import DEFAULT_CACHE, load_pool, pools_hardware, suite_dispatches
    cache = cache or DEFAULT_CACHE
    pools = [load_pool(cache, d, pool_size)
             for d in suite_dispatches(dispatches, cache, im2col=im2col)]
    pools = [p for p in pools if p.default_latencies and p.measured()]
    if not pools:
        raise PriorError(f"no measured pools under {cache}; run `tuner bench schedules` first")
    prior = SchedulePrior.fit([records_from_pool(p, cost_model) for p in pools],
                              cost_model=cost_model, seed=seed)
    # Which machine the latencies it learned from were timed on (sessions change machines).
    hw = pools_hardware(cache) or {}
    prior.manifest["pools_hardware"] = {k: hw.get(k) for k in ("id", "cpu_model",
                                                                "iree_target_cpu")}
    return prior
