"""Distribution-free summary statistics for timing samples.

The confidence interval for the median uses order statistics: the number of samples below
the true median is Binomial(n, 1/2), so [x_(k), x_(n+1-k)] covers it with probability at
least 1 - alpha for the largest k whose lower binomial tail is <= alpha/2. No normality
assumption, which matters because timing noise is skewed (one-sided interference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from statistics import NormalDist

import numpy as np

_EXACT_MAX_N = 400  # above this the normal approximation of the binomial is exact enough


@lru_cache(maxsize=4096)
def median_ci_ranks(n: int, confidence: float = 0.95) -> tuple[int, int] | None:
    """1-based ranks (k, n+1-k) of the order-statistic CI for the median; None if n is too small."""
    alpha = 1.0 - confidence
    if n <= 0:
        return None
    if n <= _EXACT_MAX_N:
        # Largest k with P(B <= k-1) <= alpha/2, B ~ Binomial(n, 1/2), in exact integers.
        a = Fraction(alpha).limit_denominator(10**9)
        limit_num = a.numerator * 2 ** (n - 1)  # tail / 2**n <= a/2  <=>  tail * den <= num * 2**(n-1)
        tail, k = 0, 0
        while True:
            tail += math.comb(n, k)
            if tail * a.denominator > limit_num:
                break
            k += 1
        # k is now the largest count with P(B <= k-1) <= alpha/2
    else:
        z = NormalDist().inv_cdf(1 - alpha / 2)
        k = int(math.floor((n - z * math.sqrt(n)) / 2))  # conservative rounding
    if k < 1:
        return None
    return k, n + 1 - k


@dataclass(frozen=True)
class SampleSummary:
    n: int
    median: float
    q1: float
    q3: float
    ci_low: float | None
    ci_high: float | None

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def ci_rel(self) -> float:
        """Half-width of the median's CI relative to the median (the larger side); inf if none."""
        if self.ci_low is None or self.ci_high is None or self.median <= 0:
            return math.inf
        return max(self.median - self.ci_low, self.ci_high - self.median) / self.median


def summarize(samples, confidence: float = 0.95) -> SampleSummary:
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = int(x.size)
    if n == 0:
        raise ValueError("no samples")
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    ranks = median_ci_ranks(n, confidence)
    lo = hi = None
    if ranks is not None:
        lo, hi = float(x[ranks[0] - 1]), float(x[ranks[1] - 1])
    return SampleSummary(n, float(med), float(q1), float(q3), lo, hi)
