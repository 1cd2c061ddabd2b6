"""Tsallis-INF's per-arm baseline rule for the reduced-variance estimator."""

import math

import numpy as np
import pytest

from tuner.errors import StrategyError
from tuner.strategies import make_strategy


def test_smooth_baseline_is_min_of_b_and_sqrt_p_over_eta():
    s = make_strategy("tsallis_inf", 20, seed=0)
    rng = np.random.default_rng(0)
    for t in range(1, 300):
        p = s.ask()
        s.tell(p, float(rng.lognormal(0.0, 1.0) * (1 + p.arm / 5)))
        eta, B = s.eta(t + 1), s.baseline
        charged = [B] * 20
        for j, d in s._low:
            charged[j] = B - d
        want = [min(B, math.sqrt(v) / eta) for v in s.p]
        assert np.allclose(charged, want, rtol=1e-12, atol=1e-12), t


def test_step_rule_charges_zero_below_eta_squared():
    s = make_strategy("tsallis_inf", 20, seed=0, baseline_rule="step")
    assert s.baseline == 0.6
    rng = np.random.default_rng(1)
    for t in range(1, 200):
        p = s.ask()
        s.tell(p, float(rng.uniform(1, 100)))
        thr = s.eta(t + 1) ** 2
        assert sorted(j for j, _ in s._low) == [j for j, v in enumerate(s.p) if v < thr]
        assert all(d == s.baseline for _, d in s._low)


def test_baseline_rule_is_validated():
    with pytest.raises(StrategyError, match="baseline_rule"):
        make_strategy("tsallis_inf", 3, baseline_rule="linear")
