"""Deterministic label: dynamic instruction count of the kernels, under valgrind's callgrind.

Needs a vmfb built with ``CompileOptions.for_callgrind()``: an AVX2 target (valgrind 3.19
cannot run AVX-512) linked as a system shared library, so valgrind sees the kernel
symbols and ``--toggle-collect`` can restrict counting to them. iree-run-module (shipped in
the iree-base-runtime wheel) runs the module under valgrind with io_uring refused (see
nouring.py). Counts are bit-identical across runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from costmodel.errors import InputError
from costmodel.measure.compile import CompileResult, compile_module
from costmodel.measure.errors import CallgrindError, CallgrindUnavailableError
from costmodel.measure.inputs import make_inputs
from costmodel.measure.options import CompileOptions
from costmodel.measure.signature import Signature

_SUMMARY_RE = re.compile(r"^(?:summary|totals):\s*(\d+)", re.M)
_NOURING = Path(__file__).with_name("nouring.py")
_SCALAR_RE = re.compile(r"^(?:[su]?i\d+|f\d+|bf16)$")


@dataclass(frozen=True)
class CallgrindResult:
    instructions: int  # Ir events inside the toggled kernel functions (and their callees)
    symbols: tuple[str, ...]
    wall_time_s: float


def valgrind_path() -> str:
    path = shutil.which("valgrind")
    if path is None:
        raise CallgrindUnavailableError("valgrind is not installed (apt-get install valgrind); "
                                        "instruction counts need callgrind")
    return path


def run_module_path() -> str:
    import iree._runtime_libs as libs  # the wheel's native tools live next to this package

    exe = os.path.join(libs.__path__[0], "iree-run-module")
    if not os.access(exe, os.X_OK):
        raise CallgrindUnavailableError(f"iree-run-module not found at {exe}")
    return exe


def _input_flags(inputs: Sequence, tmp: Path, signature: Signature | None) -> list[str]:
    flags = []
    for i, x in enumerate(inputs):
        if isinstance(x, np.ndarray):
            path = tmp / f"input{i}.npy"
            np.save(path, x, allow_pickle=False)
            flags.append(f"--input=@{path}")
            continue
        # iree-run-module parses a scalar's bare value as the function's argument type
        spec = signature.args[i] if signature and i < len(signature.args) else None
        tag = spec.element if spec is not None and spec.shape is None else None
        if tag is None or not _SCALAR_RE.match(tag):
            raise InputError(f"scalar input {i} ({x!r}) needs its MLIR type (pass signature=) "
                             "to run under callgrind")
        value = int(x) if tag[0] in "isu" else float(x)
        flags.append(f"--input={value}")
    return flags


def callgrind_instructions(vmfb: bytes, entry: str, inputs: Sequence, symbols: Sequence[str], *,
                           signature: Signature | None = None,
                           timeout_s: float = 600.0) -> CallgrindResult:
    """Run ``entry`` once under callgrind and count instructions inside ``symbols``."""
    if not symbols:
        raise CallgrindError("no kernel symbols to count (no dispatch functions found in the asm)")
    valgrind = valgrind_path()
    exe = run_module_path()
    with tempfile.TemporaryDirectory(prefix="costmodel-callgrind-") as d:
        tmp = Path(d)
        module = tmp / "module.vmfb"
        module.write_bytes(vmfb)
        out = tmp / "callgrind.out"
        cmd = [sys.executable, "-I", str(_NOURING), valgrind, "--tool=callgrind",
               f"--callgrind-out-file={out}", *(f"--toggle-collect={s}" for s in symbols),
               exe, "--device=local-sync", f"--module={module}", f"--function={entry}",
               *_input_flags(inputs, tmp, signature)]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                                  timeout=timeout_s, cwd=tmp)
        except subprocess.TimeoutExpired:
            raise CallgrindError(f"callgrind did not finish within {timeout_s:g} s") from None
        wall = time.perf_counter() - t0
        if proc.returncode in (125, 127):  # nouring could not set up the workaround
            raise CallgrindUnavailableError(proc.stderr.strip().splitlines()[-1])
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
            raise CallgrindError(f"iree-run-module under callgrind failed "
                                 f"(exit {proc.returncode}):\n{tail}")
        m = _SUMMARY_RE.search(out.read_text(errors="replace"))
    if m is None:
        raise CallgrindError("callgrind output has no summary line")
    count = int(m.group(1))
    if count == 0:
        raise CallgrindError(f"callgrind counted no instructions in {list(symbols)}; "
                             "was the module built with CompileOptions.for_callgrind()?")
    return CallgrindResult(count, tuple(symbols), wall)


def count_compiled(result: CompileResult, inputs: Sequence | None = None, *, seed: int = 0,
                   timeout_s: float = 600.0) -> CallgrindResult:
    """Instruction count for a feasible compile made with callgrind-ready options."""
    result.require()
    if not result.options.callgrind_ready:
        raise CallgrindError("compile with CompileOptions.for_callgrind() "
                             "(target_cpu='haswell', link_embedded=False) to count instructions")
    if result.signature is None:
        raise InputError(result.signature_error or "entry signature unknown")
    if inputs is None:
        inputs = make_inputs(result.signature, seed)
    symbols = result.asm.entry_points if result.asm else ()
    return callgrind_instructions(result.vmfb, result.signature.entry, inputs, symbols,
                                  signature=result.signature, timeout_s=timeout_s)


def count_instructions(mlir_text: str, options: CompileOptions | None = None, *,
                       entry: str | None = None, seed: int = 0,
                       timeout_s: float = 600.0) -> CallgrindResult:
    """Compile ``mlir_text`` for callgrind (haswell, system .so) and count kernel instructions.

    Raises InfeasibleError if that build is rejected.
    """
    valgrind_path()  # fail before compiling if valgrind is missing
    opts = (options or CompileOptions()).for_callgrind()
    return count_compiled(compile_module(mlir_text, opts, entry=entry), seed=seed,
                          timeout_s=timeout_s)
