"""IREE's default schedules made explicit: resolving them, featurizing default candidates by
them, keeping them beside a dataset, and resolving them on demand when predicting."""

from __future__ import annotations

import json

import numpy as np
import pytest

from costmodel.model.features import (FEATURE_NAMES, N_BASE, SCHEDULE_NAMES, KernelFeatures,
                                      feature_matrix, kernel_features)
from costmodel.programs import FAMILIES, Schedule, executable_configurations
from costmodel.programs.defaults import default_key, resolve_default

SHAPE = {"M": 96, "N": 200, "K": 77}
IS_DEFAULT = N_BASE + SCHEDULE_NAMES.index("sched.is_default")


@pytest.fixture(scope="module")
def matmul_ir() -> str:
    fam = FAMILIES["matmul"]
    return fam.render(SHAPE, Schedule.default())


def test_resolved_default_is_the_config_iree_prints(matmul_ir):
    d = resolve_default(matmul_ir, "none", target_cpu="znver3")
    assert d is not None and d["pipeline"] == "DoubleTilingExpert"
    assert len(d["levels"]["distribution"]) == 3 and not d["data_tiling"]
    dump = executable_configurations(matmul_ir, Schedule.default().compile_flags(),
                                     target_cpu="znver3")
    assert f"distribution = {d['levels']['distribution']}".replace(" ", "") in \
        dump.replace(" ", "")
    # The heuristics depend on the CPU: AVX-512 (znver4) gets 16-lane vector tiles.
    wide = resolve_default(matmul_ir, "none", target_cpu="znver4")
    assert wide["levels"]["vector_common_parallel"] != d["levels"]["vector_common_parallel"]
    # A module IREE rejects resolves to None rather than raising.
    assert resolve_default("func.func @f() { return }", target_cpu="znver3") is None


def test_default_key_names_only_resolvable_defaults():
    assert default_key(Schedule.default().to_dict()) == "none"
    assert default_key(Schedule.default(ukernels=True).to_dict()) == "all"
    assert default_key(Schedule.default(data_tiling=True).to_dict()) is None
    assert default_key(Schedule.make("DoubleTilingExpert",
                                     {"distribution": [8, 8, 0]}).to_dict()) is None


def test_default_candidates_are_featurized_by_the_resolved_schedule(matmul_ir):
    k = kernel_features(matmul_ir)
    d = resolve_default(matmul_ir, "none", target_cpu="znver3")
    explicit = Schedule.make(d["pipeline"], d["levels"]).to_dict()
    tiled = Schedule.default(data_tiling=True).to_dict()
    plain = feature_matrix(k, [Schedule.default().to_dict(), explicit, tiled])
    assert k.defaults is None and plain[0, IS_DEFAULT] == 1 and plain[1, IS_DEFAULT] == 0
    assert not np.array_equal(plain[0], plain[1])
    X = feature_matrix(k, [Schedule.default().to_dict(), explicit, tiled], defaults_cpu="znver3")
    assert k.defaults == {"znver3": {"none": d}}
    # The default row is the explicit row except for the is_default flag ...
    same = np.ones(len(FEATURE_NAMES), dtype=bool)
    same[IS_DEFAULT] = False
    np.testing.assert_array_equal(X[0, same], X[1, same])
    assert X[0, IS_DEFAULT] == 1
    # ... and a data-tiled default (another root op) keeps its plain features.
    np.testing.assert_array_equal(X[2], plain[2])
    # Precomputed kernels carry their defaults; without them nothing can be resolved.
    k2 = KernelFeatures.from_dict(json.loads(json.dumps(k.to_dict())))
    np.testing.assert_array_equal(
        feature_matrix(k2, [Schedule.default().to_dict()], defaults_cpu="znver3"), X[:1])
    bare = KernelFeatures.from_dict({**k.to_dict(), "defaults": None})
    np.testing.assert_array_equal(
        feature_matrix(bare, [Schedule.default().to_dict()], defaults_cpu="znver3"), plain[:1])
    with pytest.raises(Exception, match="defaults"):
        KernelFeatures.from_dict({**k.to_dict(), "defaults": ["not", "a", "map"]})
    with pytest.raises(Exception, match="defaults"):
        KernelFeatures.from_dict({**k.to_dict(), "defaults": {"none": d}})  # no CPU level
    # Without a CPU nothing is substituted (a model trained on unresolved defaults).
    np.testing.assert_array_equal(feature_matrix(k, [Schedule.default().to_dict()]), plain[:1])


def test_one_kernel_keeps_the_defaults_of_each_cpu(matmul_ir):
    # Kernels are cached across the server's models, which may be for other CPUs.
    k = kernel_features(matmul_ir)
    dflt = [Schedule.default().to_dict()]
    zen3 = feature_matrix(k, dflt, defaults_cpu="znver3")
    zen4 = feature_matrix(k, dflt, defaults_cpu="znver4")
    assert set(k.defaults) == {"znver3", "znver4"} and not np.array_equal(zen3, zen4)
    np.testing.assert_array_equal(feature_matrix(k, dflt, defaults_cpu="znver3"), zen3)


def test_dataset_defaults_are_kept_beside_it_and_reused(dataset, monkeypatch, tmp_path):
    import shutil

    from costmodel.model import default_configs as dc
    from costmodel.model.data import load_frame

    data = tmp_path / "copy"
    shutil.copytree(dataset, data)
    (data / dc.FILE).unlink(missing_ok=True)
    frame = load_frame(str(data))
    saved = json.loads((data / dc.FILE).read_text())
    manifest = json.loads((data / "manifest.json").read_text())
    assert saved["target_cpu"] == manifest["hardware"]["iree_target_cpu"] == \
        frame.defaults_target_cpu
    n_default = int((frame.is_default & ~frame.data_tiling).sum())
    assert n_default > 0 and len(saved["configs"]) > 0
    assert all(v.get("none") for v in saved["configs"].values())
    assert (frame.X[frame.is_default & ~frame.data_tiling, IS_DEFAULT] == 1).all()

    # The second load reads the file: no compile at all.
    def boom(*a, **k):
        raise AssertionError("resolved again")
    monkeypatch.setattr("costmodel.programs.defaults.resolve_default", boom)
    again = load_frame(str(data))
    np.testing.assert_array_equal(again.X, frame.X)
    # A file for another CPU is not trusted: it is resolved again (here: refused by boom).
    saved["target_cpu"] = "some-other-cpu"
    (data / dc.FILE).write_text(json.dumps(saved))
    with pytest.raises(AssertionError, match="resolved again"):
        load_frame(str(data))


def test_model_resolves_defaults_when_predicting(dataset, model_dir):
    import costmodel
    from costmodel.dataset import load

    model = costmodel.load(str(model_dir))
    manifest = load(str(dataset))[2]
    assert model.defaults_cpu == manifest["hardware"]["iree_target_cpu"]
    ir = FAMILIES["matmul"].render(SHAPE, Schedule.default())
    k = model.kernel(ir)
    d = resolve_default(ir, "none", target_cpu=model.defaults_cpu)
    explicit = Schedule.make(d["pipeline"], d["levels"]).to_dict()
    p = model.predict(kernel=k, schedules=[Schedule.default().to_dict(), explicit])
    assert k.defaults == {model.defaults_cpu: {"none": d}}
    X = model.features(k, [Schedule.default().to_dict(), explicit])
    same = np.ones(len(FEATURE_NAMES), dtype=bool)
    same[IS_DEFAULT] = False
    np.testing.assert_array_equal(X[0, same], X[1, same])
    assert np.isfinite(p.values["latency"]).all()
