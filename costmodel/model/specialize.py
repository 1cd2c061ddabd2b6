"""A tree ensemble partially evaluated for one kernel.

``predict(kernel=..., schedules=[...])`` scores many candidates of one kernel: every row
shares the kernel's feature columns (320 of the cm-features-5 default's 451 kept columns;
stop 41's model: 347 of 434), and there, for a matmul, 59% of the latency regression trees'
split visits tested one of them (21% of the ranking's).
Fixing those columns folds each such split into the branch the kernel takes; trees left
with no schedule split become one constant.
The remaining trees read only the schedule columns, so XGBoost walks fewer levels over
narrower rows. Predictions are the same sums of the same leaves (float rounding apart).

The specialized booster is built from the Forest arrays (forest.py) and loaded into
XGBoost from JSON, a few tens of milliseconds per kernel, so like a JIT it is built only
once a kernel has had enough rows scored to pay for it, and the last few are kept.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from costmodel.model.forest import Forest

#: Rows of one kernel scored before it is specialized: building costs about what
#: specializing saves on this many rows (~60 ms for the shipped latency target's two heads,
#: ~3.7 us saved per row), so a kernel pays for its build on its first 20,000 rows.
BUILD_ROWS = 20000
#: Specialized kernels kept per booster (a tuner scores one kernel at a time; a server a few).
CACHE_SIZE = 8
#: Kernels whose scored rows are counted toward BUILD_ROWS.
COUNTED = 512


_TREES = "\0trees"  # where the trees' text goes in the model's JSON


@dataclass
class Specialized:
    """A booster over the schedule columns alone, plus the constant the folded trees sum
    to (float64, with the original booster's intercept left to ``margin``)."""

    booster: xgb.Booster | None  # None: every tree folded to a constant
    const: float


class KernelSpecializer:
    """Specializes one booster (given as its checked Forest) to kernels.

    ``n_kernel``: the leading preprocessed columns that depend on the kernel alone."""

    def __init__(self, forest: Forest, booster: xgb.Booster, n_kernel: int) -> None:
        self.forest = forest
        self.n_kernel = int(n_kernel)
        self.n_sched = int(booster.num_features()) - self.n_kernel
        model = json.loads(json.dumps(forest.header))
        model["learner"]["attributes"] = {}
        model["learner"]["feature_names"] = []
        model["learner"]["feature_types"] = []
        model["learner"]["learner_model_param"]["num_feature"] = str(self.n_sched)
        self._template = json.dumps(model)
        self._cache: OrderedDict[bytes, Specialized] = OrderedDict()
        self._rows: OrderedDict[bytes, int] = OrderedDict()  # rows scored, per kernel
        self._lock = threading.Lock()
        self._internal = forest.left != np.arange(len(forest.left))
        self._cond_text: np.ndarray | None = None  # each node's threshold as JSON, lazily

    def trees(self, X: np.ndarray, margin) -> np.ndarray | None:
        """The forest's margin for rows ``X`` that all share one kernel (``margin``: the
        plain evaluator, heads.margin), or None while specializing does not pay yet."""
        if self.n_sched <= 0:
            return None
        row = np.ascontiguousarray(X[0, :self.n_kernel], dtype=np.float32)
        key = hashlib.blake2b(row.tobytes(), digest_size=16).digest()
        with self._lock:
            spec = self._cache.get(key)
            if spec is not None:
                self._cache.move_to_end(key)
            else:
                rows = self._rows.pop(key, 0) + len(X)
                self._rows[key] = rows
                while len(self._rows) > COUNTED:
                    self._rows.popitem(last=False)
        if spec is None:
            if rows < BUILD_ROWS:
                return None
            spec = self.build(row)
            with self._lock:
                self._cache[key] = spec
                self._rows.pop(key, None)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        if spec.booster is None:  # margin() would have added the intercept
            return np.full(len(X), self.forest.base + spec.const)
        xs = np.ascontiguousarray(X[:, self.n_kernel:], dtype=np.float32)
        return margin(spec.booster, xs) + spec.const

    def build(self, kernel_row: np.ndarray) -> Specialized:
        """The booster for a kernel whose leading columns are ``kernel_row``."""
        f, nk = self.forest, self.n_kernel
        idx = np.arange(len(f.left))
        fixed = self._internal & (f.feat < nk)
        v = kernel_row[np.where(fixed, f.feat, 0)]
        go_left = np.where(np.isnan(v), f.default_left, v < f.cond)
        # Each fixed split points past itself to the branch the kernel takes; pointer
        # jumping resolves chains of them (a tree's depth is small).
        res = np.where(fixed, np.where(go_left, f.left, f.right), idx)
        for _ in range(max(1, int(np.ceil(np.log2(max(f.depth, 2)))) + 1)):
            res = res[res]
        left, right = res[f.left], res[f.right]
        roots = res[f.roots]
        is_leaf = ~self._internal
        const = float(f.cond[roots[is_leaf[roots]]].astype(np.float64).sum())
        if is_leaf[roots].all():
            return Specialized(None, const)
        trees = self._trees(roots[~is_leaf[roots]], left, right)
        model = json.loads(self._template)
        gb = model["learner"]["gradient_booster"]["model"]
        gb["trees"] = [_TREES]
        gb["gbtree_model_param"]["num_trees"] = str(len(trees))
        gb["tree_info"] = [0] * len(trees)
        gb["iteration_indptr"] = list(range(len(trees) + 1))
        text = json.dumps(model).replace(json.dumps(_TREES), ",".join(trees), 1)
        booster = xgb.Booster(params={"nthread": 1})
        booster.load_model(bytearray(text.encode()))
        return Specialized(booster, const)

    def _trees(self, roots: np.ndarray, left: np.ndarray, right: np.ndarray) -> list[str]:
        """The trees from ``roots`` through the folded children, as XGBoost JSON text.

        Nodes are numbered as XGBoost numbers them (breadth first, left before right),
        level by level for all trees at once: a per-node Python walk took most of the build.
        """
        f, internal = self.forest, self._internal
        T = len(roots)
        tree, local = np.arange(T), np.zeros(T, dtype=np.int64)
        node, parent, right_side = roots, np.full(T, -1), np.zeros(T, dtype=bool)
        done = np.zeros(T, dtype=np.int64)  # nodes per tree in earlier levels
        parts = []
        while len(node):
            parts.append((tree, local, node, parent, right_side))
            done += np.bincount(tree, minlength=T)
            inner = internal[node]
            # Children in frontier order, left then right: sorted by tree, then position.
            tree = np.repeat(tree[inner], 2)
            parent = np.repeat(local[inner], 2)
            right_side = np.tile([False, True], int(inner.sum()))
            node = np.stack([left[node[inner]], right[node[inner]]], 1).ravel()
            first = np.searchsorted(tree, np.arange(T))
            local = done[tree] + np.arange(len(tree)) - first[tree]
        tree, local, node, parent, right_side = (np.concatenate(c) for c in zip(*parts))
        counts = np.bincount(tree, minlength=T)
        start = np.cumsum(counts) - counts
        pos = start[tree] + local
        n = len(pos)
        orig = np.empty(n, dtype=np.int64)
        orig[pos] = node
        par = np.full(n, 2147483647, dtype=np.int64)
        par[pos] = np.where(parent < 0, 2147483647, parent)
        L = np.full(n, -1, dtype=np.int64)
        R = np.full(n, -1, dtype=np.int64)
        child = parent >= 0
        at = start[tree[child]] + parent[child]
        L[at[~right_side[child]]] = local[child][~right_side[child]]
        R[at[right_side[child]]] = local[child][right_side[child]]
        inner = internal[orig]
        # JSON text written directly: json.dumps spent most of the build on float reprs,
        # so each node's threshold (or leaf value) is formatted once per booster.
        if self._cond_text is None:
            self._cond_text = np.array([repr(c) for c in f.cond.astype(np.float64).tolist()],
                                       dtype=object)
        strs = lambda a: list(map(str, a.tolist()))  # noqa: E731
        L, R, par = strs(L), strs(R), strs(par)
        S = strs(np.where(inner, f.feat[orig] - self.n_kernel, 0))
        D = strs(np.where(inner, f.default_left[orig], False).astype(int))
        C = self._cond_text[orig].tolist()
        out = []
        for t, (a, k) in enumerate(zip(start.tolist(), counts.tolist())):
            e = a + k
            c = ",".join(C[a:e])
            zeros, fzeros = ",".join(["0"] * k), ",".join(["0.0"] * k)
            out.append(
                f'{{"base_weights":[{c}],"categories":[],"categories_nodes":[],'
                f'"categories_segments":[],"categories_sizes":[],'
                f'"default_left":[{",".join(D[a:e])}],"id":{t},'
                f'"left_children":[{",".join(L[a:e])}],"loss_changes":[{fzeros}],'
                f'"parents":[{",".join(par[a:e])}],'
                f'"right_children":[{",".join(R[a:e])}],"split_conditions":[{c}],'
                f'"split_indices":[{",".join(S[a:e])}],"split_type":[{zeros}],'
                f'"sum_hessian":[{fzeros}],"tree_param":{{"num_deleted":"0",'
                f'"num_feature":"{self.n_sched}","num_nodes":"{k}","size_leaf_vector":"1"}}}}')
        return out
