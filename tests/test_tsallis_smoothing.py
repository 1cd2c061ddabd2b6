"""Tsallis-INF's neighbour smoothing for ordered arms (``smoothing``)."""

import copy
import math

import numpy as np
import pytest

from tuner.errors import StrategyError
from tuner.strategies import make_strategy


def _kernel(h: float, K: int) -> np.ndarray:
    d = np.abs(np.arange(K)[:, None] - np.arange(K)[None, :])
    return np.maximum(0.0, 1.0 - d / (h + 1.0))


def _played(s, rng, rounds: int) -> None:
    for _ in range(rounds):
        p = s.ask()
        s.tell(p, float(rng.lognormal(0.0, 0.7) * (1 + abs(p.arm - 12) / 4)))


def test_q_is_the_chance_a_round_informs_each_arm():
    s = make_strategy("tsallis_inf", 20, seed=0, smoothing=3.0, smoothing_halflife=50.0)
    rng = np.random.default_rng(0)
    for t in (0, 10, 300):
        _played(s, rng, t)
        h = 3.0 * 50.0 / (50.0 + s.n_told)
        want = _kernel(h, 20).T @ np.asarray(s.p)
        assert np.allclose(s._q, want, rtol=1e-12, atol=1e-15), t


def test_smoothed_estimate_is_unbiased_for_the_smoothed_loss():
    """Over the draw, arm j's expected change is sum_i p_i K(i, j) loss_i / q_j, less the
    baseline B every arm pays alike (a common shift leaves p unchanged): checked exactly by
    playing every arm from copies of one state."""
    s = make_strategy("tsallis_inf", 12, seed=1, smoothing=2.0, smoothing_halflife=100.0)
    _played(s, np.random.default_rng(1), 40)
    assert s._low, "some arms should be charged less than B here"
    ell = np.linspace(0.0, 3.0, 12) ** 1.3   # losses as the strategy sees them (mapped)
    expected = np.zeros(12)
    for i in range(12):
        c = copy.deepcopy(s)
        c._update_smoothed(i, float(ell[i]))
        expected += s.p[i] * (np.array(c.L) - np.array(s.L))
    Kmat = _kernel(2.0 * 100.0 / (100.0 + s.n_told), 12)
    p = np.asarray(s.p)
    smoothed = (Kmat * (p * ell)[:, None]).sum(0) / (Kmat.T @ p)
    assert np.allclose(expected, smoothed - s.baseline, rtol=1e-10, atol=1e-12)


def test_smooth_baseline_reads_q():
    s = make_strategy("tsallis_inf", 20, seed=2, smoothing=3.0)
    rng = np.random.default_rng(2)
    for t in range(1, 200):
        _played(s, rng, 1)
        eta, B = s.eta(t + 1), s.baseline
        charged = [B] * 20
        for j, d in s._low:
            charged[j] = B - d
        assert np.allclose(charged, [min(B, math.sqrt(v) / eta) for v in s._q], atol=1e-12), t


def test_smoothing_lowers_regret_on_a_smooth_heavy_tailed_grid():
    """Ordered arms whose mean loss is a smooth curve, under a per-round difficulty with a
    heavy tail shared by all arms (as solver instances are): plays of neighbours inform an
    arm, so the learner pays less than plain Tsallis-INF."""
    K = 20
    curve = 1.0 + 2.0 * (np.arange(K) / (K - 1) - 0.7) ** 2

    def regret(opts: dict, seed: int) -> float:
        rng = np.random.default_rng(seed)
        s = make_strategy("tsallis_inf", K, seed=seed, **opts)
        total = 0.0
        for _ in range(3000):
            p = s.ask()
            hard = rng.pareto(2.5) + 1.0
            s.tell(p, float(100 * hard * curve[p.arm] * rng.uniform(0.9, 1.1)))
            total += 100 * (curve[p.arm] - curve.min())
        return total
    plain = np.mean([regret({}, k) for k in range(8)])
    smooth = np.mean([regret({"smoothing": 3.0, "lr": 1.5}, k) for k in range(8)])
    assert smooth < 0.9 * plain, (smooth, plain)  # measured 0.82


def test_smoothing_options_are_validated():
    with pytest.raises(StrategyError, match="smoothing"):
        make_strategy("tsallis_inf", 5, smoothing=-1.0)
    with pytest.raises(StrategyError, match="smoothing_halflife"):
        make_strategy("tsallis_inf", 5, smoothing=1.0, smoothing_halflife=0.0)
    with pytest.raises(StrategyError, match="estimator='rv'"):
        make_strategy("tsallis_inf", 5, smoothing=1.0, estimator="iw")
