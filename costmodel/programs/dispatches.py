"""Split a real model into per-dispatch standalone benchmarks.

``iree-compile --iree-hal-dump-executable-benchmarks-to=DIR`` writes one module per
executable (dispatch) of the compiled model. Each such module holds:

* ``util.global @__device_0``: the resolved llvm-cpu target (CPU, features, vector width);
* ``hal.executable private @<model>$async_dispatch_<i>``: the dispatch's kernel, a
  ``func.func`` over ``hal.interface.binding.subspan`` buffers, exactly as IREE formed it
  (e.g. conv + bias + relu fused), with weights that were constant folded inline;
* a ``util.initializer`` that allocates one device buffer big enough for all bindings;
* ``util.func public @<entry>(%arg0: i32)`` tagged ``iree.benchmark = "dispatch"``: it
  records the dispatch ``%arg0`` times into a command buffer (with barriers between) over
  slices of that buffer, submits it and waits.

So a benchmark needs no tensor inputs. Run it by compiling ``Dispatch.mlir`` for llvm-cpu
and calling ``entry`` with one i32, the repeat count:

    vmfb = compile_str(d.mlir, target_backends=["llvm-cpu"],
                       extra_args=["--iree-llvmcpu-target-cpu=host"])
    ctx = rt.SystemContext(config=rt.Config("local-sync"))
    ctx.add_vm_module(rt.VmModule.copy_buffer(ctx.instance, vmfb))
    ctx.modules.module[d.entry](100)          # time / 100 = one dispatch

or ``iree-benchmark-module --module=x.vmfb --device=local-sync --function=<entry>
--batch_size=N``, which passes N itself and reports time per dispatch.

The dumped executables carry the lowering configs IREE's heuristics chose. Recompiling
them as dumped fails for conv dispatches with fused consumers ("large vector sizes") and
for some depthwise ones ("failed to build pass pipeline") in IREE 3.13, so ``mlir`` has
those attributes stripped and IREE re-selects its configuration when it is compiled; the
original choice is kept in ``default_config`` / ``default_pipeline`` for reference.
"""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from iree.compiler import ir

from costmodel.errors import OnnxImportError
from costmodel.ir.onnx_import import onnx_to_linalg
from costmodel.programs.compile import DEFAULT_TARGET_CPU, compile_command, first_error
from costmodel.programs.onnx_models import REAL_MODELS

_ENTRY_RE = re.compile(
    r"util\.func public @(\S+)\(%arg0: i32\)[^\n]*iree\.benchmark = \"dispatch\"")
_EXPORT_RE = re.compile(r"hal\.executable\.export public @(\S+) ordinal")
_KIND_RE = re.compile(r"_dispatch_\d+_([a-z_]+?)(?:_\d|$)")
_ROOT_CFG_RE = re.compile(r"lowering_config = (#iree_cpu\.lowering_config<[^>]*distribution[^>]*>)")
#: The pipeline in a configured dump (``--compile-to=executable-configurations``).
PIPELINE_RE = re.compile(r"pipeline = #iree_cpu\.pipeline<(\w+)>")
_SCHEDULE_ATTRS = ("lowering_config", "translation_info", "compilation_info")


@dataclass(frozen=True)
class Dispatch:
    """One dispatch of a real model as a standalone benchmark module."""

    model: str
    name: str  # the kernel's export name, e.g. small_cnn$async_dispatch_1_conv_16x32x32x3x3x3_f32
    mlir: str  # benchmark module text; needs no inputs (see the module docstring)
    entry: str  # util.func to call with one i32 repeat count; returns nothing
    kind: str  # IREE's op-kind tag from the name: conv, matmul_like, elementwise, slow_memcpy...
    default_config: str | None  # root lowering_config IREE's heuristics chose, as text
    default_pipeline: str | None

    @property
    def group_id(self) -> str:
        return hashlib.sha1(f"dispatch:{self.model}:{self.name}".encode()).hexdigest()[:16]


def strip_schedules(text: str) -> str:
    """Remove every lowering_config / translation_info / compilation_info attribute."""
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(text)

        def drop(op: ir.Operation) -> ir.WalkResult:
            attrs = op.attributes
            for key in _SCHEDULE_ATTRS:
                if key in attrs:
                    del attrs[key]
            return ir.WalkResult.ADVANCE

        module.operation.walk(drop)
        return module.operation.get_asm(enable_debug_info=False)


def dump_dispatches(model_mlir: str, model: str, flags: Sequence[str] = (), *,
                    target_cpu: str = DEFAULT_TARGET_CPU, timeout: float = 300.0
                    ) -> list[Dispatch]:
    """Compile a model (linalg MLIR) once and return its per-dispatch benchmarks."""
    with tempfile.TemporaryDirectory(prefix="cm-dispatch-") as tmp:
        cmd = compile_command([*flags, f"--iree-hal-dump-executable-benchmarks-to={tmp}"],
                              target_cpu=target_cpu)
        proc = subprocess.run(cmd + ["-o", str(Path(tmp) / "model.vmfb")],
                              input=model_mlir.encode(), capture_output=True, timeout=timeout)
        if proc.returncode != 0:
            raise OnnxImportError(f"{model}: compiling the model failed: "
                                  f"{first_error(proc.stderr.decode(errors='replace'))}")
        files = sorted(Path(tmp).glob("*_benchmark.mlir"), key=_dispatch_order)
        out = []
        for path in files:
            text = path.read_text()
            entry = _ENTRY_RE.search(text)
            export = _EXPORT_RE.search(text)
            if entry is None or export is None:
                continue  # not a dispatch benchmark (nothing else is written there today)
            name = export.group(1)
            kind = _KIND_RE.search(name)
            cfg = _ROOT_CFG_RE.search(text)
            pipe = PIPELINE_RE.search(text)
            out.append(Dispatch(model=model, name=name, mlir=strip_schedules(text),
                                entry=entry.group(1), kind=kind.group(1) if kind else "other",
                                default_config=cfg.group(1) if cfg else None,
                                default_pipeline=pipe.group(1) if pipe else None))
        return out


def _dispatch_order(path: Path) -> tuple[int, str]:
    m = re.search(r"_dispatch_(\d+)_", path.name)
    return (int(m.group(1)) if m else 1 << 30, path.name)


@functools.lru_cache(maxsize=16)
def _cached(name: str, flags: tuple[str, ...], target_cpu: str) -> tuple[Dispatch, ...]:
    if name not in REAL_MODELS:
        raise KeyError(f"unknown real model {name!r}; known: {', '.join(REAL_MODELS)}")
    mlir = onnx_to_linalg(REAL_MODELS[name](), filename=f"{name}.onnx")
    return tuple(dump_dispatches(mlir, name, flags, target_cpu=target_cpu))


def real_model_dispatches(name: str, flags: Sequence[str] = (), *,
                          target_cpu: str = DEFAULT_TARGET_CPU) -> list[Dispatch]:
    """The per-dispatch benchmarks of ``REAL_MODELS[name]`` (cached per process).

    IREE deduplicates identical executables, so a model with repeated layers yields
    fewer dispatches than ops (the transformer's Q, K and V projections share one).
    """
    return list(_cached(name, tuple(flags), target_cpu))
