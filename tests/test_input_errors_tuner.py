"""Bad input to the `tuner` commands: a clear message and exit 2 before any work; read-only
commands never create or change a store; a tune-model rerun resumes its own studies."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli_run import run_cli
from tests.test_cli_input_tuner import MATMUL  # a plain func: tensor arguments are inputs
from tuner.cli import main as tuner_main
from tuner.errors import StorageError
from tuner.space import Int, Space
from tuner.store import check_storage_url, open_storage
from tuner.study import Study


def _run(argv, capsys) -> tuple[int, str]:
    return run_cli(tuner_main, argv, capsys)


@pytest.mark.parametrize("argv, says", [
    (["tune-model", "m.mlir", "--budget", "0"], "--budget: must be at least 1"),
    (["tune-model", "m.mlir", "--budget", "2", "--universe", "0"], "--universe: must be at least 1"),
    (["tune-model", "m.mlir", "--budget", "2", "--seed", "-1"], "must be a seed between 0"),
    (["bench", "solver", "--seeds", "0", "-2"], "must be a seed between 0"),
    (["bench", "solver", "--T", "0"], "--T: must be at least 1"),
    (["bench", "schedules", "--seeds", "-1"], "must be a seed between 0"),
    (["bench", "memory", "--ilp-time-limit", "-1"], "--ilp-time-limit: must be 0 or more"),
    (["train-memory-agent", "--seed", "-5"], "must be a seed between 0"),
    (["map-memory", "x.mlir", "--capacity", "0"], "--capacity: must be at least 1"),
])
def test_bad_numbers_are_rejected_at_parse_time(argv, says, capsys):
    rc, err = _run(argv, capsys)
    assert rc == 2 and says in err


def test_tune_model_checks_out_and_storage_before_any_build(tmp_path, capsys):
    model = tmp_path / "m.mlir"
    model.write_text(MATMUL)
    a_file = tmp_path / "file"
    a_file.write_text("keep")
    rc, err = _run(["tune-model", str(model), "--budget", "2", "--out", str(a_file)], capsys)
    assert rc == 2 and "exists and is not a directory" in err and a_file.read_text() == "keep"
    out = tmp_path / "out"
    rc, err = _run(["tune-model", str(model), "--budget", "2", "--out", str(out),
                    "--storage", "foo://x", "--no-cost-model"], capsys)
    assert rc == 2 and "unsupported storage URL 'foo://x'" in err and not out.exists()


def test_tune_model_says_dynamic_shapes_need_static_ones(tmp_path, capsys):
    model = tmp_path / "dyn.mlir"
    model.write_text(MATMUL.replace("tensor<64x128xf32>", "tensor<?x128xf32>")
                     .replace("tensor<64x32xf32>", "tensor<?x32xf32>")
                     .replace("%e = tensor.empty() :", "%e = tensor.empty(%d) :")
                     .replace("  %cst =", "  %c0 = arith.constant 0 : index\n"
                              "  %d = tensor.dim %a, %c0 : tensor<?x128xf32>\n  %cst ="))
    out = tmp_path / "out"
    rc, err = _run(["tune-model", str(model), "--budget", "2", "--out", str(out),
                    "--no-cost-model"], capsys)
    assert rc == 2 and "argument 0 is tensor<?x128xf32>" in err and "static" in err
    assert not out.exists()


def test_bench_memory_out_is_checked_before_the_benchmark(tmp_path, capsys):
    rc, err = _run(["bench", "memory", "--out", str(tmp_path), "--programs", "mlp"], capsys)
    assert rc == 2 and "is a directory" in err


def test_storage_urls_are_validated_without_opening_anything(tmp_path):
    assert check_storage_url("memory:") is None
    assert check_storage_url(f"sqlite:///{tmp_path}/a.db") == f"{tmp_path}/a.db"
    for bad in ("foo://x", "sqlite:///", f"sqlite:///{tmp_path}"):
        with pytest.raises(StorageError):
            check_storage_url(bad)
    assert list(tmp_path.iterdir()) == []


def test_read_only_commands_never_create_or_change_a_store(tmp_path, capsys):
    missing = tmp_path / "sub" / "none.db"
    rc, err = _run(["studies", "--storage", f"sqlite:///{missing}"], capsys)
    assert rc == 2 and "no trial store at" in err
    rc, err = _run(["report", "--all", "--storage", f"sqlite:///{missing}",
                    "--out", str(tmp_path / "r.html")], capsys)
    assert rc == 2 and "no trial store at" in err
    assert list(tmp_path.iterdir()) == []
    empty, junk = tmp_path / "empty.db", tmp_path / "junk.db"
    empty.write_bytes(b"")
    junk.write_bytes(b"not a database at all")
    for f, says in ((empty, "is empty, not a trial store"), (junk, "cannot read trial store")):
        rc, err = _run(["studies", "--storage", f"sqlite:///{f}"], capsys)
        assert rc == 2 and says in err
    assert empty.read_bytes() == b"" and junk.read_bytes() == b"not a database at all"
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    rc, err = _run(["studies", "--storage", f"sqlite:///{other}"], capsys)
    assert rc == 2 and "not a trial store" in err


def test_studies_reads_a_store_while_its_writer_has_it_open(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = Study.create("s", Space([Int("x", 1, 4)]), strategy="ucb1", storage=url)
    t = study.ask()
    study.tell(t.id, 2.0)
    study.ask()  # pending
    r = subprocess.run([sys.executable, "-m", "tuner.cli", "studies", "--storage", url,
                        "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["name"] == "s" and row["trials"] == 2 and row["complete"] == 1
    study.store.close()


def test_a_corrupt_solver_table_cache_is_rebuilt(tmp_path, capsys):
    from tuner.solver.table import load_table

    first = load_table("synthetic-high", 6, 0, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.npz")
    path.write_bytes(path.read_bytes()[:40])  # a copy cut short
    again = load_table("synthetic-high", 6, 0, cache_dir=tmp_path)
    assert "unreadable" in capsys.readouterr().err
    assert np.array_equal(first.iterations, again.iterations)
    with np.load(path) as z:  # rewritten whole
        assert z["iterations"].shape == first.iterations.shape


def test_map_memory_models_a_plain_functions_tensor_arguments_as_inputs():
    from tuner.memory.problem import problem_from_mlir

    prob = problem_from_mlir(MATMUL)
    inputs = {b.name: b for b in prob.buffers if b.kind == "input"}
    assert {n: b.size for n, b in inputs.items()} == {"arg0": 64 * 128 * 4, "arg1": 128 * 32 * 4}
    assert all(b.prefetch for b in inputs.values())
    matmul = prob.op_names.index("linalg.matmul")
    ids = {b.name: i for i, b in enumerate(prob.buffers)}
    assert prob.reads[(matmul, ids["arg0"])] == 64 * 128 * 4


def test_a_tune_model_rerun_resumes_its_studies_instead_of_numbering_new_ones(tmp_path):
    model = tmp_path / "mm.mlir"
    model.write_text(MATMUL)
    out = tmp_path / "out"
    argv = ["tune-model", str(model), "--budget", "3", "--out", str(out), "--no-cost-model",
            "--model-flags", "off", "--no-check", "--json"]
    assert tuner_main(argv) == 0
    url = f"sqlite:///{out / 'tuning.sqlite'}"
    store = open_storage(url)
    (rec,) = store.list_studies()
    first = [(t.params["result"]["key"], m and m.value) for t, m in store.events(rec.id)]
    store.close()
    assert tuner_main(argv) == 0  # the same search again: resumed, nothing re-measured
    store = open_storage(url)
    (rec2,) = store.list_studies()
    assert rec2.name == rec.name and "#" not in rec2.name
    assert [(t.params["result"]["key"], m and m.value) for t, m in store.events(rec2.id)] == first
    store.close()
    # Another budget is another search: its own, numbered study.
    assert tuner_main([*argv[:3], "4", *argv[4:]]) == 0
    store = open_storage(url)
    assert sorted(r.name for r in store.list_studies()) == [rec.name, rec.name + "#2"]
    store.close()
    r = subprocess.run([sys.executable, "-W", "error::UserWarning", "-m", "tuner.cli",
                        "studies", "--storage", url], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "replayed asks differ" not in r.stderr, r.stderr


def test_shipped_defaults_do_not_depend_on_the_working_directory(tmp_path, monkeypatch, capsys):
    model = tmp_path / "mm.mlir"
    model.write_text(MATMUL)
    monkeypatch.chdir(tmp_path)
    from tuner.cli_schedules import _load_model
    if not (Path(__file__).resolve().parent.parent / "models" / "default").exists():
        pytest.skip("no shipped model")
    assert _load_model(None).targets  # found from anywhere
    with pytest.raises(Exception, match="not found"):
        _load_model("models/default")  # a typed path stays relative to the cwd


def test_an_im2col_matmul_whose_consumers_fuse_is_still_a_tuning_target():
    # IREE's configuration fuses the bias and relu after small_cnn's im2col matmul into one
    # generic; the ops up to the root still line up, so the matmul is tunable.
    from costmodel.programs import real_model_dispatches
    from costmodel.programs.dispatch_target import analyze_dispatch, schedule_sticks
    from tuner.schedules.model_flags import VARIANTS

    (d,) = [d for d in real_model_dispatches("small_cnn", VARIANTS["im2col"])
            if "matmul_16x1024x27" in d.name]
    target = analyze_dispatch(d.mlir, name=d.name, entry=d.entry)
    assert target.root_op == "linalg.matmul" and target.loops.ranges == (16, 1024, 27)
    assert schedule_sticks(target)
