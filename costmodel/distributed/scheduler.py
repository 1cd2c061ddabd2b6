"""Which Dask scheduler to use: ``--scheduler`` first, then ``COSTMODEL_SCHEDULER``, else local."""

from __future__ import annotations

import os
import re

from costmodel.errors import InputError

ENV_VAR = "COSTMODEL_SCHEDULER"
#: Worker resource that serializes timed runs: start workers with ``--resources timing_core=1``.
TIMING_RESOURCE = "timing_core"
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|inproc|ucx)://(\[[0-9a-fA-F:]+\]|[^:/\s]+)(:\d{1,5})?$")


class SchedulerError(InputError):
    """The Dask scheduler address is malformed or unreachable, or the cluster cannot run a task."""


def resolve_scheduler(flag: str | None = None) -> str | None:
    """The scheduler address to use, or None for local execution.

    ``--scheduler local`` forces local execution even when the environment names a cluster.
    """
    value = flag if flag is not None else os.environ.get(ENV_VAR, "")
    value = value.strip()
    if value in ("", "local"):
        return None
    if not _ADDRESS.match(value):
        source = "--scheduler" if flag is not None else ENV_VAR
        raise SchedulerError(f"{source}={value!r} is not a Dask scheduler address; expected "
                             "e.g. tcp://HOST:8786 (or 'local')")
    return value


def connect(address: str, *, timeout_s: float = 15.0):
    """A ``distributed.Client`` for ``address``; a clear SchedulerError if it is unreachable."""
    from distributed import Client

    try:
        return Client(address, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: "
                             f"{type(exc).__name__}: {exc}") from None
