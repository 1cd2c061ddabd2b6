"""tuner.v1.ScheduleService over a real server on an ephemeral port: TuneDispatch streams
progress and ends with a compilation_info; DispatchSpace + TunerService Suggest/Report +
CompilationInfo drive a loop where the client measures."""

from __future__ import annotations

import json

import grpc
import pytest

from proto.tuner.v1 import schedule_service_pb2 as pb
from proto.tuner.v1 import schedule_service_pb2_grpc as pb_grpc
from proto.tuner.v1 import tuner_service_pb2 as tpb
from proto.tuner.v1 import tuner_service_pb2_grpc as tpb_grpc
from service.config import ServerConfig
from service.server import Server
from tests.test_tuner_schedules import MATMUL


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("sched") / "studies.db"
    srv = Server(config=ServerConfig(port=0, store=f"sqlite:///{db}"))
    srv.start()
    yield srv
    srv.stop(0.5)


def test_tune_dispatch_streams_progress_and_best(server):
    stub = pb_grpc.ScheduleServiceStub(grpc.insecure_channel(server.address))
    msgs = list(stub.TuneDispatch(pb.TuneDispatchRequest(
        mlir=MATMUL, budget=3, seed=0, no_cost_model=True, universe=50), timeout=240))
    trials = [m.trial for m in msgs if m.WhichOneof("kind") == "trial"]
    assert [t.number for t in trials] == [1, 2, 3]
    assert trials[0].technique == "default" and trials[0].feasible
    final = msgs[-1]
    assert final.WhichOneof("kind") == "result"
    r = final.result
    assert r.root_op == "linalg.matmul" and r.trials == 3
    assert r.best_latency_s <= r.default_latency_s
    assert (r.compilation_info == "") == (json.loads(r.schedule_json)["pipeline"] is None)


def test_tune_dispatch_bad_input(server):
    stub = pb_grpc.ScheduleServiceStub(grpc.insecure_channel(server.address))
    with pytest.raises(grpc.RpcError) as e:
        list(stub.TuneDispatch(pb.TuneDispatchRequest(mlir="func.func @x(", budget=2,
                                                      no_cost_model=True), timeout=60))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_space_for_suggest_report_loop(server):
    ch = grpc.insecure_channel(server.address)
    sched, tuner = pb_grpc.ScheduleServiceStub(ch), tpb_grpc.TunerServiceStub(ch)
    space = sched.DispatchSpace(pb.DispatchSpaceRequest(mlir=MATMUL), timeout=120)
    assert list(space.loop_ranges) == [64, 64, 64]
    tuner.CreateStudy(tpb.CreateStudyRequest(name="matmul-tiles", space=space.space,
                                             strategy="ucb1"), timeout=30)
    trial = tuner.Suggest(tpb.SuggestRequest(study="matmul-tiles"), timeout=30)
    info = sched.CompilationInfo(pb.CompilationInfoRequest(mlir=MATMUL, params=trial.params),
                                 timeout=120)
    if info.invalid_reason:
        assert info.annotated_mlir == ""
    else:
        assert info.compilation_info.startswith("#iree_codegen.compilation_info<")
        assert "compilation_info" in info.annotated_mlir
    dflt = sched.CompilationInfo(pb.CompilationInfoRequest(
        mlir=MATMUL, params=space.default_params), timeout=120)
    assert dflt.invalid_reason == "" and "DoubleTilingExpert" in dflt.compilation_info
