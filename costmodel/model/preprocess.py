"""Preprocessing: a scikit-learn pipeline when fitting, plain JSON when saved.

The pipeline replaces non-finite values and drops constant columns. Its fitted state is
exported as explicit JSON (the kept column names), never pickled, and applied at load time
with numpy so prediction does not depend on scikit-learn's object layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel.model.errors import SchemaMismatchError
from costmodel.model.features import FEATURE_NAMES, FEATURE_SCHEMA, N_BASE


def _finite(X):
    X = np.asarray(X, dtype=np.float64)
    # Feature rows are almost always finite: one isfinite pass instead of nan_to_num's
    # copy and three scans (a fifth of a 20,000-candidate predict's preprocessing).
    if np.isfinite(X).all():
        return X
    return np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)


@dataclass
class Preprocessor:
    kept: np.ndarray  # column indices into FEATURE_NAMES

    @classmethod
    def fit(cls, X: np.ndarray) -> Preprocessor:
        from sklearn.feature_selection import VarianceThreshold
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        pipe = Pipeline([("finite", FunctionTransformer(_finite)),
                         ("drop_constant", VarianceThreshold(threshold=0.0))])
        pipe.fit(X)
        return cls(np.flatnonzero(pipe.named_steps["drop_constant"].get_support()))

    def transform(self, X: np.ndarray) -> np.ndarray:
        # np.take gathers columns ~3x faster than X[:, kept] (20,000 x 509 rows: 17 vs 50 ms).
        return _finite(np.take(np.asarray(X), self.kept, axis=1))

    def transform_parts(self, base: np.ndarray, sched: np.ndarray) -> np.ndarray:
        """``transform(base ++ sched)`` without building the full-width matrix (float32).

        XGBoost evaluates splits in float32, so this gives the same predictions.
        """
        n_base = base.shape[0]
        b = self.kept[self.kept < n_base]
        sc = self.kept[self.kept >= n_base] - n_base
        out = np.empty((sched.shape[0], len(self.kept)), dtype=np.float32)
        out[:, :len(b)] = _finite(base[b])[None, :]
        out[:, len(b):] = _finite(np.take(sched, sc, axis=1))
        return out

    @property
    def n_kernel(self) -> int:
        """How many kept columns are the kernel's: they come first, before the schedule's
        (``transform_parts`` fills them from one kernel row)."""
        return int((self.kept < N_BASE).sum())

    @property
    def names(self) -> list[str]:
        return [FEATURE_NAMES[i] for i in self.kept]

    def to_json(self) -> dict:
        return {"feature_schema": FEATURE_SCHEMA, "n_features": len(FEATURE_NAMES),
                "steps": ["finite(nan,inf->0)", "drop_constant"], "kept": self.names}

    @classmethod
    def from_json(cls, d: dict) -> Preprocessor:
        if d.get("feature_schema") != FEATURE_SCHEMA or d.get("n_features") != len(FEATURE_NAMES):
            raise SchemaMismatchError(
                f"preprocessing was fitted on feature schema {d.get('feature_schema')!r} "
                f"({d.get('n_features')} columns); this code computes {FEATURE_SCHEMA!r} "
                f"({len(FEATURE_NAMES)} columns)")
        index = {n: i for i, n in enumerate(FEATURE_NAMES)}
        missing = [n for n in d["kept"] if n not in index]
        if missing:
            raise SchemaMismatchError(f"unknown feature columns in preprocessing: {missing[:5]}")
        return cls(np.asarray([index[n] for n in d["kept"]], dtype=np.int64))
