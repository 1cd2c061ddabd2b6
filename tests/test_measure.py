"""Measurement backend: real compiles with iree-compile, real runs on local-sync, real valgrind."""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
import subprocess

import numpy as np
import pytest

from costmodel.errors import InputError, IRParseError
from costmodel.measure import (ArgSpec, CallgrindUnavailableError, CompileOptions,
                               InfeasibleError, LatencySettings, LoadedModule, Signature,
                               asm_metrics, compile_module, count_compiled, count_instructions,
                               entry_signature, make_inputs, measure, median_ci_ranks, pinned,
                               summarize, time_vmfb)
from costmodel.measure.regalloc import parse_regalloc_remarks

MATMUL = """func.func @matmul(%a: tensor<{m}x{k}xf32>, %b: tensor<{k}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %cst = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %f = linalg.fill ins(%cst : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.matmul {attrs}ins(%a, %b : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) outs(%f : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}
"""


def matmul(size: int = 64, config: str | None = None) -> str:
    attrs = ""
    if config:
        attrs = ("{compilation_info = #iree_codegen.compilation_info<lowering_config = "
                 f"#iree_cpu.lowering_config<{config}>, translation_info = "
                 "#iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>} ")
    return MATMUL.format(m=size, n=size, k=size, attrs=attrs)


VECTOR = "distribution = [32, 32, 0], vector_common_parallel = [8, 32, 0], vector_reduction = [0, 0, 1]"
SCALAR = "distribution = [32, 32, 0], vector_common_parallel = [1, 1, 0], vector_reduction = [0, 0, 1]"
# A 128x128 f32 vector tile is 64 KiB: over the limit on AVX2 (16 KiB) and AVX-512 (32 KiB).
# (Vector tiles are clamped to the workgroup tile, so the problem must be that large too.)
TOO_BIG = "distribution = [128, 128, 0], vector_common_parallel = [128, 128, 0], vector_reduction = [0, 0, 1]"
SPILLY = "distribution = [64, 128, 0], vector_common_parallel = [32, 32, 0], vector_reduction = [0, 0, 1]"
FAST = LatencySettings(time_cap_s=0.5, warmup_s=0.02)


@pytest.fixture(scope="module")
def default64():
    return compile_module(matmul(64))


@pytest.fixture(scope="module")
def scalar64():
    return compile_module(matmul(64, SCALAR))


# --- compile -------------------------------------------------------------------------------

def test_compile_default_matmul(default64):
    r = default64
    assert r.feasible and r.error is None
    assert r.vmfb[:16] and r.vmfb_bytes == len(r.vmfb) > 1000
    assert r.compile_time_s > 0
    assert r.signature == Signature("matmul", (ArgSpec("f32", (64, 64)), ArgSpec("f32", (64, 64))))
    a = r.asm
    assert a.entry_points == ("matmul_dispatch_0_matmul_64x64x64_f32",)
    assert a.functions == a.entry_points  # the device library's dead code is not counted
    assert 20 < a.static_instructions < 5000
    assert 0.5 < a.vector_share <= 1.0
    assert r.spill_source == "regalloc-remarks" and r.spills == 0 and r.reloads == 0
    record = r.to_dict()
    json.dumps(record)
    assert record["static_instructions"] == a.static_instructions and record["opt_target_cpu"] == "host"
    # plain data: crosses from a compile worker process to the timing process
    assert pickle.loads(pickle.dumps(r)) == r


def test_options_become_explicit_flags():
    flags = CompileOptions(data_tiling=True, ukernels="all", extra_flags=("--foo",)).flags()
    assert "--iree-opt-data-tiling=true" in flags and "--iree-llvmcpu-enable-ukernels=all" in flags
    assert flags[-1] == "--foo"
    cg = CompileOptions().for_callgrind()
    assert cg.callgrind_ready and "--iree-llvmcpu-target-cpu=haswell" in cg.flags()
    with pytest.raises(InputError):
        CompileOptions(ukernels="all; rm -rf /")
    with pytest.raises(InputError):
        CompileOptions(extra_flags="--iree-opt-data-tiling")


