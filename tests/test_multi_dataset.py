"""`--data A,B`: train and evaluate on several datasets of one CPU as one, on real
collections; datasets of different CPUs, empty or repeated entries are refused before any
work, and nothing is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from costmodel.cli import main as costmodel_main
from costmodel.collect import collect, synthetic_items
from costmodel.errors import InputError
from costmodel.model.data import load_frame
from costmodel.model.datasets import data_paths, load_frames
from tests.cli_run import run_cli


@pytest.fixture(scope="module")
def second(tmp_path_factory) -> Path:
    """Another real collection on this machine: other matmul shapes (another seed)."""
    out = tmp_path_factory.mktemp("data2") / "more"
    collect(synthetic_items(["matmul"], 12, schedules_per_group=6, seed=11), str(out),
            workers=1, time_cap_s=0.2, progress=False)
    return out


def test_two_datasets_make_one_frame_in_order(dataset, second):
    a, b = load_frame(str(dataset)), load_frame(str(second))
    both = load_frames([str(dataset), str(second)])
    assert len(both) == len(a) + len(b)
    np.testing.assert_array_equal(both.X, np.vstack([a.X, b.X]))
    np.testing.assert_array_equal(both.y["latency"],
                                  np.concatenate([a.y["latency"], b.y["latency"]]))
    assert set(both.group) == set(a.group) | set(b.group)
    assert both.data_hash not in (a.data_hash, b.data_hash)
    # One dataset is the frame it always was (models record its hash).
    assert load_frames([str(dataset)]).data_hash == a.data_hash


def test_train_and_eval_on_two_datasets(dataset, second, tmp_path, capsys):
    out = tmp_path / "m"
    data = f"{dataset},{second}"
    rc, err = run_cli(costmodel_main, ["train", "--data", data, "--targets", "latency",
                                       "--out", str(out), "--quiet"], capsys)
    assert rc == 0, err
    td = json.loads((out / "manifest.json").read_text())["training_data"]
    rows = [json.loads((Path(p) / "manifest.json").read_text())["rows"]
            for p in (dataset, second)]
    assert [d["rows"] for d in td["datasets"]] == rows
    assert [d["path"] for d in td["datasets"]] == [str(dataset), str(second)]
    assert td["rows"] == len(load_frames([str(dataset), str(second)]))
    assert td["hardware_ids"] and td["hardware_id"] in td["hardware_ids"]
    capsys.readouterr()
    rc = costmodel_main(["eval", "--model", str(out), "--data", data, "--splits",
                         "unseen_shapes", "--quiet", "--json", "--report",
                         str(tmp_path / "r.md")])
    result = json.loads(capsys.readouterr().out)
    assert rc == 0 and result["rows"] == td["rows"] and result["data"] == data
    assert result["splits"]["unseen_shapes"]["latency"]["kendall_tau"] is not None


def test_datasets_of_another_cpu_are_refused_before_any_work(dataset, second, model_dir,
                                                             tmp_path, capsys):
    other = tmp_path / "zen9"
    shutil.copytree(second, other)
    m = json.loads((other / "manifest.json").read_text())
    m["hardware"]["iree_target_cpu"] = "znver9"   # not a checksummed file: loads as valid
    (other / "manifest.json").write_text(json.dumps(m))
    out = tmp_path / "m"
    rc, err = run_cli(costmodel_main, ["train", "--data", f"{dataset},{other}",
                                       "--targets", "latency", "--out", str(out)], capsys)
    assert rc == 2 and "different hardware" in err and "znver9" in err, err
    assert "Traceback" not in err and not out.exists()
    report = tmp_path / "r.md"
    rc, err = run_cli(costmodel_main, ["eval", "--model", str(model_dir), "--data",
                                       f"{dataset},{other}", "--report", str(report)], capsys)
    assert rc == 2 and "different hardware" in err and "Traceback" not in err
    assert not report.exists()


@pytest.mark.parametrize("text, says", [("a,,b", "an empty dataset path"),
                                        ("a, a", "the same dataset"),
                                        ("x/../a,a", "the same dataset")])
def test_empty_or_repeated_datasets_are_refused(text, says, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "x").mkdir()
    with pytest.raises(InputError, match=says):
        data_paths(text)
    rc, err = run_cli(costmodel_main, ["train", "--data", text, "--out", "m"], capsys)
    assert rc == 2 and says in err and not (tmp_path / "m").exists()


def test_hardware_notice_knows_every_dataset_machine(tmp_path):
    from service.models import hardware_notice

    shutil.copytree(Path(__file__).resolve().parent.parent / "models" / "default",
                    tmp_path / "m")
    mf = tmp_path / "m" / "manifest.json"
    m = json.loads(mf.read_text())
    m["training_data"].update(hardware_id="aaaa", hardware_ids=["aaaa", "bbbb"])
    mf.write_text(json.dumps(m))
    assert hardware_notice(tmp_path / "m", {"id": "bbbb"}) is None
    assert "cccc" in hardware_notice(tmp_path / "m", {"id": "cccc"})


def test_learning_curve_extra_adds_training_groups_and_keeps_the_test_rows(dataset, second,
                                                                          model_dir, capsys):
    from benchmarks.learning_curve import main as curve

    rc = curve(["--data", str(dataset), "--extra", str(second), "--model", str(model_dir),
                "--fractions", "1", "--folds", "2", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    full, extra = res["curve"][0], res["extra"]
    added = len(set(load_frame(str(second)).group))
    assert extra["rows"] == len(load_frame(str(second)))
    assert extra["train_groups_per_fold"] == full["train_groups_per_fold"] + added
    for k in ("kendall_tau", "top1_slowdown", "mape"):
        assert k in extra and k in full
    # Held-out families stay unseen: the extra matmuls join only the fold testing transposes.
    rc = curve(["--data", str(dataset), "--extra", str(second), "--model", str(model_dir),
                "--split", "unseen_families", "--fractions", "1", "--folds", "2", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["extra"]["train_groups_per_fold"] == (res["curve"][0]["train_groups_per_fold"]
                                                     + added / 2)
    with pytest.raises(SystemExit) as exc:
        curve(["--data", str(dataset), "--extra", str(dataset), "--model", str(model_dir)])
    assert exc.value.code == 2 and "--extra repeats a dataset" in capsys.readouterr().err


def test_a_kernel_in_two_datasets_is_one_split_unit_and_two_ranking_groups(dataset, model_dir,
                                                                           tmp_path):
    """Two collections of the same kernels (here: a copy) were timed in different sessions:
    each keeps its own ranking groups, while held-out splits still hold a kernel out whole."""
    import dataclasses

    import costmodel
    from costmodel.model.datasets import concat_frames
    from costmodel.model.evaluate import evaluate
    from costmodel.model.splits import make_split

    copy = tmp_path / "again"
    shutil.copytree(dataset, copy)
    one = load_frame(str(dataset))
    both = load_frames([str(dataset), str(copy)])
    assert one.rank_group is None and one.ranking_group is one.group
    np.testing.assert_array_equal(both.group, np.concatenate([one.group, one.group]))
    assert list(both.ranking_group) == [f"{g}@{dataset.name}" for g in one.group] + \
        [f"{g}@again" for g in one.group]
    for tr, te in make_split("unseen_shapes", both, k=3, seed=0).folds:
        assert not set(both.group[tr]) & set(both.group[te])
    machine = costmodel.load(model_dir).manifest["machine"]
    got = [evaluate(f, ["latency"], machine, folds=2, splits=["unseen_shapes"])
           ["splits"]["unseen_shapes"]["latency"]["test_groups"] for f in (one, both)]
    assert got[1] == 2 * got[0] > 0
    # Repeated timings follow their dataset's ranking groups; unshared groups keep their id.
    g0 = str(one.group[0])
    rep = dataclasses.replace(one, repeats=[{"group_id": g0, "run": "repeat-1"}])
    other = dataclasses.replace(one.take(one.group != g0), repeats=[])
    joined = concat_frames([rep, rep.take(one.group == g0), other], names=["x", "y", "z"])
    assert [r["group_id"] for r in joined.repeats] == [f"{g0}@x", f"{g0}@y"]
    shared = {str(g) for g in one.group if g != g0}
    assert set(joined.ranking_group[-len(other):]) == {f"{g}@z" for g in shared}
    assert concat_frames([other]).rank_group is None


def test_learning_curve_extra_with_transfer_data_keeps_the_base_curve(dataset, second,
                                                                      model_dir, tmp_path,
                                                                      capsys):
    """--extra rows sit between --data's and the transfer rows: the base curve must be the
    same fits as without --extra, and the extra fit adds exactly the extra groups."""
    from benchmarks.learning_curve import main as curve
    from tests.other_cpu import as_other_cpu

    other = as_other_cpu(dataset, tmp_path / "zen9")
    args = ["--data", str(dataset), "--model", str(model_dir), "--transfer-data", str(other),
            "--fractions", "1", "--folds", "2", "--json"]
    assert curve(args) == 0
    alone = json.loads(capsys.readouterr().out)["curve"][0]
    assert curve(args + ["--extra", str(second)]) == 0
    res = json.loads(capsys.readouterr().out)
    for k in ("kendall_tau", "top1_slowdown", "mape", "train_groups_per_fold"):
        assert res["curve"][0][k] == pytest.approx(alone[k], rel=1e-9), k
    added = len(set(load_frame(str(second)).group))
    assert res["extra"]["train_groups_per_fold"] == alone["train_groups_per_fold"] + added
