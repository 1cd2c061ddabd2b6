"""Contextual bandits on a scalar context: LinUCB and ChebCB.

Both regress each arm's loss on features of the context mapped to [-1, 1] through
``context_range`` (values outside are clipped), with per-arm ridge least squares kept as
an inverse Gram matrix updated by Sherman-Morrison, so a report costs O(d^2).
``transform="log"`` regresses log(loss): iteration counts span orders of magnitude over
the contexts, and in log space the gaps between arms are ratios.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tuner.errors import StrategyError
from tuner.strategies.base import Context, Pull, Strategy, context_scalar, sample_index


class _Regression(Strategy):
    contextual = True

    def __init__(self, n_arms: int, *, seed: int | None = 0,
                 context_range: Sequence[float] = (-1.0, 1.0), degree: int = 5,
                 ridge: float = 1e-3, transform: str = "log") -> None:
        super().__init__(n_arms, seed=seed)
        lo, hi = (float(v) for v in context_range)
        if not hi > lo:
            raise StrategyError(f"{self.name}: context_range needs low < high, got {context_range}")
        if transform not in ("log", "none"):
            raise StrategyError(f"{self.name}: transform is 'log' or 'none', got {transform!r}")
        if int(degree) < 0:
            raise StrategyError(f"{self.name}: degree must be >= 0")
        self.lo, self.hi, self.degree, self.transform = lo, hi, int(degree), transform
        d = self.degree + 1
        self.A_inv = np.repeat(np.eye(d)[None] / float(ridge), n_arms, axis=0)
        self.bvec = np.zeros((n_arms, d))
        self.theta = np.zeros((n_arms, d))
        self.ymin, self.ymax = math.inf, -math.inf
        self._unfit = set(range(n_arms))      # arms without any report yet

    def _z(self, context: Context) -> float:
        c = context_scalar(context, self.name)
        return min(1.0, max(-1.0, 2.0 * (c - self.lo) / (self.hi - self.lo) - 1.0))

    def features(self, context: Context) -> list[float]:
        raise NotImplementedError

    def _y(self, loss: float) -> float:
        if self.transform == "none":
            return loss
        if loss <= 0:
            raise StrategyError(f"{self.name} with transform='log' needs positive losses, got {loss}")
        return math.log(loss)

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        # A censored loss is a lower bound; regressing on it is conservative enough for
        # the rare cap hits of a solver loop (the cap itself is the cost actually paid).
        f = np.array(self.features(context))
        y = self._y(loss)
        arm = pull.arm
        Ai = self.A_inv[arm]
        Af = Ai @ f
        Ai -= np.multiply.outer(Af, Af / (1.0 + float(f @ Af)))   # Sherman-Morrison
        b = self.bvec[arm]
        b += y * f
        self.theta[arm] = Ai @ b
        if y < self.ymin:
            self.ymin = y
        if y > self.ymax:
            self.ymax = y
        if self._unfit and self.counts[arm] == 1:
            self._unfit.discard(arm)

    def predict(self, context: Context) -> list[float]:
        """Predicted (transformed) loss per arm, bounded to the observed range; arms never
        played predict the observed minimum (optimism, so each is tried)."""
        pred = (self.theta @ np.array(self.features(context))).tolist()
        lo, hi = self.ymin, self.ymax
        if lo <= hi:
            pred = [lo if v < lo else hi if v > hi else v for v in pred]
            for a in self._unfit:
                pred[a] = lo
        return pred

    def best_arm(self, context: Context = None) -> int:
        if context is None:
            return super().best_arm()
        pred = self.predict(context)
        return pred.index(min(pred))


class LinUCB(_Regression):
    """Disjoint LinUCB (Li et al. 2010) on polynomial features [1, z, ..., z^degree]:
    play argmin of prediction - alpha * sqrt(f^T A_i^-1 f)."""

    name = "linucb"

    def __init__(self, n_arms: int, *, seed: int | None = 0,
                 context_range: Sequence[float] = (-1.0, 1.0), degree: int = 2,
                 alpha: float = 0.2, ridge: float = 1.0, transform: str = "log") -> None:
        super().__init__(n_arms, seed=seed, context_range=context_range, degree=degree,
                         ridge=ridge, transform=transform)
        self.alpha = float(alpha)

    def features(self, context: Context) -> list[float]:
        z = self._z(context)
        return [z ** k for k in range(self.degree + 1)]

    def ask(self, context: Context = None) -> Pull:
        warm = self._unplayed()   # each arm once: an unfitted arm has no prediction
        if warm is not None:
            return Pull(warm)
        f = np.array(self.features(context))
        pred = self.theta @ f
        width = np.sqrt(np.einsum("kij,i,j->k", self.A_inv, f, f))
        return Pull(int(np.argmin(pred - self.alpha * width)))


class ChebCB(_Regression):
    """ChebCB (Khodak et al., "Learning to Relax"): Chebyshev features T_0..T_degree of
    the context, bounded per-arm least squares, and inverse-gap-weighted exploration
    p_i = 1 / (K + eta_t (yhat_i - yhat_min)) for the non-greedy arms, the greedy arm
    taking the rest; eta_t = eta * t^power grows so exploration fades."""

    name = "chebcb"

    def __init__(self, n_arms: int, *, seed: int | None = 0,
                 context_range: Sequence[float] = (-1.0, 1.0), degree: int = 5,
                 eta: float = 20.0, power: float = 0.75, ridge: float = 1e-3,
                 transform: str = "log") -> None:
        super().__init__(n_arms, seed=seed, context_range=context_range, degree=degree,
                         ridge=ridge, transform=transform)
        self.eta, self.power = float(eta), float(power)

    def features(self, context: Context) -> list[float]:
        z = self._z(context)
        f = [1.0, z]
        z2 = 2.0 * z
        for _ in range(self.degree - 1):
            f.append(z2 * f[-1] - f[-2])
        return f[: self.degree + 1]

    def ask(self, context: Context = None) -> Pull:
        pred = self.predict(context)
        lo = min(pred)
        best = pred.index(lo)
        eta = self.eta * (self.n_told + 1) ** self.power
        K = self.K
        p = [1.0 / (K + eta * (v - lo)) for v in pred]
        p[best] = 0.0
        p[best] = max(0.0, 1.0 - sum(p))
        arm = sample_index(self.prng.random(), p)
        return Pull(arm, prob=p[arm])
