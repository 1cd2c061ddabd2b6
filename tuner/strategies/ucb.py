"""UCB1 on losses: optimism is a *lower* confidence bound on the mean loss."""

from __future__ import annotations

import math

from tuner.strategies.base import Context, Pull, Strategy


class UCB1(Strategy):
    """Auer et al. UCB1 with the bonus scaled by the observed loss range (losses are not
    in [0, 1] here: iteration counts, seconds)."""

    name = "ucb1"

    def __init__(self, n_arms: int, *, seed: int | None = 0, c: float = 1.0) -> None:
        super().__init__(n_arms, seed=seed)
        self.c = float(c)
        self.lo, self.hi = math.inf, -math.inf
        # Per-arm mean and 1/sqrt(count), kept up to date in tell so ask is one pass.
        # Arms asked but not yet reported (count 0) stay first in line: mean -inf.
        self._mean = [-math.inf] * n_arms
        self._isq = [0.0] * n_arms

    def ask(self, context: Context = None) -> Pull:
        warm = self._unplayed()
        if warm is not None:
            return Pull(warm)
        scale = (self.hi - self.lo) if self.hi > self.lo else 1.0
        bonus = self.c * scale * math.sqrt(2.0 * math.log(max(self.n_told, 2)))
        index = [m - bonus * r for m, r in zip(self._mean, self._isq)]
        return Pull(index.index(min(index)))

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        if loss < self.lo:
            self.lo = loss
        if loss > self.hi:
            self.hi = loss
        a, n = pull.arm, self.counts[pull.arm]
        self._mean[a] = self.sums[a] / n
        self._isq[a] = 1.0 / math.sqrt(n)
