"""Dask: collection, a tuning bench and training on a real two-worker LocalCluster.

Real compiles and timed runs on the workers, a worker killed mid-run, and distributed vs
local XGBoost training compared on held-out kernels.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from costmodel.cli import main as costmodel_main
from costmodel.collect import collect, synthetic_items
from costmodel.dataset import DatasetStore, load
from costmodel.dataset.fingerprint import hardware
from costmodel.distributed import (DaskExecutor, LocalExecutor, SchedulerError, executor_for,
                                   resolve_scheduler)
from costmodel.distributed.collect import collect_distributed

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from distributed import Client

    from costmodel.distributed.cluster import local_cluster

    # Workers inherit TMPDIR: the one killed below cannot remove its compile directory.
    mp = pytest.MonkeyPatch()
    mp.setenv("TMPDIR", str(tmp_path_factory.mktemp("worker-tmp")))
    try:
        with local_cluster(2, memory_limit="1.5GiB") as cl, Client(cl) as client:
            client.wait_for_workers(2, timeout=120)
            yield cl, client
    finally:
        mp.undo()


def test_scheduler_resolution(monkeypatch, capsys):
    monkeypatch.delenv("COSTMODEL_SCHEDULER", raising=False)
    assert resolve_scheduler(None) is None
    assert isinstance(executor_for(None), LocalExecutor)
    monkeypatch.setenv("COSTMODEL_SCHEDULER", "tcp://10.1.2.3:8786")
    assert resolve_scheduler(None) == "tcp://10.1.2.3:8786"
    assert resolve_scheduler("local") is None  # the flag wins over the environment
    assert resolve_scheduler("tcp://[::1]:9000") == "tcp://[::1]:9000"
    with pytest.raises(SchedulerError, match="not a Dask scheduler address"):
        resolve_scheduler("10.1.2.3 8786")
    rc = costmodel_main(["collect", "--samples", "1", "--out", "/nonexistent/x",
                         "--scheduler", "http://nope"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--scheduler='http://nope'" in err[0]


def test_collect_and_bench_on_the_cluster(cluster, tmp_path, monkeypatch):
    cl, client = cluster
    out = tmp_path / "ds"
    rc = costmodel_main(["collect", "--families", "matmul,transpose", "--samples", "4",
                         "--schedules-per-group", "2", "--time-cap", "0.05", "--out", str(out),
                         "--scheduler", cl.scheduler_address, "--quiet"])
    assert rc == 0
    samples, _, manifest = load(out)
    rows = samples.to_pylist()
    assert len(rows) == 4 == len({r["sample_key"] for r in rows})
    hw = hardware()["id"]
    assert manifest["hardware"]["id"] == hw and {r["hardware_id"] for r in rows} == {hw}
    assert set(manifest["collection"]["workers"].values()) == {hw}
    assert len(manifest["collection"]["workers"]) == 2
    for r in rows:
        assert r["feasible"], r["error"]
        assert r["latency_median_s"] > 0 and r["latency_calls"] >= 6 and r["vmfb_bytes"] > 0
    # Resuming on the cluster measures nothing twice.
    stats = collect(synthetic_items(["matmul", "transpose"], 4, schedules_per_group=2),
                    str(out), scheduler=cl.scheduler_address, progress=False)
    assert stats.skipped == 4 and stats.measured == 0

    # A tuning run: `tuner bench solver` with its iteration tables computed on the workers
    # gives exactly the local tables and results.
    from tuner.cli import main as tuner_main

    args = ["bench", "solver", "--T", "60", "--seeds", "0", "--settings", "synthetic-high",
            "heat", "--strategies", "chebcb", "tsallis_inf", "--json", "--no-progress"]
    import io
    from contextlib import redirect_stdout

    results = {}
    for name, extra in (("dask", ["--scheduler", cl.scheduler_address]), ("local", [])):
        buf = io.StringIO()
        with redirect_stdout(buf):
            assert tuner_main([*args, "--cache-dir", str(tmp_path / name), *extra]) == 0
        results[name] = json.loads(buf.getvalue())
    assert results["dask"] == results["local"]
    assert results["dask"]["heat"]["chebcb"]["total"] > 0
    for f in sorted((tmp_path / "local").glob("*.npz")):
        a, b = np.load(f), np.load(tmp_path / "dask" / f.name)
        assert np.array_equal(a["iterations"], b["iterations"])


def test_killed_worker_loses_nothing_and_its_task_runs_elsewhere(cluster, tmp_path):
    cl, client = cluster
    items = synthetic_items(["matmul", "elementwise"], 6, schedules_per_group=3, seed=5)
    killed: dict = {}

    def on_row(row):
        if killed:
            return
        busy = {w: [k for k in keys if str(k).startswith("measure-")]
                for w, keys in client.processing().items()}
        victim = next((w for w, ks in busy.items() if ks), None)
        if victim is None:
            return
        pid = client.run(os.getpid, workers=[victim])[victim]
        killed.update(worker=victim, keys=busy[victim], done=set(done))
        os.kill(pid, signal.SIGKILL)

    done: list[str] = []
    ex = DaskExecutor(client)
    stats = collect_distributed(items, str(tmp_path / "ds"), ex, time_cap_s=0.05,
                                progress=False,
                                on_row=lambda r: (done.append(r["sample_key"]), on_row(r)))
    assert killed, "no worker was busy to kill"
    assert stats.failed == 0 and stats.measured == len(items)
    samples, _, manifest = load(tmp_path / "ds")
    keys = samples.column("sample_key").to_pylist()
    assert sorted(keys) == sorted(it.key for it in items)  # none lost, none duplicated
    # The tasks the dead worker held ran on another worker.
    lost = {k.split("-")[1] for k in killed["keys"]} - killed["done"]
    assert lost
    for k in lost:
        assert stats.ran_on[k] != killed["worker"]
    assert manifest["rows"] == len(items)


def test_other_hardware_is_refused_unless_allowed(cluster, tmp_path):
    cl, client = cluster
    out = tmp_path / "other"
    store = DatasetStore(out, hardware={"id": "0000elsewhere00", "cpu_model": "Other CPU"})
    store.close()
    items = synthetic_items(["transpose"], 1, schedules_per_group=1)
    with pytest.raises(SchedulerError, match="0000elsewhere00.*--allow-mixed-hardware"):
        collect_distributed(items, str(out), DaskExecutor(client), progress=False)
    stats = collect_distributed(items, str(out), DaskExecutor(client), time_cap_s=0.05,
                                progress=False, allow_mixed_hardware=True)
    assert stats.measured == 1 and stats.hardware == {hardware()["id"]: 1}


def _git_dataset(tmp: Path) -> Path:
    """The committed datasets/cpu-v1 (not the working copy a collection may be writing)."""
    src = tmp / "cpu-v1"
    src.mkdir()
    for name in ("samples.parquet", "programs.parquet"):
        res = subprocess.run(["git", "show", f"HEAD:datasets/cpu-v1/{name}"], cwd=ROOT,
                             capture_output=True)
        data = res.stdout if res.returncode == 0 else (ROOT / "datasets/cpu-v1" / name).read_bytes()
        (src / name).write_bytes(data)
    return src


def _subset(src: Path, out: Path, families: list[str], lo: int, hi: int) -> Path:
    rows = pq.read_table(src / "samples.parquet").to_pylist()
    progs = pq.read_table(src / "programs.parquet")
    ir = dict(zip(progs.column("ir_hash").to_pylist(), progs.column("ir").to_pylist()))
    order: dict[str, list[str]] = {}
    for r in rows:
        if r["run"] == "main" and r["family"] in families:
            gs = order.setdefault(r["family"], [])
            if r["group_id"] not in gs:
                gs.append(r["group_id"])
    keep = {g for f in families for g in order[f][lo:hi]}
    st = DatasetStore(out, hardware={"id": rows[0]["hardware_id"], "cpu_model": "cpu-v1"})
    for r in rows:
        if r["run"] == "main" and r["group_id"] in keep:
            st.add({k: v for k, v in r.items() if k != "ir_hash"}, ir[r["ir_hash"]])
    st.export()
    st.close()
    return out


def test_distributed_training_matches_local(cluster, tmp_path, monkeypatch):
    import costmodel.model.heads as heads_mod
    from costmodel.model.data import group_index, load_frame
    from costmodel.model.metrics import ranking_metrics, regression_metrics
    from costmodel.model.targets import TARGETS
    from costmodel.model.train import fit, predict_rows
    from costmodel.model.train_dask import fit_dask

    cl, client = cluster
    # Fewer boosting rounds keep the test short; both engines get the same cap.
    monkeypatch.setattr(heads_mod, "MAX_ROUNDS", 40)
    monkeypatch.setattr(heads_mod, "EARLY_STOP", 10)
    src = _git_dataset(tmp_path)
    fams = ["matmul", "transpose", "softmax"]
    train = _subset(src, tmp_path / "train", fams, 0, 12)
    test = load_frame(str(_subset(src, tmp_path / "test", fams, 12, 20)))
    target = "code_size"
    local = fit(load_frame(str(train)), [target])
    dist = fit_dask(client, train, [target])
    _, members = group_index(test.group)
    y = test.y[target]
    scores = {}
    for name, (pre, heads) in (("local", local[:2]), ("dask", dist[:2])):
        p = predict_rows(pre, heads, test.X)[target]
        m = ranking_metrics(p["rank_cost"], y, members)
        m.update(regression_metrics(p["value"], y, TARGETS[target].forward))
        scores[name] = m
    assert list(dist[0].kept) == list(local[0].kept) or abs(len(dist[0].kept) - len(local[0].kept)) < 20
    for k, tol in (("r2_log", 0.15), ("kendall_tau", 0.15), ("mape", 0.1)):
        assert abs(scores["dask"][k] - scores["local"][k]) <= tol, (k, scores)
    assert scores["dask"]["r2_log"] > 0.3 and scores["dask"]["kendall_tau"] > 0.2, scores
