"""Side-by-side timing: interleaved rounds over real compiled modules, failures isolated."""

from __future__ import annotations

import time

import numpy as np
import pytest

from costmodel.measure import (LatencyResult, LatencySettings, LoadedModule, RunError,
                               compile_module, make_inputs, pinned, time_callable)
from costmodel.measure.side_by_side import time_modules_side_by_side, time_side_by_side
from tests.test_measure import SCALAR, matmul

FAST = LatencySettings(time_cap_s=0.3, warmup_s=0.01)


@pytest.fixture(scope="module")
def pair():
    return compile_module(matmul(64)), compile_module(matmul(64, SCALAR))


def test_real_modules_are_timed_in_the_same_rounds(pair):
    default, scalar = pair
    inputs = make_inputs(default.signature)
    with pinned():
        fast, slow = time_modules_side_by_side(
            [(LoadedModule(default.vmfb), inputs), (LoadedModule(scalar.vmfb), inputs)], FAST)
    for lat in (fast, slow):
        assert isinstance(lat, LatencyResult)
        assert lat.q1_s <= lat.median_s <= lat.q3_s and lat.calls == lat.samples * lat.batch
        assert lat.samples >= FAST.min_samples
    assert fast.samples == slow.samples  # one sample of each per round
    assert fast.batch > slow.batch  # each candidate gets its own calls per sample
    assert slow.median_s > 3 * fast.median_s  # ~18x apart here


def test_a_module_that_cannot_run_gets_an_error_and_the_others_are_timed(pair):
    default, _ = pair
    good = make_inputs(default.signature)
    wrong = [np.zeros((3, 5), np.float32), np.zeros((5, 2), np.float32)]  # shapes it rejects
    with pinned():
        out = time_modules_side_by_side(
            [(LoadedModule(default.vmfb), wrong), (LoadedModule(default.vmfb), good)], FAST)
    assert isinstance(out[0], RunError) and "@matmul" in str(out[0])
    assert isinstance(out[1], LatencyResult) and out[1].median_s > 0


def test_a_candidate_failing_mid_run_stops_alone():
    calls = {"n": 0}

    def flaky() -> None:
        calls["n"] += 1
        if calls["n"] > 40:
            raise ValueError("device lost")

    out = time_side_by_side([flaky, lambda: sum(range(50))], FAST)
    assert isinstance(out[0], RunError) and "device lost" in str(out[0])
    assert isinstance(out[1], LatencyResult)
    assert time_side_by_side([], FAST) == []


def _drifting_machine(duration_s: float):
    """Two identical busy-wait kernels on a machine that slows down steadily (x1 -> x3)."""
    t0 = time.perf_counter()

    def kernel() -> None:
        slow = 1.0 + 2.0 * min(1.0, (time.perf_counter() - t0) / duration_s)
        end = time.perf_counter() + 40e-6 * slow
        while time.perf_counter() < end:
            pass
    return kernel


def test_side_by_side_cancels_drift_that_sequential_timing_reports_as_a_difference():
    s = LatencySettings(time_cap_s=0.25, warmup_s=0.01, target_rel=1e-6)  # always run to the cap
    kernel = _drifting_machine(0.6)
    a, b = time_callable(kernel, s), time_callable(kernel, s)
    assert b.median_s / a.median_s > 1.3  # the same kernel "got slower": drift, not code
    kernel = _drifting_machine(0.6)
    a, b = time_side_by_side([kernel, kernel], s)
    assert abs(b.median_s / a.median_s - 1.0) < 0.15
