"""Real models' dispatches may weigh the latency trees differently over the roofline
(``TargetHeads.dispatch_tree_weight``, and per root-op family
``dispatch_family_weights``): absolute predictions of dispatch-form kernels use them,
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
WD, WD_MATMUL = 0.5, 0.2  # every dispatch, and dispatches whose root op is a matmul
MATMUL = 0  # its code in the root.family_code column (ir.families.FAMILIES)


@pytest.fixture(scope="module")
def rows():
    """Synthetic rows and every real-model row of the shipped cpu-v2 dataset (raw features)."""
    frame = load_frame(str(DATA))
    real = frame.source == "real_model"
    return np.vstack([frame.X[~real][::20], frame.X[real]])


@pytest.fixture(scope="module")
def weighted(tmp_path_factory) -> Path:
    """The shipped model with the latency head's dispatch tree weights set to WD, and
    WD_MATMUL for matmuls."""
    def edit(heads: dict) -> None:
        assert heads["latency"]["regression_tree_weight"] not in (WD, WD_MATMUL)
        heads["latency"].update(regression_dispatch_tree_weight=WD,
                                regression_dispatch_family_weights={"matmul": WD_MATMUL},
                                family_column="root.family_code")

    return edited_copy(MODEL, tmp_path_factory.mktemp("dw") / "model", heads=edit)


def test_dispatch_rows_use_their_weight_and_ordering_is_unchanged(weighted, rows):
    base, model = costmodel.load(MODEL), costmodel.load(weighted)
    h = model.heads["latency"]
    assert h.dispatch_tree_weight == WD and h.dispatch_family_weights == {MATMUL: WD_MATMUL}
    X = model.pre.transform(rows).astype(np.float32)
    disp = is_dispatch(X, h.dispatch_col)
    matmul = X[:, h.family_col] == MATMUL
    assert 0 < disp.sum() < len(X) and 0 < (disp & matmul).sum() < disp.sum()
    trees, off = margin(h.reg, X), h.offset(X)
    want = np.where(disp, np.where(matmul, WD_MATMUL, WD), h.tree_weight) * trees + off
    np.testing.assert_allclose(h.predict_log(X), want, rtol=1e-6)  # XGBoost path
    few = np.concatenate([np.flatnonzero(disp & matmul)[:3], np.flatnonzero(disp & ~matmul)[:3],
                          np.flatnonzero(~disp)[:3]])
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
    assert heads["latency"]["regression_dispatch_family_weights"] == {"matmul": WD_MATMUL}
    assert heads["instructions"]["regression_dispatch_tree_weight"] is None
    assert json.loads((again / "manifest.json").read_text())["format_version"] == FORMAT_VERSION
    assert costmodel.load(again).heads["latency"].dispatch_family_weights == {MATMUL: WD_MATMUL}

    def drop(h: dict) -> None:
        for v in h.values():
            for k in ("regression_dispatch_tree_weight", "regression_dispatch_family_weights",
                      "family_column"):
                v.pop(k, None)

    old = edited_copy(MODEL, tmp_path / "format3", heads=drop,
                      manifest=lambda m: m.update(format_version=3))
    h = costmodel.load(old).heads["latency"]
    assert h.dispatch_tree_weight is None and not h.dispatch_family_weights


@pytest.mark.parametrize("edit, match", [
    (lambda h: h["instructions"].update(regression_dispatch_tree_weight=0.5),
     "dispatch tree weight needs a regression offset"),
    (lambda h: h["latency"].update(regression_dispatch_tree_weight=0.5,
                                   regression_dispatch_family_weights={"matmull": 0.2},
                                   family_column="root.family_code"),
     r"unknown op families \['matmull'\]"),
    (lambda h: h["latency"].update(regression_dispatch_tree_weight=0.5,
                                   regression_dispatch_family_weights={"matmul": 0.2},
                                   family_column="no.such.column"),
     "family column 'no.such.column' is not a kept feature"),
    # Wrong types anywhere in a head's entry are typed errors too, not crashes.
    (lambda h: h["latency"].update(regression_tree_weight="abc"),
     r"head 'latency': malformed heads.json entry \(ValueError"),
    (lambda h: h["latency"].update(regression_dispatch_tree_weight="abc"),
     r"head 'latency': malformed heads.json entry \(ValueError"),
    (lambda h: h["latency"].update(regression_dispatch_tree_weight=0.5,
                                   regression_dispatch_family_weights=["matmul"],
                                   family_column="root.family_code"),
     r"head 'latency': malformed heads.json entry \(AttributeError"),
    (lambda h: h["latency"].pop("alpha"), r"malformed heads.json entry \(KeyError: 'alpha'"),
])
def test_malformed_head_entries_are_refused(edit, match, tmp_path):
    bad = edited_copy(MODEL, tmp_path / "bad", heads=edit)
    with pytest.raises(ArtifactError, match=match):
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
    and per-family weights from the grid, recorded in the recipe; the instructions head (no
    offset) gets none."""
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
    fams = heads["latency"].dispatch_family_weights
    assert fams and set(fams.values()) <= set(TREE_WEIGHT_GRID)
    assert info["recipe"]["latency"]["dispatch_family_weights"] == \
        heads["latency"].family_weight_names()
    assert heads["instructions"].dispatch_tree_weight is None
    # Without real models there is nothing to fit it on.
    _, heads, _ = fit(sub.take(np.arange(len(real), len(sub))), ["latency"], seed=0,
                      machine=machine)
    assert heads["latency"].dispatch_tree_weight is None


def test_family_weights_are_chosen_per_family_on_two_or_more_models():
    """Matmul rows (code 0) whose truth is the roofline want 0, conv rows (code 1) whose
    truth is roofline + trees want 1; a family only one held-out model has, and rows of no
    known family (-1), get no weight of their own."""
    from costmodel.model.train import choose_family_weights

    rng = np.random.default_rng(0)
    codes = np.array([0] * 20 + [1] * 20 + [2] * 5 + [-1] * 5, dtype=float)
    parts = []
    for rows in (np.arange(0, 50, 2), np.arange(1, 40, 2)):  # model 2 has no code 2 / -1
        tree, off = rng.normal(0, 1, len(rows)), rng.normal(-9, 1, len(rows))
        truth = np.where(codes[rows] == 0, off, off + tree)
        parts.append((tree, off, truth, rows))
    assert choose_family_weights(parts, codes) == {0: 0.0, 1: 1.0}
