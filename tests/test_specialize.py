"""Trees specialized to one kernel (costmodel/model/specialize.py) predict what the full
trees do, on the shipped model and real kernels, and are built only once they pay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

import costmodel
from costmodel.model import specialize
from costmodel.model.forest import Forest
from costmodel.model.heads import margin
from costmodel.model.specialize import KernelSpecializer
from costmodel.programs import FAMILIES, sample_schedules

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "default"


@pytest.fixture(scope="module")
def model():
    return costmodel.load(SHIPPED)


def _candidates(family: str, n: int, seed: int = 0):
    fam = FAMILIES[family]
    rng = np.random.default_rng(seed)
    shape = fam.sample_shape(rng)
    return fam.render(shape), [s.to_dict() for s in sample_schedules(fam, shape, rng, n)]


def _unspecialized(model, **kw):
    saved = {t: (h.spec_reg, h.spec_rank) for t, h in model.heads.items()}
    try:
        for h in model.heads.values():
            h.spec_reg = h.spec_rank = None
        return model.predict(**kw)
    finally:
        for t, (a, b) in saved.items():
            model.heads[t].spec_reg, model.heads[t].spec_rank = a, b


@pytest.mark.parametrize("family", ["matmul", "conv2d_nhwc", "reduction", "softmax",
                                    "depthwise_conv", "attention"])
def test_specialized_predictions_match_the_full_trees(model, family, monkeypatch):
    monkeypatch.setattr(specialize, "BUILD_ROWS", 1)
    ir, scheds = _candidates(family, 200)
    kernel = model.kernel(ir)
    got = model.predict(kernel=kernel, schedules=scheds)
    ref = _unspecialized(model, kernel=kernel, schedules=scheds)
    for t, h in model.heads.items():
        assert h.spec_reg is not None and len(h.spec_reg._cache) >= 1
        # Log scale, like the ONNX agreement: the same leaves, summed in another order.
        for a, b in ((got.values, ref.values), (got.lower, ref.lower), (got.upper, ref.upper)):
            np.testing.assert_allclose(h.target.forward(a[t]), h.target.forward(b[t]),
                                       rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got.rank_cost[t], ref.rank_cost[t], rtol=1e-5, atol=1e-5)


def test_specialized_trees_read_only_schedule_columns(model, monkeypatch):
    monkeypatch.setattr(specialize, "BUILD_ROWS", 1)
    ir, scheds = _candidates("matmul", 100)
    kernel = model.kernel(ir)
    model.predict(kernel=kernel, schedules=scheds, targets="latency")
    sp = model.heads["latency"].spec_reg
    spec = next(iter(sp._cache.values()))
    reg = model.heads["latency"].reg
    assert spec.booster.num_features() == sp.n_sched < reg.num_features()
    # The kernel's splits are gone: fewer nodes, and trees that only split on it are folded.
    nodes = lambda b: sum(d.count("\n") for d in b.get_dump())  # noqa: E731
    assert nodes(spec.booster) < 0.7 * nodes(reg)
    assert spec.booster.num_boosted_rounds() < reg.num_boosted_rounds()


def test_built_once_a_kernel_has_enough_rows_and_cache_is_bounded(model, monkeypatch):
    monkeypatch.setattr(specialize, "BUILD_ROWS", 500)
    monkeypatch.setattr(specialize, "CACHE_SIZE", 2)
    sp = model.heads["latency"].spec_reg
    sp._cache.clear()
    sp._rows.clear()
    ir, scheds = _candidates("matmul", 200, seed=1)
    kernel = model.kernel(ir)
    for expect in (0, 0, 1):  # 200, 400 rows: not yet; 600 rows: built
        model.predict(kernel=kernel, schedules=scheds, targets="latency")
        assert len(sp._cache) == expect
    # predict(features=...): rows of two kernels are not counted; rows of one kernel are.
    ir2, scheds2 = _candidates("softmax", 200, seed=1)
    mixed = np.vstack([model.features(kernel, scheds), model.features(model.kernel(ir2),
                                                                      scheds2)])
    rows = dict(sp._rows)
    model.predict(features=mixed, targets="latency")
    assert sp._rows == rows
    ir3, scheds3 = _candidates("matmul", 300, seed=5)
    X3 = model.features(model.kernel(ir3), scheds3)
    model.predict(features=X3, targets="latency")
    assert sp._rows != rows and len(sp._cache) == 1
    model.predict(features=X3, targets="latency")
    assert len(sp._cache) == 2  # 600 rows of that kernel: built
    got = model.predict(features=X3)
    ref = _unspecialized(model, features=X3)
    for t, h in model.heads.items():
        np.testing.assert_allclose(h.target.forward(got.values[t]),
                                   h.target.forward(ref.values[t]), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got.rank_cost[t], ref.rank_cost[t], rtol=1e-5, atol=1e-5)
    model.heads["latency"].spec_reg._cache.clear()
    for seed in (2, 3, 4):
        ir, sc = _candidates("matmul", 600, seed=seed)
        model.predict(kernel=model.kernel(ir), schedules=sc, targets="latency")
    assert len(sp._cache) == 2


def test_a_forest_of_kernel_splits_folds_to_a_constant(monkeypatch):
    monkeypatch.setattr(specialize, "BUILD_ROWS", 1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)).astype(np.float32)
    X[:, 2] = 1.0  # constant in training: no tree can split on the "schedule" column
    y = np.where(X[:, 0] > 0.2, 3.0, -1.0) + X[:, 1]
    booster = xgb.train({"max_depth": 3, "nthread": 1}, xgb.DMatrix(X, label=y), 20)
    sp = KernelSpecializer(Forest(booster), booster, n_kernel=2)
    assert sp.build(X[7, :2]).booster is None
    rows = np.repeat(X[7:8], 5, axis=0)
    rows[:, 2] = rng.normal(size=5)
    np.testing.assert_allclose(sp.trees(rows, margin), margin(booster, rows), rtol=1e-6)


def test_threads_sharing_a_model_get_the_full_trees_answers(model, monkeypatch):
    # A server's threads share one model: builds and evictions race (cache of 2, 3 kernels).
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(specialize, "BUILD_ROWS", 1)
    monkeypatch.setattr(specialize, "CACHE_SIZE", 2)
    cases = []
    for fam, seed in (("matmul", 7), ("conv2d_nhwc", 8), ("softmax", 9)):
        ir, scheds = _candidates(fam, 150, seed=seed)
        kernel = model.kernel(ir)
        ref = _unspecialized(model, kernel=kernel, schedules=scheds, targets="latency")
        cases.append((kernel, scheds, ref.values["latency"]))

    def run(i: int) -> np.ndarray:
        kernel, scheds, _ = cases[i % 3]
        return model.predict(kernel=kernel, schedules=scheds, targets="latency").values["latency"]

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(run, range(24)))
    for i, g in enumerate(got):
        np.testing.assert_allclose(np.log(g), np.log(cases[i % 3][2]), rtol=1e-5, atol=1e-5)
    assert len(model.heads["latency"].spec_reg._cache) <= 2
