"""Per-target XGBoost heads: regression on the log target, and a within-group ranker."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from costmodel.ir.families import FAMILIES as OP_FAMILIES
from costmodel.model.data import group_index
from costmodel.model.forest import SMALL_BATCH, Forest
from costmodel.model.novelty import Novelty, is_dispatch
from costmodel.model.offset import RooflineOffset
from costmodel.model.specialize import KernelSpecializer
from costmodel.model.structure import Structure
from costmodel.model.targets import Target

REG_PARAMS = {"objective": "reg:squarederror", "eta": 0.1, "max_depth": 6,
              "min_child_weight": 1.0, "subsample": 0.8, "colsample_bytree": 0.7,
              "lambda": 1.0, "tree_method": "hist", "nthread": 1, "eval_metric": "rmse"}
RANK_PARAMS = {"objective": "rank:pairwise", "eta": 0.1, "max_depth": 6,
               "min_child_weight": 1.0, "subsample": 0.8, "colsample_bytree": 0.7,
               "tree_method": "hist", "nthread": 1, "eval_metric": "ndcg"}
MAX_ROUNDS = 2000
#: Trees per float32 partial sum in ``margin`` (the partials are added in float64).
TREE_CHUNK = 128
EARLY_STOP = 50
#: Per-target overrides of REG_PARAMS / RANK_PARAMS. A slower latency ranker generalizes
#: better. Measured with `costmodel eval` (3 folds, latency; eta 0.05 at depth 4 plus
#: NOISY_WEIGHT against neither): unseen shapes tau 0.483 -> 0.489,
#: top-1 slowdown 0.653 -> 0.560, MAPE 0.525 -> 0.500; unseen families tau 0.362 -> 0.389,
#: MAPE 0.858 -> 0.828. A regularized regression head (eta 0.05, min_child_weight 5,
#: colsample 0.5) gained a little more on unseen families (MAPE 0.763) but needed 550 trees,
#: which cut scoring from ~58k to ~37k candidates/s (benchmarks/score.py); a two-stage head
#: (kernel level, then within-group) raised unseen-models MAPE 0.44 -> 0.59. Both dropped.
#: The latency regression head (which fits log latency over the roofline, see offset.py)
#: learns faster and deeper: early stopping picked 70-470 trees instead of ~660 at eta 0.1 /
#: depth 6, which scoring speed pays for on every candidate, for a little quality
#: (`costmodel eval` on datasets/cpu-v2, means over seeds 0-2: unseen shapes tau 0.520 vs
#: 0.525, MAPE 0.456 vs 0.447; unseen families tau 0.380 vs 0.384; the seed spread is ~0.01).
#: Stop 43, on the four Zen 5 datasets with cm-features-4, the latency ranker's depth went
#: 4 -> 6 (eta 0.05): `costmodel eval` folds, unseen shapes tau 0.661 -> 0.673 and top-1
#: slowdown 0.191 -> 0.185 (seed 0); see docs/cost-model-history.md for the other seeds.
#: Stop 44 (cm-features-5): eta 0.05 -> 0.075 kept the quality (seed 0 unseen shapes tau
#: 0.678 -> 0.677, top-1 0.167 -> 0.163) with fewer trees to score.
TARGET_PARAMS: dict[str, dict[str, dict]] = {
    "latency": {"ranking": {"eta": 0.075, "max_depth": 6},
                "regression": {"eta": 0.15, "max_depth": 7}},
}


def _rounds_log(name: str, say, booster_rounds: int, best: int, score: float, secs: float) -> None:
    if say:
        say(f"  {name}: {booster_rounds} rounds, best {best + 1}, val {score:.4f} [{secs:.1f}s]")


def fit_regression(X, z, Xv, zv, *, seed: int, say=None, name="",
                   weight: np.ndarray | None = None, weight_v: np.ndarray | None = None,
                   params: dict | None = None) -> tuple[xgb.Booster, int]:
    """Fit on (X, z) with early stopping on (Xv, zv); return the booster and its rounds."""
    t0 = time.perf_counter()
    dtr = xgb.DMatrix(X, label=z, weight=weight)
    params = dict(REG_PARAMS, **(params or {}), seed=seed)
    if len(zv):
        dva = xgb.DMatrix(Xv, label=zv, weight=weight_v)
        bst = xgb.train(params, dtr, MAX_ROUNDS, evals=[(dva, "val")],
                        early_stopping_rounds=EARLY_STOP, verbose_eval=False)
        best = bst.best_iteration
        _rounds_log(f"{name} regression", say, bst.num_boosted_rounds(), best, bst.best_score,
                    time.perf_counter() - t0)
        return bst, best + 1
    bst = xgb.train(params, dtr, 300)
    return bst, 300


def refit_regression(X, z, rounds: int, *, seed: int, weight: np.ndarray | None = None,
                     params: dict | None = None) -> xgb.Booster:
    """Refit with the rounds early stopping chose."""
    return xgb.train(dict(REG_PARAMS, **(params or {}), seed=seed),
                     xgb.DMatrix(X, label=z, weight=weight), rounds)


#: Candidate weights of the ranking score in the blended ordering cost, in units of the
#: ratio of the two heads' within-group spreads (0 = regression only); chosen on validation.
BLEND_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


def within_group_std(v: np.ndarray, members: list[np.ndarray]) -> float:
    """Pooled within-group standard deviation (the scale that matters for ordering)."""
    dev = [v[i] - v[i].mean() for i in members if len(i) > 1]
    return float(np.sqrt(np.mean(np.concatenate(dev) ** 2))) if dev else 0.0


def rank_dmatrix(X, z, groups, weight=None):
    """Rows sorted by group with integer relevance (the fastest candidate is most relevant).

    XGBoost's ranking weights are per group: a group weighs the mean of its rows' weights
    (e.g. the share of trustworthy labels among its candidates)."""
    codes, members = group_index(groups)
    order = np.argsort(codes, kind="stable")
    rel = np.zeros(len(z))
    for idx in members:
        if len(idx) < 2:
            continue
        r = np.argsort(np.argsort(z[idx], kind="stable"), kind="stable")  # 0 = lowest cost
        n = len(idx)
        rel[idx] = np.floor((n - 1 - r) * min(1.0, 31.0 / max(n - 1, 1)))
    d = xgb.DMatrix(X[order], label=rel[order])
    d.set_group(np.bincount(codes[order]))
    if weight is not None:
        d.set_weight(np.bincount(codes, weights=weight) / np.bincount(codes))
    return d


def fit_ranker(X, z, groups, Xv, zv, gv, *, seed: int, say=None, name="",
               rounds: int | None = None, weight: np.ndarray | None = None,
               params: dict | None = None) -> tuple[xgb.Booster, int]:
    """``weight``: per-row training weights, averaged per group. The validation groups stay
    unweighted: XGBoost's NDCG metric rejects group weights that do not average to 1."""
    t0 = time.perf_counter()
    params = dict(RANK_PARAMS, **(params or {}), seed=seed)
    dtr = rank_dmatrix(X, z, groups, weight)
    if rounds is not None:
        return xgb.train(params, dtr, rounds), rounds
    if len(zv) and len(set(gv)) >= 1:
        dva = rank_dmatrix(Xv, zv, gv)
        bst = xgb.train(params, dtr, MAX_ROUNDS, evals=[(dva, "val")],
                        early_stopping_rounds=EARLY_STOP, verbose_eval=False)
        best = bst.best_iteration
        _rounds_log(f"{name} ranking", say, bst.num_boosted_rounds(), best, bst.best_score,
                    time.perf_counter() - t0)
        return bst, best + 1
    return xgb.train(params, dtr, 200), 200


