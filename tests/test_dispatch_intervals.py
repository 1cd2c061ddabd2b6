"""Real models' dispatches get the out-of-model half-width (costmodel/model/novelty.py).

Trained on a slice of the shipped dataset (datasets/cpu-v2, measured on a real machine):
every real-model row plus a few synthetic families, one deterministic target."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

import costmodel
from costmodel.model.artifact import save
from costmodel.model.data import load_frame
from costmodel.model.errors import ArtifactError
from costmodel.model.novelty import DISPATCH_COLUMN, is_dispatch
from costmodel.model.predictor import CostModel
from costmodel.model.train import fit, training_manifest

DATA = "datasets/cpu-v2"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    frame = load_frame(DATA)
    real = np.flatnonzero(frame.source == "real_model")
    synth = np.flatnonzero(np.isin(frame.family, ["matmul", "transpose", "softmax"]))[:1500]
    sub = frame.take(np.concatenate([real, synth]))
    pre, heads, info = fit(sub, ["instructions"], seed=0)
    manifest = training_manifest(DATA, {}, {"hash": sub.data_hash, "rows": len(sub)}, 0, info,
                                 pre, 0.0, {})
    out = save(CostModel(pre, heads, manifest), tmp_path_factory.mktemp("m") / "model")
    return sub, heads["instructions"], out


def test_dispatch_half_width_comes_from_held_out_models(trained):
    sub, h, _ = trained
    assert h.q_dispatch is not None and h.q_dispatch >= h.q
    assert h.dispatch_col is not None
    # The column that tells is set for exactly the real models' rows.
    from costmodel.model.features import FEATURE_NAMES
    raw = sub.X[:, FEATURE_NAMES.index(DISPATCH_COLUMN)]
    np.testing.assert_array_equal(raw > 0, sub.source == "real_model")
    # Held-out models predict worse than held-out groups of seen kernels.
    assert h.q_dispatch > h.q


def test_saved_model_widens_only_dispatch_kernels(trained):
    sub, h, out = trained
    model = costmodel.load(out)
    hl = model.heads["instructions"]
    assert hl.q_dispatch == pytest.approx(h.q_dispatch)
    programs = pq.read_table(f"{DATA}/programs.parquet").to_pandas().set_index("ir_hash")
    samples = pq.read_table(f"{DATA}/samples.parquet",
                            columns=["ir_hash", "source"]).to_pandas()
    real_ir = programs.loc[samples[samples.source == "real_model"].ir_hash.iloc[0], "ir"]
    pred = model.predict(real_ir, schedules=[{}], targets="instructions")
    width = np.log(pred.upper["instructions"]) - np.log(pred.values["instructions"])
    assert width[0] >= hl.q_dispatch - 1e-9
    # Feature rows: a dispatch row gets the floor, a synthetic training row does not.
    rows = np.vstack([sub.X[sub.source == "real_model"][:1], sub.X[sub.source != "real_model"][:1]])
    assert list(is_dispatch(model.pre.transform(rows), hl.dispatch_col)) == [True, False]
    pred = model.predict(features=rows, targets="instructions")
    w = np.log(pred.upper["instructions"]) - np.log(pred.values["instructions"])
    assert w[0] >= hl.q_dispatch - 1e-9 and w[1] < hl.q_dispatch


def test_unknown_dispatch_column_is_refused(trained, tmp_path):
    from tests.model_edit import edited_copy

    _, _, out = trained
    # Re-signed, so the load gets past the checksum to the column check.
    bad = edited_copy(out, tmp_path / "bad", heads=lambda h: h["instructions"].update(
        dispatch_column="no.such.column"))
    with pytest.raises(ArtifactError, match="dispatch column 'no.such.column'"):
        costmodel.load(bad)
