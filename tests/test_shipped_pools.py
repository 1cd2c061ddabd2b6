"""The schedule benchmark's pools shipped in the repository (datasets/pools-zen3): complete,
tied to the hardware they were timed on, and replayed by the benchmarks without timing
anything (real measurements, read back)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuner.schedules.pool import load_pool, suite_dispatches

POOLS = Path(__file__).resolve().parent.parent / "datasets" / "pools-zen3"


def test_the_shipped_pools_are_complete_and_name_their_hardware():
    hw = json.loads((POOLS / "hardware.json").read_text())["hardware"]
    assert hw["id"] == "41476f09de86a446" and hw["iree_target_cpu"] == "znver3"
    pools = [load_pool(POOLS, d, 128) for d in suite_dispatches(40, POOLS)]
    assert len(pools) == 39
    for p in pools:
        assert len(p.measured()) == 128, p.name
        assert len(p.default_latencies) == 16  # IREE's default, once per round of 8
        assert sum(r.feasible for r in p.measured()) > 64


@pytest.mark.parametrize("bench", ["prior_ranking", "real_dispatch_ranking"])
def test_pool_benchmarks_replay_the_shipped_pools(bench, capsys):
    import importlib
    main = importlib.import_module(f"benchmarks.{bench}").main
    before = sorted((f.name, f.stat().st_mtime_ns) for f in POOLS.iterdir())
    assert main(["--cache-dir", str(POOLS), "--dispatches", "12", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["dispatches"] == 12
    ranked = res["prior"] if bench == "prior_ranking" else res["model"]
    # Real timings of real schedules: the learned ranking orders them better than chance.
    assert 0.1 < ranked["kendall_tau"] <= 1
    if bench == "real_dispatch_ranking":
        trials = res["model_order_trials_to_95"]
        assert len(trials["per_dispatch"]) == 12
        # A position in a pool of 128 sampled schedules plus IREE's default.
        assert all(1 <= t <= 129 for t in trials["per_dispatch"].values())
    assert sorted((f.name, f.stat().st_mtime_ns) for f in POOLS.iterdir()) == before


def test_prior_ranking_scores_priors_without_the_cost_model_column(capsys):
    from benchmarks.prior_ranking import main
    args = ["--cache-dir", str(POOLS), "--dispatches", "12", "--json"]
    assert main([*args, "--cost-feature", "none"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["cost_feature"] == "none" and alone["cost_model_feature"] is None
    assert alone["cost_model_gain_share"] == 0.0
    assert main([*args, "--cost-feature", "both"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert 0 < both["cost_model_gain_share"] < 1
    assert both["prior"]["kendall_tau"] != alone["prior"]["kendall_tau"]


def test_trials_to_fraction_counts_candidates_in_cost_order():
    import numpy as np

    from benchmarks.real_dispatch_ranking import trials_to_fraction
    y = np.array([2.0, 1.0, 1.04, 3.0])
    assert trials_to_fraction(np.array([0, 3, 2, 1]), y) == 3    # 2.0, 3.0, then 1.04
    assert trials_to_fraction(np.array([0, 3, 2, 1]), y, fraction=0.99) == 4
    assert trials_to_fraction(np.array([1, 0, 2, 3]), y) == 1