def margin(booster: xgb.Booster, X: np.ndarray) -> np.ndarray:
    """XGBoost's raw prediction with the intercept added in float64.

    XGBoost starts each row's float32 sum at base_score (e.g. 9.6 for log code size), so
    every tree's leaf is rounded at that magnitude: 2e-5 off the exact sum after ~500 trees.
    Summing the trees from zero (base_margin 0) and adding the intercept in float64 is within
    ~6e-6, like ONNX Runtime (which adds its base value last) and forest.py."""
    cached = getattr(booster, "_cm_base_rounds", None)
    if cached is None:
        cfg = json.loads(booster.save_config())["learner"]["learner_model_param"]
        # One assignment, so a thread sharing the booster never sees half of the cache.
        cached = booster._cm_base_rounds = (float(str(cfg["base_score"]).strip("[]")),
                                            booster.num_boosted_rounds())
    base, n = cached
    zeros = np.zeros(len(X), dtype=np.float32)
    if n <= TREE_CHUNK:
        return booster.inplace_predict(X, base_margin=zeros).astype(np.float64) + base
    # XGBoost's running float32 sum rounds every tree added to a large accumulator: over
    # ~700 trees that reached 1e-5 (log scale). Chunks summed in float64 keep the large
    # early trees' sum apart from the small late ones.
    out = np.full(len(X), base, dtype=np.float64)
    for a in range(0, n, TREE_CHUNK):
        out += booster.inplace_predict(X, base_margin=zeros,
                                       iteration_range=(a, min(a + TREE_CHUNK, n)))
    return out


