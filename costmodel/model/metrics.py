"""Evaluation metrics, with the definitions of the anchor papers.

All ranking metrics treat a *lower* value as better (latency, instructions, spills, size)
and work within candidate groups (the schedules of one kernel):

* ``kendall_tau``: Kendall's tau-b between predicted and measured values within a group,
  averaged over groups with at least 2 candidates whose measurements are not all equal.
  A constant prediction carries no ranking information and scores 0.
* ``pairwise_accuracy``: over all within-group pairs with different measured values, the
  share ordered correctly by the prediction (a predicted tie counts one half).
* ``topK_slowdown`` (TpuGraphs): per group, (best measured among the model's K lowest
  predictions - true best) / true best, averaged over groups with more than K candidates
  (with K or fewer any pick of K contains the best) and a positive true best.
* ``tensetK`` (TenSet top-k score): sum over groups of the true best / sum over groups of
  the best measured among the model's top-K picks; same groups as the slowdown.
* ``mape``: mean |pred - y| / y over samples with y > 0; ``within_10pct``: share of those
  with |pred - y| / y <= 0.10.
* ``r2_log``: R^2 of the prediction on the target's log scale (log, or log1p for spills).
* ``interval_coverage``: share of samples inside their predictive interval.
* ``interval_factor``: the interval's median multiplicative half-width, sqrt(upper/lower)
  (coverage alone would reward an infinitely wide band).

Tied predictions score the expected pick over random tie-break orders (exact for top-1,
``TIE_DRAWS`` orders for top-5), so a constant predictor scores what random picking does on
average rather than whatever came first or one lucky draw.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import kendalltau

METRICS = ("kendall_tau", "pairwise_accuracy", "top1_slowdown", "top5_slowdown", "tenset_top1",
           "tenset_top5", "mape", "within_10pct", "r2_log", "interval_coverage",
           "interval_factor")
RANKING = METRICS[:6]
#: Random tie-break orders averaged for the top-5 pick of tied predictions.
TIE_DRAWS = 16
#: Lower is better for these; higher for the rest.
LOWER_IS_BETTER = frozenset({"top1_slowdown", "top5_slowdown", "mape"})


def _clean(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def ranking_metrics(pred: np.ndarray, y: np.ndarray, groups: list[np.ndarray], *,
                    seed: int = 0) -> dict[str, float | None]:
    """Within-group ranking metrics. ``groups`` are index arrays into pred / y."""
    rng = np.random.default_rng(seed)
    taus, pair_ok, pair_n = [], 0.0, 0
    slow = {1: [], 5: []}
    tenset = {1: [0.0, 0.0], 5: [0.0, 0.0]}
    for idx in groups:
        if len(idx) < 2:
            continue
        p, t = pred[idx].astype(np.float64), y[idx].astype(np.float64)
        if np.ptp(t) > 0:
            if np.ptp(p) == 0:
                taus.append(0.0)
            else:
                tau = kendalltau(p, t).statistic
                taus.append(0.0 if not np.isfinite(tau) else float(tau))
            dp = np.sign(p[:, None] - p[None, :])
            dt = np.sign(t[:, None] - t[None, :])
            mask = np.triu(dt != 0, 1)
            agree = (dp == dt)[mask].sum() + 0.5 * (dp == 0)[mask].sum()
            pair_ok += float(agree)
            pair_n += int(mask.sum())
        best = t.min()
        # Tied predictions are picked in random order; a tie's pick is the *expected* one
        # over those orders (exact for top-1: the mean over the tied best; TIE_DRAWS draws
        # for top-5), so a constant predictor scores what random picking does on average,
        # not one lucky or unlucky draw.
        tied = len(np.unique(p)) < len(p)
        for k in (1, 5):
            if len(idx) > k and best > 0:
                if not tied:
                    pick = t[np.argsort(p, kind="stable")[:k]].min()
                elif k == 1:
                    pick = t[p == p.min()].mean()
                else:
                    pick = np.mean([t[np.lexsort((rng.permutation(len(p)), p))[:k]].min()
                                    for _ in range(TIE_DRAWS)])
                slow[k].append((pick - best) / best)
                tenset[k][0] += best
                tenset[k][1] += pick
    return {
        "kendall_tau": _clean(np.mean(taus)) if taus else None,
        "pairwise_accuracy": pair_ok / pair_n if pair_n else None,
        "top1_slowdown": _clean(np.mean(slow[1])) if slow[1] else None,
        "top5_slowdown": _clean(np.mean(slow[5])) if slow[5] else None,
        "tenset_top1": tenset[1][0] / tenset[1][1] if tenset[1][1] else None,
        "tenset_top5": tenset[5][0] / tenset[5][1] if tenset[5][1] else None,
    }


def regression_metrics(pred: np.ndarray, y: np.ndarray, forward) -> dict[str, float | None]:
    """Absolute-error metrics on the natural scale and R^2 on the log scale."""
    pred = np.asarray(pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    pos = y > 0
    rel = np.abs(pred[pos] - y[pos]) / y[pos]
    zl, pl = forward(y), forward(np.maximum(pred, 0.0))
    ss_res = float(((zl - pl) ** 2).sum())
    ss_tot = float(((zl - zl.mean()) ** 2).sum()) if zl.size else 0.0  # no rows: no R^2
    return {
        "mape": _clean(rel.mean()) if rel.size else None,
        "within_10pct": _clean((rel <= 0.10).mean()) if rel.size else None,
        "r2_log": _clean(1.0 - ss_res / ss_tot) if ss_tot > 0 else None,
    }


def coverage(lo: np.ndarray, hi: np.ndarray, y: np.ndarray) -> float | None:
    if len(y) == 0:
        return None
    return float(((y >= lo) & (y <= hi)).mean())


def interval_factor(lo: np.ndarray, hi: np.ndarray) -> float | None:
    """Median sqrt(upper / lower) over rows with a positive band (log-scale targets)."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    ok = (lo > 0) & np.isfinite(hi)
    if not ok.any():
        return None
    return _clean(float(np.median(np.sqrt(hi[ok] / lo[ok]))))
