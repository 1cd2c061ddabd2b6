"""ONNX models go through IREE's importer and input pipeline, then the same features apply."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from benchmarks.onnx_sweep import node_models, sweep
from costmodel.errors import OnnxImportError
from costmodel.ir import analyze_file


def mlp_model(m: int = 6, k: int = 10, n: int = 7) -> bytes:
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((k, n)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal((n,)).astype(np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["mm"]),
         helper.make_node("Add", ["mm", "b"], ["biased"]),
         helper.make_node("Relu", ["biased"], ["y"])],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
        initializer=[w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def test_onnx_model_is_imported_lowered_and_analyzed(tmp_path):
    path = tmp_path / "mlp.onnx"
    path.write_bytes(mlp_model())
    feats = analyze_file(path).to_dict()
    matmuls = [o for o in feats["ops"] if o["family"] in ("matmul", "contraction")]
    assert len(matmuls) == 1
    assert matmuls[0]["flops"] == 2 * 6 * 7 * 10
    # Bias add and ReLU are elementwise work over the 6x7 output on top of the matmul.
    assert feats["total"]["flops"] >= 2 * 6 * 7 * 10 + 2 * 6 * 7
    assert feats["total"]["families"].get("elementwise", 0) >= 1


def test_corrupt_onnx_is_a_typed_error(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07garbage that is not a protobuf\xff\xff")
    with pytest.raises(OnnxImportError):
        analyze_file(path)


def test_node_model_sweep_sample_has_only_typed_failures():
    models = node_models()
    assert len(models) > 1000, "onnx ships its backend node tests (onnx<1.23)"
    sample = models[::15]
    results = sweep(sample, workers=2, progress=False)
    untyped = [r for r in results if r[1] == "untyped_error"]
    assert not untyped, untyped[:5]
    ok = sum(1 for r in results if r[1] == "ok")
    share = ok / len(results)
    print(f"\nsupported {ok}/{len(results)} = {share:.1%} of sampled onnx node models")
    assert share >= 0.4