def test_data_tiling_and_ukernels_compile():
    r = compile_module(matmul(64), CompileOptions(data_tiling=True, ukernels="all"))
    assert r.feasible, r.error
    assert len(r.asm.entry_points) >= 1 and r.asm.static_instructions > 0


def test_infeasible_schedule_is_recorded_with_the_compilers_message():
    r = compile_module(matmul(128, TOO_BIG))
    assert not r.feasible and r.vmfb == b"" and r.asm is None
    assert r.error_kind == "compile_error"
    assert "large vector sizes" in r.error
    assert r.error.startswith("5:")  # line:column of the offending op in the input
    assert all("cpu_features" not in d for d in r.diagnostics)  # the target blob is trimmed
    with pytest.raises(InfeasibleError) as err:
        r.require()
    assert "large vector sizes" in err.value.message
    m = measure(matmul(128, TOO_BIG))
    rec = m.to_dict()
    assert rec["feasible"] is False and "large vector sizes" in rec["error"]
    assert rec["latency_median_s"] is None and rec["instructions"] is None


def test_compile_timeout_is_infeasible_not_a_hang():
    r = compile_module(matmul(64), CompileOptions(timeout_s=0.01))
    assert not r.feasible and r.error_kind == "timeout"


def test_malformed_mlir_is_an_input_error_not_a_verdict():
    with pytest.raises(IRParseError):
        compile_module("func.func @f( {\n}\n")


# --- assembly metrics ----------------------------------------------------------------------

def test_scalar_schedule_has_lower_vector_share(default64, scalar64):
    vec = compile_module(matmul(64, VECTOR))
    assert vec.feasible and scalar64.feasible
    assert scalar64.asm.vector_share < 0.3 < vec.asm.vector_share
    assert scalar64.asm.wide_vector_share == 0.0 < vec.asm.wide_vector_share


def test_spills_agree_between_regalloc_remarks_and_asm():
    r = compile_module(matmul(256, SPILLY))
    assert r.feasible and r.spill_source == "regalloc-remarks"
    assert r.spills > 50 and r.reloads > 50  # 32x32 f32 accumulators cannot fit in 16 ymm
    assert (r.asm.spills, r.asm.reloads) == (r.spills, r.reloads)


def test_regalloc_remarks_are_deduplicated_and_library_skipped():
    line = "remark: -:1:1: 3 spills 1.0e+01 total spills cost 2 reloads 2.0e+00 total reloads cost " \
           "1 folded reloads 3.0e+00 total folded reloads cost generated in function"
    lib = "remark: <unknown>:0:0: 9 spills 1.0e+00 total spills cost generated in function"
    loop = "remark: -:3:1: 7 spills 1.0e+00 total spills cost generated in loop"
    s = parse_regalloc_remarks("\n".join([line, lib, loop, line, lib]))
    assert (s.spills, s.reloads, s.folded_reloads, s.functions) == (3, 3, 1, 1)
    assert parse_regalloc_remarks(line) is None  # an odd count: not trusted, asm fallback
    assert parse_regalloc_remarks("") is None


def test_regalloc_copies_may_differ_between_the_two_codegen_runs():
    # Measured on AVX-512 (znver4): the .s run and the object run of one function report the
    # same spills and reloads but 47 vs 49 copies; the spill counts must still be trusted.
    a = "remark: -:1:1: 76 spills 1.4e+06 total spills cost 76 reloads 1.4e+06 total reloads " \
        "cost 47 virtual registers copies 1.3e+06 total copies cost generated in function"
    s = parse_regalloc_remarks("\n".join([a, a.replace("47 virtual", "49 virtual")]))
    assert (s.spills, s.reloads, s.copies, s.functions) == (76, 76, 48, 1)


