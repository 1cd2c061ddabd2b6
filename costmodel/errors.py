"""Typed errors. Every user-facing failure is one of these, never a raw traceback."""

from __future__ import annotations


class CostModelError(Exception):
    """Base class for errors the CLI and the service turn into clean messages."""


class InputError(CostModelError, ValueError):
    """The input itself is unusable: empty, binary, too large, wrong format."""


class IRParseError(InputError):
    """MLIR text that MLIR's own parser or verifier rejected.

    ``line`` and ``column`` are 1-based and point into the text that was given to us.
    """

    def __init__(self, message: str, *, line: int, column: int, filename: str = "<input>",
                 notes: tuple[str, ...] = ()) -> None:
        self.diagnostic = message
        self.line = line
        self.column = column
        self.filename = filename
        self.notes = notes
        super().__init__(f"{filename}:{line}:{column}: error: {message}")


class OnnxImportError(InputError):
    """An ONNX model that could not be imported and lowered to linalg."""
