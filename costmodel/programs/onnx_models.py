"""Small real-model architectures built in code with onnx.helper (nothing is downloaded).

Each builder returns serialized ONNX bytes (opset 17) with float32 initializers drawn
from a fixed seed, so the same bytes come out on every call. Shapes are static and
small, so every dispatch of every model compiles in about a second and runs in
microseconds to milliseconds.
"""

from __future__ import annotations

import functools

from collections.abc import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class _Graph:
    """Tiny helper that names values and collects nodes and seeded initializers."""

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def weight(self, shape: tuple[int, ...], scale: float | None = None, hint: str = "w") -> str:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        scale = scale if scale is not None else 1.0 / np.sqrt(max(fan_in, 1))
        arr = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        return self.const(arr, hint)

    def const(self, arr: np.ndarray, hint: str = "c") -> str:
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs) -> str:
        out = self.fresh(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    # -- layers ------------------------------------------------------------------------
    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1,
             bias: bool = True) -> str:
        w = self.weight((cout, cin // group, k, k), hint="conv_w")
        ins = [x, w] + ([self.weight((cout,), 0.1, "conv_b")] if bias else [])
        pad = k // 2
        return self.op("Conv", ins, kernel_shape=[k, k], strides=[stride, stride],
                       pads=[pad, pad, pad, pad], group=group)

    def batchnorm(self, x: str, c: int) -> str:
        scale = self.const((1.0 + 0.1 * self.rng.standard_normal(c)).astype(np.float32), "bn_s")
        b = self.const((0.1 * self.rng.standard_normal(c)).astype(np.float32), "bn_b")
        mean = self.const((0.1 * self.rng.standard_normal(c)).astype(np.float32), "bn_m")
        var = self.const((1.0 + 0.1 * self.rng.random(c)).astype(np.float32), "bn_v")
        return self.op("BatchNormalization", [x, scale, b, mean, var], epsilon=1e-5)

    def linear(self, x: str, din: int, dout: int) -> str:
        """x[..., din] @ W[din, dout] + b (MatMul + Add, as exporters emit for 3-D inputs)."""
        y = self.op("MatMul", [x, self.weight((din, dout), hint="fc_w")])
        return self.op("Add", [y, self.weight((dout,), 0.1, "fc_b")])

    def layernorm(self, x: str, d: int) -> str:
        g = self.const((1.0 + 0.1 * self.rng.standard_normal(d)).astype(np.float32), "ln_g")
        b = self.const((0.1 * self.rng.standard_normal(d)).astype(np.float32), "ln_b")
        return self.op("LayerNormalization", [x, g, b], axis=-1, epsilon=1e-5)

    def relu6(self, x: str) -> str:
        return self.op("Clip", [x, self.const(np.float32(0.0), "lo"),
                                self.const(np.float32(6.0), "hi")])

    def gelu(self, x: str) -> str:
        """Exact GELU as exporters write it: 0.5 * x * (1 + erf(x / sqrt(2)))."""
        t = self.op("Div", [x, self.const(np.float32(np.sqrt(2.0)), "sqrt2")])
        t = self.op("Erf", [t])
        t = self.op("Add", [t, self.const(np.float32(1.0), "one")])
        t = self.op("Mul", [x, t])
        return self.op("Mul", [t, self.const(np.float32(0.5), "half")])

    def build(self, x_name: str, x_shape: list[int], y: str) -> bytes:
        graph = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info(x_name, TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(y, TensorProto.FLOAT, None)],
            initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="costmodel.programs")
        model.ir_version = 8  # readable by every onnx release that has opset 17
        model = onnx.shape_inference.infer_shapes(model)
        onnx.checker.check_model(model)
        return model.SerializeToString()


def small_cnn() -> bytes:
    """conv3x3-relu-maxpool, conv3x3-relu, global average pool, linear: a CIFAR-sized CNN."""
    g = _Graph("small_cnn", seed=1)
    x = "input"
    h = g.op("Relu", [g.conv(x, 3, 16, 3)])
    h = g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Relu", [g.conv(h, 16, 32, 3)])
    h = g.op("GlobalAveragePool", [h])
    h = g.op("Flatten", [h], axis=1)
    y = g.op("Gemm", [h, g.weight((10, 32), hint="fc_w"), g.weight((10,), 0.1, "fc_b")],
             transB=1)
    return g.build(x, [1, 3, 32, 32], y)


def resnet_block() -> bytes:
    """A ResNet basic block: conv-bn-relu-conv-bn, identity shortcut, add, relu."""
    g = _Graph("resnet_block", seed=2)
    x, c = "input", 32
    h = g.op("Relu", [g.batchnorm(g.conv(x, c, c, 3, bias=False), c)])
    h = g.batchnorm(g.conv(h, c, c, 3, bias=False), c)
    y = g.op("Relu", [g.op("Add", [h, x])])
    return g.build(x, [1, c, 28, 28], y)


def mlp() -> bytes:
    """A 3-layer MLP classifier on a batch of 8: gemm-relu, gemm-gelu, gemm, softmax."""
    g = _Graph("mlp", seed=3)
    x = "input"
    h = g.op("Relu", [g.op("Gemm", [x, g.weight((256, 512)), g.weight((512,), 0.1)])])
    h = g.gelu(g.op("Gemm", [h, g.weight((512, 512)), g.weight((512,), 0.1)]))
    h = g.op("Gemm", [h, g.weight((512, 10)), g.weight((10,), 0.1)])
    y = g.op("Softmax", [h], axis=-1)
    return g.build(x, [8, 256], y)


def transformer_encoder(seq: int = 64, d: int = 128, heads: int = 4, ff: int = 256) -> bytes:
    """A pre-LN transformer encoder block: LN, 4-head self-attention, residual, LN,
    GELU MLP, residual."""
    g = _Graph("transformer_encoder", seed=4)
    x = "input"
    hd = d // heads
    h = g.layernorm(x, d)
    split = g.const(np.array([1, seq, heads, hd], dtype=np.int64), "shape")

    def heads_first(t: str) -> str:  # [1, S, D] -> [1, H, S, hd]
        return g.op("Transpose", [g.op("Reshape", [t, split])], perm=[0, 2, 1, 3])

    q = heads_first(g.linear(h, d, d))
    k = heads_first(g.linear(h, d, d))
    v = heads_first(g.linear(h, d, d))
    kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
    s = g.op("Div", [g.op("MatMul", [q, kt]), g.const(np.float32(np.sqrt(hd)), "scale")])
    p = g.op("Softmax", [s], axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.const(np.array([1, seq, d], dtype=np.int64), "shape")])
    h1 = g.op("Add", [x, g.linear(o, d, d)])
    m = g.linear(g.gelu(g.linear(g.layernorm(h1, d), d, ff)), ff, d)
    y = g.op("Add", [h1, m])
    return g.build(x, [1, seq, d], y)


