"""Pause every descendant process (the compile workers and their compilers) while timing.

Compiles keep both cores busy between timed runs; during a timed run they are stopped
with SIGSTOP, so the measurement sees a machine with nothing else of ours running.
"""

from __future__ import annotations

import os
import signal
from collections import defaultdict
from contextlib import contextmanager
from collections.abc import Iterator


def descendants(pid: int) -> list[int]:
    """All live descendants of ``pid``, from /proc (Linux); [] elsewhere."""
    children: dict[int, list[int]] = defaultdict(list)
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, ...
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children[ppid].append(int(name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for p in pids:
        try:
            os.kill(p, sig)
        except (ProcessLookupError, PermissionError):
            pass


@contextmanager
def frozen_descendants() -> Iterator[list[int]]:
    """SIGSTOP our descendants for the duration; SIGCONT them afterwards, whatever happens."""
    pids = descendants(os.getpid())
    _signal_all(pids, signal.SIGSTOP)
    try:
        yield pids
    finally:
        _signal_all(pids, signal.SIGCONT)