def test_asm_parser_on_annotated_listing():
    s = """\t.type\tk_dispatch_0,@function
k_dispatch_0:
\tvmovaps\t%ymm0, 32(%rsp)                 # 32-byte Spill
\tvaddps\t32(%rsp), %ymm1, %ymm2         # 32-byte Folded Reload
\tmovq\t8(%rsp), %rax                     # 8-byte Reload
\tcallq\thelper
\tretq
.Lfunc_end0:
\t.type\thelper,@function
helper:
\taddl\t%esi, %edi
\tretq
.Lfunc_end1:
\t.type\tdead,@function
dead:
\tvmovups\t%zmm0, (%rdi)
\tretq
.Lfunc_end2:
iree_hal_executable_library_query_v0_funcs:
\t.quad\tk_dispatch_0
\t.size\tiree_hal_executable_library_query_v0_funcs, 8
"""
    m = asm_metrics([s])
    assert m.annotated and m.entry_points == ("k_dispatch_0",)
    assert m.functions == ("k_dispatch_0", "helper")  # `dead` is not reachable
    assert m.static_instructions == 7
    assert (m.vector_instructions, m.wide_vector_instructions) == (2, 2)
    assert (m.spills, m.reloads, m.folded_reloads) == (1, 2, 1)
    plain = asm_metrics(["\n".join(ln.split("#")[0].rstrip() for ln in s.splitlines())])
    assert not plain.annotated
    assert (plain.spills, plain.reloads, plain.folded_reloads) == (1, 2, 1)


# --- inputs --------------------------------------------------------------------------------

def test_inputs_follow_the_signature_and_the_seed():
    sig = Signature("f", (ArgSpec("f32", (3, 4)), ArgSpec("i8", (5,)), ArgSpec("i1", (2,)),
                          ArgSpec("f16", ()), ArgSpec("i32")))
    a, b = make_inputs(sig, seed=1), make_inputs(sig, seed=1)
    assert [x.dtype for x in a[:4]] == [np.float32, np.int8, np.bool_, np.float16]
    assert a[0].shape == (3, 4) and a[3].shape == ()
    assert isinstance(a[4], int)
    assert all(np.array_equal(x, y) for x, y in zip(a[:4], b[:4]))
    assert np.abs(a[1]).max() <= 4 and np.abs(a[0]).max() <= 1
    assert not np.array_equal(make_inputs(sig, seed=2)[0], a[0])
    with pytest.raises(InputError):
        make_inputs(Signature("g", (ArgSpec("f32", (-1, 4)),)))
    with pytest.raises(InputError):
        make_inputs(Signature("g", (ArgSpec("bf16", (4,)),)))


def test_signature_of_abi_lowered_util_func():
    # What the ONNX path produces: buffer views whose tensor types sit on hal.tensor.import.
    text = """module {
  util.func public @main(%arg0: !hal.buffer_view, %arg1: !hal.buffer_view) -> !hal.buffer_view {
    %0 = hal.tensor.import %arg0 "input0" : !hal.buffer_view -> tensor<2x10xf32>
    %1 = hal.tensor.import %arg1 "input1" : !hal.buffer_view -> tensor<10xi32>
    %2 = hal.tensor.export %0 "output0" : tensor<2x10xf32> -> !hal.buffer_view
    util.return %2 : !hal.buffer_view
  }
}"""
    sig = entry_signature(text)
    assert sig == Signature("main", (ArgSpec("f32", (2, 10)), ArgSpec("i32", (10,))))
    with pytest.raises(InputError):
        entry_signature(text, entry="nope")


# --- latency -------------------------------------------------------------------------------

