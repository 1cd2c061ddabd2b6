"""Strategies on stochastic arms: every learner beats uniform random; censoring."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuner.errors import StrategyError
from tuner.strategies import STRATEGIES, ACBand, CensoredThompson, GaussianThompson, make_strategy
from tuner.strategies.base import Pull

K, T = 10, 1500


def _regret(name: str, seed: int) -> float:
    """Pseudo-regret (sum of mean gaps of the arms played) on Gaussian arms with a
    uniform context the contextual learners can ignore."""
    rng = np.random.default_rng(100 + seed)
    means = np.linspace(0.3, 0.7, K)
    rng.shuffle(means)
    opts = {"context_range": (0.0, 1.0)} if STRATEGIES[name].contextual else {}
    s = make_strategy(name, K, seed=seed, **opts)
    regret, n = 0.0, 0
    while n < T:
        c = float(rng.random())
        if isinstance(s, ACBand):
            pulls = s.ask_race(c)
            losses = {p.arm: max(1e-3, means[p.arm] + 0.1 * rng.standard_normal()) for p in pulls}
            first = min(losses.values())
            for p in pulls:   # the first to finish wins; the others are stopped then
                s.tell(p, min(losses[p.arm], first), censored=losses[p.arm] > first, context=c)
        else:
            pulls = [s.ask(c)]
            s.tell(pulls[0], max(1e-3, means[pulls[0].arm] + 0.1 * rng.standard_normal()), context=c)
        for p in pulls:
            regret += means[p.arm] - means.min()
            n += 1
    return regret


@pytest.mark.parametrize("name", sorted(set(STRATEGIES) - {"random", "grid"}))
def test_every_strategy_beats_uniform_random(name):
    seeds = range(3)
    learner = np.mean([_regret(name, s) for s in seeds])
    random = np.mean([_regret("random", s) for s in seeds])
    assert learner < 0.6 * random, (name, learner, random)


def test_baselines_cover_the_arms():
    g = make_strategy("grid", 5)
    assert [g.ask().arm for _ in range(7)] == [0, 1, 2, 3, 4, 0, 1]
    r = make_strategy("random", 5, seed=1)
    assert {r.ask().arm for _ in range(200)} == set(range(5))


def _censored_env(rng):
    """Arm 0: about 5 s (+-10%). Arm 1: 1 s or 100 s with equal odds (mean 50.5), stopped
    at a 10 s timeout, so half its runs are censored at 10. On a log scale a censored 10
    looks good (mean of log 1 and log 10 is below log 5): a learner that believes it is
    fooled. (Arm 0 is noisy so no learner can lock in on a zero-variance first look.)"""
    def run(arm: int) -> tuple[float, bool]:
        if arm == 0:
            return 5.0 * rng.uniform(0.9, 1.1), False
        return (1.0, False) if rng.random() < 0.5 else (10.0, True)
    return run


def _share_of_good_arm(strategy) -> float:
    rng = np.random.default_rng(0)
    run = _censored_env(rng)
    picks = []
    for _ in range(600):
        p = strategy.ask()
        loss, cens = run(p.arm)
        strategy.tell(p, loss, censored=cens)
        picks.append(p.arm == 0)
    return float(np.mean(picks[300:]))


def test_censoring_aware_thompson_is_not_fooled_by_timeouts():
    aware = np.mean([_share_of_good_arm(CensoredThompson(2, seed=s)) for s in range(3)])
    naive = np.mean([_share_of_good_arm(GaussianThompson(2, seed=s, log=True)) for s in range(3)])
    assert aware > 0.8, aware
    assert naive < 0.2, naive


def test_censored_imputation_recovers_the_mean():
    """Normal log-runtimes, mean 2, sd 1, censored at 2.2 (about 42% censored): the
    imputed fit is close to the truth, censored values taken at face value are not."""
    rng = np.random.default_rng(3)
    s = CensoredThompson(1, seed=0)
    y = rng.normal(2.0, 1.0, 800)
    cut = 2.2
    for v in y:
        s.tell(Pull(0), math.exp(min(v, cut)), censored=v > cut)
    aware = s.y_sum[0] / s.y_n[0]
    naive = np.minimum(y, cut).mean()
    assert abs(aware - 2.0) < 0.12, aware
    assert naive < 1.75


def test_racing_stops_losers_and_keeps_the_winner():
    s = ACBand(8, seed=0, k=4)
    means = np.arange(8, dtype=float) + 1.0          # arm 0 is the fastest
    rng = np.random.default_rng(0)
    for _ in range(300):
        pulls = s.ask_race()
        assert len({p.group for p in pulls}) == 1
        times = {p.arm: means[p.arm] * rng.uniform(0.8, 1.2) for p in pulls}
        first = min(times.values())
        for p in pulls:
            s.tell(p, min(times[p.arm], first), censored=times[p.arm] > first)
    assert s.best_arm() == 0
    assert s.race_size == 1          # converged to exploiting the winner


def test_tsallis_inf_distribution_is_normalised():
    s = make_strategy("tsallis_inf", 20, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(500):
        p = s.ask()
        s.tell(p, float(rng.uniform(1, 100)))
        assert abs(sum(s.p) - 1.0) < 1e-9 and min(s.p) > 0


def test_tsallis_inf_is_the_exact_ftrl_distribution():
    """After every report, p_i = 4 / (eta' (L_i - x))^2 for one x, with eta' within tol of
    the scheduled rate; x checked against scipy's root finder on the same losses."""
    from scipy.optimize import brentq

    s = make_strategy("tsallis_inf", 20, seed=0, tol=1e-4)
    rng = np.random.default_rng(1)
    for t in range(1, 400):
        p = s.ask()
        s.tell(p, float(rng.uniform(1, 100) * (1 + p.arm / 10)))
        eta = s.eta(t + 1)
        L = np.array(s.L)
        root = brentq(lambda x: (4.0 / (eta * (L - x)) ** 2).sum() - 1.0,
                      L.min() - 2.0 * np.sqrt(20) / eta - 1.0, L.min() - 2.0 / eta)
        exact = 4.0 / (eta * (L - root)) ** 2
        assert np.allclose(s.p, exact, rtol=5e-4, atol=1e-12), t
        assert abs(sum(s.p) - 1.0) < 1e-12


def test_tsallis_inf_reduced_variance_estimator_helps_on_correlated_losses():
    """Arms whose losses share a per-round difficulty (as solver instances do): the
    reduced-variance estimator pays less than plain importance weighting."""
    def cost(estimator: str, seed: int) -> float:
        rng = np.random.default_rng(seed)
        gaps = 1.0 + 0.15 * np.arange(10)
        s = make_strategy("tsallis_inf", 10, seed=seed, estimator=estimator, scale="mean", lr=0.5,
                          baseline=1.0)
        total = 0.0
        for _ in range(2000):
            p = s.ask()
            loss = float(100 * rng.lognormal(0.0, 0.5) * gaps[p.arm])
            s.tell(p, loss)
            total += loss
        return total
    rv = np.mean([cost("rv", k) for k in range(3)])
    iw = np.mean([cost("iw", k) for k in range(3)])
    assert rv < 0.97 * iw, (rv, iw)


def test_tsallis_inf_range_scaling_beats_mean_scaling():
    """Losses with a large common floor (as iteration counts have): mapping them through
    the running [min, mean] range gives less pseudo-regret than dividing by the mean."""
    means = 100.0 * (1.0 + 0.15 * np.arange(10))

    def regret(opts: dict, seed: int) -> float:
        rng = np.random.default_rng(seed)
        s = make_strategy("tsallis_inf", 10, seed=seed, **opts)
        total = 0.0
        for _ in range(2000):
            p = s.ask()
            s.tell(p, float(means[p.arm] * rng.lognormal(0.0, 0.5)))
            total += means[p.arm] - means[0]
        return total
    ranged = np.mean([regret({}, k) for k in range(3)])
    mean = np.mean([regret({"scale": "mean", "lr": 0.5, "baseline": 1.0}, k) for k in range(3)])
    assert ranged < 0.85 * mean, (ranged, mean)


def test_chebcb_draws_follow_the_inverse_gap_weights():
    """Draws follow the inverse-gap weights, and each pull carries its probability."""
    s = make_strategy("chebcb", 4, seed=3, context_range=(0.0, 1.0), degree=1, eta=1.0)
    for t in range(40):
        c = (t % 10) / 10
        s.tell(Pull(t % 4), float(np.exp(0.2 * (t % 4) + c)), context=c)
    pred = np.array(s.predict(0.5))
    eta = s.eta * (s.n_told + 1) ** s.power
    p = 1.0 / (4 + eta * (pred - pred.min()))
    best = int(pred.argmin())
    p[best] = 0.0
    p[best] = 1.0 - p.sum()
    n = 20000
    pulls = [s.ask(0.5) for _ in range(n)]
    freq = np.bincount([q.arm for q in pulls], minlength=4) / n
    assert np.allclose(freq, p, atol=4 * np.sqrt(p * (1 - p) / n) + 1e-3), (freq, p)
    for q in pulls[:50]:
        assert q.prob == pytest.approx(p[q.arm], rel=1e-9)


@pytest.mark.parametrize("name", ["linucb", "chebcb"])
def test_contextual_tell_uses_its_own_context(name):
    """Features are cached per context: a tell at a context other than the last ask's
    must still regress on the tell's context (compared with a direct solve)."""
    s = make_strategy(name, 2, seed=0, context_range=(0.0, 1.0), ridge=0.5)
    rng = np.random.default_rng(5)
    F, Y = [], []
    for _ in range(60):
        s.ask(float(rng.random()))                 # caches another context's features
        c = float(rng.random())
        loss = float(np.exp(c + 0.1 * rng.standard_normal()))
        s.tell(Pull(0), loss, context=c)
        F.append(s.features(c))
        Y.append(np.log(loss))
    F = np.array(F)
    theta = np.linalg.solve(F.T @ F + 0.5 * np.eye(F.shape[1]), F.T @ np.array(Y))
    assert np.allclose(s.theta[0], theta, atol=1e-8)


@pytest.mark.parametrize("name, degree", [("linucb", 2), ("chebcb", 5)])
def test_contextual_regression_equals_batch_ridge(name, degree):
    """The recursive per-arm updates give the batch ridge solution, and LinUCB's
    polynomial shortcut picks the argmin of theta.f - alpha sqrt(f^T A^-1 f)."""
    ridge = 0.5
    s = make_strategy(name, 3, seed=0, context_range=(0.0, 2.0), degree=degree, ridge=ridge)
    rng = np.random.default_rng(2)
    X: dict[int, list] = {0: [], 1: [], 2: []}
    Y: dict[int, list] = {0: [], 1: [], 2: []}
    for _ in range(300):
        c = float(rng.uniform(0, 2))
        p = s.ask(c)
        loss = float(np.exp(np.sin(3 * c) + 0.3 * p.arm + 0.1 * rng.standard_normal()))
        s.tell(p, loss, context=c)
        X[p.arm].append(s.features(c))
        Y[p.arm].append(np.log(loss))
    for arm in range(3):
        F = np.array(X[arm]).reshape(-1, degree + 1)
        A = F.T @ F + ridge * np.eye(degree + 1)
        theta = np.linalg.solve(A, F.T @ np.array(Y[arm]))
        assert np.allclose(s.theta[arm], theta, atol=1e-6)
        assert np.allclose(s.A_inv[arm], np.linalg.inv(A), atol=1e-8)
    if name == "linucb":
        for c in np.linspace(0, 2, 25):
            f = np.array(s.features(float(c)))
            score = s.theta @ f - s.alpha * np.sqrt(np.einsum("kij,i,j->k", s.A_inv, f, f))
            assert s.ask(float(c)).arm == int(score.argmin())


def test_strategy_errors():
    with pytest.raises(StrategyError, match="unknown strategy"):
        make_strategy("nope", 3)
    with pytest.raises(StrategyError, match="bad options"):
        make_strategy("ucb1", 3, bogus=1)
    with pytest.raises(StrategyError, match="n_arms"):
        make_strategy("ucb1", 0)
    s = make_strategy("chebcb", 3, context_range=(0, 1))
    with pytest.raises(StrategyError, match="context"):
        s.ask(None)
    with pytest.raises(StrategyError, match="positive"):
        s.tell(Pull(0), -1.0, context=0.5)
    with pytest.raises(StrategyError, match="out of range"):
        s.tell(Pull(7), 1.0, context=0.5)
    with pytest.raises(StrategyError, match="finite"):
        make_strategy("ucb1", 3).tell(Pull(0), float("inf"))
    with pytest.raises(StrategyError, match="estimator"):
        make_strategy("tsallis_inf", 3, estimator="exp")
    with pytest.raises(StrategyError, match="scale"):
        make_strategy("tsallis_inf", 3, scale="max")
    with pytest.raises(StrategyError, match="ridge"):
        make_strategy("linucb", 3, ridge=0.0)
