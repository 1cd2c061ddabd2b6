"""The saved preprocessing: non-finite features become 0, finite ones pass unchanged."""

import numpy as np

from costmodel.model.features import N_BASE, N_FEATURES
from costmodel.model.preprocess import Preprocessor


def _pre() -> Preprocessor:
    # Two kernel columns and two schedule columns kept, in the saved (kernel-first) order.
    return Preprocessor(np.asarray([1, 3, N_BASE, N_BASE + 2], dtype=np.int64))


def test_non_finite_values_become_zero_in_both_paths():
    pre = _pre()
    base = np.zeros(N_BASE)
    base[1], base[3] = np.nan, 2.5
    sched = np.zeros((3, N_FEATURES - N_BASE))
    sched[:, 0] = [np.inf, -np.inf, 4.0]
    sched[:, 2] = [1.0, np.nan, 7.0]
    parts = pre.transform_parts(base, sched)
    full = pre.transform(np.hstack([np.broadcast_to(base, (3, N_BASE)), sched]))
    want = np.asarray([[0, 2.5, 0, 1], [0, 2.5, 0, 0], [0, 2.5, 4, 7]], dtype=np.float32)
    assert parts.dtype == np.float32
    assert np.array_equal(parts, want)
    assert np.array_equal(full, want)


def test_finite_rows_pass_unchanged_and_the_input_is_not_touched():
    pre = _pre()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, N_FEATURES))
    before = X.copy()
    out = pre.transform(X)
    assert np.array_equal(out, X[:, pre.kept])
    out[:] = 0.0  # the result is its own array
    assert np.array_equal(X, before)
    parts = pre.transform_parts(X[0, :N_BASE], X[:, N_BASE:])
    assert np.array_equal(parts[:, 2:], X[:, pre.kept[2:]].astype(np.float32))
