"""Split-conformal predictive intervals on the target's log scale.

On held-out calibration rows (never used to fit the regression head) take the absolute
residuals r_i = |z_i - zhat_i| in log space; with n of them, q is the ceil((n+1)(1-alpha))-th
smallest (the largest when n is too small). The interval of a prediction zhat is
inverse(zhat -+ q), i.e. a multiplicative band around the predicted value. Under
exchangeability it covers the truth with probability >= 1 - alpha.
"""

from __future__ import annotations

import math

import numpy as np


def conformal_quantile(residuals: np.ndarray, alpha: float) -> float:
    r = np.sort(np.abs(np.asarray(residuals, dtype=np.float64)))
    n = len(r)
    if n == 0:
        return float("inf")
    k = min(n, math.ceil((n + 1) * (1 - alpha)))
    return float(r[k - 1])


def interval(zhat: np.ndarray, q: float | np.ndarray, inverse) -> tuple[np.ndarray, np.ndarray]:
    return inverse(zhat - q), inverse(zhat + q)
