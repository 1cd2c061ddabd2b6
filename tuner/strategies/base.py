"""The one strategy interface every tuning strategy implements.

A strategy chooses among ``n_arms`` fixed arms (a study maps arms to parameter sets) and
minimises a loss. ``ask`` returns a :class:`Pull`; ``tell`` reports the loss of a pull,
possibly censored (the run was stopped at ``loss``: the true loss is at least that).
Strategies draw randomness only from their own seeded generator and only inside
``ask``/``tell``, so replaying the same ask/tell sequence rebuilds the same state: this
is how a study resumes after a restart.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, NamedTuple

import numpy as np

from tuner.errors import StrategyError

Context = float | Sequence[float] | None


class Pull(NamedTuple):
    """One decision. ``prob`` is the chance the arm had of being chosen (importance
    weighting), ``budget`` a resource level for multi-fidelity strategies, ``group`` ties
    the members of a race (or a halving rung job) together. (A NamedTuple: immutable, and
    built ~4x faster than a frozen dataclass, which matters at ~20 us per decision.)"""

    arm: int
    prob: float = 1.0
    budget: float | None = None
    group: int | None = None


class Strategy(ABC):
    name: ClassVar[str]
    contextual: ClassVar[bool] = False

    def __init__(self, n_arms: int, *, seed: int | None = 0) -> None:
        if isinstance(n_arms, bool) or not isinstance(n_arms, int) or n_arms < 1:
            raise StrategyError(f"{self.name}: n_arms must be a positive int, got {n_arms!r}")
        self.K = n_arms
        self.rng = np.random.default_rng(seed)
        # Scalar draws use Python's generator: ~20x cheaper per call than numpy's.
        self.prng = random.Random(seed)
        # Running statistics shared by most strategies (observed, censored included).
        # (Python lists: per-element numpy updates cost microseconds each.)
        self.counts = [0] * n_arms
        self.sums = [0.0] * n_arms
        self.sumsq = [0.0] * n_arms
        self.n_told = 0
        self.loss_total = 0.0

    @abstractmethod
    def ask(self, context: Context = None) -> Pull:
        """Choose the next arm."""

    def tell(self, pull: Pull, loss: float, *, censored: bool = False, context: Context = None) -> None:
        """Report the loss of ``pull``; subclasses extend ``_update``."""
        arm = pull.arm
        if not 0 <= arm < self.K:
            raise StrategyError(f"{self.name}: arm {arm} out of range 0..{self.K - 1}")
        loss = float(loss)
        if not math.isfinite(loss):
            raise StrategyError(f"{self.name}: loss must be finite, got {loss!r}")
        self.counts[arm] += 1
        self.sums[arm] += loss
        self.sumsq[arm] += loss * loss
        self.n_told += 1
        self.loss_total += loss
        self._update(pull, loss, censored, context)

    def check_loss(self, loss: float) -> None:
        """Raise StrategyError if ``tell`` would reject this loss (checked before storing)."""
        if not math.isfinite(loss):
            raise StrategyError(f"{self.name}: loss must be finite, got {loss!r}")
        transform = getattr(self, "_y", None)   # log-scale strategies need loss > 0
        if transform is not None:
            transform(loss)

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        """Strategy-specific learning from one report (default: the running stats only)."""

    def best_arm(self, context: Context = None) -> int:
        """Current estimate of the best arm (lowest mean observed loss)."""
        means = [s / n if n else math.inf for s, n in zip(self.sums, self.counts)]
        return means.index(min(means))

    def _unplayed(self) -> int | None:
        """Round-robin warm start: the first arm never told nor asked yet."""
        nxt = getattr(self, "_warm", 0)
        if nxt < self.K:
            self._warm = nxt + 1
            return nxt
        return None


def context_scalar(context: Context, name: str) -> float:
    if context is None:
        raise StrategyError(f"{name} is contextual: ask and tell need a context")
    if isinstance(context, (int, float, np.floating, np.integer)):
        return float(context)
    ctx = list(context)
    if len(ctx) != 1:
        raise StrategyError(f"{name} takes a 1-D context, got {len(ctx)} values")
    return float(ctx[0])
