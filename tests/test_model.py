"""The learned cost model on real data: a small dataset measured in the test (real compiles,
real timing), then train -> save -> load -> predict -> eval, and artifact integrity."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

import costmodel
from costmodel.cli import main
from costmodel.dataset import load as load_dataset
from costmodel.model import ChecksumMismatchError, SchemaMismatchError
from costmodel.model.features import (FEATURE_NAMES, N_FEATURES, kernel_features,
                                      strip_schedule)
from costmodel.model.metrics import METRICS, ranking_metrics
from costmodel.programs import FAMILIES, Schedule


def _run(argv) -> tuple[int, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    return rc, buf.getvalue()


def test_artifact_has_no_pickle_and_a_complete_manifest(model_dir):
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["feature_schema"] == costmodel.model.FEATURE_SCHEMA
    assert manifest["training_data"]["hash"] and manifest["training_data"]["rows"] >= 12
    assert set(manifest["targets"]) == {"latency", "instructions", "spills", "code_size"}
    assert manifest["libraries"]["xgboost"] and manifest["metrics"]["holdout"]
    assert manifest["machine"]["peak_flops_per_s"] > 1e8
    for name, digest in manifest["files"].items():
        assert (model_dir / name).is_file() and len(digest) == 64
    suffixes = {p.suffix for p in model_dir.iterdir()}
    assert suffixes <= {".json", ".ubj", ".md", ".npy"}  # .npy: numpy arrays, no pickle
    src = "".join(p.read_text() for p in Path(costmodel.__file__).parent.joinpath("model").glob("*.py"))
    assert "import pickle" not in src and "joblib" not in src


def test_predict_many_schedules_from_ir_kernel_and_features(dataset, model_dir):
    model = costmodel.load(model_dir)
    samples, programs, _ = load_dataset(dataset)
    rows = [r for r in samples.to_pylist() if r["family"] == "matmul" and r["feasible"]]
    ir = dict(zip(programs.column("ir_hash").to_pylist(), programs.column("ir").to_pylist()))
    gid = rows[0]["group_id"]
    group = [r for r in rows if r["group_id"] == gid]
    scheds = [json.loads(r["schedule_json"]) for r in group]
    text = ir[group[-1]["ir_hash"]]
    pred = model.predict(text, schedules=scheds)
    assert len(pred) == len(scheds)
    for t in model.targets:
        v = pred.values[t]
        assert v.shape == (len(scheds),) and np.all(np.isfinite(v))
        assert np.all(pred.lower[t] <= v) and np.all(v <= pred.upper[t])
    assert np.all(pred.values["latency"] > 0)
    # The same kernel parsed once and reused, Schedule objects, and raw features agree.
    k = model.kernel(text)
    p2 = model.predict(kernel=k, schedules=[Schedule.from_dict(s) for s in scheds],
                       targets=["latency"])
    np.testing.assert_allclose(p2.values["latency"], pred.values["latency"])
    X = model.features(k, scheds)
    assert X.shape == (len(scheds), N_FEATURES) == (len(scheds), len(FEATURE_NAMES))
    p3 = model.predict(features=X, targets="latency")
    np.testing.assert_allclose(p3.values["latency"], pred.values["latency"])
    p4 = model.predict(kernel=k.to_dict(), schedules=scheds, targets="latency")
    np.testing.assert_allclose(p4.values["latency"], pred.values["latency"])
    best = pred.best("latency", k=3)
    assert len(best) == 3 and len(set(best)) == 3


def test_schedule_is_stripped_so_base_features_do_not_depend_on_it():
    fam = FAMILIES["matmul"]
    shape = fam.sample_shape(np.random.default_rng(0))
    plain = fam.render(shape, Schedule.default())
    sched = Schedule.make("DoubleTilingExpert", {"distribution": [32, 32, 0],
                                                  "vector_common_parallel": [8, 16, 0],
                                                  "vector_reduction": [0, 0, 4]})
    tiled = fam.render(shape, sched)
    assert "compilation_info" in tiled and "compilation_info" not in strip_schedule(tiled)
    np.testing.assert_array_equal(kernel_features(plain).base, kernel_features(tiled).base)


def test_eval_json_has_every_split_target_and_metric(dataset, model_dir, tmp_path):
    report = tmp_path / "report.md"
    rc, out = _run(["eval", "--model", str(model_dir), "--data", str(dataset), "--json",
                    "--folds", "2", "--report", str(report), "--quiet"])
    assert rc == 0
    res = json.loads(out)
    assert set(res["splits"]) == {"random_within_groups", "unseen_shapes", "unseen_families"}
    assert "unseen_models" in res["unavailable_splits"]  # no real models in this dataset
    for split, per_target in res["splits"].items():
        assert set(per_target) == {"latency", "instructions", "spills", "code_size"}
        for m in per_target.values():
            assert set(METRICS) <= set(m)
        lat = per_target["latency"]
        assert -1.0 <= lat["kendall_tau"] <= 1.0 and lat["mape"] >= 0
        assert 0.0 <= lat["interval_coverage"] <= 1.0
        assert res["baselines"]["roofline"][split]["latency"]["top1_slowdown"] >= 0
        assert "kendall_tau" in res["baselines"]["random"][split]["latency"]
    assert res["noise_ceiling"]["available"] is False  # never invented
    # Per kernel family: the families' rows add up to the split's, and since MAPE is a mean
    # over rows (with a nonzero value), their row-weighted MAPEs give the split's (model and
    # roofline).
    for split, per_target in res["splits"].items():
        for target, m in per_target.items():
            fams = res["by_family"][split][target]
            assert set(fams) == {"matmul", "transpose"}
            rows = {f: e["model"]["test_rows"] for f, e in fams.items()}
            assert sum(rows.values()) == m["test_rows"]
            if target == "spills":
                continue  # (MAPE leaves out rows with no spills)
            assert sum(rows[f] * e["model"]["mape"] for f, e in fams.items()) / \
                m["test_rows"] == pytest.approx(m["mape"], rel=1e-9)
        roof = res["baselines"]["roofline"][split]["latency"]["mape"]
        fams = res["by_family"][split]["latency"]
        assert sum(e["model"]["test_rows"] * e["roofline"]["mape"] for e in fams.values()) / \
            per_target["latency"]["test_rows"] == pytest.approx(roof, rel=1e-9)
    text = report.read_text()
    assert "## unseen_shapes" in text and "| kendall_tau |" in text and "roofline" in text
    assert "# Per kernel family" in text and "| transpose |" in text
    # Held-out families print as names, not numpy reprs.
    assert "np.str_" not in text and "held out: [['matmul'], ['transpose']]" in text


def test_tampered_artifact_fails_with_a_typed_error(model_dir, tmp_path):
    import shutil
    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    f = bad / "latency.reg.ubj"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match="latency.reg.ubj"):
        costmodel.load(bad)
    assert main(["eval", "--model", str(bad), "--data", str(bad), "--quiet"]) == 2


def test_schema_mismatch_fails_with_a_typed_error(model_dir, tmp_path):
    import shutil
    bad = tmp_path / "old"
    shutil.copytree(model_dir, bad)
    m = json.loads((bad / "manifest.json").read_text())
    m["feature_schema"] = "cm-features-0"
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(SchemaMismatchError, match="cm-features-0"):
        costmodel.load(bad)


def test_metric_definitions_on_a_hand_example():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0])
    perfect = ranking_metrics(y, y, [np.arange(7)])
    assert perfect["kendall_tau"] == 1.0 and perfect["pairwise_accuracy"] == 1.0
    assert perfect["top1_slowdown"] == 0.0 and perfect["tenset_top1"] == 1.0
    worst = ranking_metrics(-y, y, [np.arange(7)])
    assert worst["kendall_tau"] == -1.0 and worst["top1_slowdown"] == pytest.approx(9.0)
    assert worst["top5_slowdown"] == pytest.approx(2.0)  # best of {10,6,5,4,3} is 3
    assert worst["tenset_top5"] == pytest.approx(1 / 3)
    # A constant predictor picks at random: its top-1 is the expected pick (mean 31/7 here,
    # slowdown 24/7), whatever the tie-break seed; tied best two: the mean of those two.
    flat = [ranking_metrics(np.zeros(7), y, [np.arange(7)], seed=s) for s in range(3)]
    assert all(f["top1_slowdown"] == pytest.approx(24 / 7) for f in flat)
    assert flat[0]["tenset_top1"] == pytest.approx(7 / 31)
    two = ranking_metrics(np.array([0.0, 1, 1, 1, 1, 1, 0]), y, [np.arange(7)])
    assert two["top1_slowdown"] == pytest.approx(4.5)  # mean of 1 and 10 is 5.5


def test_regression_metrics_of_no_rows_are_none_without_warnings():
    import warnings

    from costmodel.model.metrics import regression_metrics
    from costmodel.model.targets import TARGETS

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "mean of empty slice" would raise here
        m = regression_metrics(np.array([]), np.array([]), TARGETS["latency"].forward)
        one = regression_metrics(np.array([2.0]), np.array([1.0]), TARGETS["latency"].forward)
    assert m == {"mape": None, "within_10pct": None, "r2_log": None}
    assert one["mape"] == 1.0 and one["r2_log"] is None  # one row has no variance


def test_onnx_export_agrees_with_native_predictions(dataset, model_dir, tmp_path):
    pytest.importorskip("onnxmltools")
    pytest.importorskip("onnxruntime")
    from costmodel.model.data import load_frame
    from costmodel.model.onnx_export import check

    out = tmp_path / "onnx"
    rc, printed = _run(["export-onnx", "--model", str(model_dir), "--out", str(out)])
    assert rc == 0 and (out / "latency.reg.onnx").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input"]["columns"] == json.loads(
        (model_dir / "preprocess.json").read_text())["kept"]
    worst = check(str(model_dir), str(out), load_frame(str(dataset)).X)
    assert worst and max(worst.values()) <= 1e-5, worst


def test_fast_small_batch_path_matches_xgboost(dataset, model_dir):
    from costmodel.model.forest import SMALL_BATCH

    model = costmodel.load(model_dir)
    kernel = model.kernel(FAMILIES["matmul"].render({"M": 32, "N": 48, "K": 24}))
    rng = np.random.default_rng(0)
    from costmodel.programs import sample_schedules
    scheds = sample_schedules(FAMILIES["matmul"], {"M": 32, "N": 48, "K": 24}, rng, 8)
    X = model.pre.transform(model.features(kernel, scheds))
    assert len(X) <= SMALL_BATCH
    for head in model.heads.values():
        assert head.fast_reg is not None
        ref = head.reg.inplace_predict(X).astype(np.float64)
        np.testing.assert_allclose(head.fast_reg.predict(X), ref, rtol=1e-5, atol=1e-6)
        if head.fast_rank is not None:
            ref = head.rank.inplace_predict(X).astype(np.float64)
            np.testing.assert_allclose(head.fast_rank.predict(X), ref, rtol=1e-5, atol=1e-6)


def _tile_row(kernel, sched) -> dict[str, float]:
    from costmodel.model.features import SCHEDULE_NAMES, schedule_matrix
    return dict(zip(SCHEDULE_NAMES, schedule_matrix(kernel, [sched])[0]))


def test_access_maps_are_parsed_with_strides():
    from costmodel.model.features import parse_access_map
    assert parse_access_map("(d0, d1, d2, d3, d4, d5) -> (d0, d1 * 2 + d4, d2 * 2 + d5, d3)") \
        == [[(0, 1)], [(1, 2), (4, 1)], [(2, 2), (5, 1)], [(3, 1)]]
    assert parse_access_map("(d0, d1) -> (d1)") == [[(1, 1)]]


def test_tile_features_describe_tiles_relative_to_the_problem():
    # 64x96x40 f32 matmul, vector tile 8x16 with k-tile 4: 2 ymm accumulators per row,
    # 16 accumulators in all; 8x6x10 vector steps; no padding; innermost (N) fully lane-aligned.
    kernel = kernel_features(FAMILIES["matmul"].render({"M": 64, "N": 96, "K": 40}))
    good = _tile_row(kernel, Schedule.make("DoubleTilingExpert", {
        "distribution": [32, 48, 0], "vector_common_parallel": [8, 16, 0],
        "vector_reduction": [0, 0, 4]}))
    assert good["tile.log_acc_regs"] == pytest.approx(np.log2(16))
    assert good["tile.log_vec_iters"] == pytest.approx(np.log2(8 * 6 * 10))
    assert good["tile.log_vec_pad"] == pytest.approx(0.0)
    assert good["tile.innerpar_lane_eff"] == pytest.approx(1.0)
    assert good["tile.log_workgroups"] == pytest.approx(np.log2(2 * 2))
    # Workgroup tile 32x48 over all of K: A 32x40 + B 40x48 + C 32x48 floats.
    fp = 4 * (32 * 40 + 40 * 48 + 32 * 48)
    assert good["tile.wg.log_footprint"] == pytest.approx(np.log2(fp))
    # N tile 6: masked lanes (6 of 8 used) and padding (96 = 16 x 6, none; K 40 / 3 pads).
    bad = _tile_row(kernel, Schedule.make("DoubleTilingExpert", {
        "distribution": [32, 48, 0], "vector_common_parallel": [8, 6, 0],
        "vector_reduction": [0, 0, 3]}))
    assert bad["tile.innerpar_lane_eff"] == pytest.approx(6 / 8)
    assert bad["tile.log_vec_pad"] == pytest.approx(np.log2(42 / 40))
    # Default schedule: IREE picks the tiles, so the block is empty.
    assert all(v == 0 for k, v in _tile_row(kernel, Schedule.default()).items()
               if k.startswith("tile."))


def test_schedule_root_is_the_op_its_reduction_tiles_fit():
    # softmax: the costliest op is the elementwise exp, but a schedule with a reduction tile
    # on dim 1 belongs to a reduction op, whose innermost dim is the reduction.
    kernel = kernel_features(FAMILIES["softmax"].render({"M": 64, "N": 40}))
    row = _tile_row(kernel, Schedule.make("DoubleTilingExpert", {
        "distribution": [16, 0], "vector_common_parallel": [4, 0],
        "vector_reduction": [0, 8]}))
    assert row["tile.inner_is_red"] == 1.0
    assert row["tile.inner_vec"] == pytest.approx(3.0)  # log2(8)
    assert row["tile.log_vec_iters"] == pytest.approx(np.log2(16 * 5))


def test_blended_ordering_combines_both_heads():
    from costmodel.model.heads import TargetHeads
    from costmodel.model.targets import TARGETS

    class Const:  # a booster stand-in with fixed outputs (intercept 0, see heads.margin)
        _cm_base_rounds = (0.0, 1)

        def __init__(self, v):
            self.v = np.asarray(v, dtype=np.float32)

        def inplace_predict(self, X, base_margin=None):
            return self.v

    h = TargetHeads(TARGETS["latency"], Const([1.0, 2.0, 3.0]), Const([0.0, 3.0, 0.0]), 0.1,
                    0.1, "blend", 10, 10, rank_weight=0.5)
    np.testing.assert_allclose(h.rank_cost(np.zeros((3, 1))), [1.0, 0.5, 3.0])
    h.rank_source = "regression"
    np.testing.assert_allclose(h.rank_cost(np.zeros((3, 1))), [1.0, 2.0, 3.0])


def test_margin_cache_is_whole_to_a_second_thread():
    """Two server threads share a booster: the one that fills heads.margin's cache must not
    expose a half-filled cache to the other (CI once failed on exactly that race)."""
    import threading

    from costmodel.model.heads import margin

    entered, release = threading.Event(), threading.Event()

    class Slow:  # a booster stand-in whose round count takes a while to read
        def save_config(self):
            return '{"learner": {"learner_model_param": {"base_score": "[5E-1]"}}}'

        def num_boosted_rounds(self):
            entered.set()
            release.wait(5)
            return 1

        def inplace_predict(self, X, base_margin=None, iteration_range=None):
            return np.ones(len(X), dtype=np.float32)

    b, X, out = Slow(), np.zeros((2, 1), dtype=np.float32), {}
    t = threading.Thread(target=lambda: out.setdefault("first", margin(b, X)))
    t.start()
    assert entered.wait(5)
    # The first thread is inside the cache fill: a second caller must either fill it too or
    # see it whole, never read half of it.
    second = threading.Thread(target=lambda: out.setdefault("second", margin(b, X)))
    second.start()
    release.set()
    t.join(5)
    second.join(5)
    np.testing.assert_allclose(out["first"], [1.5, 1.5])
    np.testing.assert_allclose(out["second"], [1.5, 1.5])


def test_shipped_model_onnx_export_agrees_within_1e5(tmp_path):
    """The shipped model's every head, exported and run by ONNX Runtime, against both native
    paths (XGBoost and the numpy forest) on every third row of the shipped dataset (~3,300
    rows; `costmodel export-onnx --check-data datasets/cpu-v2` checks all of them)."""
    pytest.importorskip("onnxmltools")
    ort = pytest.importorskip("onnxruntime")
    from pathlib import Path

    from costmodel.model.data import load_frame
    from costmodel.model.onnx_export import check, export
    root = Path(__file__).resolve().parent.parent
    model, data = root / "models" / "default", root / "datasets" / "cpu-v2"
    out = export(str(model), str(tmp_path / "onnx"))
    frame = load_frame(str(data))
    X = frame.X[::3]
    worst = check(str(model), str(out), X)
    assert len(worst) == 8 and max(worst.values()) <= 1e-5, worst
    # The interval rule travels with the heads: the bands a C++ caller rebuilds from the
    # manifest are predict()'s, here on rows the novelty test passes.
    import json
    m = costmodel.load(model)
    manifest = json.loads((out / "manifest.json").read_text())
    cols = manifest["input"]["columns"]
    Xs = np.vstack([X[:300], frame.X[frame.source == "real_model"]])
    Xk = m.pre.transform(Xs)
    assert 0 < (Xk[:, cols.index("total.dialect.hal")] > 0).sum() < len(Xk)
    pred = m.predict(features=Xs)
    for name, h in m.heads.items():
        rule = manifest["intervals"][name]
        if rule["dispatch_column"] is None or h.target.transform != "log":
            continue  # (log1p values are clipped at 0, so value x/ w does not invert)
        assert rule["novel_rule"] == "structure"
        novel = h.structure.is_new(Xk)
        disp = Xk[:, cols.index(rule["dispatch_column"])] > 0
        w = np.where(disp, rule["dispatch_log_half_width"], rule["log_half_width"])
        ok = ~novel
        z = m.heads[name].target.forward(pred.values[name][ok])
        np.testing.assert_allclose(m.heads[name].target.forward(pred.upper[name][ok]) - z,
                                   w[ok], rtol=1e-6, atol=1e-9)
    assert (out / "structure.npy").is_file() and "structure.npy" in manifest["files"]
    # The rule as the manifest spells it, rebuilt from the copied files alone, agrees.
    spec = json.loads((out / "structure.json").read_text())
    refs = np.load(out / "structure.npy", allow_pickle=False)
    S = Xk[:, [cols.index(c) for c in spec["columns"]]].astype(np.float32).astype(np.float64)
    d2 = (S ** 2).sum(1)[:, None] + (refs ** 2).sum(1)[None, :] - 2.0 * S @ refs.T
    assert np.array_equal(d2.min(1) > spec["same_below"], novel)
    # The ensemble is summed in float64, so ONNX Runtime's thread split does not matter and
    # the output is the exact sum (the numpy forest's float64 sum) rounded to float32 (twice
    # with a margin: the ensemble's output, then the sum with the margin).
    m = costmodel.load(model)
    Xk = m.pre.transform(X).astype(np.float32)
    h = m.heads["latency"]
    outs = []
    for threads in (1, 2):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(out / "latency.reg.onnx"), so,
                                    providers=["CPUExecutionProvider"])
        outs.append(sess.run(None, {"features": Xk})[0].ravel())
    np.testing.assert_array_equal(outs[0], outs[1])
    exact = h.fast_reg.predict(Xk)
    if h.offset is not None:  # the roofline margin, computed in the graph in float64 too
        exact = h.tree_weights(Xk) * exact + h.offset(Xk)
    assert np.abs(outs[0] - exact).max() <= 1e-6


def _flag_noisy(frame, every: int = 3):
    """The frame with every ``every``-th row's latency flagged noisy (deterministically)."""
    import dataclasses
    noisy = np.zeros(len(frame), dtype=bool)
    noisy[::every] = True
    return dataclasses.replace(frame, noisy=noisy)


