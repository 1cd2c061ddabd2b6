"""Contextual bandits on a scalar context: LinUCB and ChebCB.

Both regress each arm's loss on features of the context mapped to [-1, 1] through
``context_range`` (values outside are clipped), with per-arm ridge least squares kept as
an inverse Gram matrix updated by Sherman-Morrison (recursive least squares), so a report
costs O(d^2) and no solve. ``transform="log"`` regresses log(loss): iteration counts span
orders of magnitude over the contexts, and in log space the gaps between arms are ratios.

At ~20 arms and d <= 6 every numpy call costs about as much as its arithmetic (~1 us),
so a decision is counted in calls: the features are built once per context (``tell``
reuses ``ask``'s), a report is two small products and one in-place BLAS rank-1 update
(``dger``) of the played arm only, and ``ask`` is one product over all arms plus one
Python pass.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

import numpy as np
from scipy.linalg.blas import dger

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
        self._log = transform == "log"
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
        # Z_i transposed is a Fortran-ordered view BLAS updates in place (no copy).
        self._Zt = [self.Z[a].T for a in range(n_arms)]
        self.ymin, self.ymax = math.inf, -math.inf
        self._unfit = set(range(n_arms))      # arms without any report yet
        self._ckey: float | None = None       # the last context seen, and its features
        self._g = np.zeros(d)
        self._fv = self._g
        # A linear map of Z_i a subclass keeps per arm (LinUCB's polynomial rows), or None.
        self._P: np.ndarray | None = None

    def _z(self, context: Context) -> float:
        c = context if type(context) is float else context_scalar(context, self.name)
        return min(1.0, max(-1.0, 2.0 * (c - self.lo) / (self.hi - self.lo) - 1.0))

    def _basis(self, z: float) -> list[float]:
        """The feature vector of the mapped context z (a subclass may append more)."""
        raise NotImplementedError

    def features(self, context: Context) -> list[float]:
        """The regression features of a context."""
        return self._basis(self._z(context))[: self.d]

    def _y(self, loss: float) -> float:
        if not self._log:
            return loss
        if loss <= 0:
            raise StrategyError(f"{self.name} with transform='log' needs positive losses, got {loss}")
        return math.log(loss)

    def _f(self, context: Context) -> np.ndarray:
        """Feature vector of a context, cached on the raw context: tell repeats ask's."""
        c = context if type(context) is float else context_scalar(context, self.name)
        if c != self._ckey:
            z = min(1.0, max(-1.0, 2.0 * (c - self.lo) / (self.hi - self.lo) - 1.0))
            self._g = np.array(self._basis(z))
            self._fv = self._g[: self.d]
            self._ckey = c
        return self._fv

    def tell(self, pull: Pull, loss: float, *, censored: bool = False, context: Context = None) -> None:
        """Strategy.tell and the regression update fused into one call (each Python call
        and attribute lookup is a measurable part of a ~10 us decision). Everything is
        checked before any state changes."""
        arm = pull.arm
        if not 0 <= arm < self.K:
            raise StrategyError(f"{self.name}: arm {arm} out of range 0..{self.K - 1}")
        loss = float(loss)
        if not math.isfinite(loss):
            raise StrategyError(f"{self.name}: loss must be finite, got {loss!r}")
        y = self._y(loss)
        f = self._f(context)
        self.counts[arm] += 1
        self.sums[arm] += loss
        self.sumsq[arm] += loss * loss
        self.n_told += 1
        self.loss_total += loss
        # A censored loss is a lower bound; regressing on it is conservative enough for
        # the rare cap hits of a solver loop (the cap itself is the cost actually paid).
        u = self.Z[arm].dot(f)                # [A^-1 f; theta.f]
        Af = u[:-1]
        s = 1.0 + Af.dot(f)
        u[-1] -= y                            # the last entry becomes -(prediction error)
        # Z_i -= u (A^-1 f)^T / s: A^-1 -= (A^-1 f)(A^-1 f)^T / s (Sherman-Morrison; A^-1
        # is symmetric) and theta += err A^-1_new f (recursive least squares, which keeps
        # theta the exact ridge solution), in one rank-1 BLAS update of Z_i^T in place.
        dger(-1.0 / s, Af, u, a=self._Zt[arm], overwrite_a=1)
        if y < self.ymin:
            self.ymin = y
        if y > self.ymax:
            self.ymax = y
        if self._unfit:
            self._unfit.discard(arm)
        if self._P is not None:
            np.dot(self._flat[arm], self._P, out=self._rows[arm])

    def _bounded(self, pred: list[float]) -> list[float]:
        """Predictions bounded to the observed range; arms never played predict the
        observed minimum (optimism, so each is tried)."""
        lo, hi = self.ymin, self.ymax
        if lo <= hi:
            pred = [lo if v < lo else hi if v > hi else v for v in pred]
            for a in self._unfit:
                pred[a] = lo
        return pred

    def predict(self, context: Context) -> list[float]:
        """Predicted (transformed) loss per arm, bounded as in :meth:`_bounded`."""
        return self._bounded(self.theta.dot(self._f(context)).tolist())

    def best_arm(self, context: Context = None) -> int:
        if context is None:
            return super().best_arm()
        pred = self.predict(context)
        return pred.index(min(pred))


