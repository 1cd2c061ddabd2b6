"""ONNX -> MLIR (linalg on tensors) through IREE's importer and input pipeline."""

from __future__ import annotations

import onnx
from iree.compiler import OutputFormat, compile_str, ir
from iree.compiler.extras import onnx_importer
from iree.compiler.tools import CompilerToolError

from costmodel.errors import OnnxImportError


def onnx_to_torch_mlir(data: bytes, *, filename: str = "<onnx>") -> str:
    """Import an ONNX model to the torch dialect (shape inference first, or types are lost)."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise OnnxImportError(f"{filename}: expected a serialized ONNX model (bytes), "
                              f"got {type(data).__name__}")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise OnnxImportError(f"{filename}: not a valid ONNX model ({_first_line(exc)})") from None
    if not model.graph.node:
        raise OnnxImportError(f"{filename}: ONNX graph has no nodes")
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:
        raise OnnxImportError(f"{filename}: ONNX shape inference failed: {_first_line(exc)}") from None
    try:
        ctx = ir.Context()
        info = onnx_importer.ModelInfo(model)
        module = info.create_module(context=ctx).operation
        importer = onnx_importer.NodeImporter.define_function(info.main_graph, module)
        importer.import_all()
        return module.get_asm(enable_debug_info=False)
    except Exception as exc:
        raise OnnxImportError(f"{filename}: ONNX import failed: {_first_line(exc)}") from None


def lower_to_linalg(torch_mlir: str, *, filename: str = "<onnx>") -> str:
    """Run IREE's input conversion so the result is plain linalg/tensor/arith."""
    try:
        out = compile_str(torch_mlir, target_backends=["llvm-cpu"], input_type="onnx",
                          extra_args=["--compile-to=input", "--mlir-print-debuginfo=false"],
                          output_format=OutputFormat.MLIR_TEXT)
    except CompilerToolError as exc:
        raise OnnxImportError(f"{filename}: lowering to linalg failed: {_compiler_error(exc)}") from None
    return out.decode() if isinstance(out, bytes) else out


def onnx_to_linalg(data: bytes, *, filename: str = "<onnx>") -> str:
    return lower_to_linalg(onnx_to_torch_mlir(data, filename=filename), filename=filename)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


def _compiler_error(exc: CompilerToolError) -> str:
    """The first 'error:' line of the compiler's output, which names the failing op."""
    text = str(exc)
    for line in text.splitlines():
        if "error:" in line:
            return line.strip()[:500]
    return _first_line(exc)
