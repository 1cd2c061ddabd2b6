"""Compile MLIR for llvm-cpu with iree-compile, keeping the kernels' assembly for static metrics.

iree-compile runs as a subprocess (as iree.compiler.compile_str does) so that a schedule
that hangs or crashes the compiler is bounded by a timeout and recorded, not fatal.
Everything in a CompileResult is plain data: it can cross process boundaries from parallel
compile workers to the single timing process.
"""

from __future__ import annotations

import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from iree.compiler.tools.binaries import find_tool

from costmodel.errors import InputError
from costmodel.ir.parse import parse_mlir
from costmodel.measure.asm import AsmMetrics, asm_metrics_from_dir
from costmodel.measure.cpu import die_with_parent
from costmodel.measure.errors import InfeasibleError
from costmodel.measure.options import CompileOptions
from costmodel.measure.regalloc import REMARK_FLAG, RegallocStats, parse_regalloc_remarks
from costmodel.measure.signature import Signature, signature_of

_DIAG_RE = re.compile(r"^(?:(?P<file>[^:\n]*):(?P<line>\d+):(?P<col>\d+): )?error: (?P<msg>.*)$")
# The target attribute in "failed to run translation ... for backend #hal.executable.target<..."
# is kilobytes of CPU features; it names the target, not the problem.
_TARGET_BLOB_RE = re.compile(r"#hal\.executable\.target<.*")
_FLAG_ERROR_RE = re.compile(r"^iree-compile: (?:Unknown command line argument|for the -).*$", re.M)
_MAX_DIAG_CHARS = 500
_MAX_DIAGS = 20


@dataclass(frozen=True)
class CompileResult:
    feasible: bool
    options: CompileOptions
    compile_time_s: float
    vmfb: bytes = b""
    error: str | None = None  # first compiler error, "line:col: message"
    error_kind: str | None = None  # "compile_error" | "timeout" | "crash"
    diagnostics: tuple[str, ...] = ()  # all error lines, trimmed
    asm: AsmMetrics | None = None
    regalloc: RegallocStats | None = None  # exact spill/reload counts from LLVM's remarks
    signature: Signature | None = None  # None if the entry's arguments cannot be described
    signature_error: str | None = None

    @property
    def vmfb_bytes(self) -> int:
        return len(self.vmfb)

    @property
    def entry(self) -> str | None:
        return self.signature.entry if self.signature else None

    @property
    def spills(self) -> int | None:
        """Register-allocator spills in the kernels: from LLVM's remarks, else from the asm."""
        if self.regalloc is not None:
            return self.regalloc.spills
        return self.asm.spills if self.asm else None

    @property
    def reloads(self) -> int | None:
        if self.regalloc is not None:
            return self.regalloc.reloads
        return self.asm.reloads if self.asm else None

    @property
    def spill_source(self) -> str | None:
        if self.regalloc is not None:
            return "regalloc-remarks"
        if self.asm is not None:
            return "asm-comments" if self.asm.annotated else "asm-stack-slots"
        return None

    def require(self) -> CompileResult:
        """Return self if feasible, else raise InfeasibleError with the compiler's message."""
        if not self.feasible:
            raise InfeasibleError(self.error or "compilation failed", kind=self.error_kind or
                                  "compile_error", diagnostics=self.diagnostics)
        return self

    def to_dict(self) -> dict:
        """Flat, JSON-friendly record (the vmfb itself is left out; its size is kept)."""
        a = self.asm
        return {
            "feasible": self.feasible,
            "error": self.error,
            "error_kind": self.error_kind,
            "compile_time_s": self.compile_time_s,
            "vmfb_bytes": self.vmfb_bytes if self.feasible else None,
            "static_instructions": a.static_instructions if a else None,
            "vector_share": a.vector_share if a else None,
            "wide_vector_share": a.wide_vector_share if a else None,
            "spills": self.spills,
            "reloads": self.reloads,
            "spill_source": self.spill_source,
            "kernels": list(a.entry_points) if a else None,
            "entry": self.entry,
            **{f"opt_{k}": v for k, v in self.options.to_dict().items()},
        }