@dataclass
class TargetHeads:
    """The fitted heads of one target, plus its conformal half-width on the log scale."""

    target: Target
    reg: xgb.Booster
    rank: xgb.Booster | None
    q: float  # conformal half-width (log scale)
    alpha: float
    rank_source: str  # what orders candidates: "ranking", "regression" or "blend"
    reg_rounds: int
    rank_rounds: int

    #: numpy evaluators for few-row requests (see forest.py); set by artifact.load.
    fast_reg: Forest | None = None
    fast_rank: Forest | None = None
    #: The heads partially evaluated per kernel, for many rows of one kernel
    #: (specialize.py); set by artifact.load.
    spec_reg: KernelSpecializer | None = None
    spec_rank: KernelSpecializer | None = None
    #: "blend": cost = log-scale regression - rank_weight * ranking score.
    rank_weight: float = 0.0
    #: Base margin of the regression head (it fits the log target minus this), or None.
    offset: RooflineOffset | None = None
    #: With an offset: the prediction is ``offset + tree_weight * trees``. Below 1 it shrinks
    #: the trees' correction toward the roofline, fitted on held-out kernels (train.py).
    tree_weight: float = 1.0
    #: Half-width for kernels ``novelty`` calls novel (novelty.py); None: always ``q``.
    q_novel: float | None = None
    novelty: Novelty | None = None
    #: Half-width floor for kernels in IREE's dispatch form (real models' dispatches), from
    #: out-of-model residuals (novelty.py); ``dispatch_col`` is the kept column that tells.
    q_dispatch: float | None = None
    dispatch_col: int | None = None
    #: With an offset and ``dispatch_col``: the tree weight of dispatch-form kernels' absolute
    #: predictions, fitted on out-of-model refits (train.py); None: ``tree_weight``. Ordering
    #: keeps ``tree_weight``, so candidates of one kernel rank as before.
    dispatch_tree_weight: float | None = None
    #: Root-op family code (the kept column ``family_col``, features' ``root.family_code``)
    #: -> the dispatch tree weight of dispatch kernels of that family; other families use
    #: ``dispatch_tree_weight``. Real matmuls run near the roofline, real convolutions not.
    dispatch_family_weights: dict[int, float] | None = None
    family_col: int | None = None
    #: The test of kernels of a structure no training kernel shares (structure.py); where
    #: set, it decides who gets ``q_novel`` instead of ``novelty``.
    structure: Structure | None = None

    def half_width(self, X: np.ndarray, *, one_kernel: bool = False) -> float | np.ndarray:
        """Conformal half-width per row (log scale). ``one_kernel``: every row is the same
        kernel (a ``predict(kernel=...)`` call), so novelty is judged on the first row."""
        if not len(X):
            return self.q
        rows = X[:1] if one_kernel else X
        q = np.full(len(rows), self.q)
        if self.structure is not None and self.q_novel is not None:
            q = np.where(self.structure.is_new(rows), self.q_novel, q)
        elif self.novelty is not None and self.q_novel is not None:
            q = np.where(self.novelty.is_novel(rows), self.q_novel, q)
        if self.q_dispatch is not None and self.dispatch_col is not None:
            q = np.where(is_dispatch(rows, self.dispatch_col), np.maximum(q, self.q_dispatch), q)
        return float(q[0]) if one_kernel else q

    def _trees(self, X: np.ndarray, one_kernel: bool = False) -> np.ndarray:
        if self.fast_reg is not None and len(X) <= SMALL_BATCH:
            return self.fast_reg.predict(X)
        if one_kernel and self.spec_reg is not None:
            z = self.spec_reg.trees(X, margin)
            if z is not None:
                return z
        return margin(self.reg, X)

    def family_weight_names(self) -> dict[str, float]:
        """``dispatch_family_weights`` keyed by family name (ir.families.FAMILIES)."""
        weights = self.dispatch_family_weights or {}
        return {OP_FAMILIES[c]: w for c, w in sorted(weights.items())}

    def tree_weights(self, X: np.ndarray) -> float | np.ndarray:
        """The weight of the trees over the offset, per row where it differs by row."""
        if self.dispatch_tree_weight is None or self.dispatch_col is None:
            return self.tree_weight
        wd = np.full(len(X), self.dispatch_tree_weight)
        if self.dispatch_family_weights and self.family_col is not None:
            codes = np.asarray(X[:, self.family_col], dtype=np.float64)
            for code, wf in self.dispatch_family_weights.items():
                wd[codes == code] = wf
        return np.where(is_dispatch(X, self.dispatch_col), wd, self.tree_weight)

    def predict_log(self, X: np.ndarray) -> np.ndarray:
        """The prediction on the log (or log1p) scale."""
        return self.predict_log_and_cost(X, ranking=False)[0]

    def predict_log_and_cost(self, X: np.ndarray, *, ranking: bool = True,
                             one_kernel: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The log-scale prediction and the ordering cost (lower is better; with
        ``ranking=False`` the prediction itself), with the trees evaluated once.
        ``one_kernel``: every row is the same kernel (lets the trees be specialized)."""
        z = self._trees(X, one_kernel)
        if self.offset is None:
            return z, (self._order(X, z, one_kernel) if ranking else z)
        off = self.offset(X)
        zhat = self.tree_weights(X) * z + off
        if not ranking:
            return zhat, zhat
        # Ordering uses the one tree weight: the dispatch weight calibrates absolute cost
        # across kernels, not the order of one kernel's candidates.
        zord = zhat if self.dispatch_tree_weight is None else self.tree_weight * z + off
        return zhat, self._order(X, zord, one_kernel)

    def rank_cost(self, X: np.ndarray) -> np.ndarray:
        """A score where lower means better (faster / smaller), for ordering candidates."""
        return self.predict_log_and_cost(X)[1]

    def _order(self, X: np.ndarray, z: np.ndarray, one_kernel: bool = False) -> np.ndarray:
        if self.rank_source in ("ranking", "blend") and self.rank is not None:
            score = None
            if self.fast_rank is not None and len(X) <= SMALL_BATCH:
                score = self.fast_rank.predict(X)
            elif one_kernel and self.spec_rank is not None:
                score = self.spec_rank.trees(X, margin)
            if score is None:
                score = margin(self.rank, X)
            if self.rank_source == "ranking":
                return -score
            return z - self.rank_weight * score
        return z
