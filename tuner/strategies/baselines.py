"""Baselines: uniform random and grid (round-robin over the arms in order)."""

from __future__ import annotations

from tuner.strategies.base import Context, Pull, Strategy


class RandomSearch(Strategy):
    name = "random"

    def ask(self, context: Context = None) -> Pull:
        return Pull(self.prng.randrange(self.K), prob=1.0 / self.K)


class GridSearch(Strategy):
    """Enumerates the arms in order; once through, keeps cycling (a round-robin baseline)."""

    name = "grid"

    def __init__(self, n_arms: int, *, seed: int | None = 0) -> None:
        super().__init__(n_arms, seed=seed)
        self._next = 0

    def ask(self, context: Context = None) -> Pull:
        arm = self._next % self.K
        self._next += 1
        return Pull(arm)
