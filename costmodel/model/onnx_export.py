"""``costmodel export-onnx``: each XGBoost head as an ONNX model for in-process use from C++.

Every ONNX file takes one float32 input ``features`` of shape (n, k): the kept feature
columns listed (in order) in ``onnx/manifest.json`` (the same as the model's
preprocess.json), and outputs the head's raw score (n, 1): the log-scale prediction for
regression heads (apply the target's inverse transform: exp, or expm1 for spills), the
ranking score for ranking heads (higher = better). Needs ``onnxmltools`` (and
``onnxruntime`` to check the export).

Precision: onnxmltools converts the trees; the ensemble is then evaluated in float64
(``Cast`` to double, then an ``ai.onnx.ml`` opset-3 ``TreeEnsembleRegressor`` whose
thresholds, leaf values and intercept are double tensors). XGBoost compares float32
features with float32 thresholds; a float32 value widened to double compares with a widened
float32 threshold exactly the same way, so every row takes the same path. The leaves are
then summed in double, so the output is the ensemble's exact value rounded once to float32,
whatever order or thread split ONNX Runtime sums the trees in. (With float32 accumulation
the result depended on that split: bit-identical to XGBoost on one thread, 3.8e-6 off on
two.) What remains between ONNX and the native predictor is XGBoost's own float32 sum of the
leaves (see heads.margin), at most 6.8e-6 relative over the shipped model and dataset.

A regression head with a base margin (offset.py: the latency head's log roofline) has it
computed inside the graph from the same input columns, in float64, and added to the
ensemble's output (times the head's tree weight, if not 1) before the final cast; the output
is still the full log-scale prediction. A head that weighs real models' dispatches
differently (heads.TargetHeads.tree_weights) picks each row's weight inside the graph and
has a second output, ``ordering``, with the one tree weight, for ordering candidates.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import xgboost as xgb

from costmodel.errors import InputError
from costmodel.model.artifact import load
from costmodel.model.heads import TargetHeads, margin
from costmodel.model.baselines import FLOOR_S
from costmodel.model.offset import RooflineOffset


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


def _intercept(booster: xgb.Booster) -> float:
    """base_score as the native predictor reads it (heads.margin adds it in float64)."""
    cfg = json.loads(booster.save_config())["learner"]["learner_model_param"]
    return float(str(cfg["base_score"]).strip("[]"))


def _offset_nodes(offset: RooflineOffset, x: str, out: str):
    """ONNX nodes computing ``offset(X)`` (offset.py, the same operations in float64) from
    the float64 features ``x`` into ``out`` of shape (n, 1); returns (initializers, nodes)."""
    from onnx import TensorProto, helper

    n = helper.make_node
    inits = [helper.make_tensor(f"off_{name}", TensorProto.DOUBLE, [], [v]) for name, v in
             (("one", 1.0), ("peak", offset.peak_flops_per_s),
              ("bw", offset.bandwidth_bytes_per_s), ("overhead", offset.overhead_s),
              ("floor", FLOOR_S))]
    nodes = []
    for c, col in (("flops", offset.flops_col), ("bytes", offset.bytes_col),
                   ("pad", offset.pad_col)):
        # Gather with indices of shape (1,) along axis 1 keeps the column as (n, 1).
        inits.append(helper.make_tensor(f"off_{c}_col", TensorProto.INT64, [1], [col]))
        nodes += [n("Gather", [x, f"off_{c}_col"], [f"off_{c}"], axis=1),
                  n("Exp", [f"off_{c}"], [f"off_{c}_exp"])]
    nodes += [n("Sub", ["off_flops_exp", "off_one"], ["off_flops_n"]),
              n("Mul", ["off_flops_n", "off_pad_exp"], ["off_padded"]),
              n("Div", ["off_padded", "off_peak"], ["off_compute"]),
              n("Sub", ["off_bytes_exp", "off_one"], ["off_bytes_n"]),
              n("Div", ["off_bytes_n", "off_bw"], ["off_memory"]),
              n("Max", ["off_compute", "off_memory"], ["off_bound"]),
              n("Add", ["off_bound", "off_overhead"], ["off_time"]),
              n("Max", ["off_time", "off_floor"], ["off_max"]),
              n("Log", ["off_max"], [out])]
    return inits, nodes


def _row_weight_nodes(h: TargetHeads, x: str, out: str):
    """ONNX nodes computing ``h.tree_weights(X)`` (the dispatch weight, or the row's root-op
    family's, on dispatch rows; ``tree_weight`` elsewhere) from the float64 features ``x``
    into ``out`` of shape (n, 1); the initializer ``tree_weight`` must exist. Returns
    (initializers, nodes)."""
    from onnx import TensorProto, helper

    n = helper.make_node
    inits = [helper.make_tensor("dispatch_col", TensorProto.INT64, [1], [h.dispatch_col]),
             helper.make_tensor("dispatch_zero", TensorProto.DOUBLE, [], [0.0]),
             helper.make_tensor("dispatch_tree_weight", TensorProto.DOUBLE, [],
                                [h.dispatch_tree_weight])]
    nodes = []
    wd = "dispatch_tree_weight"
    if h.dispatch_family_weights and h.family_col is not None:
        inits.append(helper.make_tensor("family_col", TensorProto.INT64, [1], [h.family_col]))
        nodes.append(n("Gather", [x, "family_col"], ["family_x"], axis=1))
        for code, w in sorted(h.dispatch_family_weights.items()):
            inits += [helper.make_tensor(f"family_{code}", TensorProto.DOUBLE, [], [float(code)]),
                      helper.make_tensor(f"family_{code}_weight", TensorProto.DOUBLE, [], [w])]
            nodes += [n("Equal", ["family_x", f"family_{code}"], [f"is_family_{code}"]),
                      n("Where", [f"is_family_{code}", f"family_{code}_weight", wd],
                        [f"dispatch_weight_{code}"])]
            wd = f"dispatch_weight_{code}"
    nodes += [n("Gather", [x, "dispatch_col"], ["dispatch_x"], axis=1),
              n("Greater", ["dispatch_x", "dispatch_zero"], ["is_dispatch"]),
              n("Where", ["is_dispatch", wd, "tree_weight"], [out])]
    return inits, nodes


def _double_ensemble(onx, booster: xgb.Booster, k: int, offset: RooflineOffset | None = None,
                     tree_weight: float = 1.0, dispatch: TargetHeads | None = None):
    """The converter's float32 TreeEnsembleRegressor rebuilt to run in float64 (see the
    module docstring): same trees, thresholds and leaves, widened without rounding.

    ``dispatch``: a head with a dispatch tree weight. Rows whose dispatch column is > 0
    weigh the trees by it (or by their root-op family's weight) instead, as
    heads.TargetHeads.tree_weights does, and a second output ``ordering`` gives the
    prediction with ``tree_weight`` on every row, which candidate ordering uses."""
    from onnx import TensorProto, helper

    (tree,) = [n for n in onx.graph.node if n.op_type == "TreeEnsembleRegressor"]
    if len(onx.graph.node) != 1:
        raise InputError(f"unexpected ONNX graph from the converter: "
                         f"{[n.op_type for n in onx.graph.node]}")
    attrs = {a.name: helper.get_attribute_value(a) for a in tree.attribute}
    widen = {"nodes_values": "nodes_values_as_tensor",
             "target_weights": "target_weights_as_tensor"}
    kept = {n: v for n, v in attrs.items() if n not in widen and n != "base_values"}
    for name, tensor_name in widen.items():
        vals = np.asarray(attrs[name], dtype=np.float32).astype(np.float64)
        kept[tensor_name] = helper.make_tensor(tensor_name, TensorProto.DOUBLE, [len(vals)], vals)
    kept["base_values_as_tensor"] = helper.make_tensor(
        "base_values_as_tensor", TensorProto.DOUBLE, [1], [_intercept(booster)])
    out_name = onx.graph.output[0].name
    ens = out_name if offset is None else "ensemble"
    nodes = [helper.make_node("Cast", ["features"], ["features_f64"], to=TensorProto.DOUBLE),
             helper.make_node("TreeEnsembleRegressor", ["features_f64"], [ens],
                              domain="ai.onnx.ml", **kept)]
    inits = []
    if offset is not None:
        inits, off_nodes = _offset_nodes(offset, "features_f64", "offset")
        trees = "ensemble_f64"
        nodes += off_nodes + [
            helper.make_node("Cast", [ens], ["ensemble_f64"], to=TensorProto.DOUBLE)]
        if tree_weight != 1.0 or dispatch is not None:
            # heads.TargetHeads.predict_log: offset + weight * trees
            inits.append(helper.make_tensor("tree_weight", TensorProto.DOUBLE, [],
                                            [tree_weight]))
            nodes.append(helper.make_node("Mul", ["ensemble_f64", "tree_weight"], ["weighted"]))
            trees = "weighted"
        if dispatch is not None:
            w_inits, w_nodes = _row_weight_nodes(dispatch, "features_f64", "row_weight")
            inits += w_inits
            nodes += w_nodes + [
                helper.make_node("Mul", ["ensemble_f64", "row_weight"], ["row_weighted"]),
                helper.make_node("Add", ["weighted", "offset"], ["ordering_f64"]),
                helper.make_node("Cast", ["ordering_f64"], ["ordering"], to=TensorProto.FLOAT)]
            trees = "row_weighted"
        nodes += [
            helper.make_node("Add", [trees, "offset"], ["with_offset"]),
            helper.make_node("Cast", ["with_offset"], [out_name], to=TensorProto.FLOAT)]
    outputs = [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [None, 1])]
    if offset is not None and dispatch is not None:
        outputs.append(helper.make_tensor_value_info("ordering", TensorProto.FLOAT, [None, 1]))
    graph = helper.make_graph(
        nodes, onx.graph.name or "xgboost",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, k])],
        outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15),
                                                    helper.make_opsetid("ai.onnx.ml", 3)],
                              producer_name="costmodel export-onnx")
    model.ir_version = 8
    return model


def export(model_dir: str, out: str | None = None) -> Path:
    try:
        from onnxmltools import convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError:
        raise InputError("export-onnx needs onnxmltools: pip install onnxmltools") from None
    import onnx

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
            dispatch = None if h.dispatch_tree_weight is None else h
            onx = (_double_ensemble(onx, booster, k, h.offset, h.tree_weight, dispatch)
                   if kind == "reg" else _double_ensemble(onx, booster, k))
            onnx.checker.check_model(onx)
            f = outdir / f"{name}.{kind}.onnx"
            f.write_bytes(onx.SerializeToString())
            files[f.name] = {"target": name, "head": kind,
                             "output": "log-scale prediction" if kind == "reg" else
                             "ranking score (higher is better)",
                             "ordering_output": "ordering" if kind == "reg" and
                             h.dispatch_tree_weight is not None else None,
                             "inverse_transform": h.target.transform if kind == "reg" else None,
                             "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
    (outdir / "manifest.json").write_text(json.dumps({
        "source_model": str(model_dir), "feature_schema": model.manifest["feature_schema"],
        "input": {"name": "features", "dtype": "float32", "columns": model.pre.names},
        # Trees are evaluated and summed in float64 inside the graph; the output is float32.
        "ensemble_precision": "float64",
        "files": files,
        # How candidates are ordered (lower cost first): "regression" = reg output,
        # "ranking" = -rank output, "blend" = reg - rank_weight * rank (both raw outputs).
        # "reg" here is the reg file's "ordering_output" where it names one (a head that
        # weighs real models' dispatches differently), else its prediction.
        "ordering": {name: {"rank_source": h.rank_source, "rank_weight": h.rank_weight}
                     for name, h in model.heads.items()},
        "intervals": _intervals(model, model_dir, outdir, files)}, indent=1) + "\n")
    return outdir


def _intervals(model, model_dir: str, outdir: Path, files: dict) -> dict:
    """The predictive-interval rule per target, for a C++ caller to reproduce ``predict``'s
    bands: value x/ exp(w) with w the largest that applies of ``log_half_width``,
    ``novel_log_half_width`` and ``dispatch_log_half_width`` (the input column
    ``dispatch_column`` is > 0: a real model's dispatch). ``novel_rule`` says when the
    kernel is novel: "structure" (structure.json / structure.npy, copied here: the sum over
    its ``columns`` of squared differences to the nearest reference row, expanded as
    |x|^2 + |r|^2 - 2 x.r in float64 from the float32 inputs, exceeds ``same_below``) or, for
    models of format 4 and older, "distance" (novelty.json / novelty.npy: RMS distance of its
    standardized kernel columns to the nearest reference row above ``threshold``)."""
    import shutil
    out = {}
    rule = None
    if any(h.q_novel is not None for h in model.heads.values()):
        rule = "structure" if any(h.structure is not None for h in model.heads.values()) \
            else "distance"
    for name, h in model.heads.items():
        out[name] = {"coverage": 1.0 - h.alpha, "log_half_width": h.q,
                     "novel_log_half_width": h.q_novel,
                     "novel_rule": None if h.q_novel is None else rule,
                     "dispatch_log_half_width": h.q_dispatch,
                     "dispatch_column": None if h.dispatch_col is None
                     else model.pre.names[h.dispatch_col]}
    if rule is not None:
        stem = "structure" if rule == "structure" else "novelty"
        for f in (f"{stem}.json", f"{stem}.npy"):
            shutil.copyfile(Path(model_dir) / f, outdir / f)
            files[f] = {"sha256": hashlib.sha256((outdir / f).read_bytes()).hexdigest()}
    return out


def check(model_dir: str, onnx_dir: str, X: np.ndarray) -> dict[str, float]:
    """Max relative difference between ONNX Runtime and the native predictor per head, on
    raw rows X. Native is both of its paths: XGBoost (``heads.margin``, batches) and the
    numpy forest (``forest.py``, few-row requests); the worse of the two counts.

    Regression heads are compared on the natural scale (what ``predict`` returns: seconds,
    counts, bytes); ranking scores, which have no scale of their own, relative to their
    largest magnitude.
    """
    import onnxruntime as ort

    model = load(model_dir)
    Xk = model.pre.transform(X).astype(np.float32)
    worst = {}
    for name, h in model.heads.items():
        for kind, booster, forest in (("reg", h.reg, h.fast_reg), ("rank", h.rank, h.fast_rank)):
            if booster is None:
                continue
            sess = ort.InferenceSession(str(Path(onnx_dir) / f"{name}.{kind}.onnx"),
                                        providers=["CPUExecutionProvider"])
            outs = sess.run(None, {"features": Xk})
            trees = [margin(booster, Xk).ravel()]
            if forest is not None:
                trees.append(np.concatenate([forest.predict(Xk[i:i + 1024])
                                             for i in range(0, len(Xk), 1024)]))
            pairs = [(outs[0], v) for v in trees]
            if kind == "reg" and h.offset is not None:
                pairs = [(outs[0], h.tree_weights(Xk) * v + h.offset(Xk)) for v in trees]
                if len(outs) > 1:  # the ordering output: one tree weight on every row
                    pairs += [(outs[1], h.tree_weight * v + h.offset(Xk)) for v in trees]
            rel_max = 0.0
            for got, want in pairs:
                got = got.ravel().astype(np.float64)
                if kind == "reg":
                    g, w = h.target.inverse(got), h.target.inverse(want)
                    # spills (log1p): counts, 0 allowed, so never relative to less than 1
                    floor = 1.0 if h.target.transform == "log1p" else 1e-30
                    rel = np.abs(g - w) / np.maximum(np.abs(w), floor)
                else:
                    rel = np.abs(got - want) / max(float(np.abs(want).max()), 1e-30)
                rel_max = max(rel_max, float(rel.max()))
            worst[f"{name}.{kind}"] = rel_max
    return worst
