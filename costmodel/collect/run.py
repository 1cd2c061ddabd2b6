"""Collect measurements: compile in parallel workers, time serially on one pinned core.

Compile workers use every core; the parent times on its pinned core while all workers and
their compilers are paused (SIGSTOP), so timed runs overlap neither each other nor compiles.
The candidates of one group (one kernel's schedules) are timed side by side, in interleaved
rounds, so they are compared under the same machine conditions. Every finished group goes
to the dataset's journal before the next one is timed.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from costmodel.cli_args import check_out_dir
from costmodel.collect.freeze import frozen_descendants
from costmodel.collect.plan import WorkItem
from costmodel.dataset.fingerprint import hardware, load
from costmodel.dataset.store import DatasetStore
from costmodel.errors import CostModelError, InputError

#: Generous per-sample timing budget for collection; the CI target usually stops it sooner.
DEFAULT_TIME_CAP_S = 1.0


def _init_worker(cores: list[int]) -> None:
    from costmodel.measure.cpu import die_with_parent

    die_with_parent()
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cores))


def compile_item(item: WorkItem):
    """Worker: render, analyze and compile one item. Returns plain, picklable data."""
    from costmodel.ir import analyze_text
    from costmodel.measure import CompileOptions, compile_module

    try:
        text = item.render()
    except Exception as exc:  # a generator bug must show up as a row, not vanish
        return item, None, "", None, f"render failed: {type(exc).__name__}: {exc}"
    try:
        flops = analyze_text(text).total()["flops"]
    except CostModelError:
        flops = None
    opts = CompileOptions(data_tiling=item.data_tiling,
                          ukernels="all" if item.ukernels else "none",
                          extra_flags=item.extra_flags)
    try:
        result = compile_module(text, opts, entry=item.entry)
    except CostModelError as exc:
        return item, None, text, flops, f"{type(exc).__name__}: {exc}"
    return item, result, text, flops, None


def base_row(item: WorkItem, hw_id: str, flops: int | None) -> dict:
    return {
        "sample_key": item.key, "run": item.run, "group_id": item.group_id,
        "family": item.family, "source": item.source, "model": item.model,
        "dispatch": item.dispatch, "shape_json": json.dumps(item.shape, sort_keys=True),
        "schedule_json": json.dumps(item.schedule, sort_keys=True),
        "is_default": item.is_default, "pipeline": item.pipeline,
        "data_tiling": item.data_tiling, "ukernels": "all" if item.ukernels else "none",
        "hardware_id": hw_id, "measured_at": time.time(), "flops": flops,
    }


def compile_fields(row: dict, result) -> dict:
    c = result.to_dict()
    for k in ("feasible", "error", "error_kind", "compile_time_s", "vmfb_bytes",
              "static_instructions", "vector_share", "wide_vector_share", "spills", "reloads"):
        row[k] = c[k]
    return row


def _inputs(item: WorkItem, result) -> list:
    from costmodel.measure import RunError, make_inputs

    if item.fixed_inputs:
        return list(item.fixed_inputs)
    if result.signature is not None:
        return make_inputs(result.signature, seed=0)
    raise RunError(f"cannot generate inputs: {result.signature_error}")


def _latency_fields(row: dict, lat) -> dict:
    row.update(latency_median_s=lat.median_s, latency_iqr_s=lat.iqr_s, latency_calls=lat.calls,
               latency_ci_rel=None if math.isinf(lat.ci_rel) else lat.ci_rel, noisy=lat.noisy)
    return row


def _run_error(row: dict, exc: Exception) -> dict:
    row.update(feasible=False, error=str(exc)[:500], error_kind="run_error")
    return row


def time_row(row: dict, item: WorkItem, result, settings) -> dict:
    """Fill compile metrics and, when it compiled, the latency of one call (timed alone)."""
    from costmodel.measure import time_vmfb

    compile_fields(row, result)
    if not result.feasible:
        return row
    try:
        inputs = _inputs(item, result)
        with frozen_descendants():  # no compile runs while we time
            lat = time_vmfb(result.vmfb, inputs, entry=item.entry or result.entry,
                            settings=settings)
    except CostModelError as exc:
        return _run_error(row, exc)
    return _latency_fields(row, lat)


def time_group(entries: list[tuple[dict, WorkItem, object]], settings) -> list[dict]:
    """Fill the rows of one candidate group, timing its feasible members side by side.

    ``entries`` are (row, item, compile result). Candidates of one kernel are timed in
    interleaved rounds (costmodel.measure.side_by_side) so drift in the machine's speed
    reaches all of them alike and their within-group order is measured fairly.
    """
    from costmodel.measure import LoadedModule
    from costmodel.measure.side_by_side import time_modules_side_by_side

    loaded, where = [], []
    for k, (row, item, result) in enumerate(entries):
        compile_fields(row, result)
        if not result.feasible:
            continue
        try:
            loaded.append((LoadedModule(result.vmfb, item.entry or result.entry),
                           _inputs(item, result)))
            where.append(k)
        except CostModelError as exc:
            _run_error(row, exc)
    if loaded:
        with frozen_descendants():  # no compile runs while we time
            timed = time_modules_side_by_side(loaded, settings)
        for k, lat in zip(where, timed):
            row = entries[k][0]
            if isinstance(lat, CostModelError):
                _run_error(row, lat)
            else:
                _latency_fields(row, lat)
    return [row for row, _, _ in entries]


#: At most this many candidates are loaded and timed together (memory: each holds its inputs).
SIDE_BY_SIDE_MAX = 16


@dataclass
class CollectStats:
    planned: int = 0
    skipped: int = 0  # already in the dataset (resume)
    measured: int = 0
    feasible: int = 0
    noisy: int = 0
    seconds: float = 0.0
    interrupted: bool = False


def collect(items: list[WorkItem], out: str, *, workers: int | None = None,
            time_cap_s: float = DEFAULT_TIME_CAP_S, checkpoint_every: int = 100,
            collection: dict | None = None, progress: bool = True,
            on_row: Callable[[dict], None] | None = None, scheduler=None,
            allow_mixed_hardware: bool = False) -> CollectStats:
    """Measure every item not yet in the dataset at ``out``; export Parquet at checkpoints.

    ``scheduler`` (an address, or a costmodel.distributed Executor) measures on a Dask
    cluster instead; see costmodel.distributed.collect.
    """
    # Checked before the store is opened, so bad settings leave no empty dataset behind.
    def count(x) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= 1

    if not count(checkpoint_every):
        raise InputError(f"checkpoint_every must be an integer >= 1, got {checkpoint_every!r}")
    if workers is not None and not count(workers):
        raise InputError(f"workers must be an integer >= 1 (or None for one per core), "
                         f"got {workers!r}")
    if (isinstance(time_cap_s, bool) or not isinstance(time_cap_s, (int, float))
            or not 0 < time_cap_s < float("inf")):
        raise InputError(f"time_cap_s must be a positive number of seconds, got {time_cap_s!r}")
    if not items:
        return CollectStats()   # nothing to measure: no dataset is made
    check_out_dir(out, "out")
    if scheduler is not None:
        from costmodel.distributed.collect import collect_distributed
        from costmodel.distributed.executor import DaskExecutor, Executor

        ex = scheduler if isinstance(scheduler, Executor) else DaskExecutor(scheduler)
        try:
            return collect_distributed(items, out, ex, time_cap_s=time_cap_s,
                                       checkpoint_every=checkpoint_every, collection=collection,
                                       progress=progress, on_row=on_row,
                                       allow_mixed_hardware=allow_mixed_hardware)
        finally:
            if ex is not scheduler:
                ex.close()
    from costmodel.measure import LatencySettings, allowed_cores, pinned

    hw = hardware()
    store = DatasetStore(out, hardware=hw, allow_mixed_hardware=allow_mixed_hardware)
    done = store.done_keys()
    todo = [it for it in items if it.key not in done]
    stats = CollectStats(planned=len(items), skipped=len(items) - len(todo))
    cores = allowed_cores()
    timing_core = cores[-1]
    # Compiles may use every core: they are paused whenever a timed run is in progress.
    compile_cores = cores
    workers = workers or len(cores)
    settings = LatencySettings(time_cap_s=time_cap_s)
    loads: list[list[float]] = [load()]
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(items), initial=stats.skipped, desc=f"collect {store.root.name}",
                   unit="sample", dynamic_ncols=True, smoothing=0.05)
    meta = {**(collection or {}), "hardware_load": loads}
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(compile_cores,))
    pending: deque[Future] = deque()
    feed = iter(todo)
    try:
        with pinned(timing_core):
            def refill() -> None:
                while len(pending) < 2 * workers:
                    nxt = next(feed, None)
                    if nxt is None:
                        return
                    pending.append(pool.submit(compile_item, nxt))

            group: list[tuple[dict, WorkItem, object]] = []

            def record(row: dict, key: str) -> None:
                store.add(row, texts.pop(key))
                stats.measured += 1
                stats.feasible += bool(row["feasible"])
                stats.noisy += bool(row.get("noisy"))
                if on_row is not None:
                    on_row(row)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(feasible=f"{stats.feasible}/{stats.measured}",
                                    noisy=stats.noisy, refresh=False)
                if stats.measured % checkpoint_every == 0:
                    loads.append(load())
                    store.export(collection=meta)

            def flush() -> None:
                rows = time_group(group, settings) if group else []
                for (_, item, _), row in zip(group, rows):
                    record(row, item.key)
                group.clear()

            texts: dict[str, str] = {}
            refill()
            while pending:
                item, result, text, flops, err = pending.popleft().result()
                refill()
                if group and (group[0][1].group_id != item.group_id
                              or len(group) >= SIDE_BY_SIDE_MAX):
                    flush()
                row = base_row(item, hw["id"], flops)
                texts[item.key] = text
                if result is None:
                    row.update(feasible=False, error=err[:500], error_kind="input_error")
                    record(row, item.key)
                    continue
                group.append((row, item, result))
            flush()
    except KeyboardInterrupt:
        stats.interrupted = True
        for f in pending:
            f.cancel()
    finally:
        pool.shutdown(wait=not stats.interrupted, cancel_futures=True)
        if bar is not None:
            bar.close()
        loads.append(load())
        stats.seconds = time.perf_counter() - t0
        if len(store):
            store.export(collection=meta)
        store.close()
    return stats
