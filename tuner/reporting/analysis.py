"""What the report plots, computed from a study's trials (losses: lower is better).

* best so far and the expected best of random search over the arms seen (baselines);
* cumulative pseudo-regret against the best arm in hindsight (bandit studies);
* parameter importance: a random forest on the trials, then fANOVA-style main effects
  (the variance of each parameter's marginal prediction over the variance of all
  predictions), and the mean value over the two most important parameters (heatmap);
* noise: the spread of repeated measurements of one configuration;
* calibration: measured against a cost model's predicted values and intervals.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from tuner.reporting.data import StudyView


def best_so_far(view: StudyView) -> tuple[np.ndarray, np.ndarray]:
    """(report index 1..n, best uncensored value after each report; nan before the first)."""
    best, out = math.inf, []
    for t in view.done:
        if not t.censored:
            best = min(best, view.sign * t.value)
        out.append(best)
    y = np.array(out, float) * view.sign
    y[~np.isfinite(y)] = np.nan
    return np.arange(1, len(out) + 1), y


def arm_stats(view: StudyView) -> dict[int, dict[str, Any]]:
    """Per arm: params, uncensored values (natural units), pulls, censored pulls."""
    out: dict[int, dict[str, Any]] = {}
    for t in view.done:
        a = out.setdefault(t.arm, {"params": t.params, "values": [], "pulls": 0, "censored": 0})
        a["pulls"] += 1
        a["censored"] += t.censored
        if not t.censored:
            a["values"].append(t.value)
    return out


def random_search_expectation(view: StudyView, n: int) -> np.ndarray | None:
    """E[best of k uniform draws, with replacement, from the seen arms' mean values], k=1..n.

    With sorted losses v_1 <= ... <= v_K: P(best = v_i) = ((K-i+1)/K)^k - ((K-i)/K)^k."""
    means = [np.mean(a["values"]) for a in arm_stats(view).values() if a["values"]]
    K = len(means)
    if K < 2 or n < 1:
        return None
    v = np.sort(view.sign * np.asarray(means))
    i = np.arange(1, K + 1)
    k = np.arange(1, n + 1)[:, None]
    p = ((K - i + 1) / K) ** k - ((K - i) / K) ** k
    return view.sign * (p * v).sum(axis=1)


def regret(view: StudyView) -> dict[str, Any] | None:
    """Cumulative pseudo-regret against the best arm in hindsight (lowest mean loss among
    arms with 2+ uncensored reports; censored reports count at their censoring value, a lower
    bound), beside uniform random play. None when no arm was pulled twice."""
    stats = arm_stats(view)
    pulls: dict[int, list[float]] = defaultdict(list)   # censored at their bound, like `loss`
    for t in view.done:
        pulls[t.arm].append(view.sign * t.value)
    means = {a: float(np.mean(v)) for a, v in pulls.items()
             if len(stats[a]["values"]) >= 2}
    if not means:
        return None
    best_arm = min(means, key=means.get)
    mu = means[best_arm]
    loss = np.array([view.sign * t.value for t in view.done])
    cum = np.cumsum(loss - mu)
    all_means = [float(np.mean(v)) for v in pulls.values()]
    uniform = np.arange(1, len(loss) + 1) * (np.mean(all_means) - mu)
    return {"t": np.arange(1, len(loss) + 1), "regret": cum, "uniform": uniform,
            "best_arm": best_arm, "best_params": stats[best_arm]["params"], "best_mean": mu * view.sign,
            "contextual": any(t.context is not None for t in view.done)}


def _encode(view: StudyView, names: list[str]) -> tuple[np.ndarray, list[list[Any]]]:
    """Trials as a numeric matrix: numbers as they are, categories by their order of first
    appearance, inactive (conditional) parameters as one below the column's minimum."""
    levels: list[list[Any]] = []
    cols = []
    for n in names:
        raw = [t.params.get(n) for t in view.done]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw if v is not None):
            vals = np.array([np.nan if v is None else float(v) for v in raw])
            levels.append(sorted({v for v in raw if v is not None}))
        else:
            lv = list(dict.fromkeys(str(v) for v in raw if v is not None))
            levels.append(lv)
            vals = np.array([np.nan if v is None else float(lv.index(str(v))) for v in raw])
        if np.isnan(vals).any():
            vals[np.isnan(vals)] = (np.nanmin(vals) - 1.0) if np.isfinite(vals).any() else 0.0
        cols.append(vals)
    return np.column_stack(cols), levels


