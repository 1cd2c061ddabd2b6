"""memory.v1: MemoryService.MapMemory and the mallocGame MemoryEnvironmentService.
Thin glue over tuner.memory.service."""

from __future__ import annotations

import grpc
import numpy as np

from costmodel.ir.onnx_import import onnx_to_linalg
from proto.memory.v1 import memory_service_pb2 as pb
from proto.memory.v1 import memory_service_pb2_grpc as pb_grpc
from service.config import ServerConfig
from service.errors import StatusError, handle_errors
from tuner.memory.game import BUFFER_FEATURES, MallocGame
from tuner.memory.hardware import Instance
from tuner.memory.service import SessionRegistry, load_problem, make_hardware, solve

_HW_FIELDS = {"capacity_bytes": "capacity_bytes", "fast_bandwidth": "fast_bw",
              "slow_bandwidth": "slow_bw", "peak_flops": "peak_flops", "slots": "slots",
              "prefetch_window": "prefetch_window"}


def _problem_from(request) -> tuple:
    which = request.WhichOneof("program")
    if which == "mlir":
        return load_problem(ir_text=request.mlir, name="mlir"), None
    if which == "onnx":
        return load_problem(ir_text=onnx_to_linalg(request.onnx, filename="<onnx>"), name="onnx"), None
    if which == "problem":
        p = request.problem
        d = {"name": p.name or "problem", "op_names": list(p.op_names), "flops": list(p.flops),
             "buffers": [{"name": b.name, "size": b.size, "start": b.start, "end": b.end,
                          "kind": b.kind or "temp", "prefetch": b.prefetch, "evict": b.evict}
                         for b in p.buffers],
             "reads": [[a.op, a.buffer, a.bytes] for a in p.reads],
             "writes": [[a.op, a.buffer, a.bytes] for a in p.writes]}
        return load_problem(problem=d), None
    raise StatusError(grpc.StatusCode.INVALID_ARGUMENT, "give mlir, onnx or problem")


def _instance(request) -> Instance:
    prob, _ = _problem_from(request)
    h = request.hardware
    fields = {"name": h.preset or "scratchpad-256k"}
    fields.update({ours: getattr(h, theirs) for theirs, ours in _HW_FIELDS.items()})
    hw = make_hardware(prob, fields, capacity_fraction=h.capacity_fraction or None)
    return Instance(prob, hw)


def _hw_msg(hw) -> pb.Hardware:
    return pb.Hardware(preset=hw.name, capacity_bytes=hw.capacity_bytes, fast_bandwidth=hw.fast_bw,
                       slow_bandwidth=hw.slow_bw, peak_flops=hw.peak_flops, slots=hw.slots,
                       prefetch_window=hw.prefetch_window)


def _observation(game: MallocGame) -> pb.Observation:
    obs = game.observation()
    return pb.Observation(n_ops=game.inst.T, slots=game.inst.slots,
                          occupancy=np.ascontiguousarray(obs["occupancy"], dtype=np.uint8).tobytes(),
                          feature_names=list(BUFFER_FEATURES),
                          buffer_features=obs["buffers"].ravel().tolist(),
                          current_buffer=obs["current"], legal_actions=obs["legal"].tolist(),
                          step=game.step_index, episode_length=len(game.order))


class MemoryServicer(pb_grpc.MemoryServiceServicer):
    @handle_errors
    def MapMemory(self, request: pb.MapMemoryRequest, context) -> pb.MapMemoryResponse:
        inst = _instance(request)
        a = solve(inst, request.agent or "rl", ilp_time_limit=request.ilp_time_limit_s or 60.0)
        bufs = [pb.BufferPlacement(name=b.name, size=b.size, start=b.start, end=b.end, kind=b.kind,
                                   fast=bool(o >= 0), offset_slot=int(o),
                                   offset_bytes=int(o * inst.granule) if o >= 0 else -1)
                for b, o in zip(inst.problem.buffers, a.offsets)]
        return pb.MapMemoryResponse(agent=a.agent, buffers=bufs, predicted_runtime_us=a.runtime_us,
                                    allslow_runtime_us=a.allslow_us, predicted_speedup=a.speedup,
                                    hardware=_hw_msg(inst.hw), n_ops=inst.T, cpu_seconds=a.cpu_s)


class MemoryEnvironmentServicer(pb_grpc.MemoryEnvironmentServiceServicer):
    def __init__(self) -> None:
        self.sessions = SessionRegistry()

    def _game(self, sid: str, *, end: bool = False) -> MallocGame:
        try:
            return self.sessions.end(sid) if end else self.sessions.get(sid)
        except KeyError:
            raise StatusError(grpc.StatusCode.NOT_FOUND, f"no session {sid!r}") from None

    @handle_errors
    def StartSession(self, request: pb.StartSessionRequest, context) -> pb.StartSessionResponse:
        sid, game = self.sessions.start(_instance(request))
        return pb.StartSessionResponse(session_id=sid, observation=_observation(game),
                                       n_actions=game.n_actions, slow_action=game.slow_action,
                                       allslow_runtime_us=game.inst.allslow, n_buffers=game.inst.n)

    @handle_errors
    def Step(self, request: pb.StepRequest, context) -> pb.StepResponse:
        game = self._game(request.session_id)
        reward = game.step(request.action)
        return pb.StepResponse(observation=_observation(game), reward=reward, done=game.done,
                               runtime_us=game.runtime_us)

    @handle_errors
    def EndSession(self, request: pb.EndSessionRequest, context) -> pb.EndSessionResponse:
        game = self._game(request.session_id, end=True)
        a = game.assignment("env")
        return pb.EndSessionResponse(offsets=[int(o) for o in a.offsets], runtime_us=a.runtime_us,
                                     allslow_runtime_us=a.allslow_us, speedup=a.speedup,
                                     steps=game.step_index)


def register(server: grpc.Server, config: ServerConfig) -> str:
    """Add MemoryService; returns its full name (for reflection)."""
    pb_grpc.add_MemoryServiceServicer_to_server(MemoryServicer(), server)
    return pb.DESCRIPTOR.services_by_name["MemoryService"].full_name


def register_environment(server: grpc.Server, config: ServerConfig) -> str:
    """Add MemoryEnvironmentService; returns its full name (for reflection)."""
    pb_grpc.add_MemoryEnvironmentServiceServicer_to_server(MemoryEnvironmentServicer(), server)
    return pb.DESCRIPTOR.services_by_name["MemoryEnvironmentService"].full_name
