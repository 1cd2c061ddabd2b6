"""The schedule prior: trained on really measured schedules, saved without pickle, checked on
load, and used by model-guided search."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import costmodel
from costmodel.programs import Schedule
from tuner.schedules import analyze_dispatch
from tuner.schedules.measure import Runner
from tuner.schedules.pool import Pool, pool_candidates
from tuner.schedules.prior import PriorError, Records, SchedulePrior, records_from_pool
from tuner.schedules.search import search

MATMUL = """func.func @main(%a: tensor<48x32xf32>, %b: tensor<32x64xf32>) -> tensor<48x64xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<48x64xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<48x64xf32>) -> tensor<48x64xf32>
  %r = linalg.matmul ins(%a, %b : tensor<48x32xf32>, tensor<32x64xf32>) outs(%f : tensor<48x64xf32>) -> tensor<48x64xf32>
  return %r : tensor<48x64xf32>
}
"""


@pytest.fixture(scope="module")
def measured_pool() -> Pool:
    """Ten candidates and IREE's default, really compiled and timed."""
    target = analyze_dispatch(MATMUL, name="prior_test_dispatch_0_matmul_48x64x32_f32")
    runner = Runner(target)
    cands = pool_candidates(target, 10)
    results = {r.key: r for r in (runner.measure(s) for s in cands)}
    defaults = [runner.measure(Schedule.default()).latency_s for _ in range(3)]
    return Pool(target.name, defaults, results, [s.key() for s in cands], target)


def test_prior_fits_saves_loads_and_guides_search(measured_pool, model_dir, tmp_path):
    model = costmodel.load(model_dir)
    rec = records_from_pool(measured_pool, model)
    assert rec.X.shape[0] == 11 and rec.y[0] == 0.0  # the default row, relative latency 0
    feasible = [r for r in measured_pool.measured() if r.feasible]
    assert np.isfinite(rec.y).sum() == 1 + len(feasible) >= 6
    assert rec.model == "prior_test"
    # Two copies stand in for two dispatches: the prior needs >= 10 measured rows.
    prior = SchedulePrior.fit([rec, Records("other_dispatch_0_x", rec.X, rec.y)],
                              cost_model=model)
    target = measured_pool.target
    universe = [Schedule.from_dict(r.schedule) for r in measured_pool.measured()]
    kernel = model.kernel(target.mlir)
    pred = prior.predict(model, kernel, universe, target)
    assert pred.shape == (len(universe),) and np.isfinite(pred).all()
    # The prior learned the measured ordering of its own training rows.
    y = rec.y[1:]
    ok = np.isfinite(y)
    assert np.corrcoef(pred[ok], y[ok])[0, 1] > 0.5

    out = prior.save(tmp_path / "prior")
    again = SchedulePrior.load(out)
    np.testing.assert_allclose(again.predict(model, kernel, universe, target), pred,
                               rtol=1e-6)
    assert again.manifest["dispatches"] == sorted([measured_pool.name, "other_dispatch_0_x"])
    # Its features include this cost model's predictions: another cost model is refused.
    other = costmodel.load(model_dir)
    other.manifest = dict(other.manifest, files={"x": "y"})
    with pytest.raises(PriorError, match="another cost model"):
        again.predict(other, kernel, universe, target)

    # Search with the prior: IREE's default is trial 1, and every trial is from the universe.
    table = {r.key: r for r in measured_pool.measured()}
    default = measured_pool.results[universe[0].key()]

    def measure(s: Schedule):
        return table.get(s.key(), default)

    trials, _ = search(target, universe, measure, 6, model=model, strategies=("model",),
                       prior=again)
    assert trials[0].technique == "default" and len(trials) == 6
    assert all(t.technique == "model" for t in trials[1:])
    assert all(math.isfinite(t.result.latency_s) or not t.result.feasible for t in trials)
    # The tuner's techniques: with a prior, the cost model's own ranking is a technique of
    # its own beside the prior's; without one the two would be the same searcher.
    # The prior's search leads with MODEL_LEAD_BATCHES batches of 4.
    from tuner.schedules.search import MODEL_LEAD_BATCHES
    lead = 4 * MODEL_LEAD_BATCHES
    trials, _ = search(target, universe, measure, lead + 2, model=model, prior=again)
    assert [t.technique for t in trials[1:]] == ["model"] * lead + ["cost_model"]
    trials, _ = search(target, universe, measure, 10, model=model)
    assert "cost_model" not in {t.technique for t in trials}
    with pytest.raises(ValueError, match="unknown search strategies"):
        search(target, universe, measure, 3, model=model, strategies=("model", "annealing"))


def test_prior_load_refuses_corrupt_or_foreign_files(measured_pool, model_dir, tmp_path):
    model = costmodel.load(model_dir)
    rec = records_from_pool(measured_pool, model)
    out = SchedulePrior.fit([rec, Records("b_dispatch_0", rec.X, rec.y)]).save(tmp_path / "p")
    with pytest.raises(PriorError, match="no manifest"):
        SchedulePrior.load(tmp_path / "missing")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps(dict(manifest, feature_schema="cm-features-0")))
    with pytest.raises(PriorError, match="rebuild it"):
        SchedulePrior.load(out)
    # A format-1 prior (the cost model's feature row) is refused, not misread.
    (out / "manifest.json").write_text(json.dumps(dict(manifest, format_version=1)))
    with pytest.raises(PriorError, match="format v1.*rebuild it"):
        SchedulePrior.load(out)
    (out / "manifest.json").write_text(json.dumps(manifest))
    blob = (out / "prior.ubj").read_bytes()
    (out / "prior.ubj").write_bytes(blob[:-8] + b"corrupt!")
    with pytest.raises(PriorError, match="checksum"):
        SchedulePrior.load(out)
    with pytest.raises(PriorError, match="at least 10"):
        SchedulePrior.fit([Records("c_dispatch_0", rec.X[:3], rec.y[:3])])


def test_prior_cli_errors_are_one_line(tmp_path, capsys, model_dir):
    from tuner.cli import main
    empty = tmp_path / "cache"
    empty.mkdir()
    assert main(["train-schedule-prior", "--cost-model", str(model_dir), "--cache-dir",
                 str(empty), "--dispatches", "1", "--out", str(tmp_path / "p")]) == 2
    assert "no measured pools" in capsys.readouterr().err
    mlir = tmp_path / "m.mlir"
    mlir.write_text(MATMUL)
    assert main(["tune-model", str(mlir), "--budget", "2", "--out", str(tmp_path / "o"),
                 "--cost-model", str(model_dir), "--prior", str(tmp_path / "nope")]) == 2
    assert "not a schedule prior" in capsys.readouterr().err


def test_pools_hardware_is_the_cluster_record_else_this_machine_else_none(tmp_path):
    from costmodel.dataset.fingerprint import hardware
    from tuner.schedules.pool import pools_hardware
    assert pools_hardware(tmp_path) is None  # nothing measured
    (tmp_path / "x.jsonl").write_text("")
    assert pools_hardware(tmp_path) is None  # an empty file is no measurement
    (tmp_path / "x.jsonl").write_text('{"role": "default"}\n')
    assert pools_hardware(tmp_path)["id"] == hardware()["id"]  # measured here
    (tmp_path / "hardware.json").write_text(json.dumps({"hardware": {"id": "feedc0de"}}))
    assert pools_hardware(tmp_path) == {"id": "feedc0de"}  # a cluster run's record wins

