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
    """Arm 0: always 5 s. Arm 1: 1 s or 100 s with equal odds (mean 50.5), stopped at a
    10 s timeout, so half its runs are censored at 10. On a log scale a censored 10 looks
    good (mean of log 1 and log 10 is below log 5): a learner that believes it is fooled."""
    def run(arm: int) -> tuple[float, bool]:
        if arm == 0:
            return 5.0, False
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
    assert aware > 0.9, aware
    assert naive < 0.5, naive


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