def test_noisy_latency_labels_weigh_less_in_training(dataset):
    from costmodel.model.data import load_frame
    from costmodel.model.heads import rank_dmatrix
    from costmodel.model.train import NOISY_WEIGHT, fit, predict_rows, row_weights

    frame = load_frame(str(dataset))
    assert frame.noisy is not None and frame.noisy.dtype == bool and len(frame.noisy) == len(frame)
    quiet, flagged = _flag_noisy(frame, every=10 ** 9), _flag_noisy(frame)
    quiet.noisy[:] = False
    w = row_weights(flagged, "latency")
    np.testing.assert_array_equal(w, np.where(flagged.noisy, NOISY_WEIGHT, 1.0))
    assert row_weights(quiet, "latency") is None and row_weights(flagged, "code_size") is None
    # Ranking weights are per group: the mean of the group's row weights.
    z = np.log(flagged.y["latency"])
    d = rank_dmatrix(flagged.X, z, flagged.group, w)
    means = [w[flagged.group == g].mean() for g in dict.fromkeys(flagged.group)]
    np.testing.assert_allclose(d.get_weight(), means, rtol=1e-6)
    # The weights reach the heads: same data and seed, different predictions.
    preds, recipes = [], []
    for f in (quiet, flagged):
        pre, heads, info = fit(f, ["latency"], seed=0)
        preds.append(predict_rows(pre, heads, f.X)["latency"]["value"])
        recipes.append(info["recipe"]["latency"])
    assert not np.allclose(preds[0], preds[1])
    assert recipes[0]["noisy_label_weight"] is None
    assert recipes[1]["noisy_label_weight"] == NOISY_WEIGHT


