"""One timed run per host at a time, and no compile of ours while it runs.

The local collector pauses its compile workers while it times. Dask workers are separate
processes (maybe several per host), so they coordinate through file locks instead: a compile
holds the host gate shared, a timed run holds it exclusively (a turnstile lets a waiting timer
go before new compiles). The kernel drops a dead process's locks, so a worker killed
mid-measurement can never leave the others blocked.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_DIR_ENV = "COSTMODEL_LOCK_DIR"
TIMING_CORE_ENV = "COSTMODEL_TIMING_CORE"


def lock_dir() -> Path:
    d = Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / f"costmodel-gate-{os.getuid()}")
    d.mkdir(parents=True, exist_ok=True)
    return d


@contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    # A fresh open file per acquisition: flock locks belong to the open file description,
    # so threads of one worker sharing a descriptor would not exclude each other.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def compiling() -> Iterator[None]:
    """Hold while compiling: waits for an ongoing timed run on this host to finish."""
    d = lock_dir()
    with _flock(d / "turnstile.lock", fcntl.LOCK_EX):
        fd = os.open(d / "gate.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        yield
    finally:
        os.close(fd)


@contextmanager
def timing() -> Iterator[None]:
    """Hold while timing: no other timed run and no gated compile on this host meanwhile."""
    d = lock_dir()
    with _flock(d / "turnstile.lock", fcntl.LOCK_EX), _flock(d / "gate.lock", fcntl.LOCK_EX):
        yield


def timing_core() -> int:
    """The core this worker times on: ``COSTMODEL_TIMING_CORE``, else the last allowed core
    (core 0 usually takes more interrupts), as the local collector does."""
    from costmodel.measure import allowed_cores

    cores = allowed_cores()
    env = os.environ.get(TIMING_CORE_ENV)
    if env:
        core = int(env)
        if core in cores:
            return core
    return cores[-1]