def importance(view: StudyView, *, seed: int = 0, max_background: int = 256) -> dict[str, Any] | None:
    """fANOVA-style main-effect shares from a random forest fit on (params -> loss).

    Loss on a log scale when every value is positive (so a 10x slowdown weighs the same
    anywhere). Needs 2+ varying parameters and 8+ reports."""
    from sklearn.ensemble import RandomForestRegressor

    names = [n for n in view.param_names()
             if len({repr(t.params.get(n)) for t in view.done}) > 1]
    if len(names) < 2 or len(view.done) < 8:
        return None
    X, levels = _encode(view, names)
    y = np.array([view.sign * t.value for t in view.done])
    log = bool(np.all(np.array([t.value for t in view.done]) > 0))
    if log:
        y = view.sign * np.log(np.array([t.value for t in view.done]))
    rf = RandomForestRegressor(n_estimators=100, min_samples_leaf=2, random_state=seed, n_jobs=1)
    rf.fit(X, y)
    rng = np.random.default_rng(seed)
    bg = X if len(X) <= max_background else X[rng.choice(len(X), max_background, replace=False)]
    total = float(np.var(rf.predict(bg)))
    shares = {}
    for j, n in enumerate(names):
        uniq, counts = np.unique(X[:, j], return_counts=True)
        marg = []
        for u in uniq:
            Xc = bg.copy()
            Xc[:, j] = u
            marg.append(rf.predict(Xc).mean())
        marg = np.array(marg)
        w = counts / counts.sum()
        var = float((w * (marg - (w * marg).sum()) ** 2).sum())
        shares[n] = var / total if total > 0 else 0.0
    order = sorted(names, key=lambda n: -shares[n])
    return {"names": order, "share": [shares[n] for n in order], "log": log,
            "interactions": max(0.0, 1.0 - sum(shares.values())),
            "fit_r2": float(rf.score(X, y)), "levels": dict(zip(names, levels))}


def heatmap(view: StudyView, a: str, b: str) -> dict[str, Any]:
    """Mean uncensored value per (a, b) cell (nan where never measured), with counts."""
    def key(v):
        return (0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, str(v))
    ok = [t for t in view.done if not t.censored]
    xa = sorted({t.params.get(a) for t in ok}, key=key)
    xb = sorted({t.params.get(b) for t in ok}, key=key)
    cells: dict[tuple[int, int], list[float]] = defaultdict(list)
    for t in ok:
        cells[(xa.index(t.params.get(a)), xb.index(t.params.get(b)))].append(t.value)
    mean = np.full((len(xb), len(xa)), np.nan)
    count = np.zeros((len(xb), len(xa)), int)
    for (i, j), v in cells.items():
        mean[j, i], count[j, i] = float(np.mean(v)), len(v)
    return {"x": xa, "y": xb, "mean": mean, "count": count, "xname": a, "yname": b}


def context_heatmap(view: StudyView, param: str, bins: int = 6) -> dict[str, Any] | None:
    """Mean value per (context quantile bin, param value) for scalar-context studies."""
    ok = [t for t in view.done if not t.censored and isinstance(t.context, (int, float))]
    if len(ok) < 8:
        return None
    ctx = np.array([t.context for t in ok], float)
    edges = np.unique(np.quantile(ctx, np.linspace(0, 1, bins + 1)))
    if len(edges) < 3:
        return None
    which = np.clip(np.searchsorted(edges, ctx, side="right") - 1, 0, len(edges) - 2)
    xs = sorted({t.params.get(param) for t in ok}, key=lambda v: (str(type(v)), v))
    mean = np.full((len(edges) - 1, len(xs)), np.nan)
    count = np.zeros_like(mean, dtype=int)
    acc: dict[tuple[int, int], list[float]] = defaultdict(list)
    for t, bi in zip(ok, which):
        acc[(int(bi), xs.index(t.params.get(param)))].append(t.value)
    for (i, j), v in acc.items():
        mean[i, j], count[i, j] = float(np.mean(v)), len(v)
    labels = [f"{edges[i]:.3g}..{edges[i + 1]:.3g}" for i in range(len(edges) - 1)]
    return {"x": xs, "y": labels, "mean": mean, "count": count, "xname": param,
            "yname": "context"}


def noise(view: StudyView) -> list[dict[str, Any]]:
    """Arms with 2+ uncensored measurements: median, quartiles, 5-95% range, relative IQR."""
    rows = []
    for arm, s in arm_stats(view).items():
        v = np.asarray(s["values"], float)
        if len(v) < 2:
            continue
        q05, q25, q50, q75, q95 = np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95])
        rows.append({"arm": arm, "params": s["params"], "n": len(v), "median": float(q50),
                     "q25": float(q25), "q75": float(q75), "q05": float(q05), "q95": float(q95),
                     "rel_iqr": float((q75 - q25) / abs(q50)) if q50 else math.nan})
    return sorted(rows, key=lambda r: view.sign * r["median"])


def predictions(view: StudyView) -> dict[str, np.ndarray] | None:
    """Cost-model predictions stored with the study, matched to measured arms.

    Convention: ``config["predictions"]`` is a list of ``{"arm": i, "value": v,
    "lower": l, "upper": u}`` (lower/upper optional), the predictions made before measuring;
    the measured side is each arm's median uncensored value."""
    preds = view.config.get("predictions")
    if not isinstance(preds, list):
        return None
    stats = arm_stats(view)
    rows = []
    for p in preds:
        if not isinstance(p, dict) or "arm" not in p or "value" not in p:
            continue
        s = stats.get(int(p["arm"]))
        if not s or not s["values"]:
            continue
        rows.append((float(np.median(s["values"])), float(p["value"]),
                     float(p.get("lower", np.nan)), float(p.get("upper", np.nan)), len(s["values"])))
    if len(rows) < 2:
        return None
    a = np.array(rows)
    return {"measured": a[:, 0], "predicted": a[:, 1], "lower": a[:, 2], "upper": a[:, 3],
            "n": a[:, 4]}