def test_eval_reports_clean_labels_beside_all_labels(dataset):
    import dataclasses

    from costmodel.model.data import load_frame
    from costmodel.model.evaluate import evaluate, noise_ceiling
    from costmodel.model.report import markdown

    frame = _flag_noisy(load_frame(str(dataset)))
    machine = {"peak_flops_per_s": 1e10, "bandwidth_bytes_per_s": 1e10}
    res = evaluate(frame, ["latency", "code_size"], machine, folds=2, splits=["unseen_shapes"])
    every = res["splits"]["unseen_shapes"]
    clean = res["splits_clean"]["unseen_shapes"]
    assert set(every) == {"latency", "code_size"} and set(clean) == {"latency"}
    assert every["latency"]["test_rows"] == len(frame)
    assert clean["latency"]["test_rows"] == int((~frame.noisy).sum())
    assert set(METRICS) <= set(clean["latency"]) and "clean" in res["labels_clean"]
    assert res["baselines_clean"]["roofline"]["unseen_shapes"]["latency"]["top1_slowdown"] >= 0
    # The clean noise ceiling keeps only pairs where neither run is flagged noisy.
    reps = [{"group_id": g, "schedule_json": s, "run": "repeat-1", "noisy": i % 2 == 0,
             "latency_median_s": float(y) * 1.05}
            for i, (g, s, y) in enumerate(zip(frame.group, frame.schedule_json,
                                              frame.y["latency"]))]
    frame = dataclasses.replace(frame, repeats=reps)
    n_all = noise_ceiling(frame, ["latency"])["latency"]["pairs"]
    ceil = noise_ceiling(frame, ["latency", "code_size"], clean=True)
    expect = sum(1 for i, r in enumerate(reps) if not r["noisy"] and not frame.noisy[i])
    assert n_all == len(frame) and ceil["latency"]["pairs"] == expect and "code_size" not in ceil
    assert ceil["latency"]["mape"] == pytest.approx(0.05)
    res["noise_ceiling_clean"] = ceil
    text = markdown(res)
    assert "# Clean labels" in text and "## unseen_shapes (clean labels)" in text


