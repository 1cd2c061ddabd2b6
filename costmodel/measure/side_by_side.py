"""Time several candidates of one kernel side by side: rounds of one sample each, shuffled.

On a shared machine the speed drifts over seconds to minutes (neighbours, frequency). Timed
one after another, candidates of one group see different drift, which reorders close ones;
timed in interleaved rounds, every candidate sees the same drift, so their ratios (and the
within-group ranking the cost model learns) are measured under the same conditions.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence

import numpy as np

from costmodel.measure.errors import RunError
from costmodel.measure.latency import LatencyResult, LatencySettings, result_from, warm_up
from costmodel.measure.runtime import LoadedModule
from costmodel.measure.stats import summarize


def time_side_by_side(fns: Sequence[Callable[[], object]], settings: LatencySettings | None = None,
                      *, seed: int = 0) -> list[LatencyResult | RunError]:
    """Per candidate, its latency, or the RunError that stopped it (the others go on).

    Every candidate is warmed up and given its own batch (calls per sample), then each round
    takes one sample of every live candidate in a fresh random order. Rounds stop once every
    candidate's median CI is within ``target_rel``, or once the group's budget
    (``time_cap_s`` per candidate) is spent and each has ``min_samples``. Each result's
    ``elapsed_s`` is the whole group's time, warm-ups included.
    """
    s = settings or LatencySettings()
    n = len(fns)
    out: list[LatencyResult | RunError | None] = [None] * n
    if n == 0:
        return []
    clock = time.perf_counter_ns
    rng = np.random.default_rng(seed)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection inside a sample is noise unrelated to the kernel
    try:
        start = clock()
        cap_ns = int(s.time_cap_s * 1e9) * n
        batches, warmups = [0] * n, [0] * n
        for i, fn in enumerate(fns):
            try:
                warm, batches[i] = warm_up(fn, s, int(s.time_cap_s * 1e9) // 10)
                warmups[i] = len(warm)
            except Exception as exc:
                out[i] = RunError(f"failed while warming up: {exc}")
        live = [i for i in range(n) if out[i] is None]
        samples: dict[int, list[float]] = {i: [] for i in live}
        summaries: dict[int, object] = {}
        rounds, next_check = 0, s.min_samples
        while live:
            for i in rng.permutation(live):
                fn, b = fns[i], batches[i]
                try:
                    t0 = clock()
                    for _ in range(b):
                        fn()
                    samples[i].append((clock() - t0) / b)
                except Exception as exc:
                    out[i] = RunError(f"failed while timing: {exc}")
            live = [i for i in live if out[i] is None]
            rounds += 1
            if rounds >= next_check:
                summaries = {i: summarize(samples[i], s.confidence) for i in live}
                if all(summaries[i].ci_rel <= s.target_rel for i in live):
                    break
                next_check = rounds + max(1, rounds // 8)  # re-check at ~12% growth
            if rounds >= s.min_samples and clock() - start >= cap_ns:
                break
            if rounds >= s.max_samples:
                break
        elapsed = (clock() - start) / 1e9
    finally:
        if gc_was_enabled:
            gc.enable()
    for i in live:
        out[i] = result_from(samples[i], batches[i], warmups[i], s, elapsed, summaries.get(i))
    return out  # type: ignore[return-value]


def time_modules_side_by_side(modules: Sequence[tuple[LoadedModule, Sequence]],
                              settings: LatencySettings | None = None, *,
                              seed: int = 0) -> list[LatencyResult | RunError]:
    """Like time_side_by_side, for (loaded module, inputs) pairs; inputs are uploaded first.

    A module whose first call fails gets its RunError and is not timed.
    """
    calls: list[Callable[[], object] | None] = []
    errors: dict[int, RunError] = {}
    for i, (module, inputs) in enumerate(modules):
        try:
            calls.append(module.bind(inputs))
        except RunError as exc:
            errors[i] = exc
            calls.append(None)
        except Exception as exc:  # runtime bindings raise their own types
            errors[i] = RunError(f"@{module.entry} failed: {exc}")
            calls.append(None)
    idx = [i for i, c in enumerate(calls) if c is not None]
    timed = time_side_by_side([calls[i] for i in idx], settings, seed=seed)
    out: list[LatencyResult | RunError] = [errors.get(i) for i in range(len(modules))]  # type: ignore[misc]
    for i, r in zip(idx, timed):
        if isinstance(r, RunError):
            r = RunError(f"@{modules[i][0].entry} {r}")
        out[i] = r
    return out
