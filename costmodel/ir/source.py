"""Read and vet IR input before it reaches the MLIR parser.

MLIR's parser is recursive C++: a pathological input (megabytes of nesting) can
exhaust the stack and kill the process, so such inputs are refused up front.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from costmodel.errors import InputError

#: Inputs larger than this are refused; override with COSTMODEL_MAX_IR_BYTES.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: Deepest bracket nesting we hand to the parser; real IR stays far below this.
MAX_NESTING = 2000

_OPEN = np.frombuffer(b"({[", dtype=np.uint8)
_CLOSE = np.frombuffer(b")}]", dtype=np.uint8)


def max_bytes() -> int:
    raw = os.environ.get("COSTMODEL_MAX_IR_BYTES")
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"COSTMODEL_MAX_IR_BYTES must be an integer, got {raw!r}") from None
    if value <= 0:
        raise InputError(f"COSTMODEL_MAX_IR_BYTES must be positive, got {value}")
    return value


def decode_ir(data: bytes | str, *, filename: str = "<input>") -> str:
    """Return IR text, or raise InputError for empty, binary, oversized or over-nested input."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, (str, bytes)):
        raise InputError(f"{filename}: expected MLIR text (str or bytes), "
                         f"got {type(data).__name__}")
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")
    limit = max_bytes()
    if len(data) > limit:
        raise InputError(f"{filename}: input is {len(data)} bytes, over the {limit}-byte limit "
                         "(set COSTMODEL_MAX_IR_BYTES to raise it)")
    if not data.strip():
        raise InputError(f"{filename}: input is empty")
    if data.startswith(b"ML\xefR"):
        raise InputError(f"{filename}: MLIR bytecode is not accepted; pass textual IR "
                         "(iree-opt --emit-bytecode=false)")
    # A serialized ONNX model starts with field 1 (ir_version) as a varint: byte 0x08,
    # which no MLIR text starts with. Other binary input (NUL bytes, not UTF-8) is asked
    # too, for models written without ir_version first.
    if data[:1] == b"\x08" and looks_like_onnx(data):
        raise onnx_hint(filename)
    if b"\x00" in data:
        if looks_like_onnx(data):
            raise onnx_hint(filename)
        raise InputError(f"{filename}: input is binary (contains NUL bytes), not MLIR text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if looks_like_onnx(data):
            raise onnx_hint(filename) from None
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(f"{filename}:{line}:{col}: input is not UTF-8 text") from None
    _check_nesting(data, filename)
    return text


def onnx_hint(filename: str) -> InputError:
    return InputError(f"{filename}: this is an ONNX model, not MLIR text; give the file "
                      "a .onnx extension (or pass it as ONNX: costmodel.ir.onnx_to_linalg)")


def looks_like_onnx(data: bytes) -> bool:
    """A protobuf that parses as an ONNX ModelProto with a graph (only asked for input that
    is binary or failed to parse as MLIR, so the import cost does not matter)."""
    try:
        import onnx
        m = onnx.ModelProto()
        m.ParseFromString(data)
        return m.HasField("graph") and len(m.graph.node) > 0
    except Exception:  # noqa: BLE001 - any parse failure just means "no hint"
        return False


def _check_nesting(data: bytes, filename: str) -> None:
    arr = np.frombuffer(data, dtype=np.uint8)
    step = np.isin(arr, _OPEN).astype(np.int32) - np.isin(arr, _CLOSE).astype(np.int32)
    # Angle brackets nest types (tensor<tensor<...>>), but '->', '>=' and '<=' are not brackets.
    prev = np.concatenate(([0], arr[:-1]))
    nxt = np.concatenate((arr[1:], [0]))
    step += ((arr == ord("<")) & (nxt != ord("="))).astype(np.int32)
    step -= ((arr == ord(">")) & (prev != ord("-")) & (nxt != ord("="))).astype(np.int32)
    depth = np.cumsum(step)
    if depth.size and int(depth.max()) > MAX_NESTING:
        pos = int(np.argmax(depth > MAX_NESTING))
        line = data.count(b"\n", 0, pos) + 1
        col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        raise InputError(f"{filename}:{line}:{col}: brackets nest deeper than {MAX_NESTING} levels")


def read_input(path: str | Path) -> bytes:
    """Read a file with size checking before loading it whole."""
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"path must be a file path (str or os.PathLike), "
                         f"got {type(path).__name__}")
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if not p.is_file():
        raise InputError(f"{p}: not a regular file")
    size = p.stat().st_size
    limit = max_bytes()
    if size > limit:
        raise InputError(f"{p}: input is {size} bytes, over the {limit}-byte limit "
                         "(set COSTMODEL_MAX_IR_BYTES to raise it)")
    return p.read_bytes()
