"""costmodel.programs: generators, schedule space, real-model dispatches.

Real MLIR and real compiles throughout (no mocks). Budget: well under 90 s on 2 cores.
"""

from __future__ import annotations

import numpy as np
import pytest

from costmodel.ir import analyze_text, parse_schedule_text
from costmodel.programs import (
    FAMILIES, REAL_MODELS, Schedule, check_schedule, quick_compile, configured_root,
    default_schedules, real_model_dispatches, sample_schedule, sample_schedules, target_info,
)

FAMILY_NAMES = sorted(FAMILIES)


def _shape(name: str, seed: int = 0) -> dict[str, int]:
    return FAMILIES[name].sample_shape(np.random.default_rng(seed))


# -- generators -----------------------------------------------------------------------

def test_at_least_the_required_families() -> None:
    required = {"matmul", "batch_matmul", "matvec", "conv2d_nhwc", "conv2d_nchw",
                "depthwise_conv", "pooling", "elementwise", "reduction", "softmax",
                "layernorm", "transpose", "attention"}
    assert required <= set(FAMILIES)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_family_renders_parseable_mlir_with_one_root(name: str) -> None:
    fam = FAMILIES[name]
    rng = np.random.default_rng(123)
    for _ in range(3):
        shape = fam.sample_shape(rng)
        lo, hi = fam.budget
        assert lo <= fam.size(shape) <= hi
        text = fam.render(shape)
        assert "@@" not in text and "compilation_info" not in text
        feats = analyze_text(text).to_dict()
        assert feats["total"]["bytes"] > 0
        assert (feats["total"]["flops"] > 0) == (name != "transpose")  # a copy does no math
        assert feats["total"]["n_scheduled_ops"] == 0

        sched = sample_schedule(fam, shape, rng)
        scheduled = analyze_text(fam.render(shape, sched)).to_dict()
        roots = [op for op in scheduled["ops"] if "schedule" in op]
        assert len(roots) == 1, "the schedule goes on exactly one op"
        root = roots[0]
        assert root["name"] == fam.root_name(shape)
        assert root["schedule"]["pipeline"] == sched.pipeline
        assert {k: tuple(v) for k, v in root["schedule"]["levels"].items()} == sched.tiles
        info = fam.loop_info(shape)
        assert tuple(root["loops"]["ranges"]) == info.ranges
        # Unit-extent loops make IREE drop the compilation_info of generics and convs.
        assert min(info.ranges) >= 2


def test_group_id_is_stable_and_shape_sensitive() -> None:
    fam = FAMILIES["matmul"]
    a = fam.group_id({"M": 64, "N": 32, "K": 16})
    assert a == fam.group_id({"K": 16, "N": 32, "M": 64})  # key order does not matter
    assert a != fam.group_id({"M": 64, "N": 32, "K": 17})
    assert a != FAMILIES["batch_matmul"].group_id({"M": 64, "N": 32, "K": 16})
    assert len(a) == 16
    # Same seed, same shapes: datasets are reproducible.
    assert _shape("conv2d_nhwc", 7) == _shape("conv2d_nhwc", 7)


def test_matmul_flops_hand_checked() -> None:
    text = FAMILIES["matmul"].render({"M": 123, "N": 200, "K": 77})
    total = analyze_text(text).to_dict()["total"]
    # One mul and one add per (m, n, k); the zero fill does no arithmetic.
    assert total["flops"] == 2 * 123 * 200 * 77


def test_conv2d_nhwc_flops_hand_checked() -> None:
    shape = {"N": 2, "OH": 10, "OW": 12, "C": 7, "F": 9, "KH": 3, "KW": 3, "S": 2}
    text = FAMILIES["conv2d_nhwc"].render(shape)
    assert "tensor<2x21x25x7xf32>" in text  # input extent (O - 1) * S + K
    total = analyze_text(text).to_dict()["total"]
    assert total["flops"] == 2 * 2 * 10 * 12 * 9 * 3 * 3 * 7


def test_elementwise_flops_count_transcendentals() -> None:
    shape = {"CHAIN": 0, "LAYOUT": 1, "D0": 30, "D1": 40}  # exp(x) * y[col], 2 ops/element
    total = analyze_text(FAMILIES["elementwise"].render(shape)).to_dict()["total"]
    assert total["flops"] == 2 * 30 * 40
    assert total["n_transcendental"] == 30 * 40


# -- schedules ------------------------------------------------------------------------

