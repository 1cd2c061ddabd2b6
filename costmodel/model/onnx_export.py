"""``costmodel export-onnx``: each XGBoost head as an ONNX model for in-process use from C++.

Every ONNX file takes one float32 input ``features`` of shape (n, k): the kept feature
columns listed (in order) in ``onnx/manifest.json`` (the same as the model's
preprocess.json), and outputs the head's raw score (n, 1): the log-scale prediction for
regression heads (apply the target's inverse transform: exp, or expm1 for spills), the
ranking score for ranking heads (higher = better). Needs ``onnxmltools`` (and
``onnxruntime`` to check the export).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import xgboost as xgb

from costmodel.errors import InputError
from costmodel.model.artifact import load
from costmodel.model.heads import margin


def _as_regressor(booster: xgb.Booster, n_features: int) -> xgb.XGBRegressor:
    """Wrap a booster for the converter; ranking heads are re-labelled as regression (their
    raw margin, which is all the converter computes, is unchanged)."""
    raw = json.loads(booster.save_raw("json"))
    raw["learner"]["objective"] = {"name": "reg:squarederror",
                                   "reg_loss_param": {"scale_pos_weight": "1"}}
    b = xgb.Booster()
    b.load_model(bytearray(json.dumps(raw).encode()))
    reg = xgb.XGBRegressor()
    reg._Booster = b
    return reg


def export(model_dir: str, out: str | None = None) -> Path:
    try:
        from onnxmltools import convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError:
        raise InputError("export-onnx needs onnxmltools: pip install onnxmltools") from None
    model = load(model_dir)
    outdir = Path(out) if out else Path(model_dir) / "onnx"
    outdir.mkdir(parents=True, exist_ok=True)
    k = len(model.pre.kept)
    files = {}
    for name, h in model.heads.items():
        for kind, booster in (("reg", h.reg), ("rank", h.rank)):
            if booster is None:
                continue
            onx = convert_xgboost(_as_regressor(booster, k),
                                  initial_types=[("features", FloatTensorType([None, k]))],
                                  target_opset=15)
            f = outdir / f"{name}.{kind}.onnx"
            f.write_bytes(onx.SerializeToString())
            files[f.name] = {"target": name, "head": kind,
                             "output": "log-scale prediction" if kind == "reg" else
                             "ranking score (higher is better)",
                             "inverse_transform": h.target.transform if kind == "reg" else None,
                             "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
    (outdir / "manifest.json").write_text(json.dumps({
        "source_model": str(model_dir), "feature_schema": model.manifest["feature_schema"],
        "input": {"name": "features", "dtype": "float32", "columns": model.pre.names},
        "files": files,
        # How candidates are ordered (lower cost first): "regression" = reg output,
        # "ranking" = -rank output, "blend" = reg - rank_weight * rank (both raw outputs).
        "ordering": {name: {"rank_source": h.rank_source, "rank_weight": h.rank_weight}
                     for name, h in model.heads.items()}}, indent=1) + "\n")
    return outdir


def check(model_dir: str, onnx_dir: str, X: np.ndarray) -> dict[str, float]:
    """Max relative difference between ONNX Runtime and XGBoost per head, on raw rows X.

    Regression heads are compared on the natural scale (what ``predict`` returns: seconds,
    counts, bytes); ranking scores, which have no scale of their own, relative to their
    largest magnitude.
    """
    import onnxruntime as ort

    model = load(model_dir)
    Xk = model.pre.transform(X).astype(np.float32)
    worst = {}
    for name, h in model.heads.items():
        for kind, booster in (("reg", h.reg), ("rank", h.rank)):
            if booster is None:
                continue
            sess = ort.InferenceSession(str(Path(onnx_dir) / f"{name}.{kind}.onnx"),
                                        providers=["CPUExecutionProvider"])
            got = sess.run(None, {"features": Xk})[0].ravel()
            want = margin(booster, Xk).ravel()  # what the native predictor computes
            if kind == "reg":
                got, want = h.target.inverse(got), h.target.inverse(want)
                rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-30)
                if h.target.transform == "log1p":  # spills: counts, 0 allowed
                    rel = np.abs(got - want) / np.maximum(np.abs(want), 1.0)
            else:
                rel = np.abs(got - want) / max(float(np.abs(want).max()), 1e-30)
            worst[f"{name}.{kind}"] = float(rel.max())
    return worst
