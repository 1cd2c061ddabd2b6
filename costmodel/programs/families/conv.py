"""Convolution-like families: 2-D convs in both layouts, depthwise conv and pooling.

Shapes are drawn as output sizes (OH, OW) so awkward extents land on the loops IREE
tiles; the input size follows from stride and window: IH = (OH - 1) * S + KH.
"""

from __future__ import annotations

import numpy as np

from costmodel.programs.families.base import ROOT_ENTRY, Family, dim, tensor


def _window(rng: np.random.Generator, sizes: tuple[int, ...], p: tuple[float, ...]) -> int:
    return int(rng.choice(sizes, p=p))


def _batch(rng: np.random.Generator) -> int:
    # Never 1: IREE folds unit-extent loops of convs before configuring and rebuilds the
    # op without its compilation_info, so a batch-1 conv cannot carry a schedule.
    return int(rng.choice([2, 2, 3, 4]))


def _spatial(rng: np.random.Generator, hi: int) -> dict[str, int]:
    oh = dim(rng, 4, hi)
    # Mostly square feature maps, like real CNNs, sometimes not.
    ow = oh if rng.random() < 0.6 else dim(rng, 4, hi)
    return {"OH": oh, "OW": ow}


def _in_size(o: int, k: int, s: int) -> int:
    return (o - 1) * s + k


def _attrs(s: dict[str, int]) -> str:
    return ("{dilations = dense<1> : tensor<2xi64>, "
            f"strides = dense<{s['S']}> : tensor<2xi64>{ROOT_ENTRY}}}")


def _conv_body(op: str, inp: str, flt: str, out: str, init: str) -> str:
    return (f"  func.func @main(%in: {inp}, %f: {flt}) -> {out} {{\n"
            f"    %init = arith.constant {init} : f32\n"
            f"    %e = tensor.empty() : {out}\n"
            f"    %acc = linalg.fill ins(%init : f32) outs(%e : {out}) -> {out}\n"
            f"    %r = {op} ins(%in, %f : {inp}, {flt}) outs(%acc : {out}) -> {out}\n"
            f"    return %r : {out}\n  }}\n")


class _ConvBase(Family):
    pipelines = ("ConvTileAndDecomposeExpert",)
    budget = (3e6, 1.2e8)  # FLOPs; IREE convs run at ~2-30 GFLOP/s here, shape-dependent

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        # No 1x1 filters: IREE rewrites those convs into matmuls and drops their
        # compilation_info (the matmul families cover that case).
        k = _window(rng, (3, 5, 7), (0.75, 0.15, 0.1))
        s = {"N": _batch(rng), **_spatial(rng, 112),
             "C": dim(rng, 3, 256), "F": dim(rng, 4, 256), "KH": k, "KW": k,
             "S": int(rng.choice([1, 1, 2]))}
        return s

    def size(self, s: dict[str, int]) -> float:
        return 2.0 * s["N"] * s["OH"] * s["OW"] * s["F"] * s["KH"] * s["KW"] * s["C"]


class Conv2dNhwc(_ConvBase):
    name = "conv2d_nhwc"
    root_op = "linalg.conv_2d_nhwc_hwcf"
    description = "out[N,OH,OW,F] = conv(in[N,IH,IW,C], filter[KH,KW,C,F]), f32"

    def _body(self, s: dict[str, int]) -> str:
        ih, iw = _in_size(s["OH"], s["KH"], s["S"]), _in_size(s["OW"], s["KW"], s["S"])
        inp = tensor([s["N"], ih, iw, s["C"]])
        flt = tensor([s["KH"], s["KW"], s["C"], s["F"]])
        out = tensor([s["N"], s["OH"], s["OW"], s["F"]])
        return _conv_body(f"linalg.conv_2d_nhwc_hwcf {_attrs(s)}", inp, flt, out,
                          "0.000000e+00")


