"""Adversarial bandits: EXP3 and Tsallis-INF (1/2-Tsallis FTRL, Zimmert & Seldin 2021).

Iteration counts have no known range, so both divide each loss by a scale ``S``: the mean
of the losses reported *before* it (so the scale is fixed when the arm is drawn and the
estimates stay unbiased for the scaled loss; it converges, so late rounds all weigh the
same). Both estimate cumulative losses by importance weighting with the probability
recorded in the pull, and compute the next distribution (and its cumulative sums) in
``tell`` so that ``ask`` is one uniform draw and a bisection. Plain Python floats: with
~20 arms, numpy's per-call overhead would dominate the decision time.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from itertools import accumulate

from tuner.errors import StrategyError
from tuner.strategies.base import Context, Pull, Strategy


def _side_model(spec: dict | None, n_arms: int):
    """Build a side-observation model from its JSON spec (None: plain bandit feedback)."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or spec.get("kind") != "sor":
        raise StrategyError(f"side_model must be {{'kind': 'sor', 'omegas': [...], ...}}, "
                            f"got {spec!r}")
    from tuner.solver.young import SORIterationModel   # the solver domain's model

    opts = {k: v for k, v in spec.items() if k != "kind"}
    try:
        model = SORIterationModel(**opts)
    except TypeError as e:
        raise StrategyError(f"side_model: {e}") from None
    if model.K != n_arms:
        raise StrategyError(f"side_model: {model.K} omegas for {n_arms} arms")
    return model


class _Normalised(Strategy):
    def __init__(self, n_arms: int, *, seed: int | None = 0) -> None:
        super().__init__(n_arms, seed=seed)
        self.L = [0.0] * n_arms                  # estimated cumulative (scaled) losses
        self.p = [1.0 / n_arms] * n_arms
        self._cum = list(accumulate(self.p))
        self.scale = 0.0                         # mean of the losses told so far

    def ask(self, context: Context = None) -> Pull:
        cum = self._cum
        arm = bisect_right(cum, self.prng.random() * cum[-1])
        if arm >= self.K:                        # u * total rounding onto the last edge
            arm = self.K - 1
        return Pull(arm, self.p[arm])

    def _scaled(self, loss: float) -> float:
        """Loss / scale, the scale from earlier reports; the first report defines it."""
        s = self.scale
        if s <= 0.0:
            s = loss if loss > 0.0 else 1.0
        self.scale += (loss - self.scale) / self.n_told   # n_told already counts this one
        return loss / s

    def _set_p(self, p: list[float]) -> None:
        self.p = p
        self._cum = list(accumulate(p))

    def best_arm(self, context: Context = None) -> int:
        return max(range(self.K), key=self.p.__getitem__)


class EXP3(_Normalised):
    """EXP3 with losses: p ~ exp(-eta_t L), eta_t = lr * sqrt(2 ln K / (K t)) (anytime)."""

    name = "exp3"

    def __init__(self, n_arms: int, *, seed: int | None = 0, lr: float = 1.0,
                 clip: float = 3.0) -> None:
        super().__init__(n_arms, seed=seed)
        if not lr > 0 or not clip > 0:
            raise StrategyError(f"{self.name}: lr and clip must be > 0")
        self.lr, self.clip = float(lr), float(clip)
        self._c = self.lr * math.sqrt(2.0 * math.log(max(n_arms, 2)) / n_arms)

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        # Scaled losses are about [0, 1]: the mean maps to 1/clip, clipped at 1.
        ell = min(self._scaled(loss) / self.clip, 1.0)
        L = self.L
        L[pull.arm] += ell / max(pull.prob, 1e-12)
        eta = self._c / math.sqrt(self.n_told + 1)
        lo = min(L)
        exp = math.exp
        w = [exp(eta * (lo - v)) for v in L]
        s = sum(w)
        self._set_p([v / s for v in w])


