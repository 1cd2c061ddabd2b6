"""Dataset collection end to end: real compiles and runs, a real SQLite journal, Parquet."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from costmodel.collect import collect, synthetic_items
from costmodel.collect.plan import WorkItem, sample_key
from costmodel.dataset import DatasetError, DatasetStore, load, validate
from costmodel.dataset.fingerprint import hardware


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "costmodel", *args], capture_output=True,
                          text=True, timeout=600, **kw)


def test_tiny_collection_end_to_end(tmp_path):
    out = tmp_path / "tiny"
    res = _cli("collect", "--families", "matmul,transpose", "--samples", "6",
               "--schedules-per-group", "3", "--out", str(out), "--quiet")
    assert res.returncode == 0, res.stderr
    samples, programs, manifest = load(out)
    assert samples.num_rows == 6 == manifest["rows"]
    assert manifest["rows_per_family"] == {"matmul": 3, "transpose": 3}
    assert manifest["groups"] == 2
    assert manifest["hardware"]["id"] == hardware()["id"]
    assert manifest["hardware"]["cores"] == os.cpu_count()
    assert manifest["collection"]["hardware_load"]
    meta = pq.ParquetFile(out / "samples.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    rows = samples.to_pylist()
    assert all(r["is_default"] for r in rows[:1])
    for r in rows:
        if r["feasible"]:
            assert r["latency_median_s"] > 0 and r["latency_calls"] >= 6
            assert r["static_instructions"] > 0 and r["vmfb_bytes"] > 0
            assert r["spills"] is not None
            assert r["flops"] > 0 if r["family"] == "matmul" else r["flops"] == 0
        else:
            assert r["error"]
    # IR is deduplicated: every row points at stored text that parses.
    hashes = set(programs.column("ir_hash").to_pylist())
    assert {r["ir_hash"] for r in rows} <= hashes
    listing = _cli("datasets", "--root", str(tmp_path), "--json")
    found = json.loads(listing.stdout)
    assert found[0]["valid"] and found[0]["manifest"]["rows"] == 6


def test_infeasible_schedule_is_recorded_with_the_compilers_message(tmp_path):
    from costmodel.programs import FAMILIES

    fam = FAMILIES["matmul"]
    shape = {"M": 64, "N": 64, "K": 64}
    gid = fam.group_id(shape)
    bad = {"pipeline": "DoubleTilingExpert", "levels": {
        "distribution": [64, 64, 0], "vector_common_parallel": [64, 64, 0],
        "vector_reduction": [0, 0, 64]}, "peeling": False, "data_tiling": False,
        "ukernels": False}
    item = WorkItem(key=sample_key("main", gid, bad), run="main", group_id=gid, family="matmul",
                    source="synthetic", shape=shape, schedule=bad, is_default=False,
                    pipeline="DoubleTilingExpert", data_tiling=False, ukernels=False)
    stats = collect([item], str(tmp_path / "bad"), progress=False)
    assert stats.measured == 1 and stats.feasible == 0
    row = load(tmp_path / "bad")[0].to_pylist()[0]
    assert row["feasible"] is False and row["error_kind"] == "compile_error"
    assert "vector sizes" in row["error"]
    assert row["latency_median_s"] is None


def _journal_count(path: Path) -> int:
    try:
        with sqlite3.connect(path / "staging.sqlite", timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_resume_after_kill_loses_and_duplicates_nothing(tmp_path):
    out = tmp_path / "resumable"
    args = [sys.executable, "-m", "costmodel", "collect", "--families", "transpose,reduction",
            "--samples", "8", "--schedules-per-group", "4", "--out", str(out), "--quiet",
            "--checkpoint-every", "1000"]
    # The killed process cannot remove its compile directory: keep it under tmp_path.
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 300
    while _journal_count(out) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)  # no chance to export or clean up
    proc.wait()
    with sqlite3.connect(out / "staging.sqlite") as db:
        before = dict(db.execute("SELECT sample_key, row FROM samples").fetchall())
    assert 3 <= len(before) < 8
    res = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr
    samples, _, manifest = load(out)
    keys = samples.column("sample_key").to_pylist()
    assert len(keys) == len(set(keys)) == 8 == manifest["rows"]
    planned = {it.key for it in synthetic_items(["transpose", "reduction"], 8,
                                                schedules_per_group=4)}
    assert set(keys) == planned
    after = {r["sample_key"]: r for r in samples.to_pylist()}
    for key, row in before.items():  # finished samples kept as they were, not re-measured
        assert after[key]["measured_at"] == json.loads(row)["measured_at"]


def test_sigterm_exports_every_finished_sample_before_exit(tmp_path):
    """A background collection is stopped with SIGTERM: it exits 130 with the Parquet
    files holding every sample the journal has (not the last checkpoint's)."""
    out = tmp_path / "stopped"
    args = [sys.executable, "-m", "costmodel", "collect", "--families", "transpose,reduction",
            "--samples", "8", "--schedules-per-group", "4", "--out", str(out),
            "--checkpoint-every", "1000"]
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    deadline = time.time() + 300
    while _journal_count(out) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "run the same command to resume" in err
    samples, _, manifest = load(out)
    assert 3 <= manifest["rows"] == samples.num_rows == _journal_count(out) < 8


def test_fresh_clone_resumes_from_parquet(tmp_path):
    out = tmp_path / "ds"
    items = synthetic_items(["transpose"], 2, schedules_per_group=2)
    collect(items[:1], str(out), progress=False)
    (out / "staging.sqlite").unlink()  # a clone has only what is committed
    for extra in ("staging.sqlite-wal", "staging.sqlite-shm"):
        (out / extra).unlink(missing_ok=True)
    stats = collect(items, str(out), progress=False)
    assert (stats.skipped, stats.measured) == (1, 1)
    assert load(out)[0].num_rows == 2


def test_manifest_and_schema_validation(tmp_path):
    out = tmp_path / "v"
    collect(synthetic_items(["transpose"], 1, schedules_per_group=1), str(out), progress=False)
    validate(out)
    manifest = json.loads((out / "manifest.json").read_text())

    with open(out / "samples.parquet", "ab") as f:  # corrupt the data behind the manifest
        f.write(b"tampered")
    with pytest.raises(DatasetError, match="checksum"):
        validate(out)

    store = DatasetStore(tmp_path / "w", hardware=hardware())
    store.add({"sample_key": "k", "run": "main", "group_id": "g", "family": "matmul",
               "source": "synthetic", "shape_json": "{}", "schedule_json": "{}",
               "is_default": True, "data_tiling": False, "ukernels": "none", "feasible": True,
               "hardware_id": hardware()["id"], "measured_at": 0.0}, "module {}")
    store.export()
    (tmp_path / "w" / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 99}))
    with pytest.raises(DatasetError, match="schema version 99"):
        validate(tmp_path / "w")
    with pytest.raises(DatasetError, match="missing required"):
        store.add({"sample_key": "x"}, "module {}")
    with pytest.raises(DatasetError, match="cannot join"):
        store.add({"sample_key": "k2", "run": "main", "group_id": "g", "family": "matmul",
                   "source": "synthetic", "shape_json": "{}", "schedule_json": "{}",
                   "is_default": True, "data_tiling": False, "ukernels": "none",
                   "feasible": True, "hardware_id": "another-machine", "measured_at": 0.0},
                  "module {}")
    assert not store.add({"sample_key": "k", "run": "main", "group_id": "g", "family": "matmul",
                          "source": "synthetic", "shape_json": "{}", "schedule_json": "{}",
                          "is_default": True, "data_tiling": False, "ukernels": "none",
                          "feasible": True, "hardware_id": hardware()["id"],
                          "measured_at": 1.0}, "module {}")  # duplicate key: ignored
    store.close()
    with pytest.raises(DatasetError, match="no manifest.json"):
        validate(tmp_path)