class LinUCB(_Regression):
    """Disjoint LinUCB (Li et al. 2010) on polynomial features [1, z, ..., z^degree]:
    play argmin of prediction - alpha * sqrt(f^T A_i^-1 f).

    With monomial features both terms are polynomials in z: the prediction of degree d-1
    and alpha^2 f^T A^-1 f of degree 2(d-1), with coefficients alpha^2 sum_{j+k=m} (A^-1)_jk.
    ``tell`` refreshes the played arm's coefficients (one product with a fixed map), so
    ``ask`` is one (2K x 2d-1) product with the powers of z and three in-place ufuncs."""

    name = "linucb"

    def __init__(self, n_arms: int, *, seed: int | None = 0,
                 context_range: Sequence[float] = (-1.0, 1.0), degree: int = 2,
                 alpha: float = 0.2, ridge: float = 1.0, transform: str = "log") -> None:
        super().__init__(n_arms, seed=seed, context_range=context_range, degree=degree,
                         ridge=ridge, transform=transform)
        self.alpha = float(alpha)
        d, m = self.d, 2 * self.d - 1
        # Per arm two rows: the prediction's coefficients, then those of alpha^2 f^T A^-1 f.
        # They are a fixed linear map P of the arm's Z (flattened): one product per report.
        self._P = np.zeros(((d + 1) * d, 2 * m))
        for r in range(d):
            for c in range(d):
                self._P[r * d + c, m + r + c] = self.alpha ** 2
        for c in range(d):
            self._P[d * d + c, c] = 1.0
        self._rows = np.zeros((n_arms, 2 * m))              # per arm, both rows
        self._poly = self._rows.reshape(2 * n_arms, m)      # a view: one row each
        self._flat = [self.Z[a].reshape(-1) for a in range(n_arms)]   # views of Z_i
        for arm in range(n_arms):
            self._refresh(arm)
        self._g = np.zeros(m)
        self._fv = self._g[:d]

    def _basis(self, z: float) -> list[float]:
        # The powers up to 2(d-1): the features are the first d, ask needs them all.
        g = [1.0]
        for _ in range(2 * self.degree):
            g.append(g[-1] * z)
        return g

    def _refresh(self, arm: int) -> None:
        np.dot(self._flat[arm], self._P, out=self._rows[arm])

    def ask(self, context: Context = None) -> Pull:
        warm = self._unplayed()   # each arm once: an unfitted arm has no prediction
        if warm is not None:
            return Pull(warm)
        self._f(context)
        u = self._poly.dot(self._g)          # prediction, alpha^2 width^2, prediction, ...
        pred, w = u[::2], u[1::2]
        # f^T A^-1 f > 0 (A^-1 is positive definite); the clamp only catches rounding.
        np.maximum(w, 0.0, out=w)
        np.sqrt(w, out=w)
        np.subtract(pred, w, out=pred)
        return Pull(int(pred.argmin()))


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

    def _basis(self, z: float) -> list[float]:
        f = [1.0, z]
        z2 = 2.0 * z
        for _ in range(self.degree - 1):
            f.append(z2 * f[-1] - f[-2])
        return f[: self.degree + 1]

    def ask(self, context: Context = None) -> Pull:
        pred = self.theta.dot(self._f(context)).tolist()
        lo = min(pred)
        # Bounding only changes anything for an unplayed arm or a prediction outside the
        # observed range: skip its pass otherwise.
        if self._unfit or lo < self.ymin or max(pred) > self.ymax:
            pred = self._bounded(pred)
            lo = min(pred)
        best = pred.index(lo)
        eta = self.eta * (self.n_told + 1) ** self.power
        K = float(self.K)
        p = [1.0 / (K + eta * (v - lo)) for v in pred]
        p[best] = 0.0
        rest = 1.0 - sum(p)
        p[best] = rest if rest > 0.0 else 0.0
        cum = list(accumulate(p))
        total = cum[-1]                       # 1 unless early shares exceed 1
        arm = bisect_right(cum, self.prng.random() * total)
        if arm >= self.K:                     # u * total rounding onto the last edge
            arm = best
        return Pull(arm, p[arm] / total)