def test_schedule_round_trips_and_renders_current_syntax() -> None:
    s = Schedule.make("DoubleTilingExpert",
                      {"vector_reduction": [0, 0, 4], "distribution": [64, 64, 0],
                       "vector_common_parallel": [8, 16, 0]},
                      peeling=True, data_tiling=True)
    attr = s.to_attr()
    assert attr.startswith("#iree_codegen.compilation_info<lowering_config = "
                           "#iree_cpu.lowering_config<distribution = [64, 64, 0], ")
    assert "#iree_cpu.pipeline<DoubleTilingExpert>, {enable_loop_peeling}" in attr
    parsed = parse_schedule_text(attr)
    assert parsed.pipeline == "DoubleTilingExpert"
    assert parsed.levels == s.tiles
    assert Schedule.from_dict(s.to_dict()) == s
    assert s.compile_flags() == ["--iree-opt-data-tiling=true",
                                 "--iree-llvmcpu-enable-ukernels=none"]
    with pytest.raises(ValueError):
        Schedule.make("DoubleTilingExpert", {"tile_sizes": [1]})


def test_default_schedule_is_a_candidate_of_every_group() -> None:
    d = Schedule.default()
    assert d.is_default and d.to_attr() == ""
    assert Schedule.from_dict(d.to_dict()) == d
    for name in FAMILY_NAMES:
        fam = FAMILIES[name]
        shape = _shape(name)
        cands = sample_schedules(fam, shape, np.random.default_rng(1), 6)
        assert cands[0] == d
        assert len({c.key() for c in cands}) == len(cands)
        assert "compilation_info" not in fam.render(shape, d)
    assert len(default_schedules(FAMILIES["matmul"])) == 3  # data tiling changes matmuls


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_sampled_schedules_pass_the_validity_check(name: str) -> None:
    fam = FAMILIES[name]
    rng = np.random.default_rng(5)
    limit = target_info().vector_limit_bytes
    for _ in range(2):
        shape = fam.sample_shape(rng)
        info = fam.loop_info(shape)
        for s in sample_schedules(fam, shape, rng, 8, include_default=False):
            assert check_schedule(fam, shape, s) is None
            assert s.pipeline in fam.pipelines
            for level, tiles in s.tiles.items():
                assert len(tiles) == info.n_loops
                assert all(0 <= t <= r for t, r in zip(tiles, info.ranges))
            vec = 1
            for d in range(info.n_loops):
                t = s.tile("vector_reduction" if info.is_reduction(d)
                           else "vector_common_parallel")
                vec *= t[d]
            assert vec * fam.elem_bytes(shape) < limit


@pytest.mark.parametrize("name", ["matmul", "conv2d_nhwc", "softmax", "transpose"])
def test_sampled_schedules_compile_and_take_effect(name: str) -> None:
    fam = FAMILIES[name]
    rng = np.random.default_rng(11)
    shape = fam.sample_shape(rng)
    sched = sample_schedule(fam, shape, rng)
    text = fam.render(shape, sched)
    res = quick_compile(text, fam.compile_flags(sched))
    assert res.ok, res.error
    # IREE kept our tiles on the root, over the loops we rendered.
    assert configured_root(text, sched.tiles, fam.compile_flags(sched)) == \
        fam.loop_info(shape).ranges


def test_default_schedule_compiles_with_data_tiling_and_ukernels() -> None:
    fam = FAMILIES["matmul"]
    shape = {"M": 100, "N": 72, "K": 60}
    for s in default_schedules(fam)[1:]:
        res = quick_compile(fam.render(shape, s), fam.compile_flags(s))
        assert res.ok, res.error


