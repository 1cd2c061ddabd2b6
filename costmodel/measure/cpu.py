"""Pin timing to one CPU core so a measurement does not migrate between cores mid-run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from costmodel.measure.errors import MeasureError


def allowed_cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def pin_to_core(core: int | None = None) -> int:
    """Restrict this process to one core (default: the last allowed one); return the core.

    The last core is the default because core 0 usually takes more interrupts.
    Affects the calling thread and threads started later.
    """
    cores = allowed_cores()
    if core is None:
        core = cores[-1]
    if core not in cores:
        raise MeasureError(f"core {core} is not available to this process (allowed: {cores})")
    os.sched_setaffinity(0, {core})
    return core


@contextmanager
def pinned(core: int | None = None) -> Iterator[int]:
    """``with pinned() as core:`` runs the block on one core and restores the affinity after."""
    before = os.sched_getaffinity(0)
    chosen = pin_to_core(core)
    try:
        yield chosen
    finally:
        os.sched_setaffinity(0, before)


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child process: get SIGKILL when the parent dies, so a killed collector leaves no
    compilers behind (even ones it had paused with SIGSTOP)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: nothing to arrange
        pass
