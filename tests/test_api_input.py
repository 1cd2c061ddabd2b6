"""The in-process API and gRPC Predict on bad input: a typed InputError (INVALID_ARGUMENT over
gRPC) that names the argument or the candidate and what was expected, never a raw Python
error and never a silently scored schedule IREE would reject or ignore. Valid input, and
every schedule the repo itself generates or has stored, keeps being accepted.

Real inputs throughout: the shipped model (models/default), family kernels rendered as MLIR,
the shipped datasets' measured rows, and real ONNX models.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import grpc
import numpy as np
import pytest

import costmodel
from costmodel.errors import CostModelError, InputError
from costmodel.ir import (analyze_file, analyze_text, load_ir, onnx_to_linalg,
                          parse_schedule_text, tokenize)
from costmodel.model.features import (_parse_schedules, kernel_features, schedule_matrix,
                                      strip_schedule)
from costmodel.model.schedule_check import TILE_MAX, schedule_problem
from costmodel.programs import FAMILIES, REAL_MODELS, LoopInfo, Schedule, sample_schedules
from costmodel.programs.schedule import LEVELS, PARALLEL_LEVELS, PIPELINES

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "models" / "default"
pytestmark = pytest.mark.skipif(not (SHIPPED / "manifest.json").exists(),
                                reason="needs the shipped model")

#: A matmul with the loop order (parallel, parallel, reduction) and its linalg.fill.
MM_SHAPE = {"M": 48, "N": 40, "K": 56}


@pytest.fixture(scope="module")
def model():
    return costmodel.load(SHIPPED)


@pytest.fixture(scope="module")
def mm(model):
    """(kernel, a real sampled explicit schedule with distribution, vector levels and a
    vector_reduction level, the MLIR text)."""
    fam = FAMILIES["matmul"]
    scheds = sample_schedules(fam, MM_SHAPE, np.random.default_rng(0), 40,
                              include_default=False)
    good = next(s.to_dict() for s in scheds
                if {"distribution", "vector_reduction"} <= set(s.tiles))
    text = fam.render(MM_SHAPE)
    return model.kernel(text), good, text


@pytest.fixture(scope="module")
def pred(model, mm):
    kernel, good, _ = mm
    return model.predict(kernel=kernel, schedules=[good, good])


# -- 1. argument types -------------------------------------------------------------------
@pytest.mark.parametrize("call, says", [
    (lambda m, k: costmodel.load(None), "load() takes a model directory path, got NoneType"),
    (lambda m, k: costmodel.load(7), "load() takes a model directory path, got int"),
    (lambda m, k: costmodel.load(b"models/default"), "got bytes"),
    (lambda m, k: costmodel.load(""), "got an empty string"),
    (lambda m, k: analyze_text(None), "expected MLIR text (str or bytes), got NoneType"),
    (lambda m, k: analyze_text(12), "expected MLIR text (str or bytes), got int"),
    (lambda m, k: analyze_text(["func.func"]), "got list"),
    (lambda m, k: load_ir(None), "path must be a file path (str or os.PathLike), got NoneType"),
    (lambda m, k: analyze_file(3), "path must be a file path (str or os.PathLike), got int"),
    (lambda m, k: tokenize(None), "tokenize() takes MLIR text (str), got NoneType"),
    (lambda m, k: parse_schedule_text(5), "parse_schedule_text() takes attribute text (str)"),
    (lambda m, k: onnx_to_linalg("not bytes"), "expected a serialized ONNX model (bytes), got str"),
    (lambda m, k: m.kernel(b"bytes"), "ir must be MLIR text (str), got bytes"),
    (lambda m, k: m.predict(kernel="abc"),
     "kernel= takes model.kernel(ir) or its to_dict(), got str"),
    (lambda m, k: m.predict(kernel=12), "kernel= takes model.kernel(ir) or its to_dict(), got int"),
    (lambda m, k: m.predict(kernel={"base": []}), "kernel= is not a KernelFeatures.to_dict()"),
    (lambda m, k: m.predict(3), "ir must be MLIR text (str), got int"),
    (lambda m, k: m.predict(), "predict needs ir=, kernel= or features="),
    (lambda m, k: m.predict(features="x"), "features must be a numeric (n, "),
    (lambda m, k: m.predict(features=[[1.0, 2.0]]), "features must have shape (n, "),
    (lambda m, k: m.predict(features=np.zeros((1, 3)), kernel=k), "not both"),
    (lambda m, k: m.predict("func.func @f() {\n  return\n}", kernel=k),
     "give ir= or kernel=, not both"),
    (lambda m, k: m.predict(kernel=k, schedules="abc"),
     "schedules must be a list of schedules, got str"),
    (lambda m, k: m.predict(kernel=k, schedules={"pipeline": None}),
     "schedules must be a list of schedules, got dict"),
    (lambda m, k: m.predict(kernel=k, schedules=5),
     "schedules must be a list of schedules, got int"),
    (lambda m, k: m.predict(kernel=k, targets=3), "targets must be a target name or a list"),
    (lambda m, k: m.predict(kernel=k, targets=[]), "targets is empty"),
    (lambda m, k: m.predict(kernel=k, targets="nope"), "model has no head for ['nope']"),
    (lambda m, k: m.predict(kernel=k, ranking="yes"), "ranking must be True or False, got 'yes'"),
    (lambda m, k: m.features(3, []), "ir must be MLIR text (str), got int"),
    (lambda m, k: m.features(k, None), "schedules must be a list of schedules, got NoneType"),
])
def test_bad_argument_types_are_input_errors_naming_the_argument(model, mm, call, says):
    with pytest.raises(InputError) as exc:
        call(model, mm[0])
    assert says in str(exc.value)


@pytest.mark.parametrize("target", ["nope", None, 3, ["latency"], {"latency": 1}])
def test_best_with_an_unknown_target_is_an_input_error(pred, target):
    with pytest.raises(InputError) as exc:
        pred.best(target)
    assert "target must be one of the predicted targets" in str(exc.value)
    assert "'latency'" in str(exc.value)


def test_best_checks_k_and_still_ranks(pred):
    assert pred.best("latency", k=2) == [0, 1]  # two identical candidates: stable order
    for k in (0, -1, 1.5, "2", True):
        with pytest.raises(InputError, match="k must be an integer >= 1"):
            pred.best("latency", k=k)


def test_a_missing_model_directory_is_a_typed_error(tmp_path):
    with pytest.raises(CostModelError, match="not a model directory"):
        costmodel.load(tmp_path)


def test_analyze_text_still_takes_bytes_and_bytearray(mm):
    _, _, text = mm
    for data in (text.encode(), bytearray(text.encode())):
        assert analyze_text(data).total()["flops"] == analyze_text(text).total()["flops"] > 0


# -- 2. invalid schedules ------------------------------------------------------------------
def _set(level: str, dim: int, value):
    def how(d):
        d["levels"][level][dim] = value
    return how


def _do(fn):
    def how(d):
        fn(d)
    return how


BAD = [  # (mutation of a valid explicit schedule, text the error must contain)
    (_set("distribution", 0, -4), "distribution[0]: tile size -4 is not an integer in "
                                  f"[0, {TILE_MAX}] (negative)"),
    (_set("distribution", 0, float("nan")), "tile size nan is not an integer"),
    (_set("distribution", 0, float("inf")), "tile size inf is not an integer"),
    (_set("distribution", 0, 2.5), "tile size 2.5 is not an integer"),
    (_set("distribution", 0, 8.0), "tile size 8.0 is not an integer in [0, 2147483647] (a float)"),
    (_set("distribution", 0, np.float64(8)), "(a float64)"),
    (_set("distribution", 0, True), "tile size True is not an integer in [0, 2147483647] (a bool)"),
    (_set("distribution", 0, np.bool_(True)), "(a bool"),
    (_set("distribution", 0, "8"), "tile size '8' is not an integer in [0, 2147483647] (a str)"),
    (_set("distribution", 0, None), "tile size None is not an integer"),
    (_set("distribution", 0, [8]), "tile size [8] is not an integer"),
    (_set("distribution", 0, 2**31), "tile size 2.14748e+09 is not an integer in "
                                     "[0, 2147483647] (too large)"),
    (_set("distribution", 0, 2**70), "(too large)"),
    (_set("distribution", 0, -2**70), "(negative)"),
    (_do(lambda d: d["levels"].__setitem__("distribution", "840")),
     "levels['distribution'] must be a list of tile sizes, got str"),
    (_do(lambda d: d["levels"].__setitem__("distribution", 8)),
     "levels['distribution'] must be a list of tile sizes, got int"),
    (_do(lambda d: d["levels"].__setitem__("distribution", {0: 8, 1: 8, 2: 0})),
     "levels['distribution'] must be a list of tile sizes, got dict"),
    (_do(lambda d: d["levels"].__setitem__("distribution", np.zeros((3, 1), dtype=int))),
     "levels['distribution'] must be a list of tile sizes, got ndarray"),
    (_do(lambda d: d.__setitem__("levels", [[8, 8, 0]])),
     "levels must be an object of level -> tile sizes, got list"),
    (_do(lambda d: d["levels"].__setitem__("distribution", d["levels"]["distribution"][:2])),
     "its levels give different numbers of tile sizes (distribution 2, "),
    (_do(lambda d: d.__setitem__("levels", {k: v + [1] for k, v in d["levels"].items()})),
     "it gives 4 tile sizes per level, but the kernel's ops have 2 or 3 loops"),
    (_do(lambda d: d["levels"].__setitem__("vector_reduction", [4, 0, 0])),
     "no op of the kernel fits it: reduction levels may tile only reduction dims, parallel "
     "levels only parallel dims (the 3-loop op's dims are [parallel, parallel, reduction]; "
     "misplaced: vector_reduction[0] = 4)"),
    (_do(lambda d: d["levels"].__setitem__("distribution", [8, 8, 16])),
     "misplaced: distribution[2] = 16)"),
    (_do(lambda d: d["levels"].__setitem__("vector_inner_parallel", [0, 0, 4])),
     "misplaced: vector_inner_parallel[2] = 4)"),
    (_do(lambda d: d["levels"].__setitem__("cache_reduction", [0, 8, 0])),
     "misplaced: cache_reduction[1] = 8)"),
    (_do(lambda d: d.__setitem__("pipeline", "FastExpert")), "unknown pipeline 'FastExpert'; "
                                                             "known: Default, DoubleTilingExpert"),
    (_do(lambda d: d.__setitem__("pipeline", "doubletilingexpert")), "unknown pipeline"),
    (_do(lambda d: d.__setitem__("pipeline", 3)), "unknown pipeline 3"),
    (_do(lambda d: d.__setitem__("pipeline", ["DoubleTilingExpert"])),
     "unknown pipeline ['DoubleTilingExpert']"),
    (_do(lambda d: d.__setitem__("pipeline", "")), "unknown pipeline ''"),
    (_do(lambda d: d["levels"].__setitem__("vector_reduce", d["levels"].pop("vector_reduction"))),
     "unknown tiling level(s) ['vector_reduce']; known: distribution, cache_parallel"),
    (_do(lambda d: d["levels"].__setitem__("tile_sizes_0", [1, 1, 1])),
     "unknown tiling level(s) ['tile_sizes_0']"),
    (_do(lambda d: d.__setitem__("tile", 4)),
     "unknown key(s) ['tile']; known: ['data_tiling', 'levels', 'peeling', 'pipeline', "
     "'ukernels']"),
    (_do(lambda d: d.__setitem__("peeling", "yes")), "peeling must be true or false, got 'yes'"),
    (_do(lambda d: d.__setitem__("data_tiling", 1)), "data_tiling must be true or false, got 1"),
    (_do(lambda d: d.__setitem__("ukernels", "mmt4d")),
     "ukernels must be true or false (or \"none\" / \"all\"), got 'mmt4d'"),
    (_do(lambda d: d.__setitem__("pipeline", None)),
     "tile sizes without a pipeline: no pipeline means IREE's default schedule"),
    (_do(lambda d: d.__setitem__("levels", {})),
     "pipeline DoubleTilingExpert without tile sizes"),
]


@pytest.mark.parametrize("how, says", BAD, ids=[s[:40] for _, s in BAD])
def test_invalid_schedules_are_rejected_naming_the_candidate(model, mm, how, says):
    kernel, good, _ = mm
    assert good["pipeline"] == "DoubleTilingExpert"
    bad = copy.deepcopy(good)
    how(bad)
    with pytest.raises(InputError) as exc:
        model.predict(kernel=kernel, schedules=[good, bad])
    msg = str(exc.value)
    assert msg.startswith("schedule 1: ") and says in msg, msg
    # One place: the feature matrix (and so the gRPC path, see below) says the same.
    with pytest.raises(InputError) as again:
        model.features(kernel, [good, good, bad])
    assert str(again.value).startswith("schedule 2: ") and says in str(again.value)


@pytest.mark.parametrize("bad, says", [
    ({"foo": 1}, "schedule 0: unknown key(s) ['foo']"),
    (3, "schedule 0: expected an object, got int"),
    (None, "schedule 0: expected an object, got NoneType"),
    ("{not json", "schedule 0: schedule is not valid JSON"),
    ('{"levels": {"distribution": [8, 8, 0]}, "pipeline": "Nope"}', "unknown pipeline 'Nope'"),
])
def test_schedules_that_are_not_schedules(model, mm, bad, says):
    kernel, _, text = mm
    with pytest.raises(InputError) as exc:
        model.predict(text, schedules=[bad])
    assert says in str(exc.value)


def test_the_first_invalid_candidate_is_named_in_a_large_batch(model, mm):
    kernel, good, _ = mm
    batch = [copy.deepcopy(good) for _ in range(5000)]
    batch[3171]["levels"]["vector_reduction"][2] = -1
    batch[4000]["pipeline"] = "Nope"
    with pytest.raises(InputError, match=r"^schedule 3171: vector_reduction\[2\]: tile size -1 "):
        model.predict(kernel=kernel, schedules=batch, targets="latency")


def test_every_kernel_independent_rule_has_a_per_candidate_reason(mm):
    """schedule_problem, which names the culprit once a batched pass has failed, rejects
    every case that needs no kernel, with the reason the error carries."""
    _, good, _ = mm
    assert schedule_problem(good) is None
    for how, says in BAD:
        if "kernel" in says or "misplaced" in says or "tile sizes per level" in says:
            continue  # these need the kernel
        bad = copy.deepcopy(good)
        how(bad)
        why = schedule_problem(bad)
        assert why is not None and says in why, (says, why)


# -- 3. what stays accepted ------------------------------------------------------------------
def test_valid_odd_forms_are_accepted_and_scored_like_the_plain_form(model, mm):
    kernel, good, _ = mm
    good = {**good, "peeling": False, "data_tiling": False, "ukernels": False}
    lv = good["levels"]
    same = [
        Schedule.from_dict(good),  # a Schedule object
        json.dumps(good),  # its JSON
        {**good, "levels": {k: tuple(v) for k, v in lv.items()}},  # tuples
        {**good, "levels": {k: np.asarray(v, dtype=np.int64) for k, v in lv.items()}},
        {**good, "levels": {k: [np.int32(t) for t in v] for k, v in lv.items()}},
        {**good, "peeling": np.bool_(False)},
        {**good, "peeling": None, "data_tiling": None, "ukernels": None},  # JSON null: unset
        {k: v for k, v in good.items() if k not in ("peeling", "data_tiling", "ukernels")},
        {**good, "ukernels": "none"},  # IREE's spelling of the flag
        collections.OrderedDict(good),  # other mappings, at either level
        types.MappingProxyType({**good, "levels": types.MappingProxyType(lv)}),
    ]
    plain = model.predict(kernel=kernel, schedules=[good], targets="latency").values["latency"]
    got = model.predict(kernel=kernel, schedules=same, targets="latency").values["latency"]
    np.testing.assert_array_equal(got, np.repeat(plain, len(same)))
    # ... and "all" scores like True, which differs from False
    uk = model.predict(kernel=kernel, schedules=[{**good, "ukernels": "all"},
                                                 {**good, "ukernels": True}],
                       targets="latency").values["latency"]
    assert uk[0] == uk[1]


def test_other_mappings_are_checked_too(model, mm):
    kernel, good, _ = mm
    bad = {**good, "levels": types.MappingProxyType({**good["levels"],
                                                     "distribution": [True, 0, 0]})}
    with pytest.raises(InputError, match=r"^schedule 1: distribution\[0\]: tile size True "):
        model.predict(kernel=kernel, schedules=[good, bad])
    bad = types.MappingProxyType({**good, "pipeline": "X"})
    with pytest.raises(InputError, match="^schedule 1: unknown pipeline 'X'"):
        model.predict(kernel=kernel, schedules=[good, bad])


def test_tiles_beyond_the_extent_are_allowed_up_to_the_cap(model, mm):
    # IREE clamps a tile larger than its loop, so such a schedule is legal; only overflow
    # is refused.
    kernel, good, _ = mm
    big = copy.deepcopy(good)
    big["levels"]["distribution"] = [4096, 0, 0]
    cap = copy.deepcopy(good)
    cap["levels"]["distribution"] = [TILE_MAX, 0, 0]
    p = model.predict(kernel=kernel, schedules=[good, big, cap], targets="latency")
    assert np.isfinite(p.values["latency"]).all() and (p.values["latency"] > 0).all()


def test_a_schedule_for_the_fill_is_a_schedule_for_an_op_of_the_kernel(model, mm):
    # The matmul kernel also holds a 2-loop linalg.fill: a 2-entry tiling fits that op
    # (the features score it for that op), a 2-entry tiling with a reduction tile fits none.
    kernel, _, _ = mm
    fill = Schedule.make("DoubleTilingExpert", {"distribution": [8, 8],
                                                "vector_common_parallel": [4, 4]}).to_dict()
    assert len(model.predict(kernel=kernel, schedules=[fill], targets="latency")) == 1
    red = Schedule.make("DoubleTilingExpert", {"distribution": [8, 0],
                                               "vector_reduction": [0, 4]}).to_dict()
    with pytest.raises(InputError, match="no op of the kernel fits it"):
        model.predict(kernel=kernel, schedules=[red])


def test_a_kernel_without_linalg_ops_takes_no_tile_sizes(model):
    text = ("func.func @f(%a: f32) -> f32 {\n  %0 = arith.addf %a, %a : f32\n"
            "  return %0 : f32\n}\n")
    tiled = Schedule.make("DoubleTilingExpert", {"distribution": [8]}).to_dict()
    with pytest.raises(InputError, match="schedule 0: the kernel has no structured"):
        model.predict(text, schedules=[tiled])


def test_every_sampled_schedule_of_every_family_is_accepted(model):
    rng = np.random.default_rng(7)
    for name, fam in FAMILIES.items():
        shape = fam.sample_shape(rng)
        kernel = kernel_features(fam.render(shape))
        scheds = sample_schedules(fam, shape, rng, 60, include_default=False)
        assert schedule_matrix(kernel, scheds).shape[0] == len(scheds), name
        assert schedule_matrix(kernel, [s.to_dict() for s in scheds]).shape[0] == len(scheds)


def test_every_tuner_space_candidate_is_accepted():
    """The tuner's dispatch space (random schedules and local moves: cache levels added and
    dropped, pipelines, peeling, ukernels) on family kernels."""
    from costmodel.programs.dispatch_target import DispatchTarget
    from tuner.schedules.space import DispatchSpace

    rng = np.random.default_rng(11)
    for name in ("matmul", "batch_matmul", "conv2d_nhwc", "softmax", "reduction",
                 "elementwise", "depthwise_conv"):
        fam = FAMILIES[name]
        shape = fam.sample_shape(rng)
        default = sample_schedules(fam, shape, rng, 8, include_default=False)[0]
        loops = fam.loop_info(shape)
        assert isinstance(loops, LoopInfo)
        target = DispatchTarget(name=name, mlir=fam.render(shape), root_index=0, root_op="",
                                loops=loops, elem_bytes=fam.elem_bytes(shape), default=default,
                                pipelines=tuple(fam.pipelines),
                                consumer_spans_reduction=fam.consumer_spans_reduction)
        cands = DispatchSpace(target).candidates(80, rng)
        kernel = kernel_features(fam.render(shape))
        assert schedule_matrix(kernel, cands).shape[0] == len(cands), name


@pytest.mark.parametrize("ds", ["cpu-v1", "cpu-v2", "cpu-v3"])
def test_every_stored_schedule_and_resolved_default_is_accepted(ds):
    """Every measured row of a shipped dataset, and IREE's own defaults resolved for its
    kernels (default_configs.json), pass the check against their kernel."""
    from costmodel.dataset import load as load_dataset

    root = ROOT / "datasets" / ds
    if not (root / "manifest.json").exists():
        pytest.skip(f"{ds} not shipped")
    samples, programs, _ = load_dataset(root)
    ir = dict(zip(programs.column("ir_hash").to_pylist(), programs.column("ir").to_pylist()))
    by_kernel: dict[str, list] = {}
    texts: dict[str, str] = {}
    for r in samples.select(["ir_hash", "schedule_json"]).to_pylist():
        text = strip_schedule(ir[r["ir_hash"]])
        key = hashlib.sha256(text.encode()).hexdigest()
        texts[key] = text
        by_kernel.setdefault(key, []).append(json.loads(r["schedule_json"]))
    configs = json.loads((root / "default_configs.json").read_text())["configs"]
    n = n_defaults = 0
    for key, scheds in by_kernel.items():
        kernel = kernel_features(texts[key])
        defaults = [s for s in (configs.get(key) or {}).values() if s is not None]
        _parse_schedules(scheds + defaults, kernel)  # raises on any invalid one
        n += len(scheds)
        n_defaults += len(defaults)
    assert n == samples.num_rows and n_defaults > 500


def test_the_schedule_constants_are_the_programs_ones():
    from costmodel.model import schedule_check as F
    assert F._LEVEL_SET == set(LEVELS) and F._PIPELINE_SET == set(PIPELINES)
    assert {LEVELS[i] for i in F._PAR_LEVELS} == PARALLEL_LEVELS
    assert set(LEVELS[i] for i in F._RED_LEVELS) | PARALLEL_LEVELS == set(LEVELS)


# -- 4. the gRPC path goes through the same check --------------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from proto.costmodel.v1 import costmodel_service_pb2_grpc as pb_grpc
    from service.config import ServerConfig
    from service.server import Server

    root = tmp_path_factory.mktemp("served")
    shutil.copytree(SHIPPED, root / "default")
    srv = Server(config=ServerConfig(port=0, models=str(root)))
    srv.start()
    with grpc.insecure_channel(srv.address) as ch:
        yield pb_grpc.CostModelServiceStub(ch)
    srv.stop(0.5)


def _msg(d: dict, **flags):
    from proto.costmodel.v1 import costmodel_service_pb2 as pb
    msg = pb.Schedule(pipeline=d.get("pipeline") or "")
    for name, sizes in d["levels"].items():
        msg.levels.add(name=name, sizes=list(sizes))
    msg.flags.update({"peeling": d["peeling"], "data_tiling": d["data_tiling"],
                      "ukernels": d["ukernels"], **flags})
    return msg


@pytest.mark.parametrize("mutate, flags, says", [
    (_set("distribution", 0, -4), {}, "schedule 1: distribution[0]: tile size -4 is not"),
    (_do(lambda d: d["levels"].__setitem__("vector_reduce", d["levels"].pop("vector_reduction"))),
     {}, "schedule 1: unknown tiling level(s) ['vector_reduce']"),
    (_do(lambda d: d.__setitem__("pipeline", "FastExpert")), {},
     "schedule 1: unknown pipeline 'FastExpert'"),
    (_do(lambda d: d["levels"].__setitem__("vector_reduction", [4, 0, 0])), {},
     "schedule 1: no op of the kernel fits it"),
    (_do(lambda d: d["levels"].__setitem__("distribution", [8, 8])), {},
     "schedule 1: its levels give different numbers of tile sizes"),
    (_do(lambda d: None), {"peling": True}, "schedule 1: unknown key(s) ['flags.peling']"),
])
def test_grpc_predict_returns_invalid_argument_with_the_message(served, mm, mutate, flags, says):
    from proto.costmodel.v1 import costmodel_service_pb2 as pb
    _, good, text = mm
    bad = copy.deepcopy(good)
    mutate(bad)
    req = pb.PredictRequest(mlir=text, schedules=[_msg(good), _msg(bad, **flags)])
    with pytest.raises(grpc.RpcError) as err:
        served.Predict(req, timeout=60)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert says in err.value.details(), err.value.details()


def test_grpc_predict_of_valid_schedules_matches_in_process(served, model, mm):
    from proto.costmodel.v1 import costmodel_service_pb2 as pb
    kernel, good, text = mm
    scheds = [s.to_dict() for s in sample_schedules(
        FAMILIES["matmul"], MM_SHAPE, np.random.default_rng(3), 6, include_default=False)]
    resp = served.Predict(pb.PredictRequest(mlir=text, schedules=[_msg(s) for s in scheds],
                                            targets=["latency"]), timeout=60)
    local = model.predict(kernel=kernel, schedules=scheds, targets="latency").values["latency"]
    got = [c.targets[0].value for c in resp.candidates]
    np.testing.assert_allclose(got, local, rtol=1e-6)


# -- 5. an ONNX model under another name ------------------------------------------------------
def _relu_onnx(ir_version: bool = True) -> bytes:
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    m = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                                            [x], [y]))
    if not ir_version:
        m.ClearField("ir_version")  # then the bytes start with the graph, not 0x08
    return m.SerializeToString()


HINT = "this is an ONNX model, not MLIR text; give the file a .onnx extension"


@pytest.mark.parametrize("name, data", [
    ("model.bin", lambda: _relu_onnx()),
    ("model", lambda: _relu_onnx()),
    # valid UTF-8 without NUL bytes or a leading 0x08: caught when MLIR fails to parse it
    ("relu.mlir", lambda: _relu_onnx(ir_version=False)),
    # a real model with weights (binary)
    ("small_cnn.pb", lambda: REAL_MODELS["small_cnn"]()),
])
def test_an_onnx_model_under_another_extension_gets_a_hint(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data())
    with pytest.raises(InputError) as exc:
        analyze_file(path)
    assert str(exc.value) == f"{path}: {HINT} (or pass it as ONNX: costmodel.ir.onnx_to_linalg)"


def test_junk_and_malformed_mlir_get_no_onnx_hint(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x08\x00\x01binary junk\xff")
    with pytest.raises(InputError) as exc:
        load_ir(junk)
    assert "ONNX" not in str(exc.value)
    with pytest.raises(InputError) as exc:
        analyze_text("func.func @f( {\n}\n")
    assert "ONNX" not in str(exc.value) and str(exc.value).startswith("<input>:1:")


def test_an_onnx_extension_in_capitals_is_imported(tmp_path):
    path = tmp_path / "relu.ONNX"
    path.write_bytes(_relu_onnx())
    assert "linalg" in load_ir(path) or "arith" in load_ir(path)


def test_cli_analyze_names_the_onnx_model(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(_relu_onnx())
    res = subprocess.run([sys.executable, "-m", "costmodel", "analyze", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and res.stdout == "" and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [f"costmodel: {path}: {HINT} "
                                               "(or pass it as ONNX: costmodel.ir.onnx_to_linalg)"]
