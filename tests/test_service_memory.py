"""memory.v1 over a real server on an ephemeral port: MapMemory with real IR, and a full
mallocGame episode through the environment service."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from costmodel.ir import onnx_to_linalg
from costmodel.programs.onnx_models import REAL_MODELS
from proto.memory.v1 import memory_service_pb2 as pb
from proto.memory.v1 import memory_service_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def cnn_onnx() -> bytes:
    return REAL_MODELS["small_cnn"]()


@pytest.fixture(scope="module")
def cnn_mlir(cnn_onnx) -> str:
    return onnx_to_linalg(cnn_onnx, filename="small_cnn.onnx")


def _check_packing(buffers, slots: int, granule: float, capacity: int) -> None:
    fast = [b for b in buffers if b.fast]
    n_ops = max(b.end for b in buffers) + 1
    for t in range(n_ops):
        # the slot ranges of fast buffers live at op t (windows include prefetch/evict ops,
        # so this conservative check uses the use range only)
        live = [b for b in fast if b.start <= t <= b.end]
        assert sum(b.size for b in live) <= capacity
        spans = sorted((b.offset_slot, b.offset_slot + int(np.ceil(b.size / granule - 1e-9)))
                       for b in live)
        for (a0, a1), (b0, _) in zip(spans, spans[1:]):
            assert a1 <= b0
        assert all(hi <= slots for _, hi in spans)


def test_map_memory_with_real_ir(channel, cnn_mlir, cnn_onnx):
    stub = pb_grpc.MemoryServiceStub(channel)
    hw = pb.Hardware(preset="scratchpad-256k", capacity_fraction=0.3)
    res = {}
    for agent in ("greedy", "rl", "ilp"):
        r = stub.MapMemory(pb.MapMemoryRequest(mlir=cnn_mlir, hardware=hw, agent=agent), timeout=120)
        res[agent] = r
        assert r.predicted_speedup == pytest.approx(r.allslow_runtime_us / r.predicted_runtime_us)
        assert r.predicted_speedup >= 1.0 and any(b.fast for b in r.buffers)
        assert len(r.buffers) > 10 and r.n_ops > 5
        h = r.hardware
        _check_packing(r.buffers, h.slots, h.capacity_bytes / h.slots, h.capacity_bytes)
    assert res["rl"].predicted_runtime_us <= res["greedy"].predicted_runtime_us + 1e-9
    assert res["ilp"].predicted_runtime_us <= res["rl"].predicted_runtime_us + 1e-6
    # ONNX bytes go through the importer to the same problem
    r = stub.MapMemory(pb.MapMemoryRequest(onnx=cnn_onnx, hardware=hw, agent="greedy"), timeout=120)
    assert r.predicted_runtime_us == pytest.approx(res["greedy"].predicted_runtime_us)


def test_map_memory_errors(channel):
    stub = pb_grpc.MemoryServiceStub(channel)
    with pytest.raises(grpc.RpcError) as e:
        stub.MapMemory(pb.MapMemoryRequest(mlir="func.func @f() {\n  %0 = foo\n}"), timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and ":2:" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        stub.MapMemory(pb.MapMemoryRequest(hardware=pb.Hardware(preset="scratchpad-256k")), timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        stub.MapMemory(pb.MapMemoryRequest(problem=pb.Problem(op_names=["a"]),
                                           hardware=pb.Hardware(preset="nope")), timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_environment_full_episode(channel, cnn_mlir):
    env = pb_grpc.MemoryEnvironmentServiceStub(channel)
    start = env.StartSession(pb.StartSessionRequest(
        mlir=cnn_mlir, hardware=pb.Hardware(preset="scratchpad-256k", capacity_fraction=0.4)),
        timeout=60)
    obs = start.observation
    assert start.n_actions == obs.slots + 1 == start.slow_action + 1
    assert len(obs.occupancy) == obs.n_ops * obs.slots
    assert len(obs.buffer_features) == start.n_buffers * len(obs.feature_names)
    # a masked action is refused and does not advance the game
    illegal = [i for i, ok in enumerate(obs.legal_actions) if not ok]
    if illegal:
        with pytest.raises(grpc.RpcError) as e:
            env.Step(pb.StepRequest(session_id=start.session_id, action=illegal[0]), timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    total, steps, done = 0.0, 0, False
    while not done:
        legal = [i for i, ok in enumerate(obs.legal_actions) if ok]
        action = legal[0]  # lowest free offset, slow memory when nothing fits
        step = env.Step(pb.StepRequest(session_id=start.session_id, action=action), timeout=10)
        total += step.reward
        steps += 1
        obs, done = step.observation, step.done
    assert steps == obs.episode_length and obs.current_buffer == -1
    occ = np.frombuffer(obs.occupancy, dtype=np.uint8).reshape(obs.n_ops, obs.slots)
    assert occ.any()
    end = env.EndSession(pb.EndSessionRequest(session_id=start.session_id), timeout=10)
    assert end.steps == steps and len(end.offsets) == start.n_buffers
    assert end.speedup > 1.0
    assert total == pytest.approx(1 - end.runtime_us / end.allslow_runtime_us, abs=1e-9)
    with pytest.raises(grpc.RpcError) as e:
        env.Step(pb.StepRequest(session_id=start.session_id, action=0), timeout=10)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
