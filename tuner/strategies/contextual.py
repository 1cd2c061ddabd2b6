"""Contextual bandits on a scalar context: LinUCB and ChebCB.

Both regress each arm's loss on features of the context mapped to [-1, 1] through
``context_range`` (values outside are clipped), with per-arm ridge least squares kept as
an inverse Gram matrix updated by Sherman-Morrison (recursive least squares), so a report
costs O(d^2). ``transform="log"`` regresses log(loss): iteration counts span orders of
magnitude over the contexts, and in log space the gaps between arms are ratios.
A decision is a few numpy calls on (K, d) arrays plus one Python pass over the K arms:
with ~20 arms and d <= 6 that is cheaper than either pure Python or more numpy.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

from tuner.errors import StrategyError
from tuner.strategies.base import Context, Pull, Strategy, context_scalar


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
        if not float(ridge) > 0:
            raise StrategyError(f"{self.name}: ridge must be > 0")
        d = self.d = self.degree + 1
        # Per arm, the inverse Gram matrix stacked on the coefficients: Z_i = [A_i^-1; theta_i]
        # ((d+1) x d), so one product Z_i f gives both A_i^-1 f and the prediction, and one
        # rank-1 update does the Sherman-Morrison step and the least-squares update.
        self.Z = np.zeros((n_arms, d + 1, d))
        self.Z[:, :d, :] = np.eye(d) / float(ridge)
        self.A_inv = self.Z[:, :d, :]         # views into Z
        self.theta = self.Z[:, d, :]
        self.ymin, self.ymax = math.inf, -math.inf
        self._unfit = set(range(n_arms))      # arms without any report yet
        self._fkey: float | None = None       # features of the last context seen
        self._fval: np.ndarray | None = None

    def _z(self, context: Context) -> float:
        c = context if type(context) is float else context_scalar(context, self.name)
        return min(1.0, max(-1.0, 2.0 * (c - self.lo) / (self.hi - self.lo) - 1.0))

    def features(self, context: Context) -> list[float]:
        raise NotImplementedError

    def _y(self, loss: float) -> float:
        if self.transform == "none":
            return loss
        if loss <= 0:
            raise StrategyError(f"{self.name} with transform='log' needs positive losses, got {loss}")
        return math.log(loss)

    def _f(self, context: Context) -> np.ndarray:
        """Feature vector of a context (cached: tell usually repeats ask's context)."""
        z = self._z(context)
        if z != self._fkey:
            self._fkey, self._fval = z, np.array(self.features(context))
        return self._fval  # type: ignore[return-value]

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        # A censored loss is a lower bound; regressing on it is conservative enough for
        # the rare cap hits of a solver loop (the cap itself is the cost actually paid).
        f = self._f(context)
        y = self._y(loss)
        arm = pull.arm
        Zi = self.Z[arm]
        u = Zi.dot(f)                         # [A^-1 f; theta.f]
        Af = u[:-1]
        k = Af / (1.0 + f.dot(Af))
        u[-1] -= y                            # the last row becomes -(prediction error)
        # A^-1 -= (A^-1 f) k^T (Sherman-Morrison; A^-1 is symmetric) and theta += err k:
        # recursive least squares, which keeps theta the exact ridge solution.
        Zi -= np.multiply.outer(u, k)
        if y < self.ymin:
            self.ymin = y
        if y > self.ymax:
            self.ymax = y
        if self._unfit and self.counts[arm] == 1:
            self._unfit.discard(arm)

    def predict(self, context: Context) -> list[float]:
        """Predicted (transformed) loss per arm, bounded to the observed range; arms never
        played predict the observed minimum (optimism, so each is tried)."""
        pred = self.theta.dot(self._f(context)).tolist()
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
    play argmin of prediction - alpha * sqrt(f^T A_i^-1 f).

    With monomial features both terms are polynomials in z: the prediction of degree d-1
    and f^T A^-1 f of degree 2(d-1), with coefficients sum_{j+k=m} (A^-1)_jk. ``tell``
    refreshes the played arm's coefficients, so ``ask`` is one (2K x 2d-1) product."""

    name = "linucb"

    def __init__(self, n_arms: int, *, seed: int | None = 0,
                 context_range: Sequence[float] = (-1.0, 1.0), degree: int = 2,
                 alpha: float = 0.2, ridge: float = 1.0, transform: str = "log") -> None:
        super().__init__(n_arms, seed=seed, context_range=context_range, degree=degree,
                         ridge=ridge, transform=transform)
        self.alpha = float(alpha)
        d, m = self.d, 2 * self.d - 1
        # Per arm two rows: the prediction's coefficients, then those of f^T A^-1 f. They
        # are a fixed linear map P of the arm's Z (flattened): one product per report.
        self._P = np.zeros(((d + 1) * d, 2 * m))
        for r in range(d):
            for c in range(d):
                self._P[r * d + c, m + r + c] = 1.0
        for c in range(d):
            self._P[d * d + c, c] = 1.0
        self._rows = np.zeros((n_arms, 2 * m))              # per arm, both rows
        self._poly = self._rows.reshape(2 * n_arms, m)      # a view: one row each
        for arm in range(n_arms):
            self._refresh(arm)

    def features(self, context: Context) -> list[float]:
        z = self._z(context)
        f = [1.0]
        for _ in range(self.degree):
            f.append(f[-1] * z)
        return f

    def _refresh(self, arm: int) -> None:
        np.dot(self.Z[arm].ravel(), self._P, out=self._rows[arm])

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        super()._update(pull, loss, censored, context)
        self._refresh(pull.arm)

    def ask(self, context: Context = None) -> Pull:
        warm = self._unplayed()   # each arm once: an unfitted arm has no prediction
        if warm is not None:
            return Pull(warm)
        z = self._z(context)
        g = [1.0]
        for _ in range(2 * self.degree):
            g.append(g[-1] * z)
        u = self._poly.dot(g).tolist()       # prediction, width^2, prediction, ...
        a, sqrt = self.alpha, math.sqrt
        # f^T A^-1 f > 0 (A^-1 is positive definite); the guard only catches rounding.
        score = [m - a * sqrt(w) if w > 0.0 else m for m, w in zip(u[::2], u[1::2])]
        return Pull(score.index(min(score)))


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
        K = float(self.K)
        p = [1.0 / (K + eta * (v - lo)) for v in pred]
        p[best] = 0.0
        rest = 1.0 - sum(p)
        p[best] = rest if rest > 0.0 else 0.0
        cum = list(accumulate(p))
        arm = bisect_right(cum, self.prng.random() * cum[-1])
        if arm >= self.K:                     # u * total rounding onto the last edge
            arm = best
        return Pull(arm, p[arm])
