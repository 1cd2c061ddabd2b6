"""`costmodel collect --scheduler ...`: measure on Dask workers, journal here.

The client owns the dataset: each result is committed to the SQLite journal as it arrives
(INSERT OR IGNORE by sample_key), so a worker lost mid-task costs only that task, which Dask
reruns elsewhere, and nothing is measured or stored twice. The dataset's hardware is the
one it already has, else the most common fingerprint among the workers; workers of other
hardware get no work unless ``allow_mixed_hardware``.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from costmodel.collect.plan import WorkItem
from costmodel.collect.run import DEFAULT_TIME_CAP_S, CollectStats
from costmodel.dataset.store import DatasetStore
from costmodel.distributed.executor import Executor
from costmodel.distributed.measure import measure_items
from costmodel.distributed.scheduler import SchedulerError


@dataclass
class DistributedCollectStats(CollectStats):
    failed: int = 0  # tasks lost for good (they stay planned: the next run measures them)
    ran_on: dict[str, str] = field(default_factory=dict)  # sample_key -> worker address
    per_worker: dict[str, int] = field(default_factory=dict)
    hardware: dict[str, int] = field(default_factory=dict)  # hardware id -> samples


def choose_hardware(existing: dict | None, workers: dict[str, dict]) -> dict:
    """The dataset's hardware if it has one, else the fingerprint most workers share."""
    if existing is not None:
        return existing
    if not workers:
        raise SchedulerError("the cluster has no workers")
    counts = Counter(hw["id"] for hw in workers.values())
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return next(hw for hw in workers.values() if hw["id"] == best)


def collect_distributed(items: list[WorkItem], out: str, executor: Executor, *,
                        time_cap_s: float = DEFAULT_TIME_CAP_S, checkpoint_every: int = 100,
                        collection: dict | None = None, progress: bool = True,
                        on_row: Callable[[dict], None] | None = None,
                        allow_mixed_hardware: bool = False) -> DistributedCollectStats:
    workers = executor.workers_hardware()
    probe = DatasetStore(out, allow_mixed_hardware=allow_mixed_hardware)
    existing = probe.hardware
    probe.close()
    target = choose_hardware(existing, workers)
    store = DatasetStore(out, hardware=target, allow_mixed_hardware=allow_mixed_hardware)
    matching = sorted(a for a, hw in workers.items() if hw["id"] == target["id"])
    if not matching and not allow_mixed_hardware:
        seen = ", ".join(sorted({f"{hw['id']} ({hw.get('cpu_model')})" for hw in workers.values()}))
        store.close()
        raise SchedulerError(
            f"{out} holds measurements from hardware {target['id']} ({target.get('cpu_model')}), "
            f"but the workers are {seen}; use another dataset or --allow-mixed-hardware")
    others = len(workers) - len(matching)
    if others and not allow_mixed_hardware and progress:
        print(f"{others} worker(s) of other hardware get no measurements "
              "(--allow-mixed-hardware to use them)", file=sys.stderr)
    done = store.done_keys()
    todo = [it for it in items if it.key not in done]
    stats = DistributedCollectStats(planned=len(items), skipped=len(items) - len(todo))
    meta = {**(collection or {}), "scheduler": executor.scheduler,
            "workers": {a: hw["id"] for a, hw in sorted(workers.items())},
            "allow_mixed_hardware": allow_mixed_hardware,
            "worker_load": [executor.run_on_workers(_load)]}
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(items), initial=stats.skipped, desc=f"collect {store.root.name}",
                   unit="sample", dynamic_ncols=True, smoothing=0.05)
    results = measure_items(todo, executor, time_cap_s=time_cap_s,
                            hardware_id=None if allow_mixed_hardware else target["id"])
    try:
        for done_task in results:
            if done_task.error is not None:
                stats.failed += 1
                if bar is not None:
                    bar.write(f"lost {todo[done_task.index].key}: {done_task.error}")
                continue
            res = done_task.result
            row = res.row
            store.add(row, res.ir)
            stats.measured += 1
            stats.feasible += bool(row["feasible"])
            stats.noisy += bool(row.get("noisy"))
            stats.ran_on[row["sample_key"]] = done_task.worker
            stats.per_worker[done_task.worker] = stats.per_worker.get(done_task.worker, 0) + 1
            stats.hardware[row["hardware_id"]] = stats.hardware.get(row["hardware_id"], 0) + 1
            if on_row is not None:
                on_row(row)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(feasible=f"{stats.feasible}/{stats.measured}",
                                noisy=stats.noisy, workers=len(stats.per_worker), refresh=False)
            if stats.measured % checkpoint_every == 0:
                meta["worker_load"].append(executor.run_on_workers(_load))
                store.export(collection={**meta, "hardware_ids": stats.hardware})
    except KeyboardInterrupt:
        stats.interrupted = True
    finally:
        results.close()  # cancels whatever is still queued on the cluster
        if bar is not None:
            bar.close()
        stats.seconds = time.perf_counter() - t0
        if len(store):
            store.export(collection={**meta, "hardware_ids": stats.hardware})
        store.close()
    return stats


def _load() -> list[float]:
    from costmodel.dataset.fingerprint import load
    return load()