def test_median_ci_ranks_are_exact_order_statistics():
    assert median_ci_ranks(5) is None  # 2 * 0.5**5 > 0.05: no 95% interval exists
    assert median_ci_ranks(6) == (1, 6)
    assert median_ci_ranks(10) == (2, 9)
    assert median_ci_ranks(100) == (40, 61)
    for n in (6, 11, 37, 100, 400):
        k, _ = median_ci_ranks(n)
        below = sum(math.comb(n, i) for i in range(k)) / 2**n  # P(B <= k-1)
        assert 1 - 2 * below >= 0.95  # the coverage holds ...
        assert 1 - 2 * (below + math.comb(n, k) / 2**n) < 0.95  # ... and k is the tightest
    assert median_ci_ranks(5000)[0] == pytest.approx(2430, abs=2)  # normal approximation
    s = summarize(list(range(1, 11)))
    assert (s.median, s.ci_low, s.ci_high, s.iqr) == (5.5, 2.0, 9.0, 4.5)


def test_latency_fields_are_sane(default64, scalar64):
    inputs = make_inputs(default64.signature)
    before = os.sched_getaffinity(0)
    with pinned() as core:
        assert os.sched_getaffinity(0) == {core}
        fast = time_vmfb(default64.vmfb, inputs, settings=FAST)
        slow = time_vmfb(scalar64.vmfb, inputs, settings=FAST)
    assert os.sched_getaffinity(0) == before
    for lat in (fast, slow):
        assert lat.median_s > 0 and lat.iqr_s >= 0 and lat.q1_s <= lat.median_s <= lat.q3_s
        assert lat.samples >= FAST.min_samples and lat.calls == lat.samples * lat.batch
        assert lat.elapsed_s < FAST.time_cap_s + 0.5
        assert lat.noisy == (not lat.ci_rel <= FAST.target_rel)
        assert lat.ci_low_s <= lat.median_s <= lat.ci_high_s
        json.dumps(lat.to_dict())
    assert fast.batch > 1  # a ~10 us call is batched so the timer does not dominate
    assert slow.median_s > 3 * fast.median_s  # ~18x apart here; far beyond the noise


def test_measure_returns_a_flat_record():
    rec = measure(matmul(64), latency_settings=FAST, pin_core=os.sched_getaffinity(0).pop()).to_dict()
    json.dumps(rec)
    for key in ("feasible", "error", "compile_time_s", "vmfb_bytes", "static_instructions",
                "vector_share", "spills", "reloads", "latency_median_s", "latency_iqr_s",
                "latency_calls", "latency_ci_rel", "noisy", "instructions"):
        assert key in rec
    assert rec["feasible"] and rec["latency_median_s"] > 0 and rec["instructions"] is None


def test_loaded_module_computes_the_right_answer(default64):
    mod = LoadedModule(default64.vmfb)
    a, b = make_inputs(default64.signature, seed=3)
    out = mod(*mod.upload([a, b])).to_host()
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-4)


# --- callgrind -----------------------------------------------------------------------------

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None,
                                    reason="valgrind not installed (apt-get install valgrind)")


@needs_valgrind
def test_callgrind_counts_are_deterministic():
    compiled = compile_module(matmul(64), CompileOptions().for_callgrind())
    assert compiled.feasible, compiled.error
    first = count_compiled(compiled, seed=0)
    second = count_compiled(compiled, seed=0)
    assert first.instructions == second.instructions > 10_000
    assert first.symbols == compiled.asm.entry_points


def test_missing_valgrind_is_a_typed_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CallgrindUnavailableError, match="valgrind"):
        count_instructions(matmul(64))


def test_nouring_refuses_io_uring_setup():
    import sys
    from pathlib import Path

    import costmodel.measure as pkg
    script = Path(pkg.__file__).with_name("nouring.py")
    probe = ("import ctypes, ctypes.util; libc = ctypes.CDLL(None, use_errno=True); "
             "r = libc.syscall(425, 1, None); print(r, ctypes.get_errno())")
    out = subprocess.run([sys.executable, "-I", str(script), sys.executable, "-c", probe],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["-1", "38"]  # ENOSYS
