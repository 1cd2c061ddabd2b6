"""Has the model seen a kernel of this *structure* before, whatever its shapes?

A kernel's structure is its kernel-level feature columns minus those that depend on shapes
(extents, FLOPs, bytes, intensity, trip counts, the IR n-grams, whose shaped-type tokens
carry the sizes): op and dialect counts, the root op's family, loop kinds and payload. Every
candidate group of one synthetic family shares one structure (elementwise kernels a few,
by rank and payload), so a new shape of a seen family matches a training kernel exactly
and a kernel of a new family does not. On `costmodel eval`'s folds of the three Zen 5
datasets the test flags 0.1-0.2% of unseen-shapes rows (real models' dispatches) and 100%
of unseen-families rows; the distance test of novelty.py, which sees shapes, flags 49% and
99%.

The test decides which kernels get the wider interval half-width (heads.TargetHeads.
half_width), calibrated on out-of-family refits (train.py). A second tree weight for
structurally new kernels, fitted the same way, was tried and dropped: it raised unseen-
families MAPE (README, Quality).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from costmodel.model.novelty import _distinct_rows, columns_and_refs

#: Kernel columns that change with shapes, not structure (features.py's names).
SHAPE_COLUMNS = re.compile(r"extent|flops|bytes|intensity|iterations|innermost|ngram|"
                           r"log_n_edges|transcendental")
#: Summed squared difference below which two structures are the same. Structure columns of
#: different kernels differ by at least ~1e-2 in some column (log counts, flags); float32
#: round-off of equal rows leaves < 1e-10.
SAME = 1e-6


def structure_columns(names: list[str], n_base: int, kept: np.ndarray) -> np.ndarray:
    """Indices into the kept columns ``names`` (``kept``: their raw indices) of the
    structural kernel columns: base columns whose names do not depend on shapes."""
    return np.asarray([i for i, (c, k) in enumerate(zip(names, kept))
                       if k < n_base and not SHAPE_COLUMNS.search(c)], dtype=np.int64)


@dataclass
class Structure:
    cols: np.ndarray  # indices into the preprocessed (kept) columns
    refs: np.ndarray  # distinct training structures, float64 (n, len(cols))

    @classmethod
    def build(cls, X: np.ndarray, cols: np.ndarray) -> Structure:
        S = np.asarray(X[:, cols], dtype=np.float32).astype(np.float64)
        return cls(cols, np.unique(S, axis=0) if len(S) else S.reshape(0, len(cols)))

    def build_from(self, X: np.ndarray) -> Structure:
        """The same test with the structures of ``X`` as references."""
        return Structure.build(X, self.cols)

    def is_new(self, X: np.ndarray) -> np.ndarray:
        """Per row: is its structure unlike every reference? (Rows as float32 features, the
        way every predict path and the ONNX graph see them.)"""
        if len(X) == 0:
            return np.zeros(0, dtype=bool)
        if len(self.refs) == 0:
            return np.ones(len(X), dtype=bool)
        S = np.asarray(X[:, self.cols], dtype=np.float32).astype(np.float64)
        uniq, inv = _distinct_rows(S)  # one kernel's candidates: one comparison pass
        return self._far(uniq)[inv]

    def _far(self, S: np.ndarray) -> np.ndarray:
        # The same expansion as the ONNX graph (onnx_export), so both decide alike.
        d2 = ((S ** 2).sum(1)[:, None] + (self.refs ** 2).sum(1)[None, :]
              - 2.0 * S @ self.refs.T)
        return d2.min(axis=1) > SAME

    def to_json(self, names: list[str]) -> dict:
        return {"columns": [names[i] for i in self.cols], "same_below": SAME,
                "references": "structure.npy"}

    @classmethod
    def from_json(cls, d: dict, names: list[str], refs: np.ndarray) -> Structure:
        return cls(*columns_and_refs(d, names, refs, np.float64))
