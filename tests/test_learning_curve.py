"""benchmarks/learning_curve.py on a small real dataset: its full-data point is `costmodel
eval`'s figure for the same split and seed, and a smaller share trains on fewer groups."""

from __future__ import annotations

import json

import pytest

from benchmarks.learning_curve import main


def test_full_share_matches_eval_and_smaller_shares_train_on_fewer_groups(dataset, model_dir,
                                                                          capsys):
    from costmodel.model.artifact import read_manifest
    from costmodel.model.data import load_frame
    from costmodel.model.evaluate import evaluate

    rc = main(["--data", str(dataset), "--model", str(model_dir), "--fractions", "0.5", "1",
               "--folds", "2", "--draws", "1", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    half, full = res["curve"]
    frame = load_frame(str(dataset))
    ev = evaluate(frame, ["latency"], read_manifest(model_dir)["machine"], folds=2,
                  splits=["unseen_shapes"])["splits"]["unseen_shapes"]["latency"]
    for k in ("kendall_tau", "top1_slowdown", "mape"):
        assert full[k] == pytest.approx(ev[k], rel=1e-9), k
    assert half["train_groups_per_fold"] <= full["train_groups_per_fold"]
    assert -1.0 <= full["train_fit_kendall_tau"] <= 1.0


def test_bad_fractions_are_rejected(dataset, model_dir, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--data", str(dataset), "--model", str(model_dir), "--fractions", "0"])
    assert exc.value.code == 2 and "fractions must lie in (0, 1]" in capsys.readouterr().err


def test_benchmarks_report_a_missing_dataset_without_a_traceback(tmp_path):
    """The benchmark scripts' shared entry point turns typed errors into `error: ...`, exit 2."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    missing = tmp_path / "nope"
    for script, args in (("learning_curve.py", ["--data", str(missing)]),
                         ("score.py", ["--model", str(missing)]),
                         ("top1_misses.py", ["--data", str(missing)])):
        r = subprocess.run([sys.executable, str(root / "benchmarks" / script), *args],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 2, (script, r.stderr)
        assert r.stderr.startswith("error: ") and str(missing) in r.stderr
        assert "Traceback" not in r.stderr


def test_transfer_data_joins_every_fit_and_its_full_share_matches_eval(dataset, model_dir,
                                                                       tmp_path, capsys):
    """With --transfer-data the full share is `costmodel eval --transfer-data`'s figure, the
    share counts --data's groups only, and a dataset of --data is refused as transfer data.
    The transfer copy holds the same kernels, so each fold fits only its training kernels'
    copies."""
    from costmodel.model.artifact import read_manifest
    from costmodel.model.datasets import load_frames, load_transfer, with_transfer
    from costmodel.model.evaluate import evaluate
    from tests.other_cpu import as_other_cpu

    other = as_other_cpu(dataset, tmp_path / "zen9")
    rc = main(["--data", str(dataset), "--model", str(model_dir), "--transfer-data",
               str(other), "--fractions", "1",
               "--folds", "2", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    (full,) = res["curve"]
    assert res["transfer_data"] == str(other)
    both = with_transfer(load_frames([str(dataset)]), load_transfer([str(other)]))
    ev = evaluate(both, ["latency"], read_manifest(model_dir)["machine"], folds=2,
                  splits=["unseen_shapes"])["splits"]["unseen_shapes"]["latency"]
    for k in ("kendall_tau", "top1_slowdown", "mape"):
        assert full[k] == pytest.approx(ev[k], rel=1e-9), k
    plain = main(["--data", str(dataset), "--model", str(model_dir), "--fractions", "1",
                  "--folds", "2", "--json"])
    assert plain == 0
    alone = json.loads(capsys.readouterr().out)["curve"][0]
    # Transfer rows are fit rows, not groups of the share.
    assert full["train_groups_per_fold"] == alone["train_groups_per_fold"]
    assert full["kendall_tau"] != alone["kendall_tau"]
    with pytest.raises(SystemExit) as exc:
        main(["--data", str(dataset), "--model", str(model_dir), "--transfer-data",
              str(dataset)])
    assert exc.value.code == 2 and "--transfer-data repeats" in capsys.readouterr().err
