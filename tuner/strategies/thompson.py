"""Thompson sampling: Gaussian, and censoring-aware on log-losses.

The censored variant follows Tornede et al., "Machine Learning for Online Algorithm
Selection under Censored Feedback" (AAAI 2022): runtimes are modelled on a log scale and
a run stopped at a timeout C contributes its expected log-runtime given that it exceeds
log C (Schmee-Hahn imputation under the arm's current normal fit), instead of C itself,
which would bias the arm optimistically.
"""

from __future__ import annotations

import math

from tuner.errors import StrategyError
from tuner.strategies.base import Context, Pull, Strategy

_SQRT2 = math.sqrt(2.0)


def _mills(alpha: float) -> float:
    """phi(alpha) / (1 - Phi(alpha)), the inverse Mills ratio, stable for large alpha."""
    tail = 0.5 * math.erfc(alpha / _SQRT2)
    if tail < 1e-300:
        return alpha + 1.0 / max(alpha, 1e-12)  # asymptote
    return math.exp(-0.5 * alpha * alpha) / math.sqrt(2 * math.pi) / tail


class GaussianThompson(Strategy):
    """Per-arm Normal posterior on the mean loss (flat prior, variance shrunk towards the
    pooled variance); sample one mean per arm, play the smallest. ``log=True`` models
    log(loss), which suits runtimes and iteration counts."""

    name = "thompson"

    def __init__(self, n_arms: int, *, seed: int | None = 0, log: bool = False,
                 prior_weight: float = 2.0) -> None:
        super().__init__(n_arms, seed=seed)
        self.log = bool(log)
        self.prior_weight = float(prior_weight)
        self.y_n = [0] * n_arms
        self.y_sum = [0.0] * n_arms
        self.y_sq = [0.0] * n_arms

    def _y(self, loss: float) -> float:
        if not self.log:
            return loss
        if loss <= 0:
            raise StrategyError(f"{self.name} with log=True needs positive losses, got {loss}")
        return math.log(loss)

    def _posterior(self) -> tuple[list[float], list[float]]:
        """Per-arm posterior mean and standard deviation of the mean (inf: no data)."""
        n_arms, means, ss_arm = 0, [], []
        ss_tot, n_tot = 0.0, 0
        for n, s, sq in zip(self.y_n, self.y_sum, self.y_sq):
            m = s / n if n else 0.0
            ss = max(sq - n * m * m, 0.0)
            means.append(m)
            ss_arm.append(ss)
            if n:
                n_arms += 1
                ss_tot += ss
                n_tot += n
        pooled = ss_tot / (n_tot - n_arms) if n_tot > n_arms else 1.0
        if pooled <= 0.0:
            pooled = 1e-12
        w = self.prior_weight
        sds = [math.sqrt((ss + w * pooled) / max(n - 1 + w, 1e-9) / n) if n else math.inf
               for n, ss in zip(self.y_n, ss_arm)]
        return means, sds

    def ask(self, context: Context = None) -> Pull:
        warm = self._unplayed()
        if warm is not None:
            return Pull(warm)
        means, sds = self._posterior()
        gauss = self.prng.gauss
        theta = [-math.inf if sd == math.inf else m + sd * gauss(0.0, 1.0)
                 for m, sd in zip(means, sds)]
        return Pull(theta.index(min(theta)))

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        y = self._y(loss)   # plain Thompson takes a censored loss at face value
        self.y_n[pull.arm] += 1
        self.y_sum[pull.arm] += y
        self.y_sq[pull.arm] += y * y

    def best_arm(self, context: Context = None) -> int:
        means, sds = self._posterior()
        means = [m if sd != math.inf else math.inf for m, sd in zip(means, sds)]
        return means.index(min(means))


class CensoredThompson(GaussianThompson):
    """Thompson sampling on log-losses with censored reports imputed (Schmee-Hahn)."""

    name = "censored_thompson"

    def __init__(self, n_arms: int, *, seed: int | None = 0, prior_weight: float = 2.0,
                 em_steps: int = 5) -> None:
        super().__init__(n_arms, seed=seed, log=True, prior_weight=prior_weight)
        self.em_steps = int(em_steps)
        self.obs: list[list[float]] = [[] for _ in range(n_arms)]       # exact log-losses
        self.cens: list[list[float]] = [[] for _ in range(n_arms)]      # log thresholds
        self._all = [0, 0.0, 0.0]  # count, sum, sum of squares of all exact log-losses

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        arm = pull.arm
        y = self._y(loss)
        (self.cens if censored else self.obs)[arm].append(y)
        if not censored:
            self._all[0] += 1
            self._all[1] += y
            self._all[2] += y * y
        self._refit(arm)

    def _refit(self, arm: int) -> None:
        obs, cens = self.obs[arm], self.cens[arm]
        n = len(obs) + len(cens)
        s, sq = sum(obs), sum(v * v for v in obs)
        if not cens:
            self.y_n[arm], self.y_sum[arm], self.y_sq[arm] = n, s, sq
            return
        # Start from the data with censored points at their threshold, then iterate the
        # conditional expectation E[y | y > c] = mu + sigma * mills((c - mu) / sigma).
        imputed = list(cens)
        scale = self._pooled_sd()
        for _ in range(self.em_steps):
            tot = s + sum(imputed)
            mu = tot / n
            var = (sq + sum(v * v for v in imputed) - n * mu * mu) / max(n - 1, 1)
            sigma = max(math.sqrt(max(var, 0.0)), scale, 1e-3)
            imputed = [mu + sigma * _mills((c - mu) / sigma) for c in cens]
        self.y_n[arm] = n
        self.y_sum[arm] = s + sum(imputed)
        self.y_sq[arm] = sq + sum(v * v for v in imputed)

    def _pooled_sd(self) -> float:
        n, s, sq = self._all
        if n < 3:
            return 0.5  # half a log-unit: a wide default for runtimes
        return 0.5 * math.sqrt(max(sq / n - (s / n) ** 2, 0.0))