def _trim(msg: str) -> str:
    msg = _TARGET_BLOB_RE.sub("#hal.executable.target<...>", msg.strip())
    return msg if len(msg) <= _MAX_DIAG_CHARS else msg[: _MAX_DIAG_CHARS - 3] + "..."


def compiler_errors(stderr: str) -> list[str]:
    """The compiler's ``error:`` lines as "line:col: message" (location kept, file dropped)."""
    out = []
    for line in stderr.splitlines():
        m = _DIAG_RE.match(line.strip())
        if m is None:
            continue
        where = f"{m['line']}:{m['col']}: " if m["line"] else ""
        out.append(where + _trim(m["msg"]))
        if len(out) >= _MAX_DIAGS:
            break
    return out


def _crash_summary(stderr: str, returncode: int) -> str:
    try:
        sig = signal.Signals(-returncode).name if returncode < 0 else f"exit code {returncode}"
    except ValueError:
        sig = f"signal {-returncode}"
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    hint = next((ln for ln in lines if "Assertion" in ln or "LLVM ERROR" in ln or "UNREACHABLE" in ln),
                lines[0] if lines else "")
    return f"iree-compile crashed ({sig})" + (f": {_trim(hint)}" if hint else "")


def compile_module(mlir_text: str, options: CompileOptions | None = None, *,
                   entry: str | None = None, dump_dir: str | Path | None = None) -> CompileResult:
    """Compile MLIR text to a vmfb for llvm-cpu; never raises for a rejected schedule.

    Malformed MLIR raises IRParseError/InputError (an input problem, not a schedule
    verdict). A compiler rejection, crash or timeout returns ``feasible=False`` with the
    compiler's message. Unknown compiler flags raise InputError. ``dump_dir`` keeps IREE's
    executable intermediates (.s/.o/.ll; give an empty directory, every .s in it is read);
    by default they go to a temporary directory. compile_time_s is the iree-compile wall
    time, process start and intermediate dumps included.
    """
    options = options or CompileOptions()
    parsed = parse_mlir(mlir_text)  # also gives the signature the runner needs
    with parsed.context:
        try:
            sig, sig_error = signature_of(parsed.module, entry), None
        except InputError as exc:
            if entry is not None:
                raise
            sig, sig_error = None, str(exc)
    with tempfile.TemporaryDirectory(prefix="costmodel-compile-") as tmp:
        tmpdir = Path(tmp)
        src = tmpdir / "input.mlir"
        src.write_text(parsed.text)
        out = tmpdir / "module.vmfb"
        dumps = Path(dump_dir) if dump_dir is not None else tmpdir / "dump"
        cmd = [find_tool("iree-compile"), str(src), "-o", str(out), *options.flags(),
               f"--iree-hal-dump-executable-intermediates-to={dumps}", REMARK_FLAG]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                                  timeout=options.timeout_s, preexec_fn=die_with_parent)
        except subprocess.TimeoutExpired:
            elapsed = time.perf_counter() - t0
            msg = f"iree-compile did not finish within {options.timeout_s:g} s"
            return CompileResult(False, options, elapsed, error=msg, error_kind="timeout",
                                 diagnostics=(msg,), signature=sig, signature_error=sig_error)
        elapsed = time.perf_counter() - t0
        flag_problem = _FLAG_ERROR_RE.search(proc.stderr)
        if proc.returncode > 0 and flag_problem:  # our flags, not the schedule: fail loudly
            raise InputError(f"iree-compile rejected its flags: {flag_problem.group(0).strip()}")
        if proc.returncode != 0 or not out.exists():
            diags = compiler_errors(proc.stderr)
            if proc.returncode < 0 or not diags:
                msg, kind = _crash_summary(proc.stderr, proc.returncode), "crash"
                diags = diags or [msg]
            else:
                msg, kind = diags[0], "compile_error"
            return CompileResult(False, options, elapsed, error=msg, error_kind=kind,
                                 diagnostics=tuple(diags), signature=sig, signature_error=sig_error)
        return CompileResult(True, options, elapsed, vmfb=out.read_bytes(),
                             asm=asm_metrics_from_dir(dumps),
                             regalloc=parse_regalloc_remarks(proc.stderr), signature=sig,
                             signature_error=sig_error)
