"""Measurement backend: ground-truth labels for the cost model.

Compile MLIR for llvm-cpu (static metrics from the kernels' assembly), time the entry
function on the single-threaded local-sync device, and optionally count the kernels'
instructions under callgrind.

>>> from costmodel.measure import measure, CompileOptions
>>> record = measure(open("matmul.mlir").read(), options=CompileOptions()).to_dict()

Compiling and timing are separable: ``compile_module`` returns plain, picklable data
(parallel workers), and ``time_vmfb`` needs only the vmfb bytes (one pinned timing process).
"""

from __future__ import annotations

from costmodel.measure.asm import AsmMetrics, asm_metrics, asm_metrics_from_dir
from costmodel.measure.callgrind import (CallgrindResult, callgrind_instructions, count_compiled,
                                         count_instructions)
from costmodel.measure.compile import CompileResult, compile_module
from costmodel.measure.cpu import allowed_cores, pin_to_core, pinned
from costmodel.measure.errors import (CallgrindError, CallgrindUnavailableError, InfeasibleError,
                                      MeasureError, RunError)
from costmodel.measure.inputs import make_inputs
from costmodel.measure.latency import (LatencyResult, LatencySettings, time_callable, time_module,
                                       time_vmfb)
from costmodel.measure.measurement import Measurement, measure
from costmodel.measure.options import CALLGRIND_CPU, CompileOptions
from costmodel.measure.runtime import LoadedModule
from costmodel.measure.signature import ArgSpec, Signature, entry_signature
from costmodel.measure.stats import SampleSummary, median_ci_ranks, summarize

__all__ = [
    "CALLGRIND_CPU", "ArgSpec", "AsmMetrics", "CallgrindError", "CallgrindResult",
    "CallgrindUnavailableError", "CompileOptions", "CompileResult", "InfeasibleError",
    "LatencyResult", "LatencySettings", "LoadedModule", "MeasureError", "Measurement", "RunError",
    "SampleSummary", "Signature", "allowed_cores", "asm_metrics", "asm_metrics_from_dir",
    "callgrind_instructions", "compile_module", "count_compiled", "count_instructions",
    "entry_signature", "make_inputs", "measure", "median_ci_ranks", "pin_to_core", "pinned",
    "summarize", "time_callable", "time_module", "time_vmfb",
]