def mobilenet_block(c: int = 32, expand: int = 3, hw: int = 56) -> bytes:
    """A MobileNetV2 inverted residual: 1x1 expand + ReLU6, 3x3 depthwise + ReLU6,
    1x1 linear projection, residual add."""
    g = _Graph("mobilenet_block", seed=5)
    x = "input"
    ce = c * expand
    h = g.relu6(g.batchnorm(g.conv(x, c, ce, 1, bias=False), ce))
    h = g.relu6(g.batchnorm(g.conv(h, ce, ce, 3, group=ce, bias=False), ce))
    h = g.batchnorm(g.conv(h, ce, c, 1, bias=False), c)
    y = g.op("Add", [h, x])
    return g.build(x, [1, c, hw, hw], y)


def gated_mlp(tokens: int = 48, d: int = 160, ff: int = 384, classes: int = 20) -> bytes:
    """A SwiGLU feed-forward block on a token sequence (LLaMA-style: LN, gate and up
    projections, SiLU(gate) * up, down projection, residual) and a mean-pooled classifier."""
    g = _Graph("gated_mlp", seed=6)
    x = "input"
    h = g.layernorm(x, d)
    gate = g.linear(h, d, ff)
    up = g.linear(h, d, ff)
    a = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])
    y = g.op("Add", [x, g.linear(a, ff, d)])
    pooled = g.op("ReduceMean", [y], axes=[1], keepdims=0)
    out = g.op("Gemm", [pooled, g.weight((d, classes), hint="fc_w"),
                        g.weight((classes,), 0.1, "fc_b")])
    return g.build(x, [1, tokens, d], out)


def cross_attention(queries: int = 16, memory: int = 80, d: int = 64, heads: int = 2) -> bytes:
    """Decoder-style cross-attention: queries from the input attend over a fixed memory of
    another length (an initializer, as for cached encoder states), output projection,
    residual and LN."""
    g = _Graph("cross_attention", seed=7)
    x = "input"
    hd = d // heads
    mem = g.weight((1, memory, d), 1.0, "memory")
    q = g.linear(x, d, d)
    k = g.op("Add", [g.op("MatMul", [mem, g.weight((d, d), hint="k_w")]),
                     g.weight((d,), 0.1, "k_b")])
    v = g.op("Add", [g.op("MatMul", [mem, g.weight((d, d), hint="v_w")]),
                     g.weight((d,), 0.1, "v_b")])

    def heads_first(t: str, n: int) -> str:  # [1, n, D] -> [1, H, n, hd]
        shape = g.const(np.array([1, n, heads, hd], dtype=np.int64), "shape")
        return g.op("Transpose", [g.op("Reshape", [t, shape])], perm=[0, 2, 1, 3])

    qh, kh, vh = heads_first(q, queries), heads_first(k, memory), heads_first(v, memory)
    kt = g.op("Transpose", [kh], perm=[0, 1, 3, 2])
    s = g.op("Div", [g.op("MatMul", [qh, kt]), g.const(np.float32(np.sqrt(hd)), "scale")])
    p = g.op("Softmax", [s], axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [p, vh])], perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.const(np.array([1, queries, d], dtype=np.int64), "shape")])
    y = g.layernorm(g.op("Add", [x, g.linear(o, d, d)]), d)
    return g.build(x, [1, queries, d], y)


REAL_MODELS: dict[str, Callable[[], bytes]] = {
    "small_cnn": small_cnn,
    "resnet_block": resnet_block,
    "mlp": mlp,
    "transformer_encoder": transformer_encoder,
    "mobilenet_block": mobilenet_block,
    # Size variants: the same architectures at other widths give other dispatch shapes.
    "transformer_encoder_wide": functools.partial(transformer_encoder, seq=96, d=192, heads=6,
                                                  ff=384),
    "mobilenet_block_narrow": functools.partial(mobilenet_block, c=48, expand=4, hw=28),
    # Two more architectures, added for the schedule prior: more real dispatches of models
    # unlike the others to learn from (held out by model in `tuner bench schedules`).
    "gated_mlp": gated_mlp,
    "cross_attention": cross_attention,
}
