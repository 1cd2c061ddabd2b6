"""Schedule features relative to IREE's default, aligned by loop role (relative.py), on a
real dispatch whose default IREE resolves."""

from __future__ import annotations

import numpy as np
import pytest

from costmodel.programs import Schedule
from tuner.schedules import analyze_dispatch
from tuner.schedules.relative import feature_names, relative_features

from tests.test_tuner_prior import MATMUL  # the same 48x64x32 matmul


@pytest.fixture(scope="module")
def target():
    return analyze_dispatch(MATMUL, name="rel_dispatch_0_matmul_48x64x32_f32")


def col(name: str) -> int:
    return feature_names().index(name)


def test_default_is_the_origin_and_changes_land_on_their_role(target):
    d = target.default
    vec = list(d.tile("vector_common_parallel"))
    red = list(d.tile("vector_reduction"))
    assert vec[1] >= 2 and red[2] >= 2, (vec, red)  # IREE vectorizes N and K of this matmul
    wider = Schedule.from_dict(dict(d.to_dict(), levels=dict(
        d.to_dict()["levels"], vector_common_parallel=[vec[0], vec[1] * 2, 0])))
    scalar_k = Schedule.from_dict(dict(d.to_dict(), levels=dict(
        d.to_dict()["levels"], vector_reduction=[0, 0, 1])))
    X = relative_features(target, [Schedule.default(), d, wider, scalar_k])
    assert X.shape == (4, len(feature_names()))
    rel = [c for c, n in enumerate(feature_names()) if n.endswith("vs_default")]
    # IREE's default, implicit or spelled out, is the same row, with no change from itself.
    np.testing.assert_array_equal(X[0], X[1])
    assert not X[0, rel].any() and X[0].any()
    lv = "vector_common_parallel"
    changed = np.flatnonzero(X[2, rel])
    assert len(changed) == 2  # the innermost parallel tile and the tile's parallel work
    assert X[2, col(f"{lv}.inner_parallel.log2_vs_default")] == pytest.approx(1.0)
    assert X[2, col(f"{lv}.parallel_work.log2_vs_default")] == pytest.approx(1.0)
    assert X[2, col(f"{lv}.outer_parallel.log2_vs_default")] == 0.0
    assert X[3, col("vector_reduction.inner_reduction.log2_vs_default")] == pytest.approx(
        -np.log2(red[2]))
    assert X[3, col("vector_reduction.inner_reduction.log2_tile")] == pytest.approx(1.0)


def test_roles_line_up_across_loop_counts():
    """A 2-loop reduction has no second or third parallel loop: their columns stay zero, and the
    reduction's columns sit where a matmul's do."""
    red = analyze_dispatch("""func.func @main(%a: tensor<32x256xf32>) -> tensor<32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<32xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<32xf32>) -> tensor<32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
      iterator_types = ["parallel", "reduction"]} ins(%a : tensor<32x256xf32>) outs(%f : tensor<32xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<32xf32>
  return %r : tensor<32xf32>
}
""", name="rel_dispatch_1_reduction_32x256_f32")
    d = red.default.to_dict()
    one = Schedule.from_dict(dict(d, levels=dict(d["levels"], vector_reduction=[0, 1])))
    X = relative_features(red, [one])
    assert all(X[0, col(f"{lv}.{role}.log2_tile")] == 0.0
               for lv in ("distribution", "vector_common_parallel")
               for role in ("outer_parallel", "third_parallel"))
    assert X[0, col("vector_reduction.inner_reduction.log2_tile")] == pytest.approx(1.0)
    assert X[0, col("vector_reduction.inner_reduction.log2_vs_default")] < 0
