"""The noise report on a shipped dataset's real repeat run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from costmodel.collect import noise_report

ROOT = Path(__file__).resolve().parent.parent


def test_noise_report_breaks_tau_down_by_family():
    rep = noise_report(str(ROOT / "datasets" / "cpu-v3"))
    assert rep["samples"] == 156 and rep["groups"] == 13
    fams = rep["kendall_tau_by_family"]
    assert "transpose" in fams and "matmul" in fams
    assert all(-1.0 <= t <= 1.0 for t in fams.values())
    # cpu-v3's repeat run: its two transpose groups reverse, its matmul group agrees.
    assert fams["transpose"] < 0 < 0.9 < fams["matmul"]
    assert min(fams.values()) <= rep["kendall_tau"] <= max(fams.values())
    assert 0 < rep["latency_median_ape"] < rep["latency_mape"] and np.isfinite(rep["top1_slowdown"])
