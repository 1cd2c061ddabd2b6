"""Local pool measurement (tuner/schedules/pool.py) on a real dispatch: the progress total
matches the work done, IREE's default is re-timed every round, and a rerun resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costmodel.programs.dispatches import dump_dispatches
from tuner.schedules.pool import main, measure_pools

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default"

MODEL = """func.func @main(%a: tensor<16x24xf32>, %b: tensor<24x32xf32>) -> tensor<16x32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x32xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<16x32xf32>) -> tensor<16x32xf32>
  %r = linalg.matmul ins(%a, %b : tensor<16x24xf32>, tensor<24x32xf32>) outs(%f : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %r : tensor<16x32xf32>
}"""


def _run(cache, d):
    totals, done = [], []
    pools = measure_pools(3, chunk=2, cache=cache, dispatches=d, progress=done.append,
                          on_total=totals.append)
    return pools, totals, sum(done)


def test_progress_total_counts_every_round_default_and_a_rerun_resumes(tmp_path):
    d = dump_dispatches(MODEL, "poolmm")[:1]
    cache = tmp_path / "schedules"
    pools, totals, done = _run(cache, d)
    # 3 candidates in rounds of 2 -> 2 rounds, each re-timing IREE's default first.
    assert totals == [5] and done == 5
    lines = [json.loads(x) for f in cache.glob("*.jsonl") for x in f.read_text().splitlines()]
    assert [r["role"] for r in lines] == ["default", "candidate", "candidate", "default",
                                          "candidate"]
    assert len(pools) == 1 and len(pools[0].measured()) == 3
    _, totals, done = _run(cache, d)
    assert totals == [0] and done == 0


def test_cli_rejects_a_zero_pool(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--n", "0"])
    assert e.value.code == 2 and "--n must be at least 1" in capsys.readouterr().err


def test_bench_reports_the_tunable_dispatches_apart(tmp_path, model_dir):
    """`tuner bench schedules` on a real measured pool: `summary.tunable` keeps only the
    dispatches where IREE's default is not within 95% of the pool's best."""
    import dataclasses

    import costmodel
    from tuner.schedules.bench import FRACTION, bench

    d = dump_dispatches(MODEL, "poolmm")[:1]
    pools, _, _ = _run(tmp_path / "schedules", d)
    cm = costmodel.load(model_dir)
    res = bench(pools, cm, seeds=(0, 1), strategies=("random",))
    row = res["dispatches"][0]
    tunable = row["best_latency_s"] / row["default_latency_s"] < FRACTION
    t = res["summary"]["tunable"]
    assert t["dispatches"] == int(tunable)
    assert t["median_trials_to_95"] == (res["summary"]["median_trials_to_95"] if tunable else {})
    # The same pool with IREE's default timed 1000x slower is tunable (some candidate is
    # faster): trial 1 (the default) no longer reaches the level, so the median is >= 2.
    slow = dataclasses.replace(pools[0], default_latencies=[1000 * x for x in
                                                            pools[0].default_latencies])
    t = bench([slow], cm, seeds=(0, 1), strategies=("random",))["summary"]["tunable"]
    assert t["dispatches"] == 1 and t["median_trials_to_95"]["random"] >= 2


def test_im2col_suite_adds_the_conv_models_im2col_dispatches_after_the_others(tmp_path,
                                                                              monkeypatch):
    """On small_cnn alone (real imports and compiles): the im2col suite keeps the default
    suite as its prefix, then adds the im2col build's matmuls and copies, never an
    initializer (run once at load), each with a schedule target."""
    import tuner.schedules.pool as pool
    from costmodel.programs import REAL_MODELS

    monkeypatch.setattr(pool, "REAL_MODELS", {"small_cnn": REAL_MODELS["small_cnn"]})
    cache = tmp_path / "schedules"
    plain = [d.name for d in pool.suite_dispatches(60, cache)]
    both = [d.name for d in pool.suite_dispatches(60, cache, im2col=True)]
    assert both[:len(plain)] == plain and len(both) > len(plain)
    added = both[len(plain):]
    assert any("matmul_16x1024x27" in n for n in added)
    assert not [n for n in both if n.startswith("_initializer")]
    assert pool.suite_dispatches(len(plain) + 1, cache, im2col=True)[-1].name == added[0]


def test_bench_result_identifies_its_cost_model(tmp_path, model_dir):
    """`tuner bench schedules` on a real measured pool (one dispatch, 3 candidates): the
    result carries the cost model's identity (a checksum of its files), different for
    another model, so result files of different models are told apart."""
    import costmodel
    from tuner.schedules.bench import bench
    from tuner.schedules.prior import cost_model_id

    pools, _, _ = _run(tmp_path / "schedules", dump_dispatches(MODEL, "poolmm")[:1])
    ids = []
    for path in (model_dir, DEFAULT_MODEL):
        cm = costmodel.load(path)
        res = bench(pools, cm, seeds=(0,), strategies=("random",))
        assert res["summary"]["cost_model_id"] == cost_model_id(cm)
        ids.append(res["summary"]["cost_model_id"])
    assert len(set(ids)) == 2 and all(len(i) == 16 for i in ids)


@pytest.mark.parametrize("hide_optuna", [False, True])
def test_bench_cli_records_the_cost_model_path(tmp_path, model_dir, capsys, monkeypatch,
                                               hide_optuna):
    """The CLI's result (the suite's first dispatch, 2 candidates) also names the model
    directory it was given; without Optuna (a bench extra) it runs all but the TPE baseline."""
    import importlib.util

    import costmodel
    if hide_optuna:
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: None if name == "optuna" else real(name, *a))
    from tuner.cli import main as tuner_main
    from tuner.schedules.prior import cost_model_id
    out = tmp_path / "res.json"
    assert tuner_main(["bench", "schedules", "--pool", "2", "--dispatches", "1", "--seeds", "0",
                       "--cache-dir", str(tmp_path / "cache"), "--cost-model", str(model_dir),
                       "--out", str(out), "--json", "--no-progress"]) == 0
    res = json.loads(out.read_text())
    cap = capsys.readouterr()
    assert res == json.loads(cap.out)
    has_tpe = importlib.util.find_spec("optuna") is not None
    assert ("tpe" in res["summary"]["strategies"]) == has_tpe
    assert set(res["dispatches"][0]["trials_to_95"]) == set(res["summary"]["strategies"])
    assert ("no TPE baseline" in cap.err) == (not has_tpe)
    assert res["summary"]["cost_model"] == str(model_dir)  # outside the checkout: as given
    assert res["summary"]["cost_model_id"] == cost_model_id(costmodel.load(model_dir))


def test_a_local_run_records_its_hardware_and_refuses_a_cache_timed_elsewhere(tmp_path, capsys):
    from costmodel.dataset.fingerprint import hardware
    from tuner.errors import TunerError
    d = dump_dispatches(MODEL, "poolhw")[:1]
    cache = tmp_path / "schedules"
    measure_pools(2, chunk=2, cache=cache, dispatches=d)
    side = json.loads((cache / "hardware.json").read_text())
    assert side["hardware"]["id"] == hardware()["id"]
    # The same cache, as if its pools had been timed on another machine (shipped pools):
    # replaying what is there is fine, timing more candidates here is not.
    side["hardware"] = dict(side["hardware"], id="0123456789abcdef", cpu_model="Other CPU")
    (cache / "hardware.json").write_text(json.dumps(side))
    before = {f.name: f.read_text() for f in cache.glob("*.jsonl")}
    assert len(measure_pools(2, chunk=2, cache=cache, dispatches=d)[0].measured()) == 2
    with pytest.raises(TunerError, match="0123456789abcdef.*Other CPU.*--allow-mixed-hardware"):
        measure_pools(3, chunk=2, cache=cache, dispatches=d)
    assert {f.name: f.read_text() for f in cache.glob("*.jsonl")} == before  # nothing timed
    with pytest.raises(SystemExit) as e:
        main(["--n", "3", "--limit", "1", "--cache-dir", str(cache)])
    assert e.value.code == 2 and "0123456789abcdef" in capsys.readouterr().err
