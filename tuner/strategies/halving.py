"""Successive halving and Hyperband.

``resource="pulls"`` (the bandit use): a rung budget r means each surviving arm is pulled
ceil(r) times and judged by its mean loss; when a bracket ends the winner is exploited.
``resource="fidelity"`` (hyper-parameter search): a rung job is one pull carrying
``budget=r`` for the client to honour (epochs, samples, time), and Hyperband starts over
with fresh brackets when the last one ends.
Rung jobs carry a unique ``group`` id; asks made while a rung waits for outstanding
reports get the current best arm (``group=None``), which feeds only the running stats.
"""

from __future__ import annotations

import math

import numpy as np

from tuner.errors import StrategyError
from tuner.strategies.base import Context, Pull, Strategy


class _Bracket:
    def __init__(self, arms: list[int], r0: float, eta: float, max_budget: float | None,
                 pulls: bool) -> None:
        self.arms, self.r, self.eta, self.max_budget, self.pulls = list(arms), r0, eta, max_budget, pulls
        self.winner: int | None = None
        self.final_mean = math.inf
        self._start_rung()

    def _start_rung(self) -> None:
        reps = max(1, math.ceil(self.r)) if self.pulls else 1
        self.jobs = [a for a in self.arms for _ in range(reps)]   # not yet issued
        self.results: dict[int, list[float]] = {a: [] for a in self.arms}
        self.outstanding: dict[int, int] = {}                      # group id -> arm

    def issue(self, next_id: int) -> tuple[int, float] | None:
        if not self.jobs:
            return None
        arm = self.jobs.pop(0)
        self.outstanding[next_id] = arm
        return arm, self.r

    def record(self, group: int, loss: float) -> bool:
        """Returns True when this report belonged to the bracket."""
        arm = self.outstanding.pop(group, None)
        if arm is None:
            return False
        self.results[arm].append(loss)
        if not self.jobs and not self.outstanding:
            self._promote()
        return True

    def _promote(self) -> None:
        means = {a: float(np.mean(v)) for a, v in self.results.items()}
        ranked = sorted(self.arms, key=lambda a: (means[a], a))
        keep = max(1, math.ceil(len(ranked) / self.eta))
        at_cap = self.max_budget is not None and self.r >= self.max_budget
        if len(ranked) == 1 or at_cap:
            self.winner, self.final_mean = ranked[0], means[ranked[0]]
            return
        self.arms = ranked[:keep]
        self.r = self.r * self.eta
        if self.max_budget is not None:
            self.r = min(self.r, self.max_budget)
        if len(self.arms) == 1 and self.pulls:
            self.winner, self.final_mean = self.arms[0], means[self.arms[0]]
            return
        self._start_rung()


class SuccessiveHalving(Strategy):
    name = "successive_halving"

    def __init__(self, n_arms: int, *, seed: int | None = 0, min_budget: float = 4.0,
                 eta: float = 2.0, max_budget: float | None = None, resource: str = "pulls") -> None:
        super().__init__(n_arms, seed=seed)
        if resource not in ("pulls", "fidelity"):
            raise StrategyError(f"{self.name}: resource is 'pulls' or 'fidelity', got {resource!r}")
        if not eta > 1 or not min_budget > 0:
            raise StrategyError(f"{self.name}: needs eta > 1 and min_budget > 0")
        self.eta, self.min_budget, self.max_budget = float(eta), float(min_budget), max_budget
        self.pulls = resource == "pulls"
        self._ids = 0
        self.finished: list[_Bracket] = []
        self.bracket: _Bracket | None = self._new_bracket()

    def _new_bracket(self) -> _Bracket | None:
        return _Bracket([int(a) for a in self.rng.permutation(self.K)], self.min_budget, self.eta,
                        self.max_budget, self.pulls)

    def _exploit(self) -> int:
        done = [b for b in self.finished if b.winner is not None]
        if done:
            return min(done, key=lambda b: b.final_mean).winner  # type: ignore[return-value]
        return self.best_arm()

    def ask(self, context: Context = None) -> Pull:
        if self.bracket is not None:
            job = self.bracket.issue(self._ids)
            if job is not None:
                self._ids += 1
                arm, r = job
                return Pull(arm, budget=None if self.pulls else r, group=self._ids - 1)
        return Pull(self._exploit())

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        b = self.bracket
        if b is None or pull.group is None or not b.record(pull.group, loss):
            return
        if b.winner is not None:
            self.finished.append(b)
            self.bracket = self._next_bracket()

    def _next_bracket(self) -> _Bracket | None:
        return None if self.pulls else self._new_bracket()


class Hyperband(SuccessiveHalving):
    """Li et al. Hyperband: brackets s = s_max..0 trading the number of configurations
    against their starting budget; n_s = ceil((s_max+1)/(s+1) * eta^s), r_s = R eta^-s."""

    name = "hyperband"

    def __init__(self, n_arms: int, *, seed: int | None = 0, min_budget: float = 2.0,
                 max_budget: float = 32.0, eta: float = 2.0, resource: str = "pulls") -> None:
        if not max_budget >= min_budget > 0:
            raise StrategyError("hyperband: needs max_budget >= min_budget > 0")
        self.s_max = int(math.floor(math.log(max_budget / min_budget) / math.log(eta) + 1e-9))
        self._s = self.s_max
        super().__init__(n_arms, seed=seed, min_budget=min_budget, eta=eta,
                         max_budget=max_budget, resource=resource)

    def _new_bracket(self) -> _Bracket | None:
        s = self._s
        n = min(self.K, math.ceil((self.s_max + 1) / (s + 1) * self.eta ** s))
        r = self.max_budget * self.eta ** (-s)
        arms = [int(a) for a in self.rng.choice(self.K, size=n, replace=False)]
        return _Bracket(arms, r, self.eta, self.max_budget, self.pulls)

    def _next_bracket(self) -> _Bracket | None:
        self._s -= 1
        if self._s < 0:
            if self.pulls:
                return None
            self._s = self.s_max
        return self._new_bracket()
