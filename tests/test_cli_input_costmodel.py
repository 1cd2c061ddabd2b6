"""Regression tests of the `costmodel` CLI audit and the benchmark scripts' arguments: bad
input is a clear message and exit 2 before any work, nothing half-made is left behind, and a
stored model or dataset is never lost or overwritten by a failed command."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from costmodel.cli import main as costmodel_main
from costmodel.cli_args import CHECKOUT, shipped
from costmodel.errors import InputError
from tests.cli_run import run_cli

DEFAULT_MODEL = CHECKOUT / "models" / "default"


def _run(argv, capsys) -> tuple[int, str]:
    return run_cli(costmodel_main, argv, capsys)


def _tree(path: Path) -> dict[str, str]:
    """Every file under ``path`` (relative name -> sha256), to prove nothing changed."""
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _leftovers(parent: Path, name: str) -> list[str]:
    """Staging or set-aside directories of a model save that outlived it."""
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{name}.")]


# --- 1. collect --checkpoint-every 0 ---------------------------------------------------------

def test_checkpoint_every_zero_is_refused_at_parse_time(tmp_path, capsys):
    out = tmp_path / "d"
    rc, err = _run(["collect", "--families", "transpose", "--samples", "1",
                    "--checkpoint-every", "0", "--out", str(out)], capsys)
    assert rc == 2 and "argument --checkpoint-every: must be at least 1, got 0" in err
    assert "Traceback" not in err and not out.exists()


def test_library_collect_refuses_bad_counts_and_makes_nothing_for_no_items(tmp_path):
    from costmodel.collect import collect, synthetic_items

    items = synthetic_items(["transpose"], 1, schedules_per_group=1, seed=0)
    out = tmp_path / "d"
    for kw in ({"checkpoint_every": 0}, {"checkpoint_every": True}, {"checkpoint_every": 2.5},
               {"workers": 0}, {"workers": True}, {"time_cap_s": 0.0},
               {"time_cap_s": float("nan")}, {"time_cap_s": True}):
        with pytest.raises(InputError):
            collect(items, str(out), progress=False, **kw)
    stats = collect([], str(out), progress=False)
    assert stats.measured == 0 and not out.exists()
    a_file = tmp_path / "f"
    a_file.write_text("keep")
    with pytest.raises(InputError, match="exists and is not a directory"):
        collect(items, str(a_file), progress=False)
    assert a_file.read_text() == "keep"


# --- 2. unusable --out for collect, train, export-onnx ---------------------------------------

@pytest.mark.parametrize("command", ["collect", "train", "export-onnx"])
def test_out_that_is_a_file_or_unwritable_fails_before_any_work(command, tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("keep me")
    base = {"collect": ["collect", "--families", "transpose", "--samples", "1", "--quiet"],
            # --data does not exist: reaching it would be a different error
            "train": ["train", "--data", str(tmp_path / "no-data"), "--quiet"],
            "export-onnx": ["export-onnx", "--model", str(DEFAULT_MODEL)]}[command]
    for out, says in ((a_file, "exists and is not a directory"),
                      (a_file / "sub", "is a file, not a directory"),
                      (Path("/sys/costmodel-x"), "cannot write in '/sys'"),
                      (Path("/proc/costmodel-x/y"), "cannot")):
        rc, err = _run([*base, "--out", str(out)], capsys)
        assert rc == 2 and says in err and "--out" in err, (out, err)
        assert "Traceback" not in err
    assert a_file.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in read-only directories")
def test_out_under_a_read_only_directory_is_refused(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rc, err = _run(["collect", "--families", "transpose", "--samples", "1",
                        "--out", str(ro / "d")], capsys)
        assert rc == 2 and "cannot write in" in err and not (ro / "d").exists()
    finally:
        ro.chmod(0o755)


def test_train_checks_out_before_contacting_a_cluster(tmp_path, capsys):
    # Nothing listens on port 1: were --out checked after connecting, this would wait for
    # the connection to time out and then report the scheduler instead.
    t0 = time.perf_counter()
    rc, err = _run(["train", "--data", str(tmp_path), "--out", "/sys/costmodel-x",
                    "--scheduler", "tcp://127.0.0.1:1", "--quiet"], capsys)
    assert rc == 2 and "--out '/sys/costmodel-x'" in err and "scheduler" not in err
    assert time.perf_counter() - t0 < 10


def test_train_refuses_a_directory_that_is_not_a_model(tmp_path, capsys):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "manifest.json").write_text('{"format": "something-else"}')
    (other / "notes.txt").write_text("mine")
    before = _tree(other)
    rc, err = _run(["train", "--data", str(tmp_path / "none"), "--out", str(other)], capsys)
    assert rc == 2 and "not a cost model" in err and "--out" in err
    assert _tree(other) == before and _leftovers(tmp_path, "mine") == []


def test_export_onnx_checks_its_inputs_before_converting(tmp_path, capsys):
    rc, err = _run(["export-onnx", "--model", str(tmp_path / "none"),
                    "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "not a model directory" in err and not (tmp_path / "o").exists()
    rc, err = _run(["export-onnx", "--model", str(DEFAULT_MODEL), "--out", str(tmp_path / "o"),
                    "--check-data", str(tmp_path / "no-data")], capsys)
    assert rc == 2 and "--check-data" in err and not (tmp_path / "o").exists()


# --- 3. eval --report checked up front ----------------------------------------------------

@pytest.mark.parametrize("flag", ["--report", "--html-report"])
def test_eval_report_path_is_checked_before_the_data_is_read(flag, tmp_path, capsys):
    # The data does not exist: only a check made before reading it can name the report.
    rc, err = _run(["eval", "--model", str(DEFAULT_MODEL), "--data", str(tmp_path / "no-data"),
                    flag, "/sys/costmodel-report.md", "--quiet"], capsys)
    assert rc == 2 and f"{flag} '/sys/costmodel-report.md': cannot write in '/sys'" in err
    assert "Traceback" not in err


# --- 4. negative or huge seeds --------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["collect", "--samples", "1", "--out", "OUT", "--seed", "-1"],
    ["noise", "--data", "OUT", "--seed", "-5"],
    ["train", "--data", "OUT", "--out", "OUT", "--seed", "-1"],
    ["eval", "--model", "OUT", "--data", "OUT", "--seed", "-1"],
    ["eval", "--model", "OUT", "--data", "OUT", "--seed", str(2**32)],
    ["collect", "--samples", "1", "--out", "OUT", "--seed", "1.5"],
])
def test_bad_seeds_are_refused_at_parse_time(argv, tmp_path, capsys):
    out = tmp_path / "out"
    rc, err = _run([str(out) if a == "OUT" else a for a in argv], capsys)
    assert rc == 2 and "argument --seed:" in err and "Traceback" not in err
    assert not out.exists()


def _benchmark(name: str):
    import importlib

    return importlib.import_module(f"benchmarks.{name}").main


@pytest.mark.parametrize("name, argv", [
    ("learning_curve", ["--seed", "-1"]),
    ("pool_transfer", ["--seed", "-1"]),
    ("prior_ranking", ["--seed", "-1"]),
    ("label_drift", ["--seed", "-1"]),
    ("top1_misses", ["--seed", "-1"]),
    ("scale", ["--seed", "-1"]),
    ("solver_regret", ["--seeds", "0", "-1"]),
])
def test_benchmark_seeds_are_checked(name, argv, capsys):
    with pytest.raises(SystemExit) as exc:
        _benchmark(name)(argv)
    assert exc.value.code == 2 and "must be a seed between 0" in capsys.readouterr().err


# --- 5. --workers and noise --samples / --run -----------------------------------------------

@pytest.mark.parametrize("argv, says", [
    (["noise", "--data", "D", "--workers", "-1"], "argument --workers: must be at least 1"),
    (["noise", "--data", "D", "--workers", "0"], "argument --workers: must be at least 1"),
    (["collect", "--samples", "1", "--out", "D", "--workers", "0"],
     "argument --workers: must be at least 1"),
    (["noise", "--data", "D", "--samples", "0"], "argument --samples: must be at least 1"),
    (["noise", "--data", "D", "--run", "main"], "argument --run: 'main' holds the measurements"),
    (["noise", "--data", "D", "--run", ""], "argument --run: must be a non-empty name"),
])
def test_workers_samples_and_run_are_checked(argv, says, tmp_path, capsys):
    d = tmp_path / "d"
    rc, err = _run([str(d) if a == "D" else a for a in argv], capsys)
    assert rc == 2 and says in err and not d.exists()


def test_noise_never_overwrites_a_datasets_report_with_run_main(dataset, tmp_path):
    """Re-measuring into run 'main' measured nothing and wrote tau 1.0 / MAPE 0 over the
    dataset's real noise report; the library refuses it too."""
    from costmodel.collect import noise_items, noise_report

    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    before = _tree(copy)
    with pytest.raises(InputError, match="run 'main'"):
        noise_items(str(copy), 10, run="main")
    with pytest.raises(InputError, match="run 'main'"):
        noise_report(str(copy), run="main")
    with pytest.raises(InputError, match="samples must be"):
        noise_items(str(copy), 0)
    assert _tree(copy) == before