def test_invalid_schedules_are_rejected_before_compiling_with_a_reason() -> None:
    fam = FAMILIES["matmul"]
    shape = {"M": 123, "N": 200, "K": 77}
    limit = target_info().vector_limit_bytes

    def reason(levels: dict, pipeline: str = "DoubleTilingExpert") -> str | None:
        return check_schedule(fam, shape, Schedule.make(pipeline, levels))

    ok = {"distribution": [64, 64, 0], "vector_common_parallel": [8, 16, 0],
          "vector_reduction": [0, 0, 4]}
    assert reason(ok) is None
    assert "3 loops" in reason({**ok, "distribution": [64, 64]})
    assert "reduction dim" in reason({**ok, "distribution": [64, 64, 8]})
    assert "parallel dim" in reason({**ok, "vector_reduction": [4, 0, 4]})
    assert "exceeds the loop extent 123" in reason({**ok, "distribution": [256, 64, 0]})
    assert "not used for this family" in reason(ok, "ConvTileAndDecomposeExpert")
    assert "unknown pipeline" in reason(ok, "FastestExpert")
    # 8 x 32 x k f32 = the limit: IREE's vector-size verifier (limit = native vector x 512:
    # 16 KiB on AVX2, k = 16; 32 KiB on AVX-512, k = 32).
    k = limit // (8 * 32 * 4)
    big = {**ok, "vector_common_parallel": [8, 32, 0], "vector_reduction": [0, 0, k]}
    why = reason(big)
    assert why is not None and f"{limit} bytes" in why
    res = quick_compile(fam.render(shape, Schedule.make("DoubleTilingExpert", big)))
    assert not res.ok and "large vector sizes" in res.error  # the compiler agrees


def test_unit_extent_loops_are_rejected_where_iree_drops_the_schedule() -> None:
    ew = FAMILIES["elementwise"]
    shape = {"CHAIN": 0, "LAYOUT": 1, "D0": 1, "D1": 400}
    s = Schedule.make("DoubleTilingExpert", {"distribution": [1, 80],
                                             "vector_common_parallel": [1, 8]})
    assert "extent 1" in check_schedule(ew, shape, s)
    # The compiler accepts it, but the root ends up with IREE's own config, not ours.
    assert quick_compile(ew.render(shape, s)).ok
    assert configured_root(ew.render(shape, s), s.tiles) is None
    # A named matmul keeps its schedule with a unit loop, so it is not rejected.
    mm = FAMILIES["matmul"]
    ms = Schedule.make("DoubleTilingExpert", {"distribution": [1, 32, 0],
                                              "vector_common_parallel": [1, 8, 0],
                                              "vector_reduction": [0, 0, 4]})
    assert check_schedule(mm, {"M": 1, "N": 64, "K": 48}, ms) is None


def test_cache_reduction_fill_rule_matches_the_compiler() -> None:
    fam = FAMILIES["matmul"]
    shape = {"M": 123, "N": 200, "K": 77}
    # A 64 x n f32 workgroup tile of exactly the limit: n = 64 on AVX2, 128 on AVX-512.
    n = target_info().vector_limit_bytes // (64 * 4)
    bad = Schedule.make("DoubleTilingExpert", {
        "distribution": [64, n, 0], "cache_reduction": [0, 0, 32],
        "vector_common_parallel": [8, 8, 0], "vector_reduction": [0, 0, 4]})
    assert "fill" in check_schedule(fam, shape, bad)
    assert not quick_compile(fam.render(shape, bad)).ok


# -- real models ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def dispatches() -> dict[str, list]:
    return {name: real_model_dispatches(name) for name in REAL_MODELS}


def test_real_models_are_deterministic_onnx() -> None:
    import onnx
    for name, build in REAL_MODELS.items():
        data = build()
        assert data == build()
        onnx.checker.check_model(onnx.load_model_from_string(data))


@pytest.mark.parametrize("name", sorted(REAL_MODELS))
def test_real_model_yields_dispatches_that_compile(name: str, dispatches) -> None:
    ds = dispatches[name]
    assert len(ds) >= 1
    for d in ds:
        assert d.model == name and d.entry in d.mlir and d.name in d.mlir
        assert "iree.benchmark = \"dispatch\"" in d.mlir
        assert "lowering_config" not in d.mlir  # stripped: IREE re-selects on compile
    # Compile the heaviest kernel kind the model has (conv/matmul before copies).
    order = ("conv", "matmul", "matmul_like", "batch_matmul", "softmax", "reduction")
    pick = min(ds, key=lambda d: order.index(d.kind) if d.kind in order else len(order))
    res = quick_compile(pick.mlir)
    assert res.ok, f"{pick.name}: {res.error}"


def test_dispatch_benchmark_runs_without_inputs(dispatches) -> None:
    import iree.runtime as rt
    d = next(d for d in dispatches["small_cnn"] if d.kind == "conv")
    res = quick_compile(d.mlir, keep_vmfb=True)
    assert res.ok, res.error
    ctx = rt.SystemContext(config=rt.Config("local-sync"))
    ctx.add_vm_module(rt.VmModule.copy_buffer(ctx.instance, res.vmfb))
    ctx.modules.module[d.entry](3)  # one i32: how many times to run the dispatch
