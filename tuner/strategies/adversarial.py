"""Adversarial bandits: EXP3 and Tsallis-INF (1/2-Tsallis FTRL, Zimmert & Seldin 2021).

Both normalise each loss by the running mean of the losses seen so far (iteration counts
have no known range), estimate cumulative losses by importance weighting with the
probability recorded in the pull, and compute the next distribution in ``tell`` so that
``ask`` is a single draw. Plain Python floats: with ~20 arms, numpy's per-call overhead
would dominate the decision time.
"""

from __future__ import annotations

import math

from tuner.strategies.base import Context, Pull, Strategy, sample_index


class _Normalised(Strategy):
    def __init__(self, n_arms: int, *, seed: int | None = 0) -> None:
        super().__init__(n_arms, seed=seed)
        self.L = [0.0] * n_arms                  # importance-weighted cumulative losses
        self.p = [1.0 / n_arms] * n_arms

    def ask(self, context: Context = None) -> Pull:
        arm = sample_index(self.prng.random(), self.p)
        return Pull(arm, prob=self.p[arm])

    def _normalised(self, loss: float) -> float:
        mean = self.loss_total / self.n_told          # includes this loss
        return loss / mean if mean > 0 else 0.0

    def best_arm(self, context: Context = None) -> int:
        return max(range(self.K), key=self.p.__getitem__)


class EXP3(_Normalised):
    """EXP3 with losses: p ~ exp(-eta_t L), eta_t = lr * sqrt(2 ln K / (K t)) (anytime)."""

    name = "exp3"

    def __init__(self, n_arms: int, *, seed: int | None = 0, lr: float = 1.0,
                 clip: float = 3.0) -> None:
        super().__init__(n_arms, seed=seed)
        self.lr, self.clip = float(lr), float(clip)

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        # Losses normalised to about [0, 1]: mean 1 -> 1/clip, clipped at 1.
        ell = min(self._normalised(loss) / self.clip, 1.0)
        self.L[pull.arm] += ell / max(pull.prob, 1e-12)
        eta = self.lr * math.sqrt(2.0 * math.log(max(self.K, 2)) / (self.K * (self.n_told + 1)))
        lo = min(self.L)
        w = [math.exp(-eta * (v - lo)) for v in self.L]
        s = sum(w)
        self.p = [v / s for v in w]


class TsallisINF(_Normalised):
    """Tsallis-INF: w_i = 4 / (eta_t (L_i - x))^2 with sum w = 1, eta_t = lr * 2/sqrt(t).

    The normaliser x comes from Newton steps on f(x) = sum w - 1, which is convex and
    increasing on x < min L: from any start left of the root one step lands right of it,
    and from there Newton decreases monotonically to the root. So the previous x is a good
    warm start (2-3 steps); x = min L - 2/eta (where w_min = 1) is the safe restart.
    ``center=True`` subtracts the mean normalised loss (1) before importance weighting
    (Zimmert & Seldin's reduced-variance estimator with B = 1). It helps on light-tailed
    losses but is unstable when a few arms cost 5-10x the mean (the shifted Laplacian's
    omega near 1), so it is off by default.
    """

    name = "tsallis_inf"

    def __init__(self, n_arms: int, *, seed: int | None = 0, lr: float = 1.0,
                 center: bool = False, newton_steps: int = 30) -> None:
        super().__init__(n_arms, seed=seed)
        self.lr, self.center, self.newton_steps = float(lr), bool(center), int(newton_steps)
        self.x: float | None = None

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        ell = self._normalised(loss)
        if self.center:
            ell -= 1.0
        self.L[pull.arm] += ell / max(pull.prob, 1e-12)
        eta = self.lr * 2.0 / math.sqrt(self.n_told + 1)
        self.p = self._weights(eta)

    def _weights(self, eta: float) -> list[float]:
        L = self.L
        lo = min(L)
        x = self.x if self.x is not None and self.x < lo - 1e-9 / eta else lo - 2.0 / eta
        w: list[float] = []
        s = 0.0
        for _ in range(self.newton_steps):
            w = [4.0 / ((eta * (v - x)) ** 2) for v in L]
            s = sum(w)
            if abs(s - 1.0) < 1e-7:   # w / s is normalised exactly anyway
                break
            x -= (s - 1.0) / (eta * sum(v * math.sqrt(v) for v in w))
            if x >= lo:                      # overshot past the pole: restart safely
                x = lo - 2.0 / eta
        self.x = x
        return [v / s for v in w]
