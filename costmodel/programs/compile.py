"""Compile generated modules with IREE (llvm-cpu) and report success or the compiler's reason.

A failed compile of a valid-looking schedule is a real, cheap feasibility label: the
compiler rejects e.g. vectors over its size limit or tilings a pipeline cannot lower.
"""

from __future__ import annotations

import functools
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from iree.compiler import OutputFormat, compile_str
from iree.compiler.tools.core import CompilerOptions, build_compile_command_line
from iree.compiler.tools.debugging import TempFileSaver

from costmodel.measure.compile import compiler_errors

#: Vector-size verifier's budget: native_vector_size * this many native vectors
#: (IREE's --iree-llvmcpu-max-allowed-number-of-native-vectors, default 512). The compiler
#: rejects any vector op whose size in bytes is >= the product.
MAX_NATIVE_VECTORS = 512
DEFAULT_TARGET_CPU = "host"

_PROBE = """func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
      iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""


@dataclass(frozen=True)
class TargetInfo:
    """What IREE resolved for the target CPU (read from its own executable target attr)."""

    cpu: str
    native_vector_size: int  # bytes: 32 on AVX2, 64 on AVX-512
    max_stack_allocation_size: int

    @property
    def vector_limit_bytes(self) -> int:
        """Vectors of this many bytes or more fail to compile."""
        return self.native_vector_size * MAX_NATIVE_VECTORS


@functools.lru_cache(maxsize=8)
def target_info(target_cpu: str = DEFAULT_TARGET_CPU) -> TargetInfo:
    """Ask the compiler once which CPU 'host' is; the vector limit depends on it."""
    out = compile_str(_PROBE, target_backends=["llvm-cpu"],
                      extra_args=[f"--iree-llvmcpu-target-cpu={target_cpu}",
                                  "--compile-to=executable-configurations"],
                      output_format=OutputFormat.MLIR_TEXT)
    text = out.decode() if isinstance(out, bytes) else out

    def grab(pattern: str, default: str) -> str:
        m = re.search(pattern, text)
        return m.group(1) if m else default

    return TargetInfo(cpu=grab(r'cpu = "([^"]*)"', target_cpu),
                      native_vector_size=int(grab(r"native_vector_size = (\d+)", "16")),
                      max_stack_allocation_size=int(
                          grab(r"max_stack_allocation_size = (\d+)", "32768")))


@dataclass(frozen=True)
class CompileCheck:
    ok: bool
    seconds: float
    error: str | None = None  # first "error:" line of the diagnostics when not ok
    vmfb: bytes | None = None  # the flatbuffer, when requested


def base_flags(target_cpu: str = DEFAULT_TARGET_CPU) -> list[str]:
    return [f"--iree-llvmcpu-target-cpu={target_cpu}"]


#: Compiles that run longer than this are labeled infeasible. Typical kernels take
#: 0.3-1.5 s; very large unrolled vector tiles can take minutes in LLVM.
DEFAULT_TIMEOUT_S = 60.0


def compile_command(flags: Sequence[str] = (), *, target_cpu: str = DEFAULT_TARGET_CPU,
                    output_format: OutputFormat = OutputFormat.FLATBUFFER_BINARY) -> list[str]:
    """The iree-compile command line compile_str would run (input on stdin)."""
    options = CompilerOptions(target_backends=["llvm-cpu"], output_format=output_format,
                              output_mlir_debuginfo=False,
                              extra_args=[*base_flags(target_cpu), *flags])
    with TempFileSaver.implicit() as tfs:
        return build_compile_command_line("-", tfs, options)


def quick_compile(text: str, flags: Sequence[str] = (), *, target_cpu: str = DEFAULT_TARGET_CPU,
                  keep_vmfb: bool = False, timeout: float | None = DEFAULT_TIMEOUT_S
                  ) -> CompileCheck:
    """Does it compile? A feasibility check with raw flags and no metrics; never raises on
    compiler rejection. Measurements use costmodel.measure.compile_module instead.

    Runs the same command as ``iree.compiler.compile_str`` but as our own subprocess, so
    a pathological schedule can be stopped after ``timeout`` seconds.
    """
    cmd = compile_command(flags, target_cpu=target_cpu)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # subprocess.run has already killed the compiler
        return CompileCheck(False, time.perf_counter() - t0,
                             error=f"compile timed out after {timeout:g} s")
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        return CompileCheck(False, dt, error=first_error(proc.stderr.decode(errors="replace")))
    return CompileCheck(True, dt, vmfb=proc.stdout if keep_vmfb else None)


def executable_configurations(text: str, flags: Sequence[str] = (), *,
                              target_cpu: str = DEFAULT_TARGET_CPU) -> str:
    """The module after IREE picked lowering configs: shows the heuristics' choices."""
    out = compile_str(text, target_backends=["llvm-cpu"],
                      extra_args=[*base_flags(target_cpu), *flags,
                                  "--compile-to=executable-configurations"],
                      output_format=OutputFormat.MLIR_TEXT)
    return out.decode() if isinstance(out, bytes) else out


def first_error(text: str) -> str:
    """The compiler's first error, as the measurement backend reports it."""
    errors = compiler_errors(text)
    return errors[0] if errors else (text.strip().splitlines() or ["unknown compiler error"])[0][:400]


def configured_root(text: str, levels: dict[str, tuple[int, ...]], flags: Sequence[str] = (),
                    *, target_cpu: str = DEFAULT_TARGET_CPU) -> tuple[int, ...] | None:
    """Loop extents of the op that carries exactly ``levels`` after IREE configured the
    module, or None when no op does.

    IREE silently drops a compilation_info when it rewrites the op before configuring
    (it generalizes/propagates transposes, collapses dims of elementwise ops, decomposes
    linalg.softmax, turns 1x1 convs into matmuls), and it may interchange loops (reductions
    innermost, transposes over the input's dims). So a schedule can compile and still not
    take effect as meant; comparing these extents with the rendered root's catches both.
    """
    from costmodel.ir import analyze_text
    want = {k: tuple(v) for k, v in levels.items()}
    dump = executable_configurations(text, flags, target_cpu=target_cpu)
    for op in analyze_text(dump, filename="<configured>").to_dict()["ops"]:
        sched = op.get("schedule")
        if not sched or "loops" not in op:
            continue
        got = {k: tuple(v) for k, v in sched["levels"].items()}
        if got == want:
            return tuple(op["loops"]["ranges"])
    return None


def schedule_applied(text: str, levels: dict[str, tuple[int, ...]],
                     ranges: Sequence[int] | None = None, flags: Sequence[str] = (), *,
                     target_cpu: str = DEFAULT_TARGET_CPU) -> bool:
    """Whether IREE kept the root's tiles (and, given ``ranges``, on the same loop order)."""
    got = configured_root(text, levels, flags, target_cpu=target_cpu)
    return got is not None and (ranges is None or tuple(got) == tuple(ranges))
