"""Real models' dispatches may weigh the latency trees differently over the roofline
(``TargetHeads.dispatch_tree_weight``): absolute predictions of dispatch-form kernels use it,
candidate ordering does not, it round-trips through heads.json, the ONNX export applies it,
and `costmodel train` fits it on held-out real models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import costmodel
from costmodel.model.data import load_frame
from costmodel.model.errors import ArtifactError
from costmodel.model.forest import SMALL_BATCH
from costmodel.model.heads import margin
from costmodel.model.novelty import is_dispatch
from tests.model_edit import edited_copy

ROOT = Path(__file__).resolve().parents[1]
MODEL, DATA = ROOT / "models" / "default", ROOT / "datasets" / "cpu-v2"
WD = 0.5


@pytest.fixture(scope="module")
def rows():
    """Synthetic rows and every real-model row of the shipped cpu-v2 dataset (raw features)."""
    frame = load_frame(str(DATA))
    real = frame.source == "real_model"
    return np.vstack([frame.X[~real][::20], frame.X[real]])


@pytest.fixture(scope="module")
def weighted(tmp_path_factory) -> Path:
    """The shipped model with the latency head's dispatch tree weight set to WD."""
    def edit(heads: dict) -> None:
        assert heads["latency"]["regression_tree_weight"] != WD
        heads["latency"]["regression_dispatch_tree_weight"] = WD

    return edited_copy(MODEL, tmp_path_factory.mktemp("dw") / "model", heads=edit)


def test_dispatch_rows_use_their_weight_and_ordering_is_unchanged(weighted, rows):
    base, model = costmodel.load(MODEL), costmodel.load(weighted)
    h = model.heads["latency"]
    assert h.dispatch_tree_weight == WD
    X = model.pre.transform(rows).astype(np.float32)
    disp = is_dispatch(X, h.dispatch_col)
    assert 0 < disp.sum() < len(X)
    trees, off = margin(h.reg, X), h.offset(X)
    want = np.where(disp, WD, h.tree_weight) * trees + off
    np.testing.assert_allclose(h.predict_log(X), want, rtol=1e-6)  # XGBoost path
    few = np.concatenate([np.flatnonzero(disp)[:4], np.flatnonzero(~disp)[:4]])
    assert len(few) <= SMALL_BATCH
    np.testing.assert_allclose(h.predict_log(X[few]), want[few], rtol=1e-6)  # numpy forest
    # Synthetic rows predict exactly as before; dispatch rows moved.
    old = base.predict(features=rows, targets="latency")
    new = model.predict(features=rows, targets="latency")
    np.testing.assert_array_equal(new.values["latency"][~disp], old.values["latency"][~disp])
    assert np.abs(np.log(new.values["latency"][disp] / old.values["latency"][disp])).max() > 1e-3
    # How one kernel's candidates are ordered does not depend on the dispatch weight.
    np.testing.assert_allclose(new.rank_cost["latency"], old.rank_cost["latency"], rtol=1e-12)


def test_dispatch_weight_round_trips_and_old_formats_load_without_it(weighted, tmp_path):
    from costmodel.model.artifact import FORMAT_VERSION, save

    again = save(costmodel.load(weighted), tmp_path / "again")
    heads = json.loads((again / "heads.json").read_text())
    assert heads["latency"]["regression_dispatch_tree_weight"] == WD
    assert heads["instructions"]["regression_dispatch_tree_weight"] is None
    assert json.loads((again / "manifest.json").read_text())["format_version"] == FORMAT_VERSION
    assert costmodel.load(again).heads["latency"].dispatch_tree_weight == WD

    def drop(h: dict) -> None:
        for v in h.values():
            v.pop("regression_dispatch_tree_weight", None)

    old = edited_copy(MODEL, tmp_path / "format3", heads=drop,
                      manifest=lambda m: m.update(format_version=3))
    assert costmodel.load(old).heads["latency"].dispatch_tree_weight is None


def test_dispatch_weight_without_an_offset_is_refused(tmp_path):
    bad = edited_copy(MODEL, tmp_path / "bad", heads=lambda h: h["instructions"].update(
        regression_dispatch_tree_weight=0.5))
    with pytest.raises(ArtifactError, match="dispatch tree weight needs a regression offset"):
        costmodel.load(bad)


def test_onnx_export_applies_the_dispatch_weight(weighted, rows, tmp_path):
    """Both outputs of the exported latency graph agree with native within 1e-5: the
    prediction (dispatch rows weighted by WD) and ``ordering`` (one weight on every row)."""
    pytest.importorskip("onnxmltools")
    ort = pytest.importorskip("onnxruntime")
    from costmodel.model.onnx_export import check, export

    out = export(str(weighted), str(tmp_path / "onnx"))
    worst = check(str(weighted), str(out), rows)
    assert worst["latency.reg"] <= 1e-5, worst
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"]["latency.reg.onnx"]["ordering_output"] == "ordering"
    assert manifest["files"]["instructions.reg.onnx"]["ordering_output"] is None
    model = costmodel.load(weighted)
    h = model.heads["latency"]
    X = model.pre.transform(rows).astype(np.float32)
    sess = ort.InferenceSession(str(out / "latency.reg.onnx"), providers=["CPUExecutionProvider"])
    pred, order = (o.ravel() for o in sess.run(None, {"features": X}))
    disp = is_dispatch(X, h.dispatch_col)
    assert np.array_equal(pred[~disp], order[~disp])
    assert np.abs(pred[disp] - order[disp]).max() > 1e-3


def test_train_fits_the_dispatch_weight_on_held_out_models():
    """On a slice of cpu-v2 with its real models, the latency head gets a dispatch weight
    from the grid, recorded in the recipe; the instructions head (no offset) gets none."""
    from costmodel.model.train import TREE_WEIGHT_GRID, fit

    frame = load_frame(str(DATA))
    real = np.flatnonzero(frame.source == "real_model")
    synth = np.flatnonzero(np.isin(frame.family, ["matmul", "transpose", "softmax"]))[:1200]
    sub = frame.take(np.concatenate([real, synth]))
    machine = costmodel.load(MODEL).manifest["machine"]
    _, heads, info = fit(sub, ["latency", "instructions"], seed=0, machine=machine)
    wd = heads["latency"].dispatch_tree_weight
    assert wd is not None and wd in TREE_WEIGHT_GRID
    assert info["recipe"]["latency"]["dispatch_tree_weight"] == wd
    assert heads["instructions"].dispatch_tree_weight is None
    # Without real models there is nothing to fit it on.
    _, heads, _ = fit(sub.take(np.arange(len(real), len(sub))), ["latency"], seed=0,
                      machine=machine)
    assert heads["latency"].dispatch_tree_weight is None
