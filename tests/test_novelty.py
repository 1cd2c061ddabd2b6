"""Wider intervals for kernels of a new structure (costmodel/model/structure.py; models of
format 4 and older: the distance test of novelty.py), on a model trained with `costmodel
train` on a real measured dataset of matmul and transpose kernels."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import costmodel
from costmodel.dataset import load as load_dataset
from costmodel.model import ArtifactError, ChecksumMismatchError
from costmodel.programs import FAMILIES


def test_unfamiliar_kernels_get_the_out_of_family_half_width(dataset, model_dir):
    model = costmodel.load(model_dir)
    for t in model.targets:
        h = model.heads[t]
        assert h.structure is not None and h.q_novel is not None and h.q_novel >= h.q
        assert h.novelty is None  # format 5: the distance test is no longer trained
    # Static instruction counts, not latency: the tiny dataset's latencies are microseconds
    # timed live, and on some machines their held-out-family residuals came out no larger
    # than a held-out group's (q_novel == q), with cm-features-2 and -3 alike.
    h = model.heads["instructions"]
    assert h.q_novel > h.q  # a held-out family's residuals are larger than a held-out group's
    samples, programs, _ = load_dataset(dataset)
    seen = programs.column("ir").to_pylist()[0]  # a training kernel
    rng = np.random.default_rng(0)
    fam = FAMILIES["softmax"]  # a family the model never saw
    unseen = fam.render(fam.sample_shape(rng))
    # A matmul of a shape no training kernel has: a seen structure, so the ordinary band.
    mm = FAMILIES["matmul"]
    trained = set(programs.column("ir").to_pylist())
    new_shape = next(ir for ir in (mm.render(mm.sample_shape(rng)) for _ in range(50))
                     if ir not in trained)
    for ir, q in ((seen, h.q), (new_shape, h.q), (unseen, h.q_novel)):
        pred = model.predict(ir, schedules=[{}], targets="instructions")
        z = np.log(pred.values["instructions"])
        np.testing.assert_allclose(np.log(pred.upper["instructions"]) - z, q, rtol=1e-9)
        np.testing.assert_allclose(z - np.log(pred.lower["instructions"]), q, rtol=1e-9)
    # Precomputed feature rows judge each row on its own.
    rows = np.vstack([model.features(seen, [{}]), model.features(unseen, [{}])])
    pred = model.predict(features=rows, targets="instructions")
    width = np.log(pred.upper["instructions"]) - np.log(pred.values["instructions"])
    np.testing.assert_allclose(width, [h.q, h.q_novel], rtol=1e-9)


def test_structure_files_are_checksummed_and_recorded(model_dir, tmp_path):
    import shutil

    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert {"structure.json", "structure.npy"} <= set(manifest["files"])
    assert "novelty.json" not in manifest["files"] and manifest["format_version"] == 5
    spec = json.loads((model_dir / "structure.json").read_text())
    refs = np.load(model_dir / "structure.npy", allow_pickle=False)
    # Two families, each one structure (transpose: two permutations at most).
    assert refs.shape[1] == len(spec["columns"]) and 2 <= refs.shape[0] <= 4
    assert not any("extent" in c or "ngram" in c or "flops" in c for c in spec["columns"])
    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    np.save(bad / "structure.npy", refs * 2, allow_pickle=False)
    with pytest.raises(ChecksumMismatchError, match="structure.npy"):
        costmodel.load(bad)
    # A structure file naming a column the model does not keep is refused, not half-read.
    spec["columns"][0] = "no.such.column"
    (bad / "structure.json").write_text(json.dumps(spec))
    np.save(bad / "structure.npy", refs, allow_pickle=False)
    m = json.loads((bad / "manifest.json").read_text())
    for f in ("structure.json", "structure.npy"):
        m["files"][f] = hashlib.sha256((bad / f).read_bytes()).hexdigest()
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="malformed structure files"):
        costmodel.load(bad)


def test_structure_test_matches_the_brute_force():
    """Rows equal to a reference (also after a float32 round trip) are seen, any other row
    new; one kernel's candidates (the fast path) and mixed rows decide alike."""
    from costmodel.model.structure import Structure

    rng = np.random.default_rng(0)
    refs = np.log1p(rng.integers(0, 9, size=(6, 5))).astype(float)
    st = Structure.build(np.hstack([np.zeros((6, 1)), refs]), np.arange(1, 6))
    assert len(st.refs) == len(np.unique(refs, axis=0))
    other = refs[0] + np.array([0, 0, 0.01, 0, 0])
    rows = np.vstack([refs[[3, 1]], other, refs[[5]]])
    X = np.hstack([rng.normal(size=(4, 1)), rows]).astype(np.float32)  # col 0 is ignored
    assert st.is_new(X).tolist() == [False, False, True, False]
    assert st.is_new(np.repeat(X[[2]], 7, axis=0)).all()
    assert not st.is_new(np.repeat(X[[0]], 7, axis=0)).any()
    assert st.is_new(X[:0]).shape == (0,)


