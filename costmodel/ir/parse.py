"""Parse MLIR text with the real MLIR bindings shipped in iree-base-compiler."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from iree.compiler import ir

from costmodel.errors import InputError, IRParseError
from costmodel.ir.source import decode_ir, looks_like_onnx, onnx_hint

#: C0 control characters other than tab, newline, vertical tab, form feed, return.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
_LOC_RE = re.compile(r'loc\("(?P<file>[^"]*)":(?P<line>\d+):(?P<col>\d+)')


@dataclass
class ParsedModule:
    """A parsed module together with the context that owns it (the module dies with it)."""

    context: ir.Context
    module: ir.Module
    text: str
    filename: str


def _location(loc: ir.Location) -> tuple[int, int] | None:
    m = _LOC_RE.search(str(loc))
    if m is None:
        return None
    return int(m.group("line")), int(m.group("col"))


def _one_line(msg: str) -> str:
    return " ".join(msg.split())


def to_parse_error(exc: ir.MLIRError, filename: str) -> IRParseError:
    """Turn MLIR's diagnostics into one typed error pointing at line:column."""
    diags = list(exc.error_diagnostics)
    for diag in diags:
        pos = _location(diag.location)
        if pos is not None:
            notes = tuple(
                f"{_location(n.location) or ''} {_one_line(n.message)}".strip() for n in diag.notes
            )
            return IRParseError(_one_line(diag.message), line=pos[0], column=pos[1],
                                filename=filename, notes=notes)
    message = _one_line(diags[0].message) if diags else _one_line(str(exc))
    return IRParseError(message, line=1, column=1, filename=filename)


_local = threading.local()
#: A context is reused by its thread for this many parses or bytes of IR, then replaced:
#: creating one (registering every dialect) costs ~20 ms, far more than parsing a kernel,
#: while the types and attributes it uniques are only freed with it.
MAX_PARSES_PER_CONTEXT = 256
MAX_BYTES_PER_CONTEXT = 32 << 20


def _context(nbytes: int) -> ir.Context:
    state = getattr(_local, "state", None)
    if (state is None or state[1] >= MAX_PARSES_PER_CONTEXT
            or state[2] + nbytes > MAX_BYTES_PER_CONTEXT):
        ctx = ir.Context()
        # No MLIR thread pool: it would cost threads per request thread and leave locks
        # that make fork() unsafe.
        ctx.enable_multithreading(False)
        state = _local.state = [ctx, 0, 0]
    state[1] += 1
    state[2] += nbytes
    return state[0]


def parse_mlir(data: bytes | str, *, filename: str = "<input>") -> ParsedModule:
    """Parse and verify MLIR text; raise IRParseError (with line:column) or InputError."""
    text = decode_ir(data, filename=filename)
    ctx = _context(len(text))
    try:
        with ctx, ir.Location.unknown():
            module = ir.Module.parse(text)
    except ir.MLIRError as exc:
        # A small ONNX model can be valid UTF-8 without NUL bytes (and, written without
        # ir_version first, not start with 0x08): decode_ir lets it through as text. Raw
        # control characters, which MLIR text does not contain, make it worth asking.
        if _CONTROL.search(text) and looks_like_onnx(text.encode("utf-8", "surrogatepass")):
            raise onnx_hint(filename) from None
        raise to_parse_error(exc, filename) from None
    except (ValueError, RuntimeError) as exc:  # bindings raise these for some malformed input
        raise InputError(f"{filename}: {_one_line(str(exc))}") from None
    if not len(module.body.operations):
        raise InputError(f"{filename}: module contains no operations")
    return ParsedModule(context=ctx, module=module, text=text, filename=filename)
