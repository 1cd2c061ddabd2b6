"""MLIR front end: parse real IR, build a program graph, extract features and tokens.

>>> from costmodel.ir import analyze_text
>>> feats = analyze_text(open("kernel.mlir").read()).to_dict()
"""

from __future__ import annotations

from pathlib import Path

from costmodel.ir.features import FEATURE_SCHEMA_VERSION, ProgramFeatures, op_features
from costmodel.ir.graph import GraphBuilder, OpNode, ProgramGraph, build_graph
from costmodel.ir.onnx_import import onnx_to_linalg
from costmodel.ir.parse import ParsedModule, parse_mlir
from costmodel.ir.schedule import Schedule, parse_schedule_text
from costmodel.ir.source import decode_ir, read_input
from costmodel.ir.tokens import tokenize

__all__ = [
    "FEATURE_SCHEMA_VERSION", "GraphBuilder", "OpNode", "ParsedModule", "ProgramFeatures",
    "ProgramGraph", "Schedule", "analyze_file", "analyze_text", "build_graph", "load_ir",
    "onnx_to_linalg", "op_features", "parse_mlir", "parse_schedule_text", "tokenize",
]


def analyze_text(text: str | bytes, *, filename: str = "<input>") -> ProgramFeatures:
    """Parse MLIR text and return its features. Raises IRParseError / InputError."""
    parsed = parse_mlir(text, filename=filename)
    with parsed.context:
        graph = build_graph(parsed.module)
    return ProgramFeatures(graph)


def load_ir(path: str | Path) -> str:
    """MLIR text for a .mlir file, or for a .onnx model imported and lowered to linalg.

    An ONNX model under another name (``model.bin``, no extension) is not imported on a
    guess: it is an InputError that says to give it a .onnx extension."""
    data = read_input(path)
    name = str(path)
    if name.lower().endswith(".onnx"):
        return onnx_to_linalg(data, filename=name)
    return decode_ir(data, filename=name)


def analyze_file(path: str | Path) -> ProgramFeatures:
    return analyze_text(load_ir(path), filename=str(path))
