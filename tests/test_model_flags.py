"""Model-level compile flags in `tuner tune-model`: variants built and timed for real, im2col
turning IREE's untunable NCHW convolutions into tunable matmuls, and a tuned build that
needs the chosen flags and matches the default build's outputs."""

from __future__ import annotations

import json

import pytest

from costmodel.programs import quick_compile
from tuner.cli import main as tuner_main
from tuner.schedules.model_flags import MIN_GAIN, VARIANTS, pick, variants_for
from tuner.schedules.model_tune import dispatch_targets

CONV = """func.func @main(%x: tensor<1x8x18x18xf32>, %w: tensor<16x8x3x3xf32>) -> tensor<1x16x16x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x16x16x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32>
  %c = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
       ins(%x, %w : tensor<1x8x18x18xf32>, tensor<16x8x3x3xf32>)
       outs(%f : tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32>
  return %c : tensor<1x16x16x16xf32>
}
"""

MATMUL = """func.func @main(%a: tensor<32x48xf32>, %b: tensor<48x40xf32>) -> tensor<32x40xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<32x40xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<32x40xf32>) -> tensor<32x40xf32>
  %r = linalg.matmul ins(%a, %b : tensor<32x48xf32>, tensor<48x40xf32>) outs(%f : tensor<32x40xf32>) -> tensor<32x40xf32>
  return %r : tensor<32x40xf32>
}
"""


def test_pick_needs_a_real_gain_over_the_default():
    assert pick({"default": 1.0, "im2col": 0.9}) == "im2col"
    assert pick({"default": 1.0, "im2col": 1.0 - MIN_GAIN / 2}) == "default"
    assert pick({"default": 1.0, "data-tiling": 1.2}) == "default"
    with pytest.raises(ValueError, match="default"):
        pick({"im2col": 0.5})


def test_im2col_variants_only_for_models_with_convolutions():
    assert variants_for(CONV) == list(VARIANTS)
    assert variants_for(MATMUL) == ["default", "data-tiling", "data-tiling+ukernels"]


def test_im2col_makes_an_nchw_convolution_tunable():
    plain = dispatch_targets(CONV, "conv")
    assert [d.skipped for d in plain] == ["IREE drops explicit schedules on this root"]
    im2col = dispatch_targets(CONV, "conv", flags=VARIANTS["im2col"])
    tunable = [d for d in im2col if not d.skipped]
    assert tunable and any("matmul" in d.name for d in tunable)


def test_tune_model_chooses_flags_and_its_build_matches_the_default(tmp_path, capsys):
    model = tmp_path / "conv.mlir"
    model.write_text(CONV)
    out = tmp_path / "out"
    assert tuner_main(["tune-model", str(model), "--budget", "2", "--out", str(out),
                       "--universe", "30", "--no-cost-model", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    mf = summary["model_flags"]
    assert mf["searched"] and mf["chosen"] in VARIANTS
    assert mf["flags"] == list(VARIANTS[mf["chosen"]])
    assert set(mf["variants"]) | set(mf["failed"]) == set(VARIANTS)
    assert all(v["latency_s"] > 0 for v in mf["variants"].values())
    if mf["chosen"] != "default":  # it won twice: among all, then against the default alone
        c = mf["confirm"]
        assert c["variant"] == mf["chosen"]
        assert c["variant_s"] <= c["default_s"] * (1 - MIN_GAIN)
        assert summary["end_to_end"]["flags_only_s"] > 0
    assert summary["numeric_check"]["ok"] and summary["numeric_check"]["annotated"]["ok"]
    assert summary["end_to_end"]["speedup"] > 0
    # The spec is for the build with the chosen flags: that command line compiles.
    spec = out / "tuning_spec.mlir"
    assert quick_compile(CONV, [*mf["flags"], f"--iree-codegen-tuning-spec-path={spec}"]).ok
    # The whole-build guard timed every tuned (non-default) best schedule's entry alone;
    # the spec holds exactly the entries it kept.
    from tuner.schedules.spec import _sym
    text = spec.read_text()
    for r in summary["dispatches"]:
        if r["skipped"]:
            continue
        tuned = r["best_compilation_info"] != ""
        g = r["build_guard"]
        assert (g is not None) == tuned
        if g:
            assert g["base_s"] > 0 and g["alone_s"] > 0
            assert g["kept"] == (g["alone_s"] <= g["base_s"] * 1.03)
        assert r["in_spec"] == (tuned and g["kept"])
        assert (f"@{_sym(r['dispatch'])}(" in text) == r["in_spec"]


def test_model_flags_off_keeps_the_default_pipeline(tmp_path, capsys):
    model = tmp_path / "mm.mlir"
    model.write_text(MATMUL)
    assert tuner_main(["tune-model", str(model), "--budget", "1", "--out", str(tmp_path / "o"),
                       "--universe", "10", "--no-cost-model", "--no-check",
                       "--model-flags", "off"]) == 0
    printed = " ".join(capsys.readouterr().out.split())   # rich wraps long lines
    assert "build with: iree-compile MODEL.mlir --iree-codegen-tuning-spec-path=" in printed
    mf = json.loads((tmp_path / "o" / "summary.json").read_text())["model_flags"]
    assert not mf["searched"] and mf["chosen"] == "default" and mf["flags"] == []
    assert mf["why"] == "--model-flags off" and mf["variants"] == {}


def test_data_tiled_dispatches_are_skipped_with_the_reason():
    out = dispatch_targets(MATMUL, "mm", flags=VARIANTS["data-tiling"])
    reasons = {d.name: d.skipped for d in out}
    assert any(n.startswith("_encoding_") and r.startswith("data-tiling layout change")
               for n, r in reasons.items())
    assert any("matmul" in n and r.startswith("data-tiled (IREE's mmt4d kernels")
               for n, r in reasons.items())


def test_bad_model_ir_is_a_line_column_error_before_any_build(tmp_path, capsys):
    bad = tmp_path / "bad.mlir"
    bad.write_text(MATMUL.replace("linalg.matmul", "foo.matmul"))
    assert tuner_main(["tune-model", str(bad), "--budget", "1", "--out", str(tmp_path / "o"),
                       "--no-cost-model"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:5:8: error: Dialect `foo' not found" in err and "Traceback" not in err


def test_a_named_variant_is_used_without_the_search(tmp_path, capsys):
    model = tmp_path / "conv.mlir"
    model.write_text(CONV)
    assert tuner_main(["tune-model", str(model), "--budget", "1", "--out", str(tmp_path / "o"),
                       "--universe", "10", "--no-cost-model", "--no-check",
                       "--model-flags", "im2col"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "build with: iree-compile MODEL.mlir --iree-global-opt-use-im2col-for-convs" in printed
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    mf = summary["model_flags"]
    assert not mf["searched"] and mf["chosen"] == "im2col" and mf["variants"] == {}
    assert mf["why"] == "--model-flags im2col"
    # The im2col build's matmul is tuned (the plain NCHW conv would be skipped).
    assert any("matmul" in r["dispatch"] and not r["skipped"] for r in summary["dispatches"])
    with pytest.raises(SystemExit):
        tuner_main(["tune-model", str(model), "--budget", "1", "--out", str(tmp_path / "p"),
                    "--model-flags", "fast"])
