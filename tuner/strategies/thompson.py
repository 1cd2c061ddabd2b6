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
    log(loss), which suits runtimes and iteration counts.

    The per-arm sufficient statistics and the pooled sum of squares are kept up to date
    in ``tell`` (O(1) per report), and standard normals are drawn from the seeded numpy
    generator a block at a time, so ``ask`` is a single pass over the arms."""

    name = "thompson"
    _BLOCK = 64          # asks served per block of normal draws

    def __init__(self, n_arms: int, *, seed: int | None = 0, log: bool = False,
                 prior_weight: float = 2.0) -> None:
        super().__init__(n_arms, seed=seed)
        self.log = bool(log)
        self.prior_weight = float(prior_weight)
        self.y_n = [0] * n_arms
        self.y_sum = [0.0] * n_arms
        self.y_sq = [0.0] * n_arms
        # Caches derived from y_*: mean (-inf while an arm has no data, so it is played),
        # sum of squared deviations, and 1 / ((n - 1 + w) n) for the posterior variance.
        self._m = [-math.inf] * n_arms
        self._ss = [0.0] * n_arms
        self._d = [0.0] * n_arms
        self._nc = [0] * n_arms          # the y_n each arm's caches were built from
        self._ss_tot, self._n_tot, self._n_arms = 0.0, 0, 0
        self._z: list[float] = []
        self._zi = 0

    def _y(self, loss: float) -> float:
        if not self.log:
            return loss
        if loss <= 0:
            raise StrategyError(f"{self.name} with log=True needs positive losses, got {loss}")
        return math.log(loss)

    def _sync(self, arm: int) -> None:
        """Refresh the caches of ``arm`` after its y_* changed."""
        n, s, sq = self.y_n[arm], self.y_sum[arm], self.y_sq[arm]
        old_n = self._nc[arm]
        self._ss_tot -= self._ss[arm]
        self._n_tot -= old_n
        self._n_arms -= old_n > 0
        if n:
            m = s / n
            ss = max(sq - n * m * m, 0.0)
            self._m[arm], self._ss[arm] = m, ss
            self._d[arm] = 1.0 / (max(n - 1 + self.prior_weight, 1e-9) * n)
            self._ss_tot += ss
            self._n_tot += n
            self._n_arms += 1
        else:
            self._m[arm], self._ss[arm], self._d[arm] = -math.inf, 0.0, 0.0
        self._nc[arm] = n

    def _pooled(self) -> float:
        n_tot, n_arms = self._n_tot, self._n_arms
        pooled = self._ss_tot / (n_tot - n_arms) if n_tot > n_arms else 1.0
        return pooled if pooled > 0.0 else 1e-12

    def _posterior(self) -> tuple[list[float], list[float]]:
        """Per-arm posterior mean and standard deviation of the mean (inf: no data)."""
        wp = self.prior_weight * self._pooled()
        means = [m if m != -math.inf else 0.0 for m in self._m]
        sds = [math.sqrt((ss + wp) * d) if m != -math.inf else math.inf
               for m, ss, d in zip(self._m, self._ss, self._d)]
        return means, sds

    def ask(self, context: Context = None) -> Pull:
        warm = self._unplayed()
        if warm is not None:
            return Pull(warm)
        K, i = self.K, self._zi
        if i + K > len(self._z):
            self._z = self.rng.standard_normal(K * self._BLOCK).tolist()
            i = 0
        self._zi = i + K
        wp = self.prior_weight * self._pooled()
        sqrt = math.sqrt
        # An arm without data has mean -inf and d = 0: its sample is -inf (play it).
        theta = [m + sqrt((ss + wp) * d) * z
                 for m, ss, d, z in zip(self._m, self._ss, self._d, self._z[i:i + K])]
        return Pull(theta.index(min(theta)))

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        y = self._y(loss)   # plain Thompson takes a censored loss at face value
        a = pull.arm
        self.y_n[a] += 1
        self.y_sum[a] += y
        self.y_sq[a] += y * y
        self._sync(a)

    def best_arm(self, context: Context = None) -> int:
        means = [m if m != -math.inf else math.inf for m in self._m]
        return means.index(min(means))


class CensoredThompson(GaussianThompson):
    """Thompson sampling on log-losses with censored reports imputed (Schmee-Hahn).

    Exact log-losses are kept as running sums (O(1) per report); the censored thresholds
    of an arm are kept as a list and re-imputed when that arm gets a report."""

    name = "censored_thompson"

    def __init__(self, n_arms: int, *, seed: int | None = 0, prior_weight: float = 2.0,
                 em_steps: int = 5) -> None:
        super().__init__(n_arms, seed=seed, log=True, prior_weight=prior_weight)
        self.em_steps = int(em_steps)
        self.n_obs = [0] * n_arms                                       # exact log-losses:
        self.obs_sum = [0.0] * n_arms                                   # count, sum and
        self.obs_sq = [0.0] * n_arms                                    # sum of squares
        self.cens: list[list[float]] = [[] for _ in range(n_arms)]      # log thresholds
        self._all = [0, 0.0, 0.0]  # count, sum, sum of squares of all exact log-losses

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        arm = pull.arm
        y = self._y(loss)
        if censored:
            self.cens[arm].append(y)
        else:
            self.n_obs[arm] += 1
            self.obs_sum[arm] += y
            self.obs_sq[arm] += y * y
            a = self._all
            a[0] += 1
            a[1] += y
            a[2] += y * y
        self._refit(arm)
        self._sync(arm)

    def _refit(self, arm: int) -> None:
        cens = self.cens[arm]
        s, sq = self.obs_sum[arm], self.obs_sq[arm]
        n = self.n_obs[arm] + len(cens)
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
