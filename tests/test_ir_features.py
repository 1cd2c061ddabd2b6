"""Hand-checked features on real MLIR parsed by IREE's bindings."""

from __future__ import annotations

import pytest

from costmodel.ir import analyze_text, parse_schedule_text, tokenize


def only(feats, name: str) -> dict:
    ops = [o for o in feats.to_dict()["ops"] if o["name"] == name]
    assert len(ops) == 1, [o["name"] for o in feats.to_dict()["ops"]]
    return ops[0]


MATMUL = """
func.func @mm(%a: tensor<37x71xf32>, %b: tensor<71x53xf32>, %c: tensor<37x53xf32>) -> tensor<37x53xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<37x71xf32>, tensor<71x53xf32>) outs(%c : tensor<37x53xf32>) -> tensor<37x53xf32>
  return %0 : tensor<37x53xf32>
}
"""


def test_matmul_flops_bytes_and_loops():
    op = only(analyze_text(MATMUL), "linalg.matmul")
    assert op["flops"] == 2 * 37 * 53 * 71
    assert op["family"] == "matmul"
    # A and B are read, C is read (accumulated into) and written.
    assert op["bytes_read"] == 4 * (37 * 71 + 71 * 53 + 37 * 53)
    assert op["bytes_written"] == 4 * 37 * 53
    loops = op["loops"]
    assert loops["ranges"] == [37, 53, 71]
    assert loops["iterator_types"] == ["parallel", "parallel", "reduction"]
    assert (loops["n_parallel"], loops["n_reduction"], loops["depth"]) == (2, 1, 3)
    assert loops["innermost_extent"] == 53
    assert op["payload"] == {"arith.mulf": 1, "arith.addf": 1, "linalg.yield": 1}
    assert op["intensity"] == pytest.approx(op["flops"] / (op["bytes_read"] + op["bytes_written"]))


def test_batch_matmul_flops():
    text = """
    func.func @bmm(%a: tensor<3x17x9xf32>, %b: tensor<3x9x25xf32>, %c: tensor<3x17x25xf32>) -> tensor<3x17x25xf32> {
      %0 = linalg.batch_matmul ins(%a, %b : tensor<3x17x9xf32>, tensor<3x9x25xf32>) outs(%c : tensor<3x17x25xf32>) -> tensor<3x17x25xf32>
      return %0 : tensor<3x17x25xf32>
    }"""
    op = only(analyze_text(text), "linalg.batch_matmul")
    assert op["flops"] == 2 * 3 * 17 * 25 * 9
    assert op["loops"]["ranges"] == [3, 17, 25, 9]


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_2d_nhwc_hwcf_flops(stride):
    # Output 2x7x7x16 from a 3x3x8 filter; the input size follows from the stride.
    n, oh, ow, f, kh, kw, c = 2, 7, 7, 16, 3, 3, 8
    ih = (oh - 1) * stride + kh
    text = f"""
    func.func @conv(%i: tensor<{n}x{ih}x{ih}x{c}xf32>, %w: tensor<{kh}x{kw}x{c}x{f}xf32>, %o: tensor<{n}x{oh}x{ow}x{f}xf32>) -> tensor<{n}x{oh}x{ow}x{f}xf32> {{
      %0 = linalg.conv_2d_nhwc_hwcf {{dilations = dense<1> : tensor<2xi64>, strides = dense<{stride}> : tensor<2xi64>}}
        ins(%i, %w : tensor<{n}x{ih}x{ih}x{c}xf32>, tensor<{kh}x{kw}x{c}x{f}xf32>) outs(%o : tensor<{n}x{oh}x{ow}x{f}xf32>) -> tensor<{n}x{oh}x{ow}x{f}xf32>
      return %0 : tensor<{n}x{oh}x{ow}x{f}xf32>
    }}"""
    op = only(analyze_text(text), "linalg.conv_2d_nhwc_hwcf")
    assert op["flops"] == 2 * n * oh * ow * f * kh * kw * c
    assert op["family"] == "conv"
    assert sorted(op["loops"]["ranges"]) == sorted([n, oh, ow, f, kh, kw, c])
    assert op["loops"]["n_reduction"] == 3


