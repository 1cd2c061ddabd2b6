"""The in-process API on bad input: typed InputErrors that name the argument or the
schedule, never a raw TypeError/KeyError, and no silently scored nonsense."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import costmodel
from costmodel.errors import InputError
from costmodel.ir import analyze_text, load_ir
from costmodel.programs import FAMILIES, sample_schedules

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "default"
pytestmark = pytest.mark.skipif(not (SHIPPED / "manifest.json").exists(),
                                reason="needs the shipped model")


@pytest.fixture(scope="module")
def model():
    return costmodel.load(SHIPPED)


@pytest.fixture(scope="module")
def matmul(model):
    fam = FAMILIES["matmul"]
    rng = np.random.default_rng(0)
    shape = fam.sample_shape(rng)
    good = next(d for d in (s.to_dict() for s in sample_schedules(fam, shape, rng, 40))
                if {"distribution", "vector_reduction"} <= set(d["levels"]))
    return model.kernel(fam.render(shape)), good


@pytest.mark.parametrize("call, says", [
    (lambda m: costmodel.load(None), "takes a model directory path, got NoneType"),
    (lambda m: analyze_text(None), "expected MLIR text (str or bytes), got NoneType"),
    (lambda m: analyze_text(3), "got int"),
    (lambda m: m.kernel(b"x"), "ir must be MLIR text (str)"),
    (lambda m: m.predict(kernel="abc"), "kernel= takes model.kernel(ir)"),
    (lambda m: m.predict(kernel={}), "not a KernelFeatures.to_dict() object"),
    (lambda m: m.predict(features="x"), "features must be a numeric"),
    (lambda m: m.predict(ir=3), "ir must be MLIR text"),
    (lambda m: m.predict(features=np.zeros((1, 3))), "features must have shape"),
])
def test_bad_argument_types_are_input_errors(model, call, says):
    with pytest.raises(InputError, match=None) as exc:
        call(model)
    assert says in str(exc.value)


def test_prediction_best_checks_its_arguments(model, matmul):
    kernel, good = matmul
    pred = model.predict(kernel=kernel, schedules=[good, {}])
    assert pred.best("latency", k=2) in ([0, 1], [1, 0])
    with pytest.raises(InputError, match="no prediction for target 'nope'"):
        pred.best("nope")
    with pytest.raises(InputError, match="k must be an integer >= 1"):
        pred.best(k=0)
    with pytest.raises(InputError, match="targets must be"):
        model.predict(kernel=kernel, schedules=[good], targets=3)


def _mutate(good: dict, how) -> dict:
    d = copy.deepcopy(good)
    how(d)
    return d


@pytest.mark.parametrize("how, says", [
    (lambda d: d["levels"]["distribution"].__setitem__(0, -4), "tile size -4 is not an integer"),
    (lambda d: d["levels"]["distribution"].__setitem__(0, float("nan")), "tile size nan"),
    (lambda d: d["levels"]["distribution"].__setitem__(0, 2.5), "tile size 2.5"),
    (lambda d: d["levels"]["distribution"].__setitem__(0, 10**12), "tile size 1e+12"),
    (lambda d: d["levels"].__setitem__("distribution", d["levels"]["distribution"][:2]),
     "different numbers of tile sizes"),
    (lambda d: d["levels"].__setitem__("vector_reduction", [4, 0, 0]), "no op of the kernel fits"),
    (lambda d: d.__setitem__("levels", {k: v + [1] for k, v in d["levels"].items()}),
     "gives 4 tile sizes per level"),
    (lambda d: d.__setitem__("pipeline", "FastExpert"), "unknown pipeline 'FastExpert'"),
    (lambda d: d["levels"].__setitem__("vector_reduce", d["levels"].pop("vector_reduction")),
     "unknown tiling level(s) ['vector_reduce']"),
    (lambda d: d.__setitem__("tile", 4), "unknown key(s) ['tile']"),
])
def test_invalid_schedules_are_rejected_naming_the_candidate(model, matmul, how, says):
    kernel, good = matmul
    with pytest.raises(InputError) as exc:
        model.predict(kernel=kernel, schedules=[good, _mutate(good, how)])
    assert str(exc.value).startswith("schedule 1: ") and says in str(exc.value)
    with pytest.raises(InputError):
        model.predict(kernel=kernel, schedules=[{"foo": 1}])


def test_every_schedule_the_repo_generates_is_accepted(model):
    # The check must not reject what the sampler (and so every dataset) produces.
    rng = np.random.default_rng(1)
    for name, fam in FAMILIES.items():
        shape = fam.sample_shape(rng)
        scheds = [s.to_dict() for s in sample_schedules(fam, shape, rng, 30)]
        pred = model.predict(fam.render(shape), schedules=scheds, targets="latency")
        assert len(pred) == len(scheds), name


def test_an_onnx_model_without_its_extension_gets_a_hint(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    path = tmp_path / "model.bin"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    assert onnx.load(str(path)).graph.node
    with pytest.raises(InputError, match="is an ONNX model, not MLIR text; give the file a .onnx"):
        load_ir(path)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01binary")
    with pytest.raises(InputError) as exc:
        load_ir(junk)
    assert "ONNX" not in str(exc.value)
