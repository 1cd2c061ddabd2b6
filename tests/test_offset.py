"""The latency head's base margin (costmodel/model/offset.py) on a real measured dataset and a
model trained on it with `costmodel train`."""

from __future__ import annotations

import json

import numpy as np
import pytest

import costmodel
from costmodel.model.baselines import roofline_latency
from costmodel.model.data import load_frame
from costmodel.model.errors import ArtifactError
from costmodel.model.offset import RooflineOffset


def test_offset_is_the_log_of_the_roofline_baseline(dataset, model_dir):
    model = costmodel.load(model_dir)
    frame = load_frame(str(dataset))
    h = model.heads["latency"]
    assert h.offset is not None
    machine = model.manifest["machine"]
    assert machine["dispatch_overhead_s"] > 0  # measured by `costmodel train`'s microbenchmark
    want = np.log(roofline_latency(frame.flops, frame.bytes, frame.pad, machine))
    # The offset widens float32 columns (what XGBoost sees); the baseline reads float64 ones.
    got = h.offset(model.pre.transform(frame.X))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    assert np.ptp(got) > 1.0  # the tiny dataset spans kernel sizes, so it carries scale
    # Only latency is timed; the other heads fit the plain log target.
    assert all(model.heads[t].offset is None for t in model.targets if t != "latency")


def test_prediction_adds_the_offset_on_both_native_paths(dataset, model_dir):
    from costmodel.model.forest import SMALL_BATCH
    from costmodel.model.heads import margin

    model = costmodel.load(model_dir)
    X = model.pre.transform(load_frame(str(dataset)).X).astype(np.float32)
    h = model.heads["latency"]
    want = h.tree_weight * margin(h.reg, X) + h.offset(X)
    np.testing.assert_allclose(h.predict_log(X), want, rtol=1e-6)  # XGBoost path
    few = X[:SMALL_BATCH]
    np.testing.assert_allclose(h.predict_log(few), want[:SMALL_BATCH], rtol=1e-6)  # numpy forest
    # predict() returns exp of it: the head learned latency / roofline, not latency.
    pred = model.predict(features=load_frame(str(dataset)).X, targets="latency")
    np.testing.assert_allclose(pred.values["latency"], np.exp(want), rtol=1e-5)


def test_offset_round_trips_and_rejects_malformed_json(model_dir):
    heads = json.loads((model_dir / "heads.json").read_text())
    spec = heads["latency"]["regression_offset"]
    assert spec["kind"] == "log_roofline" and spec["overhead_s"] > 0
    names = costmodel.load(model_dir).pre.names
    off = RooflineOffset.from_json(spec, names)
    assert off.to_json(names) == spec
    with pytest.raises(ArtifactError, match="unknown regression offset kind"):
        RooflineOffset.from_json(dict(spec, kind="linear"), names)
    with pytest.raises(ArtifactError, match="malformed regression offset"):
        RooflineOffset.from_json({"kind": "log_roofline", "columns": {"flops": "nope"}}, names)
    # A dropped (constant) column or no calibration: no offset rather than a wrong one.
    assert RooflineOffset.for_columns([n for n in names if n != "total.log_flops"],
                                      {"peak_flops_per_s": 1e9,
                                       "bandwidth_bytes_per_s": 1e9}) is None
    assert RooflineOffset.for_columns(names, None) is None


def test_train_reuses_a_calibration_and_reproduces_the_model(dataset, model_dir, tmp_path):
    """`--calibration MODEL` takes the roofline constants from a model instead of measuring
    them again: the same data, seed and calibration give the same latency head, bit for bit."""
    import contextlib
    import io

    from costmodel.cli import main

    out = tmp_path / "again"
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["train", "--data", str(dataset), "--out", str(out), "--quiet",
                   "--calibration", str(model_dir)])
    assert rc == 0
    a, b = costmodel.load(model_dir), costmodel.load(out)
    for k in ("peak_flops_per_s", "bandwidth_bytes_per_s", "dispatch_overhead_s"):
        assert b.manifest["machine"][k] == a.manifest["machine"][k]
    assert (out / "latency.reg.ubj").read_bytes() == (model_dir / "latency.reg.ubj").read_bytes()
    # Reused twice, the provenance names the last hop and the original measurement once.
    from costmodel.model.baselines import read_calibration
    again = read_calibration(str(out))["method"]
    assert again == f"reused from {out}: {a.manifest['machine']['method']}"
    bad = tmp_path / "cal.json"
    bad.write_text(json.dumps({"peak_flops_per_s": 1e9}))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(["train", "--data", str(dataset), "--out", str(tmp_path / "x"), "--quiet",
                   "--calibration", str(bad)])
    assert rc == 2 and "no calibration" in err.getvalue()
    assert not (tmp_path / "x").exists()  # nothing written