def test_eval_with_worker_processes_gives_the_same_figures(dataset):
    """`costmodel eval --jobs 2` trains folds in spawned workers: every fold keeps its seed,
    so the figures match the one-process run exactly."""
    from costmodel.model.data import load_frame
    from costmodel.model.evaluate import evaluate

    frame = load_frame(str(dataset))
    machine = {"peak_flops_per_s": 1e10, "bandwidth_bytes_per_s": 1e10}
    kw = dict(folds=2, splits=["unseen_shapes", "random_within_groups"])
    one = evaluate(frame, ["latency"], machine, **kw)
    seen = []
    two = evaluate(frame, ["latency"], machine, jobs=2, say=seen.append, **kw)
    assert one["splits"] == two["splits"] and one["baselines"] == two["baselines"]
    assert sum("fold" in m for m in seen) == 4


def test_eval_rejects_zero_jobs(model_dir, dataset, capsys):
    with pytest.raises(SystemExit) as exc:  # argparse: before the model or data is read
        _run(["eval", "--model", str(model_dir), "--data", str(dataset), "--jobs", "0",
              "--quiet"])
    assert exc.value.code == 2 and "--jobs: must be at least 1" in capsys.readouterr().err


def test_eval_seeds_reports_each_figures_spread_over_fold_seeds(dataset, model_dir, tmp_path):
    """`--seeds 2` reruns the folds with seed 1: the spread holds seed 0's figure (the main
    one) and exactly what an evaluation with fold seed 1 gives, for model and roofline."""
    from costmodel.model.artifact import load
    from costmodel.model.data import load_frame
    from costmodel.model.evaluate import evaluate

    report = tmp_path / "report.md"
    argv = ["eval", "--model", str(model_dir), "--data", str(dataset), "--folds", "2",
            "--splits", "unseen_shapes", "--targets", "latency", "--seeds", "2",
            "--report", str(report), "--quiet"]
    rc, out = _run(argv + ["--json"])
    assert rc == 0
    res = json.loads(out)
    spread = res["seed_spread"]
    assert spread["seeds"] == [0, 1]
    other = evaluate(load_frame(str(dataset)), ["latency"], load(model_dir).manifest["machine"],
                     folds=2, seed=1, splits=["unseen_shapes"])
    for key, first, second in (("splits", res["splits"], other["splits"]),
                               ("roofline", res["baselines"]["roofline"],
                                other["baselines"]["roofline"])):
        tau = spread[key]["unseen_shapes"]["latency"]["kendall_tau"]
        want = [first["unseen_shapes"]["latency"]["kendall_tau"],
                second["unseen_shapes"]["latency"]["kendall_tau"]]
        assert tau["values"] == pytest.approx(want)
        assert tau["min"] == pytest.approx(min(want)) and tau["max"] == pytest.approx(max(want))
        assert tau["mean"] == pytest.approx(sum(want) / 2)
    assert "# Across fold seeds" in report.read_text()
    rc, out = _run(argv)
    assert rc == 0 and "unseen_shapes across fold seeds 0, 1" in out


def test_eval_rejects_zero_seeds(model_dir, dataset, capsys):
    with pytest.raises(SystemExit) as exc:
        _run(["eval", "--model", str(model_dir), "--data", str(dataset), "--seeds", "0"])
    assert exc.value.code == 2 and "--seeds: must be at least 1" in capsys.readouterr().err
