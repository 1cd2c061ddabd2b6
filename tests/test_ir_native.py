"""The C walk (costmodel/ir/fastwalk.c) builds exactly the graph the bindings walk builds."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.featurize_module import make_module
from costmodel.ir import ProgramFeatures, build_graph, native, parse_mlir
from costmodel.ir.features import op_features
from costmodel.programs import FAMILIES, sample_schedules

LOOPS = """
func.func @loops(%buf: memref<64x32xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  scf.for %i = %c0 to %c8 step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %v = memref.load %buf[%i, %j] : memref<64x32xf32>
      %w = arith.mulf %v, %v : f32
      memref.store %w, %buf[%i, %j] : memref<64x32xf32>
    }
    affine.for %k = 0 to 32 step 4 {
      %v = affine.load %buf[%k, %k] : memref<64x32xf32>
      affine.store %v, %buf[%k, %k] : memref<64x32xf32>
    }
  }
  scf.forall (%a, %b) in (4, 8) {
    %v = memref.load %buf[%a, %b] : memref<64x32xf32>
    %e = math.exp %v : f32
    memref.store %e, %buf[%a, %b] : memref<64x32xf32>
  }
  return
}
"""


def _graph(text: str, use_native: bool):
    parsed = parse_mlir(text)
    with parsed.context:
        g = build_graph(parsed.module, use_native=use_native)
        return [op_features(o) for o in g.ops], g.edges, ProgramFeatures(g).total()


def _programs() -> dict[str, str]:
    rng = np.random.default_rng(7)
    out = {"layers": make_module(300), "loops": LOOPS}
    for name, fam in FAMILIES.items():
        shape = fam.sample_shape(rng)
        scheds = sample_schedules(fam, shape, rng, 1)
        out[name] = fam.render(shape, scheds[0] if scheds else None)
    return out


@pytest.mark.skipif(native.load() is None, reason="no C compiler to build the C walk")
@pytest.mark.parametrize("name,text", sorted(_programs().items()))
def test_c_walk_and_bindings_walk_build_the_same_graph(name, text):
    fast = _graph(text, True)
    slow = _graph(text, False)
    assert fast[0] == slow[0]
    assert fast[1] == slow[1]
    assert fast[2] == slow[2]
    assert fast[2]["n_ops"] > 0


def test_c_walk_builds_here():
    # CI and `make test` machines have a C compiler: the fast path must not silently vanish.
    assert native.load() is not None
