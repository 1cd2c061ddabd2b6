"""One-call measurement: compile, static metrics, latency and optionally instruction count."""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass

from costmodel.measure.callgrind import count_compiled, valgrind_path
from costmodel.measure.compile import CompileResult, compile_module
from costmodel.measure.cpu import pinned
from costmodel.measure.errors import MeasureError
from costmodel.measure.inputs import make_inputs
from costmodel.measure.latency import LatencyResult, LatencySettings, time_vmfb
from costmodel.measure.options import CompileOptions


@dataclass(frozen=True)
class Measurement:
    compiled: CompileResult
    latency: LatencyResult | None = None
    instructions: int | None = None  # callgrind count of the haswell build's kernels
    callgrind_error: str | None = None  # the callgrind build failed though the main one did not

    @property
    def feasible(self) -> bool:
        return self.compiled.feasible

    @property
    def error(self) -> str | None:
        return self.compiled.error

    def to_dict(self) -> dict:
        """Flat record for a data set: one row per (program, schedule, options)."""
        c, a, lat = self.compiled, self.compiled.asm, self.latency
        ci = None if lat is None or math.isinf(lat.ci_rel) else lat.ci_rel
        return {
            "feasible": c.feasible,
            "error": c.error,
            "error_kind": c.error_kind,
            "compile_time_s": c.compile_time_s,
            "vmfb_bytes": c.vmfb_bytes if c.feasible else None,
            "static_instructions": a.static_instructions if a else None,
            "vector_share": a.vector_share if a else None,
            "spills": c.spills,
            "reloads": c.reloads,
            "latency_median_s": lat.median_s if lat else None,
            "latency_iqr_s": lat.iqr_s if lat else None,
            "latency_calls": lat.calls if lat else None,
            "latency_ci_rel": ci,
            "noisy": lat.noisy if lat else None,
            "instructions": self.instructions,
            # context beyond the core fields
            "wide_vector_share": a.wide_vector_share if a else None,
            "spill_source": c.spill_source,
            "latency_samples": lat.samples if lat else None,
            "latency_batch": lat.batch if lat else None,
            "callgrind_error": self.callgrind_error,
            "entry": c.entry,
            "target_cpu": c.options.target_cpu,
            "data_tiling": c.options.data_tiling,
            "ukernels": c.options.ukernels,
        }


def measure(mlir_text: str, *, options: CompileOptions | None = None, latency: bool = True,
            callgrind: bool = False, entry: str | None = None, seed: int = 0,
            latency_settings: LatencySettings | None = None, pin_core: int | None = None,
            callgrind_timeout_s: float = 600.0) -> Measurement:
    """Compile and measure one module. An infeasible schedule returns ``feasible=False``
    with the compiler's message; it is not raised.

    ``pin_core`` pins the process to that core while timing (see cpu.pin_to_core).
    ``callgrind=True`` compiles a second, callgrind-ready build (haswell, system .so) and
    counts its kernel instructions; raises CallgrindUnavailableError if valgrind is missing.
    """
    options = options or CompileOptions()
    if callgrind:
        valgrind_path()
    compiled = compile_module(mlir_text, options, entry=entry)
    if not compiled.feasible:
        return Measurement(compiled)
    if (latency or callgrind) and compiled.signature is None:
        raise MeasureError(f"cannot generate inputs: {compiled.signature_error}")
    inputs = make_inputs(compiled.signature, seed) if (latency or callgrind) else None
    lat = None
    if latency:
        with pinned(pin_core) if pin_core is not None else nullcontext():
            lat = time_vmfb(compiled.vmfb, inputs, entry=compiled.entry, settings=latency_settings)
    count, cg_error = None, None
    if callgrind:
        cg_compiled = (compiled if options.callgrind_ready
                       else compile_module(mlir_text, options.for_callgrind(), entry=entry))
        if cg_compiled.feasible:
            count = count_compiled(cg_compiled, inputs, timeout_s=callgrind_timeout_s).instructions
        else:
            cg_error = cg_compiled.error
    return Measurement(compiled, lat, count, cg_error)