def test_tree_weight_minimises_held_out_squared_log_error():
    """``choose_tree_weight`` picks w in offset + w * trees from held-out rows: the weight the
    truth was made with, 0 when the trees only add noise, and 1 (no shrinkage) on a tie."""
    from costmodel.model.train import choose_tree_weight

    rng = np.random.default_rng(0)
    tree, off = rng.normal(0, 1, 400), rng.normal(-9, 2, 400)
    assert choose_tree_weight([(tree, off, off + 0.6 * tree)]) == 0.6
    assert choose_tree_weight([(tree, off, off + tree)]) == 1.0
    assert choose_tree_weight([(tree, off, off)]) == 0.0
    assert choose_tree_weight([(np.zeros(400), off, off + tree)]) == 1.0  # every w ties
    assert choose_tree_weight([]) == 1.0
    # Each source counts once, however many rows it has: a small source that wants 0 and a
    # large one that wants 1 meet in between, not at the large one's choice.
    small = (tree[:40], off[:40], off[:40])
    w = choose_tree_weight([small, (tree, off, off + tree)])
    assert 0.0 < w < 1.0


def test_tree_weight_is_saved_applied_and_exported(dataset, model_dir, tmp_path):
    """A weight below 1 round-trips through heads.json, scales the trees on both native
    paths, and the exported ONNX graph applies it too (within 1e-5 of native)."""
    from costmodel.model.artifact import save
    from costmodel.model.forest import SMALL_BATCH
    from costmodel.model.heads import margin

    model = costmodel.load(model_dir)
    h = model.heads["latency"]
    trained = json.loads((model_dir / "heads.json").read_text())["latency"]
    assert trained["regression_tree_weight"] == h.tree_weight
    assert model.manifest["training"]["heads"]["latency"]["tree_weight"] == h.tree_weight
    h.tree_weight = 0.6
    out = save(model, tmp_path / "shrunk")
    again = costmodel.load(out)
    assert json.loads((out / "heads.json").read_text())["latency"]["regression_tree_weight"] == 0.6
    X = again.pre.transform(load_frame(str(dataset)).X).astype(np.float32)
    g = again.heads["latency"]
    want = 0.6 * margin(g.reg, X) + g.offset(X)
    np.testing.assert_allclose(g.predict_log(X), want, rtol=1e-6)
    np.testing.assert_allclose(g.predict_log(X[:SMALL_BATCH]), want[:SMALL_BATCH], rtol=1e-6)
    assert np.abs(g.predict_log(X) - (margin(g.reg, X) + g.offset(X))).max() > 1e-3
    pytest.importorskip("onnxmltools")
    pytest.importorskip("onnxruntime")
    from costmodel.model.onnx_export import check, export
    onnx_dir = export(str(out), str(tmp_path / "onnx"))
    worst = check(str(out), str(onnx_dir), load_frame(str(dataset)).X)
    assert worst["latency.reg"] <= 1e-5


def test_format_2_models_load_with_unweighted_trees(model_dir, tmp_path):
    """A model saved before tree weights existed (format 2: no ``regression_tree_weight``)
    still loads, and predicts offset + trees as it did; an unknown newer format is refused."""
    from tests.model_edit import edited_copy

    def drop_weights(heads: dict) -> None:
        for h in heads.values():
            h.pop("regression_tree_weight")

    old = edited_copy(model_dir, tmp_path / "format2", heads=drop_weights,
                      manifest=lambda m: m.update(format_version=2))
    h = costmodel.load(old).heads["latency"]
    assert h.tree_weight == 1.0 and h.offset is not None
    manifest = json.loads((old / "manifest.json").read_text())
    (old / "manifest.json").write_text(json.dumps(dict(manifest, format_version=99)))
    with pytest.raises(ArtifactError, match="format version 99"):
        costmodel.load(old)
