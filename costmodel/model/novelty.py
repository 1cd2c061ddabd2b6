"""Wider predictive intervals for kernels unlike any the model was trained on.

The distance test below is what models of format 4 and older use (still read and applied);
format-5 models judge a kernel by its structure instead (structure.py), which tells a new
family from a new shape. This module also tells real models' dispatches (the end).

Split-conformal intervals are calibrated on held-out *groups* of families the model has
seen; on a kernel of an unseen family the residuals are larger and the band undercovers
(`costmodel eval`: 0.70 on unseen families at 90% nominal). Training therefore also takes
out-of-family residuals (one extra regression head per target, fitted without a third of
the families, predicting them) and calibrates a second half-width on those. A kernel gets
that wider half-width when it is *novel*: its kernel-level feature row (standardized) is
farther from every training kernel than half the calibration kernels were from the kernels
the heads were fitted on. (At prediction time the references include every training kernel,
so a kernel of a seen family usually lies closer than that.) Measured with `costmodel eval`
on datasets/cpu-v2, latency, 90% nominal, threshold quantile 0.95 / 0.8 / 0.5 (none):
unseen families 0.791 / 0.815 / 0.869 (0.703), unseen shapes 0.916 / 0.917 / 0.934 (0.915),
unseen models 0.909 / 0.921 / 0.921 (0.909), random within groups 0.925 throughout.

Kernels of real models are a second kind of stranger. The training data are mostly
synthetic kernels; a real model's dispatch (IR in IREE's dispatch form, with ``hal`` ops)
predicts worse, and the distance test flags few of them (cpu-v2, unseen models: 40 of 164
rows), so their band undercovered (0.74-0.85 at 90% nominal). Training therefore also
takes out-of-model residuals: regression heads fitted without some real models predict
their dispatches, K-fold over the models, and the largest per-model conformal quantile of
those residuals is a floor for every dispatch-form kernel's half-width. `costmodel eval`,
cpu-v2, unseen models, coverage at 90% nominal (latency / instructions / spills /
code_size): before 0.854 / 0.76 / 0.74 / 0.75; pooled residuals 0.939 / 0.866 / 0.896 /
0.829; largest per-model quantile (this) 0.945 / 0.976 / 0.994 / 0.945.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A kernel farther than this quantile of the calibration kernels' distances is novel.
NOVEL_QUANTILE = 0.5
#: The smallest threshold (standardized RMS units): only round-off lies below it.
MIN_THRESHOLD = 1e-3


@dataclass
class Novelty:
    cols: np.ndarray  # indices into the preprocessed (kept) columns: kernel-level features
    center: np.ndarray
    scale: np.ndarray
    refs: np.ndarray  # standardized distinct training kernels, float32 (n, len(cols))
    threshold: float = float("inf")  # RMS distance above which a kernel is novel

    @classmethod
    def build(cls, X: np.ndarray, cols: np.ndarray, fit_rows: np.ndarray) -> Novelty:
        """References are the distinct kernels of ``X``; scaling from ``fit_rows``."""
        K = np.asarray(X[:, cols], dtype=np.float64)
        center = K[fit_rows].mean(axis=0)
        scale = K[fit_rows].std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        nov = cls(cols, center, scale, np.zeros((0, len(cols)), dtype=np.float32))
        nov.refs = np.unique(nov._standard(X), axis=0).astype(np.float32)
        return nov

    def _standard(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X[:, self.cols], dtype=np.float64) - self.center) / self.scale

    def distance(self, X: np.ndarray) -> np.ndarray:
        """Per row: RMS distance of its kernel to the nearest reference kernel."""
        if len(X) == 0 or len(self.refs) == 0:
            return np.full(len(X), np.inf)
        Z = self._standard(X)
        uniq, inv = _distinct_rows(Z)
        R = self.refs.astype(np.float64)
        d2 = ((uniq ** 2).sum(1)[:, None] + (R ** 2).sum(1)[None, :] - 2.0 * uniq @ R.T)
        d = np.sqrt(np.maximum(d2.min(axis=1), 0.0) / max(len(self.cols), 1))
        return d[inv.ravel()]

    def is_novel(self, X: np.ndarray) -> np.ndarray:
        return self.distance(X) > self.threshold

    def to_json(self, names: list[str]) -> dict:
        return {"columns": [names[i] for i in self.cols], "center": self.center.tolist(),
                "scale": self.scale.tolist(), "threshold": self.threshold,
                "quantile": NOVEL_QUANTILE, "references": "novelty.npy"}

    @classmethod
    def from_json(cls, d: dict, names: list[str], refs: np.ndarray) -> Novelty:
        cols, refs = columns_and_refs(d, names, refs, np.float32)
        return cls(cols, np.asarray(d["center"], dtype=np.float64),
                   np.asarray(d["scale"], dtype=np.float64), refs, float(d["threshold"]))


def columns_and_refs(d: dict, names: list[str], refs: np.ndarray,
                     dtype) -> tuple[np.ndarray, np.ndarray]:
    """A kept test's column indices (by name) and its reference rows, checked to match."""
    cols = np.asarray([names.index(c) for c in d["columns"]], dtype=np.int64)
    refs = np.asarray(refs, dtype=dtype)
    if refs.ndim != 2 or refs.shape[1] != len(cols):
        raise ValueError(f"references of shape {refs.shape} for {len(cols)} columns")
    return cols, refs


def _distinct_rows(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows and each row's index among them. Rows are candidates, and candidates
    of one kernel share every kernel column: that case costs one comparison pass. Otherwise
    rows are compared as raw bytes (np.unique(axis=0) took 1.5 s for 20,000 rows)."""
    if (Z == Z[:1]).all():
        return Z[:1], np.zeros(len(Z), dtype=np.intp)
    Zc = np.ascontiguousarray(Z)
    rows = Zc.view(np.dtype((np.void, Zc.dtype.itemsize * Zc.shape[1]))).ravel()
    _, first, inv = np.unique(rows, return_index=True, return_inverse=True)
    return Zc[first], inv.ravel()


#: The column that tells a dispatch-form kernel: its count of ``hal`` dialect ops.
DISPATCH_COLUMN = "total.dialect.hal"
#: Real models held out per out-of-model refit: K-fold over the models seen in training.
DISPATCH_FOLDS = 3


def is_dispatch(X: np.ndarray, col: int) -> np.ndarray:
    """Per row: is the kernel in IREE's dispatch form (a real model's dispatch)?"""
    return np.asarray(X[:, col], dtype=np.float64) > 0


def family_root(family: str) -> str:
    """``dispatch:matmul`` (a real model's matmul dispatch) belongs to family ``matmul``."""
    return family.split(":", 1)[1] if family.startswith("dispatch:") else family