class TsallisINF(_Normalised):
    """Tsallis-INF: p_i = 4 / (eta_t (L_i - x))^2 with sum p = 1.

    ``scale="range"`` (the default) maps a loss to (loss - lo) / (mean - lo), with lo the
    smallest and mean the mean of the losses reported before it (fixed when the arm was
    drawn, so the estimates stay unbiased for the mapped loss): the best arms' losses land
    near 0 and the average near 1, so importance weighting no longer multiplies the large
    part every arm pays (an iteration count's floor) by 1/p. On the solver benchmark this
    took Tsallis-INF from 1.088 to 1.045x the best fixed omega on synthetic-low and from
    1.038 to 1.027x on heat (synthetic-high: 1.136 -> 1.146, within its seed spread).
    ``scale="mean"`` divides by the running mean only (see the module doc).
    ``estimator="rv"`` (the default) is Zimmert & Seldin's reduced-variance estimator with
    learning rate eta_t = lr * 4/sqrt(t): every arm i is charged a baseline B_i and the played
    arm (loss - B_i) / p_i, so the common part of the losses costs no variance. B_i is fixed
    before the draw, so the estimates stay unbiased. Zimmert & Seldin take B_i = B for
    p_i >= eta_t^2 and B_i = 0 below (plain importance weighting there, which keeps the
    estimates from swinging negative: the stability condition eta (B_i - loss) / p_i <=
    1 / sqrt(p_i) of the analysis). ``baseline_rule="smooth"`` (the default) uses the largest
    baseline that condition allows at a zero loss, B_i = min(B, sqrt(p_i) / eta_t), instead of
    the step (``baseline_rule="step"``): an arm just below eta_t^2 keeps most of the
    baseline, so its estimate no longer drifts towards the leader's at the full rate of the
    leader's loss between its rare plays, which is what brought rarely played arms back. On
    the solver benchmark (24 runs per setting) this took Tsallis-INF from 1.138 to 1.119x the
    best fixed omega on synthetic-high, 1.043 -> 1.032 on synthetic-low and 1.034 -> 1.025
    on heat, with B = ``baseline`` = 0.8 (scaled units; 0.6 with the step rule).
    ``estimator="iw"`` is plain importance weighting with eta_t = lr * 2/sqrt(t). Either way
    the distribution is the exact 1/2-Tsallis FTRL one.

    ``smoothing`` = h0 > 0 is for *ordered* arms (a grid of one numeric parameter, such as
    the solver's omegas): a play of arm i also informs the arms within h_t grid steps, with
    h_t = h0 * halflife / (halflife + t) shrinking over the rounds. Arm j's estimate reads
    (loss - B_j) K(i, j) / q_j, where K(i, j) = max(0, 1 - |i - j| / (h_t + 1)) and
    q_j = sum_i p_i K(i, j) is the chance the round informs arm j: unbiased for the
    kernel-smoothed loss instead of the arm's own, with variance 1/q_j instead of 1/p_j, so
    a rarely played arm next to a popular one is estimated from its neighbour's plays. The
    bias fades with h_t. The baseline rule reads q_j in place of p_j. q uses the distribution
    of the latest report, the one the arm was drawn from when asks and tells alternate (a
    solver loop). On the solver benchmark (`tuner bench solver`, entry tsallis_inf_smooth;
    seeds 0-2, with 3-6 held out from the choice of h0 = 3, halflife = 200, lr = 1.5):
    synthetic-high 1.117 -> 1.065x the best fixed omega (held-out seeds 1.123 -> 1.080),
    synthetic-low 1.035 -> 1.023, heat 1.024 -> 1.017. A fixed one-step kernel gave 1.075
    (1.094 held out); implicit exploration (dividing by q + gamma eta) was worse (1.16).

    The normaliser x solves f(x) = sum_i 4/(eta (L_i - x))^2 - 1 = 0. f is convex and
    increasing on x < min L, and x = min L - 2/eta (where the leader alone weighs 1) lies
    right of the root, so Newton from any point right of the root decreases monotonically
    to it. The previous round's x is the warm start (a step from the left of the root
    lands right of it, clamped to min L - 2/eta if it overshoots). Newton stops once
    |f| < ``tol``: at any x < min L, the weights divided by their sum s are *exactly* the
    1/2-Tsallis FTRL distribution for the rate eta * sqrt(s), so the default tol = 1e-3
    keeps the rate within 0.05% of its schedule, in about two evaluations per report (1e-4
    took 2.6).
    """

    name = "tsallis_inf"

    def __init__(self, n_arms: int, *, seed: int | None = 0, lr: float = 0.75,
                 estimator: str = "rv", baseline: float | None = None, scale: str = "range",
                 baseline_rule: str = "smooth", tol: float = 1e-3, newton_steps: int = 60,
                 smoothing: float = 0.0, smoothing_halflife: float = 200.0,
                 side_model: dict | None = None, side_weight: float = 1.0) -> None:
        super().__init__(n_arms, seed=seed)
        self._side = _side_model(side_model, n_arms)
        if not 0.0 <= side_weight <= 1.0:
            raise StrategyError(f"{self.name}: side_weight must lie in [0, 1]")
        self.side_weight = float(side_weight)
        # Full side information replaces the bandit estimate, and with it the baselines.
        self._full_side = self._side is not None and self.side_weight == 1.0
        if not (math.isfinite(smoothing) and smoothing >= 0.0) or not smoothing_halflife > 0:
            raise StrategyError(f"{self.name}: needs smoothing >= 0 (grid steps) and "
                                f"smoothing_halflife > 0 (rounds)")
        if smoothing and estimator != "rv":
            raise StrategyError(f"{self.name}: smoothing needs estimator='rv'")
        self.smoothing, self.smoothing_halflife = float(smoothing), float(smoothing_halflife)
        if estimator not in ("rv", "iw"):
            raise StrategyError(f"{self.name}: estimator is 'rv' or 'iw', got {estimator!r}")
        if baseline_rule not in ("smooth", "step"):
            raise StrategyError(f"{self.name}: baseline_rule is 'smooth' or 'step', "
                                f"got {baseline_rule!r}")
        if baseline is None:
            baseline = 0.8 if baseline_rule == "smooth" else 0.6
        self.baseline_rule = baseline_rule
        if scale not in ("range", "mean"):
            raise StrategyError(f"{self.name}: scale is 'range' or 'mean', got {scale!r}")
        self.scale_kind = scale
        self.floor = math.inf                # smallest loss reported so far
        if not lr > 0 or not 0 < tol < 0.1:
            raise StrategyError(f"{self.name}: needs lr > 0 and 0 < tol < 0.1")
        self.lr, self.estimator, self.baseline = float(lr), estimator, float(baseline)
        self.tol, self.newton_steps = float(tol), int(newton_steps)
        self._eta0 = self.lr * (4.0 if estimator == "rv" else 2.0)
        self.x: float | None = None
        # (arm, B - B_arm) for the arms charged less than the full baseline next round
        self._low: list[tuple[int, float]] = []
        # q_j (smoothing only): the chance the coming round informs arm j, and its kernel.
        self._q: list[float] | None = None
        self._kernel: list[float] = [1.0]
        if self.smoothing:
            self._smooth_q(self.p, 0)
        if estimator == "rv" and baseline_rule == "smooth":
            self._set_low(self._q or self.p, self.eta(1))

    def eta(self, t: int) -> float:
        """Learning rate for round t (1-based)."""
        return self._eta0 / math.sqrt(t)

    def _scaled(self, loss: float) -> float:
        if self.scale_kind == "mean":
            return super()._scaled(loss)
        lo, m = self.floor, self.scale          # both from the earlier reports
        if loss < lo:
            self.floor = loss
        self.scale += (loss - m) / self.n_told
        # (inline, not through _mapped: this runs in every report of a ~10 us decision)
        if m > lo:
            return (loss - lo) / (m - lo)
        # No spread seen yet (first reports): divide by the mean, as scale="mean" does.
        return loss / m if m > 0.0 else 1.0

    def _mapped(self, values: list[float], lo: float, m: float, played: float) -> list[float]:
        """``values`` (side estimates) mapped as ``_scaled`` maps a loss, with the statistics
        (floor ``lo``, mean ``m``) of the reports before the one of loss ``played``."""
        if self.scale_kind == "mean":
            s = m if m > 0.0 else (played if played > 0.0 else 1.0)
            return [v / s for v in values]
        if m > lo:
            inv = 1.0 / (m - lo)
            return [(v - lo) * inv for v in values]
        return [v / m for v in values] if m > 0.0 else [1.0] * len(values)

    def _update(self, pull: Pull, loss: float, censored: bool, context: Context) -> None:
        side = None
        if self._side is not None:
            lo, m = self.floor, self.scale      # the scale the played loss is mapped with
            est = self._side.estimates(pull.arm, loss, censored)
            if est is not None:
                side = self._mapped(est.tolist(), lo, m, loss)
        ell = self._scaled(loss)
        if side is not None:
            w = self.side_weight
            if w == 1.0:    # full side information: the bandit estimate is not needed
                self.L = [a + b for a, b in zip(self.L, side)]
                if self.x is not None:  # Newton's warm start moves with the leading arm
                    p = self.p
                    self.x += side[max(range(self.K), key=p.__getitem__)]
            else:
                before = list(self.L)
                self._bandit_update(pull, ell)
                self.L = [b + (1.0 - w) * (a - b) + w * s
                          for a, b, s in zip(self.L, before, side)]
        else:
            if self._full_side:    # no side information this round: the baselines it skipped
                self._set_low(self._q or self.p, self.eta(self.n_told))
            self._bandit_update(pull, ell)
        eta = self.eta(self.n_told + 1)
        p = self._weights(eta)
        self._set_p(p)
        if self._q is not None:
            self._smooth_q(p, self.n_told)
        if self.estimator == "rv" and not self._full_side:
            self._set_low(self._q or p, eta)

    def _bandit_update(self, pull: Pull, ell: float) -> None:
        L, arm = self.L, pull.arm
        w = max(pull.prob, 1e-12)
        if self._q is not None:
            self._update_smoothed(arm, ell)
        elif self.estimator == "rv":
            # Charging B_j to every arm equals (up to a shift of every L, which leaves p
            # unchanged) taking B - B_j back from the arms charged less than B.
            Ba = self.baseline
            for j, d in self._low:
                L[j] -= d
                if j == arm:
                    Ba -= d
            L[arm] += (ell - Ba) / w
        else:
            L[arm] += ell / w

    def _smooth_q(self, p: list[float], t: int) -> None:
        """The kernel for round t + 1 and q_j = sum_i p_i K(i, j) (a short convolution)."""
        h = self.smoothing * self.smoothing_halflife / (self.smoothing_halflife + t)
        r = min(math.ceil(h), self.K - 1)
        inv = 1.0 / (h + 1.0)
        k = self._kernel = [1.0 - d * inv for d in range(r + 1)]
        # One zip pass per kernel step (cheaper than numpy at ~20 arms).
        pad = [0.0] * r
        pp = pad + p + pad
        q = list(p)
        for d in range(1, r + 1):
            kd = k[d]
            q = [x + kd * (a + b) for x, a, b in zip(q, pp[r - d:], pp[r + d:])]
        self._q = q

    def _update_smoothed(self, arm: int, ell: float) -> None:
        """The smoothed reduced-variance estimate (class doc); B_j as in _update."""
        L, q, k = self.L, self._q, self._kernel
        low = dict(self._low)
        B = self.baseline
        for j, d in self._low:
            L[j] -= d
        r = len(k) - 1
        for j in range(max(0, arm - r), min(self.K, arm + r + 1)):
            L[j] += (ell - (B - low.get(j, 0.0))) * k[abs(j - arm)] / max(q[j], 1e-12)

    def _set_low(self, p: list[float], eta: float) -> None:
        """The arms to charge less than B in the coming round, with the shortfall."""
        B = self.baseline
        if self.baseline_rule == "step":
            thr = eta * eta
            self._low = [(j, B) for j, v in enumerate(p) if v < thr]
        else:                           # B_j = min(B, sqrt(p_j) / eta)
            thr = (B * eta) ** 2
            inv = 1.0 / eta
            self._low = [(j, B - math.sqrt(v) * inv) for j, v in enumerate(p) if v < thr]

    def _weights(self, eta: float) -> list[float]:
        L = self.L
        lo = min(L)
        right = lo - 2.0 / eta              # right of the root: the safe start
        x = self.x
        if x is None or not x < lo:
            x = right
        c = 4.0 / (eta * eta)
        tol = self.tol
        for _ in range(self.newton_steps):
            # One pass per evaluation (x < min L, so every base is positive); the cubes
            # for f' only when a step is needed.
            q2 = [(v - x) ** -2.0 for v in L]
            s2 = sum(q2)
            f = c * s2 - 1.0
            if -tol < f < tol:
                break
            x -= f / (2.0 * c * sum([a ** 1.5 for a in q2]))
            if x > right:
                x = right
        self.x = x
        inv = 1.0 / s2                      # exact normalisation (see the class doc)
        return [a * inv for a in q2]
