"""A numpy evaluator for small XGBoost predictions.

XGBoost spends ~0.4-0.7 ms of fixed overhead per predict call here, whatever the number
of rows, which dominates single-request latency in the service (7 calls per request). For
a few rows, walking all trees at once with numpy takes tens of microseconds. Large batches
still go to XGBoost, which is faster per row. The forest is checked against XGBoost when
built and is not used if the two disagree.
"""

from __future__ import annotations

import json

import numpy as np
import xgboost as xgb

#: Rows up to which the numpy walk beats XGBoost's per-call overhead.
SMALL_BATCH = 64


class Forest:
    def __init__(self, booster: xgb.Booster) -> None:
        model = json.loads(booster.save_raw("json"))
        learner = model["learner"]
        gbtree = learner["gradient_booster"]
        if gbtree.get("name") != "gbtree":
            raise ValueError(f"only gbtree boosters, not {gbtree.get('name')}")
        trees = gbtree["model"]["trees"]
        best = booster.attributes().get("best_iteration")
        if best is not None:  # XGBoost predicts with the best iteration only
            trees = trees[: int(best) + 1]
        if any(any(t["split_type"]) for t in trees):
            raise ValueError("categorical splits are not supported")
        left, right, feat, cond, dleft, roots = [], [], [], [], [], []
        offset = 0
        depth = 0
        for t in trees:
            lc = np.asarray(t["left_children"], dtype=np.int64)
            rc = np.asarray(t["right_children"], dtype=np.int64)
            leaf = lc < 0
            roots.append(offset)
            left.append(np.where(leaf, np.arange(len(lc)), lc) + offset)
            right.append(np.where(leaf, np.arange(len(rc)), rc) + offset)
            feat.append(np.where(leaf, 0, np.asarray(t["split_indices"], dtype=np.int64)))
            cond.append(np.asarray(t["split_conditions"], dtype=np.float32))
            dleft.append(np.asarray(t["default_left"], dtype=bool))
            depth = max(depth, _depth(lc, rc))
            offset += len(lc)
        self.left = np.concatenate(left)
        self.right = np.concatenate(right)
        self.feat = np.concatenate(feat)
        self.cond = np.concatenate(cond)  # split threshold, or the leaf value at a leaf
        self.default_left = np.concatenate(dleft)
        self.roots = np.asarray(roots, dtype=np.int64)
        self.depth = depth
        self.base = float(learner["learner_model_param"]["base_score"].strip("[]"))
        gbtree["model"]["trees"] = []
        #: The model's JSON without its trees: the frame a specialized booster is written in.
        self.header = model

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        rows = np.arange(len(X))[:, None]
        node = np.broadcast_to(self.roots, (len(X), len(self.roots))).copy()
        for _ in range(self.depth):  # leaves point at themselves, so extra steps are no-ops
            x = X[rows, self.feat[node]]
            go_left = np.where(np.isnan(x), self.default_left[node], x < self.cond[node])
            node = np.where(go_left, self.left[node], self.right[node])
        return self.base + self.cond[node].astype(np.float64).sum(axis=1)


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    depth = np.zeros(len(left), dtype=np.int64)
    for i in range(len(left)):  # children come after parents in XGBoost's numbering
        for c in (left[i], right[i]):
            if c >= 0:
                depth[c] = depth[i] + 1
    return int(depth.max()) if len(depth) else 0


def checked_forest(booster: xgb.Booster, n_features: int, *, seed: int = 0) -> Forest | None:
    """A Forest that agrees with XGBoost on random rows (1e-5 relative), else None."""
    try:
        forest = Forest(booster)
    except (ValueError, KeyError):
        return None
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 3, size=(32, n_features)).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan
    ref = booster.inplace_predict(X).astype(np.float64)
    got = forest.predict(X)
    # Relative to each value, but never to less than the typical magnitude: XGBoost sums
    # trees in float32, so a score that happens to land near zero carries ~1e-7 absolute
    # error that would otherwise count as a large relative one.
    scale = np.maximum(np.abs(ref), max(1e-3, float(np.median(np.abs(ref)))))
    return forest if np.all(np.abs(got - ref) / scale <= 1e-5) else None
