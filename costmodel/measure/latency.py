"""Wall-clock latency of one entry-function call: warm up, then sample until the median is tight.

Each sample times ``batch`` back-to-back calls with perf_counter_ns and records the per-call
mean, so timer overhead is negligible even for microsecond kernels. Sampling stops when the
order-statistic 95% CI of the median is within ``target_rel`` of it, or at the time cap; a
sample that never got there is flagged ``noisy``.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from costmodel.errors import InputError
from costmodel.measure.errors import RunError
from costmodel.measure.runtime import LoadedModule
from costmodel.measure.stats import summarize


@dataclass(frozen=True)
class LatencySettings:
    target_rel: float = 0.02  # stop once the median's CI half-width is within +-2%
    confidence: float = 0.95
    time_cap_s: float = 2.0  # budget, warm-up included (soft: min_samples are always taken)
    min_samples: int = 6  # >= 6 so an order-statistic 95% CI exists; always collected
    max_samples: int = 100_000
    warmup_calls: int = 3
    warmup_s: float = 0.05  # fast kernels keep warming until this much time has passed
    min_sample_s: float = 2e-4  # batch calls until one sample takes at least this long
    max_batch: int = 10_000

    def __post_init__(self) -> None:
        if not 0 < self.target_rel < 1:
            raise InputError(f"target_rel must be in (0, 1), got {self.target_rel}")
        if not 0.5 < self.confidence < 1:
            raise InputError(f"confidence must be in (0.5, 1), got {self.confidence}")
        if self.min_samples < 6 or self.max_samples < self.min_samples:
            raise InputError("need 6 <= min_samples <= max_samples")
        if self.time_cap_s <= 0 or self.warmup_calls < 1 or self.max_batch < 1:
            raise InputError("time_cap_s must be positive; warmup_calls and max_batch >= 1")


@dataclass(frozen=True)
class LatencyResult:
    median_s: float  # per call
    iqr_s: float  # IQR of the per-call sample means (batching narrows it when batch > 1)
    q1_s: float
    q3_s: float
    ci_low_s: float | None
    ci_high_s: float | None
    ci_rel: float  # max distance of a CI bound from the median, relative; inf if no CI
    calls: int  # timed calls (samples * batch), warm-up excluded
    samples: int
    batch: int
    warmup_calls: int
    noisy: bool  # the CI never got within target_rel
    elapsed_s: float  # wall time spent, warm-up included

    def to_dict(self) -> dict:
        d = asdict(self)
        if math.isinf(self.ci_rel):
            d["ci_rel"] = None  # JSON has no inf
        return d


def warm_up(fn: Callable[[], object], s: LatencySettings, budget_ns: int) -> tuple[list[int], int]:
    """Warm ``fn`` up and pick its batch: (warm-up call times in ns, calls per sample).

    Warm-up (first-call page faults, caches) takes warmup_calls calls and warmup_s seconds,
    but a slow kernel stops after one call once ``budget_ns`` is spent.
    """
    clock = time.perf_counter_ns
    start = clock()
    warm: list[int] = []
    while True:
        t0 = clock()
        fn()
        warm.append(clock() - t0)
        spent = clock() - start
        if len(warm) >= s.warmup_calls and spent >= s.warmup_s * 1e9:
            break
        if spent >= budget_ns:
            break
    per_call_ns = max(1, sorted(warm[-5:])[len(warm[-5:]) // 2])
    batch = int(min(s.max_batch, max(1, math.ceil(s.min_sample_s * 1e9 / per_call_ns))))
    return warm, batch


def result_from(samples: list[float], batch: int, warmup_calls: int, s: LatencySettings,
                elapsed_s: float, summary=None) -> LatencyResult:
    """A LatencyResult from per-call sample means in ns."""
    if summary is None or summary.n != len(samples):
        summary = summarize(samples, s.confidence)
    ns = 1e-9
    return LatencyResult(
        median_s=summary.median * ns, iqr_s=summary.iqr * ns, q1_s=summary.q1 * ns,
        q3_s=summary.q3 * ns,
        ci_low_s=None if summary.ci_low is None else summary.ci_low * ns,
        ci_high_s=None if summary.ci_high is None else summary.ci_high * ns,
        ci_rel=summary.ci_rel, calls=len(samples) * batch, samples=len(samples), batch=batch,
        warmup_calls=warmup_calls, noisy=not summary.ci_rel <= s.target_rel, elapsed_s=elapsed_s)


def time_callable(fn: Callable[[], object], settings: LatencySettings | None = None) -> LatencyResult:
    """Time ``fn()`` (which must block until the work is done) under ``settings``."""
    s = settings or LatencySettings()
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection inside a sample is noise unrelated to the kernel
    try:
        start = clock()
        cap_ns = int(s.time_cap_s * 1e9)
        warm, batch = warm_up(fn, s, cap_ns // 10)
        loop = range(batch)

        samples: list[float] = []
        next_check = s.min_samples
        summary = None
        while True:
            t0 = clock()
            for _ in loop:
                fn()
            samples.append((clock() - t0) / batch)
            n = len(samples)
            if n >= next_check:
                summary = summarize(samples, s.confidence)
                if summary.ci_rel <= s.target_rel:
                    break
                next_check = n + max(1, n // 8)  # re-check at ~12% growth: sorting is O(n log n)
            if n >= s.min_samples and clock() - start >= cap_ns:
                break
            if n >= s.max_samples:
                break
        elapsed = (clock() - start) / 1e9
    finally:
        if gc_was_enabled:
            gc.enable()
    return result_from(samples, batch, len(warm), s, elapsed, summary)

def time_module(module: LoadedModule, inputs: Sequence,
                settings: LatencySettings | None = None) -> LatencyResult:
    """Upload ``inputs`` once, then time calls of the module's entry function on them."""
    call = module.bind(inputs)
    try:
        return time_callable(call, settings)
    except Exception as exc:
        raise RunError(f"@{module.entry} failed while timing: {exc}") from None


def time_vmfb(vmfb: bytes, inputs: Sequence, *, entry: str | None = None,
              settings: LatencySettings | None = None) -> LatencyResult:
    """Latency of ``entry`` in a compiled module, on the local-sync device."""
    return time_module(LoadedModule(vmfb, entry), inputs, settings)
