"""`--transfer-data`: datasets timed on other CPUs join training as rows marked by the
feature ``data.other_cpu``; validation, calibration and the eval's tests are --data's alone. "Another CPU" is a real collection whose manifest names another IREE
target CPU (a manifest is not a checksummed file, so it loads as valid)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from costmodel.cli import main as costmodel_main
from costmodel.collect import collect, synthetic_items
from costmodel.model.artifact import load
from costmodel.model.datasets import concat_frames, load_frames, load_transfer, with_transfer
from costmodel.model.features import FEATURE_NAMES, OTHER_CPU
from costmodel.model.splits import make_split
from tests.cli_run import run_cli
from tests.other_cpu import as_other_cpu


@pytest.fixture(scope="module")
def other(tmp_path_factory, dataset) -> Path:
    """Real timings of other matmul and transpose shapes, plus the test dataset's own kernels
    (so some transfer groups are kernels --data also holds), as if from another CPU."""
    root = tmp_path_factory.mktemp("transfer")
    more = root / "more"
    collect(synthetic_items(["matmul", "transpose"], 20, schedules_per_group=5, seed=21),
            str(more), workers=1, time_cap_s=0.2, progress=False)
    return as_other_cpu(more, root / "zen9")


@pytest.fixture(scope="module")
def same_kernels(tmp_path_factory, dataset) -> Path:
    return as_other_cpu(dataset, tmp_path_factory.mktemp("transfer2") / "zen9-same")


@pytest.fixture(scope="module")
def models(dataset, other, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tmodels")
    out = {"plain": root / "plain", "transfer": root / "transfer"}
    # The second reuses the first's roofline calibration (the latency head's margin).
    for name, extra in (("plain", []), ("transfer", ["--transfer-data", str(other),
                                                     "--calibration", str(out["plain"])])):
        assert costmodel_main(["train", "--data", str(dataset), "--targets", "latency",
                               "--out", str(out[name]), "--quiet", *extra]) == 0
    return out


def test_transfer_rows_are_fit_rows_marked_as_another_cpu(dataset, other, models):
    plain, moved = load(models["plain"]), load(models["transfer"])
    man = json.loads((models["transfer"] / "manifest.json").read_text())
    rec = man["training_data"]["transfer"]
    n_other = len(load_frames([str(other)]))
    assert rec["path"] == str(other) and rec["rows"] == n_other
    assert rec["datasets"][0]["iree_target_cpu"] == "znver9" and rec["groups"] > 0
    # The model's own data, validation and calibration rows are --data's alone; the other
    # CPU's rows are fit rows only.
    plain_man = json.loads((models["plain"] / "manifest.json").read_text())
    for k in ("hash", "rows", "groups"):
        assert man["training_data"][k] == plain_man["training_data"][k]
    rows, prow = man["training"]["rows"], plain_man["training"]["rows"]
    assert rows["validation"] == prow["validation"] and rows["calibration"] == prow["calibration"]
    assert rows["fit"] == prow["fit"] + n_other and rows["transfer"] == n_other
    assert "transfer" not in plain_man["training_data"]
    # The marker column varies only with transfer rows, so only that model keeps it; scoring
    # always computes 0 (this CPU).
    assert OTHER_CPU in moved.pre.names and OTHER_CPU not in plain.pre.names
    X = load_frames([str(dataset)]).X
    assert not X[:, FEATURE_NAMES.index(OTHER_CPU)].any()
    marked = load_transfer([str(other)])[0].X
    assert (marked[:, FEATURE_NAMES.index(OTHER_CPU)] == 1).all()
    a, b = plain.heads["latency"], moved.heads["latency"]
    assert not np.array_equal(a.predict_log(plain.pre.transform(X)),
                              b.predict_log(moved.pre.transform(X)))


def test_folds_test_only_own_rows_and_train_on_transfer_rows_of_other_kernels(
        dataset, same_kernels):
    own = load_frames([str(dataset)])
    both = with_transfer(own, load_transfer([str(same_kernels)]))
    n = len(own)
    assert both.data_hash == own.data_hash and len(both) == 2 * n
    assert both.transfer.sum() == n and not both.transfer[:n].any()
    # Transfer rows rank within their own dataset's timings, apart from --data's.
    assert not set(both.ranking_group[:n]) & set(both.ranking_group[n:])
    for name in ("unseen_shapes", "unseen_families", "random_within_groups"):
        sp, plain = make_split(name, both, k=2), make_split(name, own, k=2)
        assert len(sp.folds) == len(plain.folds)
        for (tr, te), (ptr, pte) in zip(sp.folds, plain.folds):
            np.testing.assert_array_equal(te, pte)   # the same test rows, all own
            np.testing.assert_array_equal(tr[tr < n], ptr)
            extra = tr[tr >= n]
            if name == "random_within_groups":
                assert len(extra) == n
                continue
            unit = both.group if name == "unseen_shapes" else both.family
            # Never a held-out kernel's (or family's) timing from the other CPU; all others.
            assert not np.isin(unit[extra], unit[te]).any()
            assert np.isin(unit[n:], unit[te]).sum() + len(extra) == n


def test_eval_with_transfer_data_reports_on_own_rows(dataset, other, models, tmp_path,
                                                     capsys):
    rc = costmodel_main(["eval", "--model", str(models["transfer"]), "--data", str(dataset),
                         "--transfer-data", str(other), "--splits", "unseen_shapes",
                         "--quiet", "--json", "--report", str(tmp_path / "r.md")])
    result = json.loads(capsys.readouterr().out)
    own = load_frames([str(dataset)])
    assert rc == 0 and result["rows"] == len(own)
    assert result["transfer_data"]["rows"] == len(load_frames([str(other)]))
    lat = result["splits"]["unseen_shapes"]["latency"]
    assert lat["test_rows"] == len(own) and lat["kendall_tau"] is not None
    assert "transfer data (other CPUs" in (tmp_path / "r.md").read_text()


def test_bad_transfer_data_is_refused_before_any_work(dataset, models, tmp_path, capsys):
    out = tmp_path / "m"
    # A dataset of --data's own CPU belongs in --data.
    same = str(_copy(dataset, tmp_path / "same"))
    rc, err = run_cli(costmodel_main, ["train", "--data", str(dataset), "--transfer-data",
                                       same, "--out", str(out), "--targets", "latency"], capsys)
    assert rc == 2 and "add it to --data" in err and "Traceback" not in err, err
    assert not out.exists() and "featuriz" not in err
    report = tmp_path / "r.md"
    rc, err = run_cli(costmodel_main, ["eval", "--model", str(models["plain"]), "--data",
                                       str(dataset), "--transfer-data", same, "--report",
                                       str(report)], capsys)
    assert rc == 2 and "add it to --data" in err and not report.exists(), err
    rc, err = run_cli(costmodel_main, ["train", "--data", str(dataset), "--transfer-data",
                                       str(dataset), "--out", str(out)], capsys)
    assert rc == 2 and "also in --data" in err and not out.exists(), err
    rc, err = run_cli(costmodel_main, ["train", "--data", str(dataset), "--transfer-data",
                                       str(tmp_path / "missing"), "--out", str(out)], capsys)
    assert rc == 2 and "missing" in err and "Traceback" not in err and not out.exists(), err


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_frames_keep_their_own_ranking_groups_when_concatenated(dataset, other):
    own = load_frames([str(dataset)])
    marked = load_transfer([str(other)])[0]
    marked = replace(marked, defaults_target_cpu=own.defaults_target_cpu)
    both = concat_frames([own, marked])
    assert list(both.ranking_group[len(own):]) == list(marked.ranking_group)
    assert list(both.ranking_group[:len(own)]) == list(own.group)
