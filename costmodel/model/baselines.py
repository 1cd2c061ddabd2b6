"""Baselines shown beside the model.

* ``roofline``: latency = max(FLOPs x padding / peak FLOP/s, bytes / bandwidth) + dispatch
  overhead, with peak FLOP/s and memory bandwidth measured on this machine by
  :func:`microbenchmark` (single-threaded numpy: a float32 matmul and a large array copy),
  and the overhead as the measured latency of a 4-element IREE kernel (real-model dispatches
  take as little as 3 us, where FLOPs and bytes predict nanoseconds). Its only schedule
  dependence is the FLOPs wasted on padding when vector tiles do not divide the loop
  extents. Latency only.
* ``random``: a uniformly random ranking (metrics averaged over 20 draws).
* ``compiler_default``: trust IREE's own heuristics: in each group pick the default
  schedule without data tiling or ukernels (else the first default candidate). Only
  top-1 metrics apply.
"""

from __future__ import annotations

import time

import numpy as np

from costmodel.model.metrics import ranking_metrics, regression_metrics


def microbenchmark(repeats: int = 5) -> dict:
    """Peak single-thread FLOP/s (f32 matmul) and memory bandwidth (copy) of this machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        n = 512
        a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        b = a.T.copy()
        a @ b
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t)
        flops = 2.0 * n ** 3 / best
        src = np.ones(64 * 1024 * 1024 // 8)
        dst = np.empty_like(src)
        np.copyto(dst, src)
        best_c = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            np.copyto(dst, src)
            best_c = min(best_c, time.perf_counter() - t)
        bw = 2.0 * src.nbytes / best_c
    return {"peak_flops_per_s": flops, "bandwidth_bytes_per_s": bw,
            "dispatch_overhead_s": dispatch_overhead(),
            "method": "numpy, 1 thread: 512^3 f32 matmul; 64 MiB copy (read+write); "
                      "IREE local-sync: median latency of a 4-element f32 add"}


def read_calibration(path: str) -> dict:
    """A calibration saved earlier: a model directory (its manifest's ``machine``) or a JSON
    file holding the microbenchmark's keys. Raises InputError when it is unusable."""
    import json
    from pathlib import Path

    from costmodel.errors import InputError
    p = Path(path)
    f = p / "manifest.json" if p.is_dir() else p
    try:
        d = json.loads(f.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read a calibration: {exc}") from None
    d = d.get("machine", d) if isinstance(d, dict) else d
    try:
        out = {k: float(d[k]) for k in ("peak_flops_per_s", "bandwidth_bytes_per_s")}
        out["dispatch_overhead_s"] = float(d.get("dispatch_overhead_s", 0.0))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError(f"{path}: no calibration (needs peak_flops_per_s and "
                         "bandwidth_bytes_per_s)") from None
    if min(out["peak_flops_per_s"], out["bandwidth_bytes_per_s"]) <= 0 or \
            out["dispatch_overhead_s"] < 0:
        raise InputError(f"{path}: calibration values must be positive: {out}")
    # A calibration reused from a model that reused it keeps one "reused from" hop and the
    # original measurement's description, not a chain growing with every retrain.
    import re
    method = re.sub(r"^(reused from [^:]*: )+", "", str(d.get("method", "")))
    out["method"] = f"reused from {path}: {method}"
    return out


#: The smallest kernel IREE can dispatch: its latency is the fixed cost of a call.
_TRIVIAL_KERNEL = """func.func @main(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %a, %b : tensor<4xf32>
  return %0 : tensor<4xf32>
}"""


def dispatch_overhead() -> float:
    """Median seconds of one call of a trivial compiled kernel on this machine."""
    from costmodel.measure.measurement import measure

    return float(measure(_TRIVIAL_KERNEL).latency.median_s)


#: Floor of the roofline (seconds).
FLOOR_S = 1e-9


def roofline_latency(flops: np.ndarray, nbytes: np.ndarray, log_pad: np.ndarray,
                     machine: dict) -> np.ndarray:
    """Older calibrations have no ``dispatch_overhead_s``: their roofline has none."""
    compute = flops * np.exp(log_pad) / machine["peak_flops_per_s"]
    memory = nbytes / machine["bandwidth_bytes_per_s"]
    return np.maximum(np.maximum(compute, memory) + machine.get("dispatch_overhead_s", 0.0),
                      FLOOR_S)


def random_metrics(y: np.ndarray, groups: list[np.ndarray], draws: int = 20) -> dict:
    acc: dict[str, list[float]] = {}
    for s in range(draws):
        pred = np.random.default_rng(1000 + s).random(len(y))
        for k, v in ranking_metrics(pred, y, groups, seed=s).items():
            if v is not None:
                acc.setdefault(k, []).append(v)
    return {k: float(np.mean(v)) for k, v in acc.items()}


def default_metrics(y: np.ndarray, groups: list[np.ndarray], is_default: np.ndarray,
                    data_tiling: np.ndarray, ukernels: np.ndarray) -> dict:
    slows, best_sum, pick_sum = [], 0.0, 0.0
    for idx in groups:
        if len(idx) < 2:
            continue
        d = [i for i in idx if is_default[i]]
        if not d:
            continue
        plain = [i for i in d if not data_tiling[i] and ukernels[i] in ("none", None, False)]
        pick = y[(plain or d)[0]]
        best = y[idx].min()
        if best > 0:
            slows.append((pick - best) / best)
            best_sum += best
            pick_sum += pick
    if not slows:
        return {}
    return {"top1_slowdown": float(np.mean(slows)), "tenset_top1": best_sum / pick_sum}


def roofline_metrics(pred: np.ndarray, y: np.ndarray, groups: list[np.ndarray], target) -> dict:
    out = ranking_metrics(pred, y, groups)
    out.update(regression_metrics(pred, y, target.forward))
    return out
