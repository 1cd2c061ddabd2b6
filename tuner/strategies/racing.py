"""AC-Band-style racing (Brandt et al. 2023): k candidates run together on one instance,
the first to finish wins and the others are stopped (censored at the winner's loss).

Epochs of ``races_per_epoch`` races; after each, the pool keeps its best candidates by
win rate and admits new ones from the untried arms, fewer each epoch (k/2, k/4, ...).
Once every arm has been admitted, each epoch halves the pool, ending with a race of one:
the winner is exploited.
"""

from __future__ import annotations

import math

from tuner.errors import StrategyError
from tuner.strategies.base import Context, Pull, Strategy


class ACBand(Strategy):
    name = "ac_band"

    def __init__(self, n_arms: int, *, seed: int | None = 0, k: int = 4,
                 races_per_epoch: int = 0) -> None:
        super().__init__(n_arms, seed=seed)
        if k < 1:
            raise StrategyError(f"{self.name}: k must be >= 1")
        self.k = min(int(k), n_arms)
        self.races_per_epoch = int(races_per_epoch) or 4 * self.k
        order = [int(a) for a in self.rng.permutation(n_arms)]
        self.pool, self.queue = order[: self.k], order[self.k:]
        self.wins = [0] * n_arms
        self.raced = [0] * n_arms
        self.epoch = 0
        self.races_done = 0
        self._race_id = 0
        self._open: list[int] = []                      # members of the race being issued
        self.races: dict[int, dict] = {}                # race id -> {members, results}

    @property
    def race_size(self) -> int:
        """How many pulls the next race needs (the caller asks this many times)."""
        return len(self._open) if self._open else len(self.pool)

    def ask(self, context: Context = None) -> Pull:
        if not self._open:
            self._race_id += 1
            self._open = list(self.pool)
            self.races[self._race_id] = {"members": list(self.pool), "results": {}}
        arm = self._open.pop(0)
        return Pull(arm, group=self._race_id)

    def ask_race(self, context: Context = None) -> list[Pull]:
        """All members of the next race."""
        first = self.ask(context)
        return [first] + [self.ask(context) for _ in range(len(self._open))]

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        race = self.races.get(pull.group) if pull.group is not None else None
        if race is None or pull.arm in race["results"]:
            return
        race["results"][pull.arm] = (loss, censored)
        if len(race["results"]) < len(race["members"]):
            return
        del self.races[pull.group]
        finished = {a: v for a, (v, c) in race["results"].items() if not c}
        if finished:
            self.wins[min(finished, key=lambda a: (finished[a], a))] += 1
        for a in race["members"]:
            self.raced[a] += 1
        self.races_done += 1
        if self.races_done % self.races_per_epoch == 0:
            self._next_epoch()

    def _rate(self, a: int) -> float:
        return (self.wins[a] + 1) / (self.raced[a] + 2)

    def _next_epoch(self) -> None:
        self.epoch += 1
        ranked = sorted(self.pool, key=lambda a: (-self._rate(a), a))
        if self.queue:
            new = min(len(self.queue), max(1, math.ceil(self.k / 2 ** self.epoch)))
            self.pool = ranked[: self.k - new] + self.queue[:new]
            self.queue = self.queue[new:]
        else:
            self.pool = ranked[: max(1, len(ranked) // 2)]

    def best_arm(self, context: Context = None) -> int:
        return max(self.pool, key=lambda a: (self._rate(a), -a))
