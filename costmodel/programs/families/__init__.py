"""Kernel-family generators: ``FAMILIES[name].sample_shape(rng)`` then ``.render(shape, schedule)``.

Each family renders its ops in the form IREE 3.13 keeps intact up to configuration,
because IREE silently drops a root's compilation_info whenever it rebuilds the op first
(all measured with --mlir-print-ir-after-all):

* unit-extent loops of generics and convs are folded (FoldUnitExtentDims): no extent is
  ever 1, so conv batches are >= 2 and 1x1 filters are left out (those convs also become
  matmuls); named matmul-like ops keep their schedule with unit loops;
* collapsible elementwise dims are merged (CollapseDimensions): elementwise layouts are
  1-D or carry a broadcast that blocks collapsing;
* lone transposes are rebuilt by transpose propagation: the transpose family compiles
  with --iree-global-opt-propagate-transposes=false (``Family.extra_flags``);
* linalg.softmax is decomposed: softmax is written as four generics;
* reductions are interchanged innermost and transposes iterate over the input: both are
  rendered in that order, so tile vectors line up with IREE's loops.

``compile.configured_root`` checks that a schedule really landed on the root.
"""

from __future__ import annotations

from costmodel.programs.families.base import Family, LoopInfo, group_id
from costmodel.programs.families.composite import Attention, LayerNorm, Softmax
from costmodel.programs.families.contraction import BatchMatmul, Matmul, Matvec
from costmodel.programs.families.conv import Conv2dNchw, Conv2dNhwc, DepthwiseConv, Pooling
from costmodel.programs.families.generic import Elementwise, Reduction, Transpose

FAMILIES: dict[str, Family] = {f.name: f for f in (
    Matmul(), BatchMatmul(), Matvec(), Conv2dNhwc(), Conv2dNchw(), DepthwiseConv(), Pooling(),
    Elementwise(), Reduction(), Softmax(), LayerNorm(), Transpose(), Attention(),
)}

__all__ = ["FAMILIES", "Family", "LoopInfo", "group_id"]
