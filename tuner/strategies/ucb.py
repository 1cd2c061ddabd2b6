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

    def ask(self, context: Context = None) -> Pull:
        warm = self._unplayed()
        if warm is not None:
            return Pull(warm)
        scale = (self.hi - self.lo) if self.hi > self.lo else 1.0
        bonus = self.c * scale * math.sqrt(2.0 * math.log(max(self.n_told, 2)))
        # Arms asked but not yet reported (count 0) stay first in line.
        index = [s / n - bonus / math.sqrt(n) if n else -math.inf
                 for s, n in zip(self.sums, self.counts)]
        return Pull(index.index(min(index)))

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        self.lo, self.hi = min(self.lo, loss), max(self.hi, loss)