# --- 6. --time-cap ------------------------------------------------------------------------

@pytest.mark.parametrize("value, says", [("-1", "must be greater than 0, got -1"),
                                         ("0", "must be greater than 0, got 0"),
                                         ("inf", "'inf' is not a finite number"),
                                         ("soon", "'soon' is not a number")])
@pytest.mark.parametrize("command", ["collect", "noise"])
def test_time_cap_is_checked_in_the_users_terms_and_makes_no_directory(command, value, says,
                                                                       tmp_path, capsys):
    out = tmp_path / "d"
    argv = (["collect", "--families", "matmul", "--samples", "2", "--out", str(out)]
            if command == "collect" else ["noise", "--data", str(out)])
    rc, err = _run([*argv, "--time-cap", value], capsys)
    assert rc == 2 and f"argument --time-cap: {says}" in err
    assert "time_cap_s" not in err and "LatencySettings" not in err
    assert list(tmp_path.iterdir()) == []


# --- 7. eval --folds ------------------------------------------------------------------------

def test_eval_folds_are_bounded_by_two_and_the_datasets_groups(dataset, model_dir, tmp_path,
                                                               capsys):
    from costmodel.dataset import load

    samples, _, _ = load(dataset)
    groups = {r["group_id"] for r in samples.to_pylist() if r["run"] == "main" and r["feasible"]}
    report = tmp_path / "r.md"
    base = ["eval", "--model", str(model_dir), "--data", str(dataset), "--quiet",
            "--report", str(report)]
    rc, err = _run([*base, "--folds", "0"], capsys)
    assert rc == 2 and "argument --folds: must be at least 1" in err
    rc, err = _run([*base, "--folds", "1"], capsys)
    assert rc == 2 and "--folds must be at least 2, got 1" in err
    for folds in (len(groups) + 1, 100):
        rc, err = _run([*base, "--folds", str(folds)], capsys)
        assert rc == 2 and f"--folds {folds}: at most {len(groups)} on" in err, err
        assert "Traceback" not in err
    assert not report.exists() and not report.with_suffix(".html").exists()