def test_distance_dedupes_rows_exactly():
    """Distances computed once per distinct kernel equal the per-row brute force, for one
    kernel's candidates (the fast path) and for rows of several kernels."""
    from costmodel.model.novelty import Novelty, _distinct_rows

    rng = np.random.default_rng(0)
    kernels = rng.normal(size=(5, 7))
    X = kernels[rng.integers(0, 5, 300)]
    nov = Novelty(np.arange(7), np.zeros(7), np.ones(7),
                  rng.normal(size=(40, 7)).astype(np.float32), threshold=1.0)
    R = nov.refs.astype(np.float64)
    brute = np.sqrt(((X[:, None, :] - R[None]) ** 2).sum(-1).min(1) / 7)
    assert np.allclose(nov.distance(X), brute, rtol=1e-9, atol=1e-12)
    one = np.repeat(kernels[[2]], 50, axis=0)
    want = np.sqrt(((kernels[2] - R) ** 2).sum(-1).min() / 7)
    assert np.allclose(nov.distance(one), want, rtol=1e-9)
    uniq, inv = _distinct_rows(X)
    assert len(uniq) == 5 and np.array_equal(uniq[inv], X)
    uniq1, inv1 = _distinct_rows(one)
    assert len(uniq1) == 1 and not inv1.any()


def test_format_4_models_keep_the_distance_test(dataset, model_dir, tmp_path):
    """A format-4 model (novelty.json / novelty.npy, no structure files) still loads, and its
    novel half-width goes to the kernels its distance test calls far, also in the ONNX
    export's interval rule."""
    from costmodel.model.novelty import Novelty
    from tests.model_edit import edited_copy

    model = costmodel.load(model_dir)
    samples, programs, _ = load_dataset(dataset)
    seen = programs.column("ir").to_pylist()[0]
    fam = FAMILIES["softmax"]
    unseen = fam.render(fam.sample_shape(np.random.default_rng(0)))
    Xk = model.pre.transform(np.vstack([model.features(seen, [{}]),
                                        model.features(unseen, [{}])]))
    cols = model.heads["instructions"].structure.cols
    nov = Novelty.build(Xk[:1], cols, np.arange(1))
    nov.threshold = 1e-3  # the training kernel is its own reference; the softmax is far
    old = tmp_path / "format4"

    def downgrade(m: dict) -> None:
        m["format_version"] = 4
        del m["files"]["structure.json"], m["files"]["structure.npy"]
        for f in ("novelty.json", "novelty.npy"):
            m["files"][f] = hashlib.sha256((old / f).read_bytes()).hexdigest()

    def write_novelty(_: dict) -> None:
        for f in ("structure.json", "structure.npy"):
            (old / f).unlink()
        np.save(old / "novelty.npy", nov.refs, allow_pickle=False)
        (old / "novelty.json").write_text(json.dumps(nov.to_json(model.pre.names)))

    edited_copy(model_dir, old, heads=write_novelty, manifest=downgrade)
    m4 = costmodel.load(old)
    h = m4.heads["instructions"]
    assert h.structure is None and h.novelty is not None
    pred = m4.predict(features=np.vstack([model.features(seen, [{}]),
                                          model.features(unseen, [{}])]),
                      targets="instructions")
    width = np.log(pred.upper["instructions"]) - np.log(pred.values["instructions"])
    np.testing.assert_allclose(width, [h.q, h.q_novel], rtol=1e-9)
    pytest.importorskip("onnxmltools")
    from costmodel.model.onnx_export import export
    out = export(str(old), str(tmp_path / "onnx"))
    rule = json.loads((out / "manifest.json").read_text())["intervals"]["instructions"]
    assert rule["novel_rule"] == "distance" and (out / "novelty.npy").is_file()
