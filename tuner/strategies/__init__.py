"""Tuning strategies behind one interface (``Strategy.ask`` / ``Strategy.tell``)."""

from __future__ import annotations

from typing import Any

from tuner.errors import StrategyError
from tuner.strategies.adversarial import EXP3, TsallisINF
from tuner.strategies.base import Context, Pull, Strategy
from tuner.strategies.baselines import GridSearch, RandomSearch
from tuner.strategies.contextual import ChebCB, LinUCB
from tuner.strategies.halving import Hyperband, SuccessiveHalving
from tuner.strategies.racing import ACBand
from tuner.strategies.thompson import CensoredThompson, GaussianThompson
from tuner.strategies.ucb import UCB1

STRATEGIES: dict[str, type[Strategy]] = {c.name: c for c in (
    RandomSearch, GridSearch, UCB1, GaussianThompson, CensoredThompson, EXP3, TsallisINF,
    LinUCB, ChebCB, SuccessiveHalving, Hyperband, ACBand)}


def make_strategy(name: str, n_arms: int, *, seed: int | None = 0, **options: Any) -> Strategy:
    """Build a strategy by registry name; options are its keyword arguments (JSON values)."""
    cls = STRATEGIES.get(name)
    if cls is None:
        raise StrategyError(f"unknown strategy {name!r}; one of {', '.join(sorted(STRATEGIES))}")
    try:
        return cls(n_arms, seed=seed, **options)
    except TypeError as e:
        raise StrategyError(f"bad options for {name}: {e}") from None


__all__ = ["STRATEGIES", "Context", "Pull", "Strategy", "make_strategy", "ACBand", "ChebCB",
           "CensoredThompson", "EXP3", "GaussianThompson", "GridSearch", "Hyperband", "LinUCB",
           "RandomSearch", "SuccessiveHalving", "TsallisINF", "UCB1"]
