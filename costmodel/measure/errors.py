"""Typed errors of the measurement backend (all are CostModelError, so the CLI prints them cleanly)."""

from __future__ import annotations

from costmodel.errors import CostModelError


class MeasureError(CostModelError):
    """Base class for failures while compiling, running or profiling a module."""


class InfeasibleError(MeasureError):
    """The compiler rejected the module or its schedule; ``message`` is the compiler's own words.

    ``kind`` is "compile_error", "timeout" or "crash".
    """

    def __init__(self, message: str, *, kind: str = "compile_error",
                 diagnostics: tuple[str, ...] = ()) -> None:
        self.message = message
        self.kind = kind
        self.diagnostics = diagnostics
        super().__init__(f"infeasible ({kind}): {message}")


class RunError(MeasureError):
    """The compiled module failed to load or to run on the local-sync device."""


class CallgrindUnavailableError(MeasureError):
    """valgrind (or the seccomp support the workaround needs) is not available here."""


class CallgrindError(MeasureError):
    """valgrind ran but produced no usable instruction count."""
