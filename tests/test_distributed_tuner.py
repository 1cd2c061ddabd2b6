"""`tuner tune-model` and `tuner bench` on a real two-worker Dask LocalCluster.

A tiny two-dispatch MLIR model (matmul, then a row reduction) is tuned with real IREE
compiles and timed runs on the workers; the study must hold every trial exactly once,
with the worker's hardware, also when a worker is killed mid-run, and the search must be
the local search given the same measurements. Pools and the memory bench run as tasks.
"""

from __future__ import annotations

import io
import json
import os
import signal
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from costmodel.dataset.fingerprint import hardware
from costmodel.distributed import DaskExecutor, SchedulerError
from costmodel.measure import allowed_cores
from costmodel.programs.dispatches import dump_dispatches
from tuner.cli import main as tuner_main
from tuner.schedules.model_tune import make_universe, tune_model
from tuner.schedules.search import search
from tuner.store import open_storage

MODEL = """func.func @main(%a: tensor<32x48xf32>, %b: tensor<48x40xf32>) -> tensor<32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<32x40xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<32x40xf32>) -> tensor<32x40xf32>
  %r = linalg.matmul ins(%a, %b : tensor<32x48xf32>, tensor<48x40xf32>) outs(%f : tensor<32x40xf32>) -> tensor<32x40xf32>
  %e2 = tensor.empty() : tensor<32xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<32xf32>) -> tensor<32xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%r : tensor<32x40xf32>) outs(%f2 : tensor<32xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %m = arith.mulf %x, %x : f32
    %y = arith.addf %m, %acc : f32
    linalg.yield %y : f32
  } -> tensor<32xf32>
  return %s : tensor<32xf32>
}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from distributed import Client

    from costmodel.distributed.cluster import local_cluster

    # Workers inherit the environment: their caches go to a temporary directory.
    cache = tmp_path_factory.mktemp("cache")
    old = os.environ.get("TUNER_CACHE_DIR")
    os.environ["TUNER_CACHE_DIR"] = str(cache)
    try:
        with local_cluster(2, memory_limit="1.5GiB") as cl, Client(cl) as client:
            client.wait_for_workers(2, timeout=120)
            yield cl, client, cache
    finally:
        if old is None:
            os.environ.pop("TUNER_CACHE_DIR", None)
        else:
            os.environ["TUNER_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.mlir"
    path.write_text(MODEL)
    return path


def _trials(url: str) -> dict[str, list]:
    """Study name -> its trials (params + measured value), in the order they were stored."""
    store = open_storage(url)
    out = {}
    for rec in store.list_studies():
        ms = store.measurements(rec.id)
        trials = {tr.id: tr for tr, _ in store.events(rec.id)}  # asks and tells: once each
        out[rec.name] = [(tr, ms.get(tr.id)) for tr in trials.values()]
        out[rec.name + "/config"] = rec.config
    store.close()
    return out


def _check_study(trials: list, budget: int, hw_id: str) -> None:
    numbers = [tr.params["number"] for tr, _ in trials]
    assert sorted(numbers) == list(range(1, budget + 1))  # every trial once
    assert sorted(tr.client_id for tr, _ in trials) == sorted(f"trial-{n}" for n in numbers)
    for tr, m in trials:
        p = tr.params
        assert p["hardware_id"] == hw_id and p["worker"].startswith("tcp://")
        if p["feasible"]:
            assert m is not None and m.value == p["result"]["latency_s"] > 0
            # The workers inherit this process's affinity; they time on its last core.
            assert p["timing_core"] == allowed_cores()[-1]
            assert p["timing_core"] != 0 or allowed_cores() == [0]
        else:
            assert m is None and p["error"]
    assert next(tr for tr, _ in trials if tr.params["number"] == 1).params["technique"] == "default"


def test_tune_model_on_the_cluster(cluster, model_file, tmp_path, monkeypatch, capsys):
    cl, client, _ = cluster
    monkeypatch.setenv("COSTMODEL_SCHEDULER", cl.scheduler_address)  # the env var path
    out = tmp_path / "out"
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = tuner_main(["tune-model", str(model_file), "--budget", "4", "--out", str(out),
                         "--universe", "40", "--cost-model", "models/default", "--json"])
    assert rc == 0
    summary = json.loads(buf.getvalue())
    hw = hardware()["id"]
    c = summary["cluster"]
    assert c["scheduler"] == cl.scheduler_address and c["hardware_id"] == hw
    assert len(c["workers"]) == 2 and set(c["workers"].values()) == {hw}
    assert sum(c["trials_per_worker"].values()) == 8 and c["trials_per_hardware"] == {hw: 8}
    assert len(c["trials_per_worker"]) == 2  # both workers measured
    assert c["check"]["hardware_id"] == hw
    assert summary["numeric_check"]["ok"] and summary["numeric_check"]["annotated"]["ok"]
    assert summary["end_to_end"]["default_s"] > 0 and summary["end_to_end"]["tuned_s"] > 0
    # Model-level flags are timed locally only: a cluster run keeps IREE's default pipeline.
    assert not summary["model_flags"]["searched"] and summary["model_flags"]["flags"] == []
    rows = summary["dispatches"]
    assert len(rows) == 2 and all(r["trials"] == 4 and not r["skipped"] for r in rows)
    for r in rows:
        assert r["best_latency_s"] <= r["default_latency_s"]
        assert r["guard"].get("hardware_id", hw) == hw
    for f in ("tuning_spec.mlir", "annotated.mlir", "summary.json", "tuning.sqlite"):
        assert (out / f).stat().st_size > 0
    studies = _trials(f"sqlite:///{out / 'tuning.sqlite'}")
    names = [n for n in studies if not n.endswith("/config")]
    assert len(names) == 2
    for n in names:
        _check_study(studies[n], 4, hw)
        cfg = studies[n + "/config"]
        assert cfg["kind"] == "dispatch" and cfg["hardware"]["id"] == hw
        assert cfg["run"]["cost_model"] and cfg["default_latency_s"] > 0
        # The model guided the search: some trial was its pick.
        assert any(tr.params["technique"] == "model" for tr, _ in studies[n])

    rc = tuner_main(["tune-model", str(model_file), "--budget", "1", "--out", str(tmp_path / "x"),
                     "--scheduler", "http://nope"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and "--scheduler='http://nope'" in err[-1]


def test_killed_worker_loses_no_trial_and_the_run_resumes(cluster, model_file, tmp_path):
    cl, client, _ = cluster
    killed: dict = {}

    def on_trial(name, trial, best):
        if killed or trial.number < 2:
            return
        busy = {w: [k for k in keys if str(k).startswith("tune-")]
                for w, keys in client.processing().items()}
        victim = next((w for w, ks in busy.items() if ks), None)
        if victim is None:
            return
        pid = client.run(os.getpid, workers=[victim])[victim]
        url = f"sqlite:///{tmp_path / 'out' / 'tuning.sqlite'}"
        stored = {(n, tr.params["number"]) for n, ts in _trials(url).items()
                  if not n.endswith("/config") for tr, _ in ts}
        killed.update(worker=victim, keys=busy[victim], stored=stored)
        os.kill(pid, signal.SIGKILL)

    budget = 4
    out = tmp_path / "out"
    kw = dict(universe=40, check=False, executor=DaskExecutor(client))
    outcome = tune_model(model_file, budget, out, on_trial=on_trial, **kw)
    assert killed, "no worker was busy to kill"
    hw = hardware()["id"]
    url = f"sqlite:///{out / 'tuning.sqlite'}"
    studies = _trials(url)
    names = sorted(n for n in studies if not n.endswith("/config"))
    assert len(names) == 2
    for n in names:
        _check_study(studies[n], budget, hw)
    # Everything stored before the kill is still there, once.
    after = {(n, tr.params["number"]) for n in names for tr, _ in studies[n]}
    assert killed["stored"] <= after
    # The trials the dead worker held were measured by another worker.
    tuned = [d for d in outcome.dispatches if d.result]
    by_number = {(i, tr.params["number"]): tr.params["worker"]
                 for i, d in enumerate(tuned)
                 for tr, _ in studies[next(n for n in names if n.endswith(d.target.name))]}
    held = [k.split("-") for k in killed["keys"]]
    held = [(int(p[1]), int(p[2][len("trial"):])) for p in held if p[2].startswith("trial")]
    assert held
    for k in held:
        assert by_number[k] != killed["worker"]

    # The cluster ran the local search: replaying the stored measurements through
    # `search` picks the same schedules with the same techniques, in the same order.
    for d in tuned:
        stored = {tr.params["result"]["key"]: tr.params for tr, _ in
                  studies[next(n for n in names if n.endswith(d.target.name))]}
        from tuner.schedules.measure import TrialResult
        trials, _ = search(d.target, make_universe(d.target, 40, 0),
                           lambda s: TrialResult.from_dict(stored[s.key()]["result"]), budget)
        assert [(t.number, t.technique, t.result.key) for t in trials] == \
            [(t.number, t.technique, t.result.key) for t in d.result.trials]
        assert [(t.number, t.technique, t.result.key) for t in trials] == sorted(
            (p["number"], p["technique"], k) for k, p in stored.items())

    # The same run again resumes: every trial comes from the study, none is added (the
    # dispatch analysis is skipped here and the guard shortened, to keep the test short).
    from tuner.schedules.distributed import tune_on_cluster
    targets = [d.target for d in tuned]
    universe = lambda t: make_universe(t, 40, 0)  # noqa: E731
    results, info = tune_on_cluster(targets, "tiny", budget, DaskExecutor(client), url,
                                    make_universe=universe, universe=40, guard_rounds=1)
    assert info.resumed_trials == 2 * budget and info.trials_per_worker == {}
    for d in tuned:
        assert [t.result for t in results[d.target.name].trials] == \
            [t.result for t in d.result.trials]
    assert {n: len(v) for n, v in _trials(url).items() if not n.endswith("/config")} == \
        {n: budget for n in names}

    # A store whose run was measured on other hardware is refused, not mixed in.
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    store = open_storage(other)
    for n in names:
        store.get_or_create_study(n, {**studies[n + "/config"],
                                      "hardware": {"id": "0000elsewhere00", "cpu_model": "X"}})
    store.close()
    with pytest.raises(SchedulerError, match="0000elsewhere00.*--allow-mixed-hardware"):
        tune_on_cluster(targets, "tiny", budget, DaskExecutor(client), other,
                        make_universe=universe, universe=40)


def test_bench_pools_and_memory_on_the_cluster(cluster, tmp_path):
    cl, client, cache = cluster
    from tuner.schedules.pool import load_pool, measure_pools

    d = dump_dispatches(MODEL, "tiny")[:1]
    pool_dir = tmp_path / "schedules"
    pools = measure_pools(2, chunk=1, cache=pool_dir, dispatches=d, executor=DaskExecutor(client))
    assert len(pools) == 1
    lines = [json.loads(x) for f in pool_dir.glob("*.jsonl") for x in f.read_text().splitlines()]
    assert sorted(r["role"] for r in lines) == ["candidate", "candidate", "default", "default"]
    p = load_pool(pool_dir, d[0], 2)  # the local loader reads what the cluster wrote
    assert len(p.measured()) == 2 and len(p.default_latencies) == 2
    assert json.loads((pool_dir / "hardware.json").read_text())["hardware"]["id"] == hardware()["id"]
    # Resuming measures nothing twice.
    measure_pools(2, chunk=1, cache=pool_dir, dispatches=d, executor=DaskExecutor(client))
    assert len([x for f in pool_dir.glob("*.jsonl") for x in f.read_text().splitlines()]) == 4

    # `tuner bench --scheduler X memory` and `tuner bench memory --scheduler X` use the
    # cluster and agree with the local bench on everything but CPU seconds.
    args = ["memory", "--programs", "mlp_b64_h128_d4", "--capacities", "0.5",
            "--ilp-time-limit", "0", "--simulations", "2", "--episodes", "1", "--json",
            "--no-progress"]
    results = {}
    for name, argv in (("local", ["bench", *args]),
                       ("before", ["bench", "--scheduler", cl.scheduler_address, *args]),
                       ("after", ["bench", *args, "--scheduler", cl.scheduler_address])):
        buf = io.StringIO()
        with redirect_stdout(buf):
            assert tuner_main(argv) == 0
        results[name] = json.loads(buf.getvalue())
    assert "cluster" not in results["local"]
    for name in ("before", "after"):
        c = results[name]["cluster"]
        assert c["scheduler"] == cl.scheduler_address and c["hardware_id"] == hardware()["id"]
        strip = lambda rows: [{k: v for k, v in r.items() if not k.endswith("cpu_s")}  # noqa: E731
                              for r in rows]
        assert strip(results[name]["instances"]) == strip(results["local"]["instances"])