class Conv2dNchw(_ConvBase):
    name = "conv2d_nchw"
    root_op = "linalg.conv_2d_nchw_fchw"
    budget = (3e6, 6e7)  # IREE's default NCHW convs are ~2x slower than NHWC ones here
    description = "out[N,F,OH,OW] = conv(in[N,C,IH,IW], filter[F,C,KH,KW]), f32"

    def _body(self, s: dict[str, int]) -> str:
        ih, iw = _in_size(s["OH"], s["KH"], s["S"]), _in_size(s["OW"], s["KW"], s["S"])
        inp = tensor([s["N"], s["C"], ih, iw])
        flt = tensor([s["F"], s["C"], s["KH"], s["KW"]])
        out = tensor([s["N"], s["F"], s["OH"], s["OW"]])
        return _conv_body(f"linalg.conv_2d_nchw_fchw {_attrs(s)}", inp, flt, out,
                          "0.000000e+00")


class DepthwiseConv(Family):
    name = "depthwise_conv"
    root_op = "linalg.depthwise_conv_2d_nhwc_hwc"
    pipelines = ("ConvTileAndDecomposeExpert",)
    budget = (1e6, 2e7)  # FLOPs; depthwise runs at only ~1-5 GFLOP/s here
    description = "out[N,OH,OW,C] = depthwise_conv(in[N,IH,IW,C], filter[KH,KW,C]), f32"

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        k = _window(rng, (3, 5), (0.75, 0.25))
        return {"N": _batch(rng), **_spatial(rng, 112), "C": dim(rng, 8, 768),
                "KH": k, "KW": k, "S": int(rng.choice([1, 1, 2]))}

    def size(self, s: dict[str, int]) -> float:
        return 2.0 * s["N"] * s["OH"] * s["OW"] * s["C"] * s["KH"] * s["KW"]

    def _body(self, s: dict[str, int]) -> str:
        ih, iw = _in_size(s["OH"], s["KH"], s["S"]), _in_size(s["OW"], s["KW"], s["S"])
        inp = tensor([s["N"], ih, iw, s["C"]])
        flt = tensor([s["KH"], s["KW"], s["C"]])
        out = tensor([s["N"], s["OH"], s["OW"], s["C"]])
        return _conv_body(f"linalg.depthwise_conv_2d_nhwc_hwc {_attrs(s)}", inp, flt, out,
                          "0.000000e+00")


class Pooling(Family):
    name = "pooling"
    root_op = "linalg.pooling_nhwc_max"  # or linalg.pooling_nhwc_sum when shape["SUM"] == 1
    pipelines = ("ConvTileAndDecomposeExpert",)
    budget = (1e5, 4e6)  # output elements x window
    description = "max or sum pooling over NHWC, window KHxKW, stride S, f32"

    def _draw(self, rng: np.random.Generator) -> dict[str, int]:
        k = _window(rng, (2, 3, 5), (0.4, 0.5, 0.1))
        return {"N": _batch(rng), **_spatial(rng, 112), "C": dim(rng, 3, 512),
                "KH": k, "KW": k, "S": int(rng.choice([1, 2, 2])), "SUM": int(rng.random() < 0.3)}

    def size(self, s: dict[str, int]) -> float:
        return float(s["N"] * s["OH"] * s["OW"] * s["C"] * s["KH"] * s["KW"])

    def _body(self, s: dict[str, int]) -> str:
        ih, iw = _in_size(s["OH"], s["KH"], s["S"]), _in_size(s["OW"], s["KW"], s["S"])
        inp = tensor([s["N"], ih, iw, s["C"]])
        win = tensor([s["KH"], s["KW"]])
        out = tensor([s["N"], s["OH"], s["OW"], s["C"]])
        kind = "sum" if s.get("SUM") else "max"
        init = "0.000000e+00" if kind == "sum" else "0xFF800000"  # 0xFF800000 is -inf
        # The window operand only carries the window's shape; its values are never read.
        return (f"  func.func @main(%in: {inp}) -> {out} {{\n"
                f"    %init = arith.constant {init} : f32\n"
                f"    %win = tensor.empty() : {win}\n"
                f"    %e = tensor.empty() : {out}\n"
                f"    %acc = linalg.fill ins(%init : f32) outs(%e : {out}) -> {out}\n"
                f"    %r = linalg.pooling_nhwc_{kind} {_attrs(s)} ins(%in, %win : {inp}, {win}) "
                f"outs(%acc : {out}) -> {out}\n"
                f"    return %r : {out}\n  }}\n")

    def root_name(self, shape: dict[str, int]) -> str:
        return "linalg.pooling_nhwc_sum" if shape.get("SUM") else "linalg.pooling_nhwc_max"
