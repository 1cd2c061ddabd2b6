"""Compile and time WorkItems on any executor: what `costmodel collect` and tune-model run.

A measurement task compiles (holding the host gate shared), then times on the worker's
pinned core (holding the gate exclusively: no other timed run or compile of ours on that
host meanwhile). Its result carries the full hardware fingerprint of the worker.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from costmodel.collect.plan import WorkItem
from costmodel.collect.run import DEFAULT_TIME_CAP_S
from costmodel.distributed.executor import Done, Executor


@dataclass
class MeasureResult:
    row: dict  # a dataset row (SAMPLE_COLUMNS minus ir_hash), hardware_id set by the worker
    ir: str  # the MLIR text that was compiled
    hardware: dict  # the worker's full fingerprint
    timing_core: int | None  # the core the timed run was pinned to (None: not timed)


def measure_one(item: WorkItem, *, time_cap_s: float = DEFAULT_TIME_CAP_S) -> MeasureResult:
    """Compile and time one item here (on a worker, or locally)."""
    from costmodel.collect.run import base_row, compile_item, time_row
    from costmodel.dataset.fingerprint import hardware
    from costmodel.distributed import gate
    from costmodel.measure import LatencySettings, pinned

    with gate.compiling():
        item, result, text, flops, err = compile_item(item)
    hw = hardware()
    row = base_row(item, hw["id"], flops)
    if result is None:
        row.update(feasible=False, error=err[:500], error_kind="input_error")
        return MeasureResult(row, text, hw, None)
    if not result.feasible:
        return MeasureResult(time_row(row, item, result, None), text, hw, None)
    core = gate.timing_core()
    with gate.timing(), pinned(core):
        row = time_row(row, item, result, LatencySettings(time_cap_s=time_cap_s))
    return MeasureResult(row, text, hw, core)


def measure_items(items: Sequence[WorkItem], executor: Executor, *,
                  time_cap_s: float = DEFAULT_TIME_CAP_S, hardware_id: str | None = None,
                  window: int | None = None) -> Iterator[Done]:
    """Measure ``items`` on ``executor``; yields ``Done`` (result: MeasureResult) as each ends.

    With ``hardware_id`` only workers of that fingerprint measure. The caller should persist
    each result as it arrives (that is what makes a lost worker cost no finished result).
    """
    fn = functools.partial(measure_one, time_cap_s=time_cap_s)
    slots = getattr(executor, "timing_slots", lambda: 1)()
    return executor.map_unordered(fn, items, timing=True, hardware_id=hardware_id,
                                  keys=[it.key for it in items], name="measure",
                                  window=window or max(4, 3 * slots))
