"""A realistic many-op MLIR module for the featurization benchmark.

Each function is a small model layer (fill, matmul, bias-add + GELU-like generic,
a reduction, and an scf loop of scalar arithmetic), so the mix of named ops,
generics with payloads, loops and plain arith resembles imported models.
"""

from __future__ import annotations

_LAYER = """
  func.func @layer{i}(%x: tensor<{m}x{k}xf32>, %w: tensor<{k}x{n}xf32>, %b: tensor<{n}xf32>, %buf: memref<{n}xf32>) -> tensor<{m}xf32> {{
    %cst = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<{m}x{n}xf32>
    %f0 = linalg.fill ins(%cst : f32) outs(%e0 : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
    %mm = linalg.matmul ins(%x, %w : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>) outs(%f0 : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
    %g = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}} ins(%mm, %b : tensor<{m}x{n}xf32>, tensor<{n}xf32>) outs(%e0 : tensor<{m}x{n}xf32>) {{
    ^bb0(%a: f32, %c: f32, %o: f32):
      %s = arith.addf %a, %c : f32
      %t = math.tanh %s : f32
      %u = arith.mulf %s, %t : f32
      linalg.yield %u : f32
    }} -> tensor<{m}x{n}xf32>
    %e1 = tensor.empty() : tensor<{m}xf32>
    %f1 = linalg.fill ins(%cst : f32) outs(%e1 : tensor<{m}xf32>) -> tensor<{m}xf32>
    %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}} ins(%g : tensor<{m}x{n}xf32>) outs(%f1 : tensor<{m}xf32>) {{
    ^bb0(%a: f32, %o: f32):
      %s = arith.addf %a, %o : f32
      linalg.yield %s : f32
    }} -> tensor<{m}xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %cn = arith.constant {n} : index
    scf.for %iv = %c0 to %cn step %c1 {{
      %v = memref.load %buf[%iv] : memref<{n}xf32>
      %v2 = arith.mulf %v, %v : f32
      memref.store %v2, %buf[%iv] : memref<{n}xf32>
    }}
    return %r : tensor<{m}xf32>
  }}
"""

#: Ops per layer as MLIR counts them (every op, payload and terminators included).
OPS_PER_LAYER = 29


def make_module(n_ops: int) -> str:
    """MLIR text with at least ``n_ops`` operations (rounded up to whole layers)."""
    shapes = [(64, 96, 128), (33, 17, 250), (128, 256, 64), (7, 1000, 13)]
    layers = []
    for i in range(-(-n_ops // OPS_PER_LAYER)):
        m, k, n = shapes[i % len(shapes)]
        layers.append(_LAYER.format(i=i, m=m, k=k, n=n))
    return "module {\n" + "".join(layers) + "}\n"
