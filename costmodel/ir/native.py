"""The C walk (fastwalk.c): built on first use with the system C compiler, loaded with ctypes.

It links against the libIREECompiler.so that ships the Python bindings, so it reads the very
module objects the bindings parsed. The shared object is cached per source and IREE build
under $COSTMODEL_CACHE_DIR (default ~/.cache/costmodel). Without a C compiler, or with
COSTMODEL_NATIVE=0, `load()` returns None and the graph builder walks through the bindings.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from iree.compiler import ir

_SOURCE = Path(__file__).with_name("fastwalk.c")
_LIB_DIR = Path(ir.__file__).resolve().parent / "_mlir_libs"
_lock = threading.Lock()
_loaded: list[ctypes.CDLL | None] = []

_capi = ctypes.pythonapi
_capi.PyCapsule_GetPointer.restype = ctypes.c_void_p
_capi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_capi.PyCapsule_New.restype = ctypes.py_object
_capi.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
# Capsule names the bindings check; module-level so the bytes outlive every capsule.
_OP_CAPSULE = b"iree.compiler.ir.Operation._CAPIPtr"
_TYPE_CAPSULE = b"iree.compiler.ir.Type._CAPIPtr"

_P = ctypes.c_void_p
_ARGS_FILL = [_P, _P, _P, ctypes.c_int, ctypes.c_int64] + [_P] * 11


def cache_dir() -> Path:
    """$COSTMODEL_CACHE_DIR, default ~/.cache/costmodel (also planning's dispatch targets)."""
    return Path(os.environ.get("COSTMODEL_CACHE_DIR", Path.home() / ".cache" / "costmodel"))


def _build() -> Path | None:
    lib = _LIB_DIR / "libIREECompiler.so"
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None or not lib.exists():
        return None
    key = hashlib.sha256(_SOURCE.read_bytes() + str(lib.stat().st_size).encode()
                         + str(lib).encode()).hexdigest()[:16]
    out = cache_dir() / f"fastwalk-{key}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename: concurrent first uses never see a partial file.
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
    os.close(fd)
    cmd = [cc, "-O2", "-shared", "-fPIC", "-o", tmp, str(_SOURCE), f"-L{_LIB_DIR}",
           "-l:libIREECompiler.so", f"-Wl,-rpath,{_LIB_DIR}"]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        os.replace(tmp, out)
    except (OSError, subprocess.SubprocessError):
        Path(tmp).unlink(missing_ok=True)
        return None
    return out


def load() -> ctypes.CDLL | None:
    """The C walk library, or None when it is disabled or cannot be built here."""
    if _loaded:
        return _loaded[0]
    with _lock:
        if not _loaded:
            lib = None
            if os.environ.get("COSTMODEL_NATIVE", "1") != "0":
                path = _build()
                if path is not None:
                    try:
                        lib = ctypes.CDLL(str(path))
                        lib.cm_count.argtypes = [_P, _P]
                        lib.cm_fill.argtypes = _ARGS_FILL
                        lib.cm_fill.restype = ctypes.c_int
                        lib.cm_identifier.argtypes = [_P, _P, _P]
                    except OSError:
                        lib = None
            _loaded.append(lib)
    return _loaded[0]


@dataclass
class Walk:
    """Pre-order arrays of one module walk. Index 0 is the root; lists are plain Python."""

    parent: list[int]
    depth: list[int]
    end: list[int]  # one past the op's last descendant
    name: list[int]  # identifier pointer: equal pointers, equal names
    scheduled: list[int]  # 1 when a schedule attribute is present
    op: list[int]  # Operation pointer, for `operation()`
    operand_start: list[int]  # operands of op i: [operand_start[i], operand_start[i+1])
    operand_producer: list[int]  # producing op's index, -1 for block arguments
    operand_type: list[int]
    result_start: list[int]
    result_type: list[int]


def walk(lib: ctypes.CDLL, root: ir.Operation, schedule_attrs: tuple[str, ...]) -> Walk:
    ptr = _capi.PyCapsule_GetPointer(root._CAPIPtr, _OP_CAPSULE)
    sizes = np.zeros(3, dtype=np.int64)
    lib.cm_count(ptr, sizes.ctypes.data)
    n, n_in, n_out = (int(x) for x in sizes)
    i64, i32, i8, u64 = np.int64, np.int32, np.int8, np.uint64
    a = {"parent": np.empty(n, i64), "depth": np.empty(n, i32), "end": np.empty(n, i64),
         "name": np.empty(n, u64), "scheduled": np.empty(n, i8), "op": np.empty(n, u64),
         "operand_start": np.empty(n + 1, i64), "operand_producer": np.empty(max(n_in, 1), i64),
         "operand_type": np.empty(max(n_in, 1), u64), "result_start": np.empty(n + 1, i64),
         "result_type": np.empty(max(n_out, 1), u64)}
    names = [s.encode() for s in schedule_attrs]
    name_ptrs = (ctypes.c_char_p * max(len(names), 1))(*names)
    name_lens = np.array([len(s) for s in names] or [0], dtype=np.int64)
    rc = lib.cm_fill(ptr, ctypes.cast(name_ptrs, _P), name_lens.ctypes.data, len(names), n,
                     *(a[k].ctypes.data for k in ("parent", "depth", "end", "name", "scheduled",
                                                   "op", "operand_start", "operand_producer",
                                                   "operand_type", "result_start",
                                                   "result_type")))
    if rc != 0:
        raise MemoryError("out of memory walking the module")
    return Walk(**{k: v[:n_in].tolist() if k in ("operand_producer", "operand_type")
                   else v[:n_out].tolist() if k == "result_type" else v.tolist()
                   for k, v in a.items()})


def identifier(lib: ctypes.CDLL, ptr: int) -> str:
    data = ctypes.c_char_p()
    length = ctypes.c_int64()
    lib.cm_identifier(ptr, ctypes.byref(data), ctypes.byref(length))
    return ctypes.string_at(data, length.value).decode()


def operation(ptr: int) -> ir.Operation:
    """A bindings handle on the op at this pointer (the module must be alive)."""
    return ir.Operation._CAPICreate(_capi.PyCapsule_New(ptr, _OP_CAPSULE, None))


def type_of(ptr: int) -> ir.Type:
    return ir.Type._CAPICreate(_capi.PyCapsule_New(ptr, _TYPE_CAPSULE, None))