GENERIC = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @g(%x: tensor<10x20xf16>, %b: tensor<20xf16>, %o: tensor<10x20xf32>) -> tensor<10x20xf32> {
  %0 = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<10x20xf16>, tensor<20xf16>) outs(%o : tensor<10x20xf32>) {
  ^bb0(%a: f16, %c: f16, %out: f32):
    %one = arith.constant 1.0 : f32
    %s = arith.mulf %a, %c : f16
    %e = arith.extf %s : f16 to f32
    %t = math.exp %e : f32
    %u = arith.addf %t, %one : f32
    linalg.yield %u : f32
  } -> tensor<10x20xf32>
  return %0 : tensor<10x20xf32>
}
"""


def test_generic_counts_arith_and_math_ops_but_not_constants_or_casts():
    feats = analyze_text(GENERIC)
    op = only(feats, "linalg.generic")
    assert op["flops"] == 3 * 10 * 20  # mulf, exp, addf
    assert op["family"] == "elementwise"
    assert op["n_transcendental"] == 1
    # Inputs f16 (400 + 40 bytes); the output is written, not read (%out unused).
    assert op["bytes_read"] == 2 * 200 + 2 * 20
    assert op["bytes_written"] == 4 * 200
    assert op["loops"]["indexing_maps"][1] == "(d0, d1) -> (d1)"
    assert feats.total()["n_transcendental"] == 200


def test_multi_op_program_totals_edges_and_families():
    text = """
    func.func @layer(%x: tensor<8x16xf32>, %w: tensor<16x32xf32>) -> tensor<8xf32> {
      %cst = arith.constant 0.0 : f32
      %e = tensor.empty() : tensor<8x32xf32>
      %f = linalg.fill ins(%cst : f32) outs(%e : tensor<8x32xf32>) -> tensor<8x32xf32>
      %m = linalg.matmul ins(%x, %w : tensor<8x16xf32>, tensor<16x32xf32>) outs(%f : tensor<8x32xf32>) -> tensor<8x32xf32>
      %e1 = tensor.empty() : tensor<8xf32>
      %f1 = linalg.fill ins(%cst : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
      %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                           iterator_types = ["parallel", "reduction"]}
          ins(%m : tensor<8x32xf32>) outs(%f1 : tensor<8xf32>) {
      ^bb0(%a: f32, %acc: f32):
        %s = arith.maximumf %a, %acc : f32
        linalg.yield %s : f32
      } -> tensor<8xf32>
      return %r : tensor<8xf32>
    }"""
    feats = analyze_text(text)
    d = feats.to_dict()
    names = [o["name"] for o in d["ops"]]
    assert d["total"]["flops"] == 2 * 8 * 32 * 16 + 8 * 32
    assert d["total"]["bytes"] == sum(o["bytes"] for o in d["ops"])
    assert d["total"]["families"]["matmul"] == 1
    assert d["total"]["families"]["reduction"] == 1
    assert d["total"]["families"]["fill"] == 2
    mm = names.index("linalg.matmul")
    red = names.index("linalg.generic")
    assert [names.index("linalg.fill"), mm] in d["edges"]
    assert [mm, red] in d["edges"]
    assert [red, names.index("func.return")] in d["edges"]
    assert all(o["parent"] == names.index("func.func") for o in d["ops"][1:])


def test_static_loop_bounds_multiply_nested_work():
    text = """
    func.func @loops(%buf: memref<100xf32>) {
      %c0 = arith.constant 0 : index
      %c3 = arith.constant 3 : index
      %c100 = arith.constant 100 : index
      scf.for %i = %c0 to %c100 step %c3 {
        affine.for %j = 0 to 10 {
          %v = memref.load %buf[%i] : memref<100xf32>
          %w = arith.mulf %v, %v : f32
          memref.store %w, %buf[%i] : memref<100xf32>
        }
      }
      return
    }"""
    d = analyze_text(text).to_dict()
    by = {o["name"]: o for o in d["ops"]}
    assert by["scf.for"]["trip_count"] == 34
    assert by["affine.for"]["trip_count"] == 10
    assert by["arith.mulf"]["multiplier"] == 340
    assert by["arith.mulf"]["flops"] == 340
    assert by["memref.load"]["bytes_read"] == 4 * 340
    assert by["memref.store"]["bytes_written"] == 4 * 340
    assert by["memref.load"]["depth"] == 3
    assert d["total"]["static"] is True


def test_dynamic_shapes_are_flagged_not_guessed():
    text = """
    func.func @dyn(%a: tensor<?x8xf32>, %b: tensor<8x4xf32>, %c: tensor<?x4xf32>) -> tensor<?x4xf32> {
      %0 = linalg.matmul ins(%a, %b : tensor<?x8xf32>, tensor<8x4xf32>) outs(%c : tensor<?x4xf32>) -> tensor<?x4xf32>
      return %0 : tensor<?x4xf32>
    }"""
    feats = analyze_text(text)
    op = only(feats, "linalg.matmul")
    assert op["loops"]["ranges"] == [-1, 4, 8]
    assert op["static"] is False
    assert feats.total()["static"] is False


def test_buffer_form_linalg_reads_ins_outs_split():
    text = """
    func.func @mm(%a: memref<4x8xf32>, %b: memref<8x2xf32>, %c: memref<4x2xf32>) {
      linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x2xf32>) outs(%c : memref<4x2xf32>)
      return
    }"""
    op = only(analyze_text(text), "linalg.matmul")
    assert op["flops"] == 2 * 4 * 2 * 8
    assert op["bytes_written"] == 4 * 4 * 2


SCHEDULED = """
func.func @mm(%a: tensor<128x256xf32>, %b: tensor<256x64xf32>, %c: tensor<128x64xf32>) -> tensor<128x64xf32> {
  %0 = linalg.matmul {compilation_info = #iree_codegen.compilation_info<
    lowering_config = #iree_cpu.lowering_config<distribution = [64, 32, 0], vector_common_parallel = [8, 16, 0], vector_reduction = [0, 0, 4]>,
    translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>}
    ins(%a, %b : tensor<128x256xf32>, tensor<256x64xf32>) outs(%c : tensor<128x64xf32>) -> tensor<128x64xf32>
  return %0 : tensor<128x64xf32>
}
"""


def test_compilation_info_decodes_to_typed_tile_vectors():
    feats = analyze_text(SCHEDULED)
    op = only(feats, "linalg.matmul")
    assert op["schedule"]["levels"] == {
        "distribution": [64, 32, 0],
        "vector_common_parallel": [8, 16, 0],
        "vector_reduction": [0, 0, 4],
    }
    assert op["schedule"]["pipeline"] == "DoubleTilingExpert"
    assert feats.total()["n_scheduled_ops"] == 1
    node = [o for o in feats.graph.ops if o.name == "linalg.matmul"][0]
    assert node.schedule.tile("vector_reduction") == (0, 0, 4)


def test_older_tile_sizes_syntax_decodes_per_level():
    s = parse_schedule_text("#iree_codegen.lowering_config<tile_sizes = [[64, 64, 0], [8, 8, 0], [0, 0, 4]]>")
    assert s.levels == {"tile_sizes_0": (64, 64, 0), "tile_sizes_1": (8, 8, 0),
                        "tile_sizes_2": (0, 0, 4)}


def test_token_stream_abstracts_names_buckets_constants_keeps_shapes():
    toks = tokenize(SCHEDULED + '\n%z = arith.constant 1.5e-3 : f32 loc("x.mlir":1:2)\n%k = arith.constant 4096 : index')
    assert "%ssa" in toks and "@sym" in toks
    assert not any(t.startswith("%") and t != "%ssa" for t in toks)
    assert "tensor<128x256xf32>" in toks
    assert "<float:1e-3>" in toks and "<int:2^12>" in toks
    assert "loc" not in toks
    assert "linalg.matmul" in toks and "#iree_cpu.pipeline" in toks
