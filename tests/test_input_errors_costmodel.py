"""Bad command-line input to `costmodel`: a clear message and exit 2, before any work, and
nothing stored is lost or left half-made."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from costmodel.cli import main as costmodel_main
from costmodel.cli_args import check_out_dir, check_out_file
from costmodel.errors import InputError
from tests.cli_run import run_cli


def _run(argv, capsys) -> tuple[int, str]:
    return run_cli(costmodel_main, argv, capsys)


@pytest.mark.parametrize("argv, says", [
    (["collect", "--samples", "2", "--checkpoint-every", "0"], "--checkpoint-every: must be at least 1"),
    (["collect", "--samples", "2", "--workers", "0"], "--workers: must be at least 1"),
    (["collect", "--samples", "2", "--time-cap", "-1"], "--time-cap: must be greater than 0"),
    (["collect", "--samples", "2", "--time-cap", "nan"], "not a finite number"),
    (["collect", "--samples", "2", "--seed", "-3"], "must be a seed between 0"),
    (["collect", "--samples", "-2"], "--samples: must be 0 or more"),
    (["noise", "--data", "x", "--workers", "-1"], "--workers: must be at least 1"),
    (["noise", "--data", "x", "--samples", "0"], "--samples: must be at least 1"),
    (["train", "--data", "x", "--seed", "-1"], "must be a seed between 0"),
    (["eval", "--model", "x", "--data", "y", "--folds", "0"], "--folds: must be at least 1"),
])
def test_bad_numbers_are_rejected_at_parse_time(argv, says, tmp_path, capsys):
    out = tmp_path / "out"
    if argv[0] == "collect":
        argv = [*argv, "--out", str(out)]
    elif argv[0] == "train":
        argv = [*argv, "--out", str(out)]
    rc, err = _run(argv, capsys)
    assert rc == 2 and says in err
    assert not out.exists()  # nothing created for a command that never ran


def test_unusable_out_fails_before_any_work(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("keep me")
    rc, err = _run(["collect", "--samples", "2", "--out", str(a_file), "--quiet"], capsys)
    assert rc == 2 and "exists and is not a directory" in err
    assert a_file.read_text() == "keep me"
    rc, err = _run(["collect", "--samples", "2", "--out", str(a_file / "sub"), "--quiet"], capsys)
    assert rc == 2 and "is a file, not a directory" in err
    rc, err = _run(["train", "--data", "nowhere", "--out", str(a_file)], capsys)
    assert rc == 2 and "exists and is not a directory" in err


@pytest.mark.skipif(os.geteuid() != 0 and not Path("/sys").exists(), reason="needs /sys")
def test_out_under_an_unwritable_place_is_caught_even_as_root(capsys):
    # os.access says yes to root on /sys; the check makes a real file there instead.
    rc, err = _run(["collect", "--samples", "2", "--out", "/sys/costmodel-x", "--quiet"], capsys)
    assert rc == 2 and "cannot write in '/sys'" in err


def test_output_checks_leave_nothing_behind(tmp_path):
    assert check_out_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert check_out_file(tmp_path / "c" / "r.md") == tmp_path / "c" / "r.md"
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        check_out_file(tmp_path / "d")


def test_datasets_root_must_exist(tmp_path, capsys):
    rc, err = _run(["datasets", "--root", str(tmp_path / "none")], capsys)
    assert rc == 2 and "is not a directory" in err


def test_library_collect_rejects_bad_settings_before_making_the_dataset(tmp_path):
    from costmodel.collect import collect, synthetic_items

    items = synthetic_items(["matmul"], 1, schedules_per_group=1, seed=0)
    for kw in ({"checkpoint_every": 0}, {"workers": -1}, {"time_cap_s": -1.0}):
        with pytest.raises(InputError):
            collect(items, str(tmp_path / "d"), progress=False, **kw)
    assert not (tmp_path / "d").exists()


def test_eval_rejects_bad_folds_and_report_paths_before_evaluating(dataset, model_dir, tmp_path,
                                                                   capsys):
    base = ["eval", "--model", str(model_dir), "--data", str(dataset), "--quiet"]
    rc, err = _run([*base, "--folds", "1"], capsys)
    assert rc == 2 and "--folds must be at least 2" in err
    rc, err = _run([*base, "--folds", "100000"], capsys)
    assert rc == 2 and "candidate groups" in err
    rc, err = _run([*base, "--report", str(tmp_path)], capsys)
    assert rc == 2 and "is a directory" in err


# Retraining over a model: tests/test_cli_input_costmodel.py (section 8).
