"""The `tuner` CLI's audit: bad input gets a clear, typed error (exit 2, one line, no
traceback) before any work, and stored data is never lost or changed by a read.

Real inputs throughout: SQLite files written by a real Study and by a real tune-model run,
real MLIR, real iteration tables (tiny T) in a temporary cache.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.cli_run import run_cli
from tuner.cli import build_parser
from tuner.cli import main as tuner_main
from tuner.errors import StorageError
from tuner.space import Int, Space
from tuner.store import check_writable_storage, open_storage
from tuner.study import Study

ROOT = Path(__file__).resolve().parent.parent

# A plain function: the model's inputs are its tensor arguments.
MATMUL = """\
func.func @main(%a: tensor<64x128xf32>, %b: tensor<128x32xf32>) -> tensor<64x32xf32> {
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x32xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<64x32xf32>) -> tensor<64x32xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x128xf32>, tensor<128x32xf32>)
                     outs(%z : tensor<64x32xf32>) -> tensor<64x32xf32>
  return %m : tensor<64x32xf32>
}
"""

# The same program in the form an IREE import has: inputs come through hal.tensor.import.
MATMUL_HAL = """\
util.func public @main(%arg0: !hal.buffer_view, %arg1: !hal.buffer_view) -> !hal.buffer_view {
  %a = hal.tensor.import %arg0 "input0" : !hal.buffer_view -> tensor<64x128xf32>
  %b = hal.tensor.import %arg1 "input1" : !hal.buffer_view -> tensor<128x32xf32>
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x32xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<64x32xf32>) -> tensor<64x32xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x128xf32>, tensor<128x32xf32>)
                     outs(%z : tensor<64x32xf32>) -> tensor<64x32xf32>
  %r = hal.tensor.export %m "output0" : tensor<64x32xf32> -> !hal.buffer_view
  util.return %r : !hal.buffer_view
}
"""

# Arguments through a view (expand_shape), one only returned, one scalar.
VIEWED = """\
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%a: tensor<64x128xf32>, %b: tensor<8192xf32>, %s: index, %u: tensor<4xf32>)
    -> (tensor<64x128xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<64x128xf32>
  %bb = tensor.expand_shape %b [[0, 1]] output_shape [64, 128]
      : tensor<8192xf32> into tensor<64x128xf32>
  %r = linalg.generic {indexing_maps = [#map, #map, #map],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a, %bb : tensor<64x128xf32>, tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %z = arith.addf %x, %y : f32
    linalg.yield %z : f32
  } -> tensor<64x128xf32>
  return %r, %u : tensor<64x128xf32>, tensor<4xf32>
}
"""

DYNAMIC = """\
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%a: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %a, %c0 : tensor<?x128xf32>
  %e = tensor.empty(%d) : tensor<?x128xf32>
  %r = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<?x128xf32>) outs(%e : tensor<?x128xf32>) {
  ^bb0(%x: f32, %o: f32):
    %z = math.exp %x : f32
    linalg.yield %z : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
"""


def _run(argv, capsys) -> tuple[int, str]:
    rc, err = run_cli(tuner_main, [str(a) for a in argv], capsys)
    assert "Traceback" not in err
    return rc, err


def _listing(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(d.rglob("*"))}


@pytest.fixture
def must_not_run(monkeypatch):
    """Replace the expensive part of a command with a test failure: a bad argument must be
    refused before it."""
    def patch(module: str, attr: str) -> None:
        def boom(*a, **k):
            raise AssertionError(f"{module}.{attr} ran before the bad argument was refused")
        monkeypatch.setattr(f"{module}.{attr}", boom)
    return patch


def _unwritable_paths(tmp_path: Path) -> list[Path]:
    a_file = tmp_path / "a_file"
    a_file.write_text("keep")
    out = [a_file / "sub"]  # under a regular file: never creatable
    try:
        tempfile.TemporaryFile(dir="/sys").close()
    except OSError:
        out.append(Path("/sys/tuner-x"))  # a read-only filesystem (even for root)
    return out


# --- 1. outputs checked before any work ----------------------------------------------------

def test_tune_model_out_is_checked_before_anything(tmp_path, capsys, must_not_run):
    must_not_run("tuner.schedules.model_tune", "tune_model")
    must_not_run("tuner.cli_schedules", "_load_model")
    model = tmp_path / "m.mlir"
    model.write_text(MATMUL)
    for bad in _unwritable_paths(tmp_path):
        rc, err = _run(["tune-model", model, "--budget", 2, "--out", bad], capsys)
        assert rc == 2 and err.startswith("error: --out ") and str(bad) in err
    rc, err = _run(["tune-model", model, "--budget", 2, "--out", tmp_path / "a_file"], capsys)
    assert rc == 2 and "exists and is not a directory" in err
    assert (tmp_path / "a_file").read_text() == "keep"


@pytest.mark.parametrize("argv, module, attr", [
    (["bench", "memory", "--programs", "mlp"], "tuner.memory.bench", "run"),
    (["bench", "schedules", "--pool", 2, "--dispatches", 1], "tuner.schedules.pool",
     "measure_pools"),
    (["report", "--all"], "tuner.reporting", "study_report"),
])
def test_file_outputs_are_checked_before_the_work(argv, module, attr, tmp_path, capsys,
                                                  must_not_run):
    must_not_run(module, attr)
    suffix = ".html" if argv[0] == "report" else ".json"
    a_dir = tmp_path / f"results{suffix}"
    a_dir.mkdir()
    before = _listing(tmp_path)
    rc, err = _run([*argv, "--out", a_dir], capsys)
    assert rc == 2 and err.startswith("error: --out ") and "is a directory" in err
    for bad in _unwritable_paths(tmp_path):
        before = _listing(tmp_path)
        rc, err = _run([*argv, "--out", bad.with_suffix(suffix)], capsys)
        assert rc == 2 and err.startswith("error: --out "), err
        assert _listing(tmp_path) == before


def test_directory_outputs_are_checked_before_the_work(tmp_path, capsys, must_not_run):
    must_not_run("tuner.memory.train", "train")
    must_not_run("tuner.schedules.prior", "build_from_pools")
    for bad in _unwritable_paths(tmp_path):
        rc, err = _run(["train-schedule-prior", "--out", bad], capsys)
        assert rc == 2 and err.startswith("error: --out ")
        rc, err = _run(["train-memory-agent", "--out", bad, "--checkpoint", tmp_path / "ck"],
                       capsys)
        assert rc == 2 and err.startswith("error: --out ")
        rc, err = _run(["train-memory-agent", "--out", tmp_path / "agent", "--checkpoint", bad],
                       capsys)
        assert rc == 2 and err.startswith("error: --checkpoint ")
    assert not (tmp_path / "ck").exists() and not (tmp_path / "agent").exists()


def test_an_unreadable_training_checkpoint_is_an_error_and_is_kept(tmp_path, capsys):
    ck = tmp_path / "ck"
    ck.mkdir()
    (ck / "state.json").write_text('{"iteration": 3, "hist')  # cut short
    before = _listing(tmp_path)
    rc, err = _run(["train-memory-agent", "--out", tmp_path / "agent", "--checkpoint", ck,
                    "--iterations", 4, "--no-progress"], capsys)
    assert rc == 2 and f"cannot resume from the checkpoint in {ck}" in err
    assert "start over" in err and _listing(tmp_path) == before


# --- 2, 3. numbers at parse time -------------------------------------------------------------

@pytest.mark.parametrize("argv, option", [
    (["tune-model", "m.mlir", "--budget", "2", "--seed", "-1"], "--seed"),
    (["tune-model", "m.mlir", "--budget", "0"], "--budget"),
    (["tune-model", "m.mlir", "--budget", "-3"], "--budget"),
    (["tune-model", "m.mlir", "--budget", "2", "--universe", "0"], "--universe"),
    (["bench", "solver", "--seeds", "0", "1", "-2"], "--seeds"),
    (["bench", "solver", "--seeds", str(2**32)], "--seeds"),
    (["bench", "solver", "--T", "-5"], "--T"),
    (["bench", "solver", "--plays", "0"], "--plays"),
    (["bench", "schedules", "--seeds", "-1"], "--seeds"),
    (["bench", "schedules", "--budget", "0"], "--budget"),
    (["bench", "schedules", "--pool", "0"], "--pool"),
    (["bench", "schedules", "--dispatches", "-1"], "--dispatches"),
    (["bench", "memory", "--ilp-time-limit", "-1"], "--ilp-time-limit"),
    (["bench", "memory", "--ilp-time-limit", "nan"], "--ilp-time-limit"),
    (["bench", "memory", "--simulations", "0"], "--simulations"),
    (["bench", "memory", "--cpu-budget", "0"], "--cpu-budget"),
    (["train-memory-agent", "--seed", "-5"], "--seed"),
    (["train-memory-agent", "--iterations", "0"], "--iterations"),
    (["train-memory-agent", "--minutes", "-1"], "--minutes"),
    (["train-schedule-prior", "--pool", "0"], "--pool"),
    (["map-memory", "x.mlir", "--capacity", "-1"], "--capacity"),
])
def test_bad_numbers_are_refused_at_parse_time(argv, option, capsys):
    rc, err = _run(argv, capsys)
    assert rc == 2 and f"error: argument {option}: " in err


def test_zero_where_zero_means_skip_still_parses():
    args = build_parser().parse_args(["bench", "memory", "--ilp-time-limit", "0"])
    assert args.ilp_time_limit == 0.0
    args = build_parser().parse_args(["bench", "solver", "--seeds", "0", str(2**32 - 1)])
    assert args.seeds == [0, 2**32 - 1]


# --- 4. a damaged iteration-table cache is rebuilt -------------------------------------------

def test_a_damaged_iteration_table_cache_is_rebuilt(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TUNER_CACHE_DIR", str(tmp_path))
    argv = ["bench", "solver", "--T", 10, "--seeds", 0, "--settings", "synthetic-high",
            "--strategies", "ucb1", "--no-progress", "--json"]
    assert _run(argv, capsys)[0] == 0
    (path,) = tmp_path.glob("*.npz")
    good = path.read_bytes()

    from tuner.solver.table import load_table
    reference = load_table("synthetic-high", 10, 0)
    damaged = {"cut short": good[:len(good) // 2], "empty": b"",
               "a flipped bit": good[:200] + bytes([good[200] ^ 0xFF]) + good[201:],
               "not a zip": b"PK\x03\x04" + b"\0" * 64}
    for i, (why, data) in enumerate(damaged.items()):
        path.write_bytes(data)
        if i == 0:  # through the command once, then the loader it uses
            rc, err = _run(argv, capsys)
            assert rc == 0, why
        else:
            again = load_table("synthetic-high", 10, 0)
            assert np.array_equal(again.iterations, reference.iterations), why
            err = capsys.readouterr().err
        assert f"warning: iteration table {path} is unreadable" in err, why
        with np.load(path) as z:  # rewritten whole
            assert np.array_equal(z["iterations"], reference.iterations), why
    # No temporary files are left next to the cache.
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_cache_of_another_grid_is_not_taken_for_this_one(tmp_path, capsys):
    from tuner.solver.table import load_table, save_table
    t = load_table("synthetic-low", 10, 1, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.npz")
    save_table(path, type(t)(t.setting, t.iterations, t.contexts, t.omegas + 0.01, t.maxiter))
    again = load_table("synthetic-low", 10, 1, cache_dir=tmp_path)
    assert "omegas are not this grid's" in capsys.readouterr().err
    assert np.array_equal(again.omegas, t.omegas)


# --- 5. map-memory: a plain function's tensor arguments are inputs ---------------------------

def _map_json(path: Path, capsys, *extra) -> dict:
    rc = tuner_main([str(a) for a in ["map-memory", path, "--agent", "greedy", "--capacity",
                                      65536, "--json", *extra]])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return json.loads(captured.out)


def test_a_plain_functions_tensor_arguments_are_input_buffers(tmp_path, capsys):
    from tuner.memory.problem import problem_from_mlir

    plain, hal = tmp_path / "plain.mlir", tmp_path / "hal.mlir"
    plain.write_text(MATMUL)
    hal.write_text(MATMUL_HAL)
    p, h = problem_from_mlir(MATMUL), problem_from_mlir(MATMUL_HAL)
    inputs = {b.name: b for b in p.buffers if b.kind == "input"}
    assert {n: b.size for n, b in inputs.items()} == {"arg0": 64 * 128 * 4, "arg1": 128 * 32 * 4}
    assert all(b.prefetch and not b.evict for b in inputs.values())
    # The same problem as the import form's, buffer for buffer, but for the names.
    strip = lambda prob: [(b.size, b.kind, b.start, b.end, b.prefetch, b.evict)  # noqa: E731
                          for b in prob.buffers]
    assert strip(p) == strip(h) and p.reads == h.reads and p.writes == h.writes
    mm = p.op_names.index("linalg.matmul")
    ids = {b.name: i for i, b in enumerate(p.buffers)}
    assert p.reads[(mm, ids["arg0"])] == 64 * 128 * 4 and p.reads[(mm, ids["arg1"])] == 128 * 32 * 4
    # Through the CLI: the arguments are mapped, and the all-slow runtime pays for reading them.
    a, b = _map_json(plain, capsys), _map_json(hal, capsys)
    assert a["n_buffers"] == b["n_buffers"] == 4
    assert a["assignment"]["allslow_us"] == pytest.approx(b["assignment"]["allslow_us"])


def test_arguments_read_through_views_count_and_unused_ones_do_not():
    from tuner.memory.problem import problem_from_mlir

    prob = problem_from_mlir(VIEWED)
    inputs = {b.name: b.size for b in prob.buffers if b.kind == "input"}
    # %b (8192 f32) is read through its expand_shape view; %s is a scalar; %u is only
    # returned, so no op touches it.
    assert inputs == {"arg0": 64 * 128 * 4, "arg1": 8192 * 4}


def test_dynamic_shapes_in_map_memory_are_a_clear_error(tmp_path, capsys):
    f = tmp_path / "dyn.mlir"
    f.write_text(DYNAMIC)
    rc, err = _run(["map-memory", f, "--agent", "greedy"], capsys)
    assert rc == 2 and "argument 0 is tensor<?x128xf32>" in err and "static shapes" in err


# --- 6. storage URLs and targets before any work -------------------------------------------

@pytest.mark.parametrize("url", ["foo://x", "sqlite://relative.db", "sqlite:", "sqlite:///",
                                 "postgres://h/db"])
def test_bad_storage_urls_are_refused_before_any_work(url, tmp_path, capsys, must_not_run):
    must_not_run("tuner.schedules.model_tune", "tune_model")
    must_not_run("tuner.reporting", "study_report")
    model = tmp_path / "m.mlir"
    model.write_text(MATMUL)
    before = _listing(tmp_path)
    for argv in (["tune-model", model, "--budget", 2, "--out", tmp_path / "o", "--storage", url,
                  "--no-cost-model"],
                 ["studies", "--storage", url],
                 ["report", "--all", "--storage", url, "--out", tmp_path / "r.html"]):
        rc, err = _run(argv, capsys)
        assert rc == 2 and "storage URL" in err and url in err, (argv, err)
    assert _listing(tmp_path) == before


def test_tune_model_refuses_a_store_it_could_not_write_before_any_work(tmp_path, capsys,
                                                                       must_not_run):
    must_not_run("tuner.schedules.model_tune", "tune_model")
    model = tmp_path / "m.mlir"
    model.write_text(MATMUL)
    text = tmp_path / "notes.db"
    text.write_text("my notes")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE mine (x)")
    out = tmp_path / "out"
    out.mkdir()
    (out / "tuning.sqlite").write_text("not a database")  # the default store of --out
    cases = [(f"sqlite:///{text}", "is not an SQLite database"),
             (f"sqlite:///{other}", "another SQLite database, not a trial store"),
             (f"sqlite:///{tmp_path / 'a_file' / 'x.db'}", "is a file, not a directory"),
             (f"sqlite:///{tmp_path}", "names a directory")]
    (tmp_path / "a_file").write_text("keep")
    before = _listing(tmp_path)
    for url, says in cases:
        rc, err = _run(["tune-model", model, "--budget", 2, "--out", tmp_path / "o2",
                        "--storage", url, "--no-cost-model"], capsys)
        assert rc == 2 and says in err, err
    rc, err = _run(["tune-model", model, "--budget", 2, "--out", out, "--no-cost-model"], capsys)
    assert rc == 2 and "tuning.sqlite" in err and "is not an SQLite database" in err
    assert _listing(tmp_path) == before
    # What may be written: a new file, an empty one, a trial store.
    assert check_writable_storage(f"sqlite:///{tmp_path / 'new' / 'x.db'}") is not None
    (tmp_path / "empty.db").write_bytes(b"")
    assert check_writable_storage(f"sqlite:///{tmp_path / 'empty.db'}") is not None
    assert not (tmp_path / "new").exists()


# --- 7. read-only commands -----------------------------------------------------------------

def test_read_only_commands_create_nothing_and_change_nothing(tmp_path, capsys):
    missing = tmp_path / "deep" / "er" / "none.db"
    empty, junk = tmp_path / "empty.db", tmp_path / "junk.db"
    empty.write_bytes(b"")
    junk.write_bytes(b"\x00\x01 not SQLite " * 50)
    before = _listing(tmp_path)
    for argv_tail in (["studies"], ["report", "--all", "--out", tmp_path / "r.html"]):
        rc, err = _run([*argv_tail, "--storage", f"sqlite:///{missing}"], capsys)
        assert rc == 2 and f"no trial store at {missing}" in err
        rc, err = _run([*argv_tail, "--storage", f"sqlite:///{empty}"], capsys)
        assert rc == 2 and "is empty, not a trial store" in err
        rc, err = _run([*argv_tail, "--storage", f"sqlite:///{junk}"], capsys)
        assert rc == 2 and "cannot read trial store" in err
    assert _listing(tmp_path) == before  # no folders, no database, no journal files


def test_studies_reads_a_store_its_writer_still_has_open(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = Study.create("live", Space([Int("x", 1, 8)]), strategy="thompson", storage=url)
    for v in (3.0, 1.0, 2.0):
        study.tell(study.ask().id, v)
    pending = study.ask()
    try:
        r = subprocess.run([sys.executable, "-m", "tuner.cli", "studies", "--storage", url,
                            "--json"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        (row,) = json.loads(r.stdout)
        assert (row["name"], row["trials"], row["complete"]) == ("live", 4, 3)
        assert row["best"]["value"] == 1.0
        # The writer carries on after the read (no lock left behind) and the next read sees it.
        study.tell(pending.id, 0.5)
        r = subprocess.run([sys.executable, "-m", "tuner.cli", "studies", "--storage", url,
                            "--json"], capture_output=True, text=True, timeout=120)
        (row,) = json.loads(r.stdout)
        assert row["complete"] == 4 and row["best"]["value"] == 0.5
    finally:
        study.store.close()


def test_a_damaged_store_is_a_clear_error_and_is_left_alone(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study.create("s", Space([Int("x", 1, 4)]), strategy="ucb1", storage=url)
    study.tell(study.ask().id, 1.0)
    study.store.close()
    def edit(sql: str) -> bytes:
        db = sqlite3.connect(tmp_path / "s.db")
        with db:
            db.execute(sql)
        db.close()
        return (tmp_path / "s.db").read_bytes()

    data = edit("UPDATE trials SET params = '{broken'")
    for argv in (["studies"], ["report", "--all", "--out", tmp_path / "r.html"]):
        rc, err = _run([*argv, "--storage", url], capsys)
        assert rc == 2 and "trial 1 is not valid JSON" in err
    data = edit("UPDATE trials SET params = '{\"x\": 1}'")
    assert _run(["studies", "--storage", url], capsys)[0] == 0
    data = edit("UPDATE studies SET config = '[1, 2]'")
    rc, err = _run(["studies", "--storage", url], capsys)
    assert rc == 2 and "config is not an object" in err
    data = edit("UPDATE studies SET config = '{\"version\": 1}'")  # not a whole config
    assert tuner_main(["studies", "--storage", url, "--json"]) == 0  # a listing needs no replay
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["strategy"], row["trials"], row["best"]["value"]) == ("?", 1, 1.0)
    assert (tmp_path / "s.db").read_bytes() == data  # the reads changed nothing
    with pytest.raises(StorageError, match="lacks space"):
        Study.load("s", url)


# --- 8, 9. a tune-model rerun resumes its study; its studies replay quietly ----------------

def test_a_tune_model_rerun_resumes_without_measuring_again(tmp_path, capsys, monkeypatch):
    from tuner.schedules.measure import Runner

    model = tmp_path / "mm.mlir"
    model.write_text(MATMUL)
    out = tmp_path / "out"
    url = f"sqlite:///{out / 'tuning.sqlite'}"
    argv = [str(a) for a in ["tune-model", model, "--budget", 2, "--out", out,
                             "--no-cost-model", "--model-flags", "off", "--no-check", "--json"]]
    measured: list[str] = []
    real = Runner.measure
    monkeypatch.setattr(Runner, "measure",
                        lambda self, s: measured.append(s.key()) or real(self, s))
    assert tuner_main(argv) == 0
    first_summary = json.loads(capsys.readouterr().out)
    assert len(measured) == 2

    def stored():
        store = open_storage(url, readonly=True)
        try:
            return {r.name: [(t.client_id, t.params["result"]["key"], m and m.value)
                             for t, m in store.events(r.id)] for r in store.list_studies()}
        finally:
            store.close()

    before = stored()
    (name,) = before
    measured.clear()
    assert tuner_main(argv) == 0  # the same tuning again
    again = json.loads(capsys.readouterr().out)
    assert measured == []  # every trial came from the store
    assert stored() == before  # the same study, no '#2', nothing added
    (d1,), (d2,) = first_summary["dispatches"], again["dispatches"]
    assert d1["best_schedule"] == d2["best_schedule"] and d1["trials"] == d2["trials"] == 2

    # Other settings are another search: a study of its own, the first one untouched.
    assert _run([*argv, "--seed", 1], capsys)[0] == 0
    after = stored()
    assert sorted(after) == [name, name + "#2"] and after[name] == before[name]

    # 9: replaying the stores tune-model writes gives no 'replayed asks differ' warning ...
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in after:
            study = Study.load(n, url)
            assert len(study.trials()) == 2
            study.store.close()
    r = subprocess.run([sys.executable, "-W", "error", "-m", "tuner.cli", "studies", "--storage",
                        url], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "differ" not in r.stderr, r.stderr


def test_the_replay_warning_still_catches_a_strategy_study_that_diverged(tmp_path):
    # ... while a study driven by its strategy still warns when the replay goes another way.
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Study.create("s", Space([Int("x", 1, 8)]), strategy="ucb1", storage=url)
    for _ in range(3):
        t = study.ask()
        study.tell(t.id, float(t.params["x"]))
    study.store.close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("UPDATE trials SET arm = 7 WHERE number = 0")
    with pytest.warns(UserWarning, match="replayed asks differ"):
        Study.load("s", url).store.close()


# --- 10. messages name real options ----------------------------------------------------------

def _options(*path: str) -> set[str]:
    p = build_parser()
    for name in path:
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        p = sub.choices[name]
    return {o for a in p._actions for o in a.option_strings}


def test_dynamic_shapes_in_tune_model_name_no_missing_option(tmp_path, capsys):
    model = tmp_path / "dyn.mlir"
    model.write_text(DYNAMIC)
    out = tmp_path / "out"
    rc, err = _run(["tune-model", model, "--budget", 2, "--out", out, "--no-cost-model"],
                   capsys)
    assert rc == 2 and "argument 0 is tensor<?x128xf32>" in err and "static" in err
    assert set(re.findall(r"--[a-z][a-z-]*", err)) <= _options("tune-model")
    assert not out.exists()


def test_a_missing_cost_model_hint_names_an_option_the_command_has(tmp_path, capsys):
    for cmd in (["train-schedule-prior", "--out", tmp_path / "p"],
                ["tune-model", tmp_path / "m.mlir", "--budget", 1, "--out", tmp_path / "o"]):
        rc, err = _run([*cmd, "--cost-model", tmp_path / "none"], capsys)
        assert rc == 2 and "not found" in err
        assert set(re.findall(r"--[a-z][a-z-]*", err)) <= _options(str(cmd[0])), err


# --- 11. shipped defaults do not depend on the working directory -----------------------------

def test_shipped_defaults_resolve_against_the_checkout(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    p = build_parser()
    assert p.parse_args(["bench", "schedules"]).out == ROOT / "benchmarks/results/schedules.json"
    assert p.parse_args(["bench", "memory"]).agent == ROOT / "models/memory-agent"
    args = p.parse_args(["train-memory-agent"])
    assert (args.out, args.checkpoint) == (ROOT / "models/memory-agent",
                                           ROOT / "var/memory-agent-train")
    assert p.parse_args(["train-schedule-prior"]).out == ROOT / "models/schedule-prior"

    from tuner.cli_schedules import _load_model
    if (ROOT / "models" / "default").exists():
        assert _load_model(None).targets  # found from anywhere
    with pytest.raises(Exception, match="not found"):
        _load_model("models/default")  # a typed path stays relative to the cwd

    seen = {}

    def fake_report(storage, ids, all=False):
        seen["storage"] = storage
        raise StorageError("stop here")
    monkeypatch.setattr("tuner.reporting.study_report", fake_report)
    rc, err = _run(["report", "--all", "--out", tmp_path / "r.html"], capsys)
    assert rc == 2 and seen["storage"] == f"sqlite:///{ROOT / 'var' / 'tuner.sqlite'}"
    rc, err = _run(["report", "--all", "--out", tmp_path / "r.html", "--storage",
                    "sqlite:///mine.db"], capsys)
    assert seen["storage"] == "sqlite:///mine.db"  # typed: as given, relative to the cwd
