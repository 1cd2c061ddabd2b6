"""Real-model programs for memory mapping: the REAL_MODELS architectures at other widths,
depths and batch sizes, built as ONNX in code, imported and lowered to linalg by IREE, and
turned into problems. Problems are cached as JSON (keyed by the ONNX bytes' hash), since
an import takes about a second.

The bench set and the training set use disjoint sizes, so the agent is scored on programs
it never played during training.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from costmodel.programs import onnx_models as om
from costmodel.programs.onnx_models import REAL_MODELS, _Graph
from tuner.memory.problem import MemoryProblem, problem_from_mlir


def mlp(batch: int = 8, din: int = 256, hidden: int = 512, depth: int = 3, seed: int = 3) -> bytes:
    """Gemm-ReLU layers and a softmax classifier head."""
    g = _Graph(f"mlp_b{batch}_h{hidden}_d{depth}", seed=seed)
    h, d = "input", din
    for _ in range(depth - 1):
        h = g.op("Relu", [g.op("Gemm", [h, g.weight((d, hidden)), g.weight((hidden,), 0.1)])])
        d = hidden
    h = g.op("Gemm", [h, g.weight((d, 10)), g.weight((10,), 0.1)])
    return g.build("input", [batch, din], g.op("Softmax", [h], axis=-1))


def resnet(c: int = 32, hw: int = 28, blocks: int = 2, seed: int = 2) -> bytes:
    """A stack of ResNet basic blocks (conv-bn-relu-conv-bn, identity shortcut, relu)."""
    g = _Graph(f"resnet_c{c}_hw{hw}_b{blocks}", seed=seed)
    x = "input"
    h = x
    for _ in range(blocks):
        y = g.op("Relu", [g.batchnorm(g.conv(h, c, c, 3, bias=False), c)])
        y = g.batchnorm(g.conv(y, c, c, 3, bias=False), c)
        h = g.op("Relu", [g.op("Add", [y, h])])
    return g.build(x, [1, c, hw, hw], h)


def cnn(width: int = 16, hw: int = 32, seed: int = 1) -> bytes:
    """small_cnn at another width and resolution."""
    g = _Graph(f"cnn_w{width}_hw{hw}", seed=seed)
    h = g.op("Relu", [g.conv("input", 3, width, 3)])
    h = g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Relu", [g.conv(h, width, 2 * width, 3)])
    h = g.op("Flatten", [g.op("GlobalAveragePool", [h])], axis=1)
    y = g.op("Gemm", [h, g.weight((10, 2 * width), hint="fc_w"), g.weight((10,), 0.1, "fc_b")],
             transB=1)
    return g.build("input", [1, 3, hw, hw], y)


P = functools.partial
T, M = om.transformer_encoder, om.mobilenet_block

#: 24 programs scored by `tuner bench memory`.
BENCH_PROGRAMS: dict[str, Callable[[], bytes]] = {
    **REAL_MODELS,
    "transformer_s32_d64": P(T, seq=32, d=64, heads=2, ff=128),
    "transformer_s128_d64": P(T, seq=128, d=64, heads=4, ff=256),
    "transformer_s64_d96": P(T, seq=64, d=96, heads=3, ff=192),
    "mobilenet_c16_e6_hw28": P(M, c=16, expand=6, hw=28),
    "mobilenet_c24_e4_hw40": P(M, c=24, expand=4, hw=40),
    "mobilenet_c64_e2_hw14": P(M, c=64, expand=2, hw=14),
    "mobilenet_c32_e6_hw20": P(M, c=32, expand=6, hw=20),
    "mlp_b32_h256_d3": P(mlp, batch=32, din=128, hidden=256, depth=3),
    "mlp_b4_h1024_d2": P(mlp, batch=4, din=256, hidden=1024, depth=2),
    "mlp_b64_h128_d4": P(mlp, batch=64, din=64, hidden=128, depth=4),
    "resnet_c16_hw32_b2": P(resnet, c=16, hw=32, blocks=2),
    "resnet_c64_hw14_b1": P(resnet, c=64, hw=14, blocks=1),
    "resnet_c32_hw16_b3": P(resnet, c=32, hw=16, blocks=3),
    "cnn_w8_hw64": P(cnn, width=8, hw=64),
    "cnn_w32_hw32": P(cnn, width=32, hw=32),
}

#: Self-play programs: the same architectures at sizes the bench does not use.
TRAIN_PROGRAMS: dict[str, Callable[[], bytes]] = {
    "transformer_s48_d80": P(T, seq=48, d=80, heads=2, ff=160),
    "transformer_s16_d128": P(T, seq=16, d=128, heads=4, ff=512),
    "mobilenet_c8_e6_hw48": P(M, c=8, expand=6, hw=48),
    "mobilenet_c40_e3_hw24": P(M, c=40, expand=3, hw=24),
    "mlp_b16_h384_d2": P(mlp, batch=16, din=192, hidden=384, depth=2),
    "mlp_b8_h256_d5": P(mlp, batch=8, din=512, hidden=256, depth=5),
    "resnet_c24_hw20_b2": P(resnet, c=24, hw=20, blocks=2),
    "resnet_c48_hw12_b1": P(resnet, c=48, hw=12, blocks=1),
    "cnn_w16_hw48": P(cnn, width=16, hw=48),
    "cnn_w12_hw40": P(cnn, width=12, hw=40),
}


def cache_dir() -> Path:
    base = os.environ.get("TUNER_CACHE_DIR") or Path.home() / ".cache" / "costmodel-tuner"
    return Path(base) / "memory"


def load_program(name: str, builder: Callable[[], bytes]) -> MemoryProblem:
    """The problem of one program, imported through IREE once and cached as JSON."""
    from costmodel.ir.onnx_import import onnx_to_linalg

    data = builder()
    key = hashlib.sha256(data).hexdigest()[:16]
    path = cache_dir() / f"{name}-{key}.json"
    if path.exists():
        try:
            return MemoryProblem.from_dict(json.loads(path.read_text()))
        except Exception:  # noqa: BLE001 -- a torn, stale or foreign cache file: rebuild it
            pass
    prob = problem_from_mlir(onnx_to_linalg(data, filename=f"{name}.onnx"), name=name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(prob.to_dict()))
    tmp.replace(path)
    return prob


def load_set(programs: dict[str, Callable[[], bytes]], progress: bool = False) -> list[MemoryProblem]:
    items = list(programs.items())
    if progress:
        import sys

        from tqdm import tqdm
        items = tqdm(items, desc="importing programs", unit="prog", file=sys.stderr, leave=False)
    return [load_program(n, f) for n, f in items]
