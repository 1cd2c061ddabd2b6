"""A small executor API: map a function over items, yielding results as they finish.

``LocalExecutor`` runs in this process, in order. ``DaskExecutor`` submits to a Dask cluster:

* every result comes back with the worker that produced it and that worker's hardware
  fingerprint (``Done.worker``, ``Done.hardware_id``);
* ``timing=True`` tasks need the worker resource ``timing_core`` (one per worker), so a worker
  runs at most one timed measurement at a time;
* ``hardware_id=`` keeps tasks on hosts whose workers have that fingerprint; a result that
  still comes back from other hardware (a worker that joined later) is discarded and the task
  resubmitted, so results from different machines never mix;
* a worker lost mid-task is the scheduler's business: Dask reruns the task elsewhere.
  Results already yielded are the caller's (it journals them), so nothing finished is lost.
  A task that kills every worker it lands on comes back as ``Done.error`` (KilledWorker).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from costmodel.distributed.scheduler import (TIMING_RESOURCE, SchedulerError, connect,
                                             resolve_scheduler)

#: Resubmissions of a task whose result came from the wrong hardware before giving up.
MAX_HARDWARE_RESUBMITS = 3


@dataclass
class Done:
    """One finished task."""

    index: int  # position in the submitted items
    result: Any  # fn(item); None when ``error`` is set
    worker: str  # worker address ("local" for LocalExecutor)
    hardware_id: str  # hardware fingerprint id of that worker
    error: BaseException | None = None  # the task was lost for good (e.g. KilledWorker)


def _fingerprint() -> dict:
    from costmodel.dataset.fingerprint import hardware
    return hardware()


def _traced(fn: Callable[[Any], Any], item: Any) -> tuple[Any, str, str]:
    """Run on a worker: the result plus where it ran and on what hardware."""
    from distributed import get_worker

    result = fn(item)
    return result, get_worker().address, _fingerprint()["id"]


def _host(address: str) -> str:
    rest = address.split("://", 1)[-1]
    return rest.rsplit(":", 1)[0].strip("[]")


class Executor:
    """``map_unordered`` plus what the callers need to know about the workers."""

    scheduler: str | None = None

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any], *,
                      timing: bool = False, hardware_id: str | None = None,
                      keys: Sequence[str] | None = None, name: str = "task",
                      window: int | None = None) -> Iterator[Done]:
        raise NotImplementedError

    def workers_hardware(self) -> dict[str, dict]:
        """Worker address -> hardware fingerprint."""
        raise NotImplementedError

    def run_on_workers(self, fn: Callable[[], Any]) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def n_workers(self) -> int:
        return len(self.workers_hardware())

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LocalExecutor(Executor):
    """Runs every task here, in order: the behaviour without a cluster."""

    def map_unordered(self, fn, items, *, timing=False, hardware_id=None, keys=None,
                      name="task", window=None) -> Iterator[Done]:
        hw = _fingerprint()["id"]
        if hardware_id is not None and hw != hardware_id:
            raise SchedulerError(f"this machine's hardware {hw} is not the required {hardware_id}")
        for i, item in enumerate(items):
            yield Done(i, fn(item), "local", hw)

    def workers_hardware(self) -> dict[str, dict]:
        return {"local": _fingerprint()}

    def run_on_workers(self, fn):
        return {"local": fn()}


class DaskExecutor(Executor):
    """Tasks on a Dask cluster (a scheduler address, or an existing ``distributed.Client``)."""

    def __init__(self, scheduler, *, timeout_s: float = 30.0) -> None:
        if isinstance(scheduler, str):
            self.client = connect(scheduler, timeout_s=timeout_s)
            self._owns_client = True
        else:
            self.client = scheduler
            self._owns_client = False
        self.scheduler = self.client.scheduler.address
        self.timeout_s = timeout_s
        self.rejected = 0  # results discarded because they came from other hardware
        try:
            self.client.wait_for_workers(1, timeout=timeout_s)
        except (TimeoutError, OSError):
            self.close()
            raise SchedulerError(f"no Dask worker joined {self.scheduler} within "
                                 f"{timeout_s:.0f}s") from None

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def workers_hardware(self) -> dict[str, dict]:
        return self.client.run(_fingerprint)

    def run_on_workers(self, fn):
        return self.client.run(fn)

    def timing_slots(self) -> int:
        """How many timed measurements the cluster can run at once (workers with the resource)."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        return sum(int(w.get("resources", {}).get(TIMING_RESOURCE, 0) >= 1) for w in workers)

    def _hosts_with(self, hardware_id: str) -> list[str]:
        hosts = sorted({_host(a) for a, hw in self.workers_hardware().items()
                        if hw["id"] == hardware_id})
        if not hosts:
            raise SchedulerError(f"no Dask worker at {self.scheduler} has hardware {hardware_id}")
        return hosts

    def map_unordered(self, fn, items, *, timing=False, hardware_id=None, keys=None,
                      name="task", window=None) -> Iterator[Done]:
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        if timing and self.timing_slots() == 0:
            raise SchedulerError(
                f"no worker at {self.scheduler} offers the '{TIMING_RESOURCE}' resource; start "
                f"workers with `dask worker {self.scheduler} --nthreads 1 --resources "
                f"{TIMING_RESOURCE}=1`")
        items = list(items)
        token = uuid.uuid4().hex[:8]
        names = [str(k) for k in keys] if keys is not None else [str(i) for i in range(len(items))]
        hosts = self._hosts_with(hardware_id) if hardware_id is not None else None
        resources = {TIMING_RESOURCE: 1} if timing else None
        resubmits: Counter[int] = Counter()
        index_of: dict[str, int] = {}

        def submit(i: int):
            key = f"{name}-{names[i]}-{token}" + (f"-r{resubmits[i]}" if resubmits[i] else "")
            fut = self.client.submit(_traced, fn, items[i], key=key, resources=resources,
                                     workers=hosts, allow_other_workers=False, pure=False)
            index_of[fut.key] = i
            return fut

        limit = window or len(items)
        feed = iter(range(len(items)))
        pending = as_completed(loop=self.client.loop)
        for i in feed:
            pending.add(submit(i))
            if pending.count() >= limit:
                break
        try:
            for fut in pending:
                i = index_of.pop(fut.key)
                try:
                    result, worker, hw = fut.result()
                except (KilledWorker, FutureCancelledError) as exc:
                    yield Done(i, None, "", "", error=exc)
                else:
                    if hardware_id is not None and hw != hardware_id:
                        # A worker of other hardware joined after we looked: measure again.
                        self.rejected += 1
                        resubmits[i] += 1
                        if resubmits[i] > MAX_HARDWARE_RESUBMITS:
                            yield Done(i, None, worker, hw, error=SchedulerError(
                                f"task kept landing on hardware {hw}, not {hardware_id}"))
                        else:
                            hosts = self._hosts_with(hardware_id)
                            pending.add(submit(i))
                        fut.release()
                        continue
                    yield Done(i, result, worker, hw)
                fut.release()  # the caller has it now; free the worker's memory
                nxt = next(feed, None)
                if nxt is not None:
                    pending.add(submit(nxt))
        finally:
            # The consumer stopped early (error, Ctrl-C): nothing more should run for it.
            for fut in list(getattr(pending, "futures", ())):
                fut.cancel()
            pending.clear()


def executor_for(flag: str | None = None, *, timeout_s: float = 30.0) -> Executor:
    """A DaskExecutor when ``--scheduler``/``COSTMODEL_SCHEDULER`` names a cluster, else local."""
    address = resolve_scheduler(flag)
    return LocalExecutor() if address is None else DaskExecutor(address, timeout_s=timeout_s)