# --- 8. retraining replaces a model whole ----------------------------------------------------

def test_retraining_swaps_in_a_fresh_model_and_keeps_the_users_files(dataset, model_dir,
                                                                     tmp_path, capsys):
    import costmodel

    out = tmp_path / "m"
    common = ["train", "--data", str(dataset), "--out", str(out), "--quiet",
              "--calibration", str(model_dir)]
    assert costmodel_main([*common, "--targets", "latency,code_size"]) == 0
    first = json.loads((out / "manifest.json").read_text())["files"]
    assert {"latency.reg.ubj", "code_size.reg.ubj"} <= set(first)
    (out / "report.md").write_text("an eval report")
    (out / "notes").mkdir()
    (out / "notes" / "n.txt").write_text("a note")
    (out / "onnx").mkdir()   # an export of the old model: stale once retrained, so dropped
    (out / "onnx" / "manifest.json").write_text("{}")
    old_inode = out.stat().st_ino

    assert costmodel_main([*common, "--targets", "code_size"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert not [f for f in manifest["files"] if f.startswith("latency.")]
    assert {p.name for p in out.iterdir()} == {*manifest["files"], "manifest.json",
                                               "report.md", "notes"}
    assert (out / "report.md").read_text() == "an eval report"
    assert (out / "notes" / "n.txt").read_text() == "a note"
    assert out.stat().st_ino != old_inode          # a new directory, swapped in
    model = costmodel.load(out)
    assert model.targets == ["code_size"]
    assert _leftovers(tmp_path, "m") == []


def test_a_failed_or_interrupted_retrain_leaves_the_old_model_untouched(dataset, model_dir,
                                                                        tmp_path, monkeypatch,
                                                                        capsys):
    import costmodel
    import costmodel.model.train as train_module

    out = tmp_path / "m"
    shutil.copytree(model_dir, out)
    before = _tree(out)
    common = ["train", "--data", str(dataset), "--out", str(out), "--quiet",
              "--calibration", str(model_dir)]
    # Bad input: refused before anything.
    rc, err = _run([*common, "--targets", "latency,nonsense"], capsys)
    assert rc == 2 and "nonsense" in err
    rc, err = _run([*common[:-2], "--calibration", str(tmp_path / "nope.json")], capsys)
    assert rc == 2
    # Interrupted while training.
    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(train_module, "fit", interrupted)
    rc, err = _run([*common, "--targets", "latency"], capsys)
    assert rc == 130 and "interrupted" in err
    assert _tree(out) == before and _leftovers(tmp_path, "m") == []
    assert costmodel.load(out).targets == costmodel.load(model_dir).targets


def test_save_failing_midway_leaves_the_old_model_and_no_staging(model_dir, tmp_path,
                                                                 monkeypatch):
    import costmodel
    from costmodel.model import artifact

    out = tmp_path / "m"
    shutil.copytree(model_dir, out)
    before = _tree(out)
    model = costmodel.load(out)
    real = artifact._write_into

    def disk_full(m, staging):
        real(m, staging)   # every file written, then the disk fills before the swap
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(artifact, "_write_into", disk_full)
    with pytest.raises(OSError, match="No space"):
        artifact.save(model, out)
    assert _tree(out) == before and _leftovers(tmp_path, "m") == []
    monkeypatch.undo()
    costmodel.load(out)


def test_save_permissions_symlinks_and_refusals(model_dir, tmp_path):
    import costmodel
    from costmodel.model import artifact
    from costmodel.model.errors import ArtifactError

    model = costmodel.load(model_dir)
    umask = os.umask(0)
    os.umask(umask)
    fresh = artifact.save(model, tmp_path / "a" / "fresh")
    assert fresh.stat().st_mode & 0o777 == 0o777 & ~umask   # not mkdtemp's 0700
    fresh.chmod(0o750)
    artifact.save(model, fresh)
    assert fresh.stat().st_mode & 0o777 == 0o750            # the replaced model's mode
    link = tmp_path / "current"
    link.symlink_to(fresh)
    artifact.save(model, link)
    assert link.is_symlink() and costmodel.load(link).targets == model.targets
    empty = tmp_path / "empty"
    empty.mkdir()
    artifact.save(model, empty)
    costmodel.load(empty)
    stuff = tmp_path / "stuff"
    stuff.mkdir()
    (stuff / "x.txt").write_text("x")
    with pytest.raises(ArtifactError, match="not a cost model"):
        artifact.save(model, stuff)
    assert [p.name for p in stuff.iterdir()] == ["x.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- 9. shipped defaults found from any working directory -----------------------------------

def test_datasets_default_root_is_the_checkouts_and_typed_paths_stay_relative(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert costmodel_main(["datasets", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {Path(d["path"]) for d in listed} >= {CHECKOUT / "datasets" / "cpu-v2"}
    (tmp_path / "datasets").mkdir()   # a user's own datasets/ here: found when typed
    assert costmodel_main(["datasets", "--json", "--root", "datasets"]) == 0
    assert json.loads(capsys.readouterr().out) == []


class _Parsed(Exception):
    pass


def _parsed_args(main, argv, monkeypatch) -> argparse.Namespace:
    """What a benchmark's parser makes of ``argv``; the benchmark itself does not run."""
    seen = {}
    real = argparse.ArgumentParser.parse_args

    def spy(self, args=None, namespace=None):
        seen["ns"] = real(self, args, namespace)
        raise _Parsed
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", spy)
    with pytest.raises(_Parsed):
        main(argv)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", real)
    return seen["ns"]


@pytest.mark.parametrize("name, attrs", [
    ("learning_curve", {"data": "datasets/cpu-v2", "model": "models/default"}),
    ("pool_transfer", {"data": "datasets/cpu-v2", "model": "models/default"}),
    ("real_dispatch_ranking", {"model": "models/default"}),
    ("prior_ranking", {"model": "models/default"}),
    ("label_drift", {"data": "datasets/cpu-v2,datasets/cpu-v5,datasets/cpu-v6,datasets/cpu-v7",
                     "model": "models/default"}),
    ("top1_misses", {"data": "datasets/cpu-v2,datasets/cpu-v5,datasets/cpu-v6,datasets/cpu-v7",
                     "model": "models/default"}),
    ("score", {"data": "datasets/cpu-v1"}),
    ("grpc_load", {"model": "models/default"}),
    ("cross_machine_agreement", {"a": "datasets/cpu-v2", "b": "datasets/cpu-v3"}),
    ("scale", {"out": "benchmarks/results/scale.json"}),
    ("roofline_blend", {"model": "models/default"}),
    ("ranking_headroom", {"data": "datasets/cpu-v4"}),
])
def test_benchmark_defaults_name_the_checkouts_files(name, attrs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODEL", raising=False)
    main = _benchmark(name)
    args = _parsed_args(main, [], monkeypatch)
    for attr, rel in attrs.items():  # (a comma list: each dataset of one CPU)
        assert getattr(args, attr) == ",".join(shipped(r) for r in rel.split(",")) \
            == ",".join(str(CHECKOUT / r) for r in rel.split(","))
    # A path the user types stays as typed (relative to the working directory).
    typed = [] if name == "cross_machine_agreement" else [f"--{next(iter(attrs))}"]
    args = _parsed_args(main, [*typed, "mine/x"], monkeypatch)
    assert getattr(args, next(iter(attrs))) == "mine/x"


def test_roofline_blend_reads_the_models_training_data_from_its_manifest(tmp_path, monkeypatch):
    from benchmarks.roofline_blend import training_data
    from costmodel.errors import InputError
    from costmodel.model.artifact import load

    monkeypatch.chdir(tmp_path)
    manifest = load(shipped("models/default")).manifest
    paths = training_data(manifest).split(",")
    recorded = manifest["training_data"]["path"].split(",")
    assert paths == [str(CHECKOUT / r) for r in recorded] and len(paths) >= 2
    assert all((Path(p) / "manifest.json").exists() for p in paths)
    with pytest.raises(InputError, match="give --data"):
        training_data({"training_data": {}})


def test_roofline_blend_weights_run_from_the_roofline_to_the_model():
    import numpy as np

    from benchmarks.roofline_blend import blend_mape
    y = np.array([1.0, 2.0, 4.0])
    model, roof = np.array([1.5, 2.0, 2.0]), np.array([0.5, 4.0, 4.0])
    m = blend_mape(y, model, roof)
    assert m["1"] == pytest.approx(np.mean([0.5, 0.0, 0.5]))  # the model alone
    assert m["0"] == pytest.approx(np.mean([0.5, 1.0, 0.0]))  # the roofline alone
    # The geometric mean: sqrt(0.75), sqrt(8), sqrt(8) against 1, 2, 4.
    assert m["0.5"] == pytest.approx(np.mean(np.abs(np.sqrt([0.75, 8.0, 8.0]) - y) / y))


def test_a_benchmark_run_from_elsewhere_finds_the_shipped_datasets(tmp_path):
    r = subprocess.run([sys.executable, str(CHECKOUT / "benchmarks" /
                                            "cross_machine_agreement.py"), "--json"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["shared_samples"] > 1000


# --- 10. datasets --root --------------------------------------------------------------------

def test_datasets_root_must_be_a_directory(tmp_path, capsys):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    for root in (tmp_path / "none", a_file):
        rc, err = _run(["datasets", "--root", str(root)], capsys)
        assert rc == 2 and f"--root {str(root)!r} is not a directory" in err


# --- 11. benchmark scripts ------------------------------------------------------------------

@pytest.mark.parametrize("name, argv, says", [
    ("featurize", ["--repeats", "0"], "argument --repeats: must be at least 1"),
    ("featurize", ["--ops", "-3"], "argument --ops: must be at least 1"),
    ("score", ["--repeats", "0"], "argument --repeats: must be at least 1"),
    ("score", ["--candidates", "0"], "argument --candidates: must be at least 1"),
    ("onnx_sweep", ["--every", "0"], "argument --every: must be at least 1"),
    ("onnx_sweep", ["--workers", "0"], "argument --workers: must be at least 1"),
    ("scale", ["--samples", "0"], "argument --samples: must be at least 1"),
    ("scale", ["--workers", "1", "0"], "argument --workers: must be at least 1"),
    ("scale", ["--time-cap", "0"], "argument --time-cap: must be greater than 0"),
    ("learning_curve", ["--folds", "1"], "argument --folds: must be at least 2"),
    ("learning_curve", ["--draws", "0"], "argument --draws: must be at least 1"),
    ("pool_transfer", ["--pool", "0"], "argument --pool: must be at least 1"),
    ("real_dispatch_ranking", ["--dispatches", "0"], "argument --dispatches: must be at least 1"),
    ("prior_ranking", ["--pool", "0"], "argument --pool: must be at least 1"),
    ("label_drift", ["--gap", "0"], "argument --gap: must be at least 1"),
    ("top1_misses", ["--worst", "0"], "argument --worst: must be at least 1"),
    ("top1_misses", ["--folds", "1"], "argument --folds: must be at least 2"),
    ("solver_regret", ["--T", "9"], "argument --T: must be at least 10"),
    ("solver_regret", ["--plays", "0"], "argument --plays: must be at least 1"),
    ("grpc_load", ["--calls", "0"], "argument --calls: must be at least 1"),
    ("solver_side_offspec", ["--seeds", "-1"], "argument --seeds:"),
    ("solver_regret", ["--setting", "heat", "--strategy", "tsallis_inf_sor"],
     "tsallis_inf_sor needs an SOR setting"),
    ("memory_split_headroom", ["--time-limit", "0"], "argument --time-limit:"),
    ("memory_split_headroom", ["--programs", "nope"], "unknown programs ['nope']"),
])
def test_benchmark_numbers_are_checked_at_parse_time(name, argv, says, capsys):
    with pytest.raises(SystemExit) as exc:
        _benchmark(name)(argv)
    assert exc.value.code == 2 and says in capsys.readouterr().err


def _script(name: str, *args: str, env: dict | None = None, cwd=None):
    return subprocess.run([sys.executable, str(CHECKOUT / "benchmarks" / f"{name}.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={**os.environ, **(env or {})})


def test_ranking_headroom_names_a_missing_dataset_without_a_traceback(tmp_path):
    r = _script("ranking_headroom", "--data", str(tmp_path / "no-data"))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "no-data" in r.stderr
    assert "Traceback" not in r.stderr


def test_ranking_headroom_blends_on_within_group_zscores():
    import numpy as np

    from benchmarks.ranking_headroom import _zscores
    inv = np.array([0, 0, 1, 1, 1])
    z = _zscores(np.array([1.0, 3.0, 10.0, 10.0, 40.0]), inv, 2)
    assert z[:2] == pytest.approx([-1.0, 1.0])  # centred and scaled within group 0
    assert z[2:].mean() == pytest.approx(0.0) and np.std(z[2:]) == pytest.approx(1.0)


def test_featurize_benchmark_reports_typed_errors_without_a_traceback():
    r = _script("featurize", "--ops", "50", "--repeats", "1",
                env={"COSTMODEL_MAX_IR_BYTES": "1000"})
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "1000-byte limit" in r.stderr
    assert "Traceback" not in r.stderr


def test_scale_benchmark_checks_its_out_before_measuring(tmp_path):
    a_file = tmp_path / "f"
    a_file.write_text("x")
    r = _script("scale", "--out", str(a_file / "scale.json"))
    assert r.returncode == 2 and r.stderr.startswith("error: --out") and "Traceback" not in r.stderr


def test_score_benchmark_leaves_no_temporary_directories(dataset, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    r = _script("score", "--data", str(tmp_path / "no-data"), env=env)
    assert r.returncode == 2 and "no-data" in r.stderr and "Traceback" not in r.stderr
    assert list(tmp.iterdir()) == []
    r = _script("score", "--data", str(dataset), "--candidates", "50", "--repeats", "1",
                "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["latency_schedules_per_s"] > 0
    assert list(tmp.iterdir()) == []
