"""tuner.v1 over a real server: studies, idempotent reports, durability, the solver pair."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2

from proto.tuner.v1 import tuner_service_pb2 as pb
from proto.tuner.v1 import tuner_service_pb2_grpc as pb_grpc
from service.config import ServerConfig
from service.server import Server



def _struct(d: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(d)
    return s


@pytest.fixture()
def stub_factory(tmp_path):
    servers = []

    def start() -> pb_grpc.TunerServiceStub:
        srv = Server(config=ServerConfig(port=0, store=f"sqlite:///{tmp_path / 'studies.db'}"))
        srv.start()
        servers.append(srv)
        return pb_grpc.TunerServiceStub(grpc.insecure_channel(srv.address))

    yield start, servers
    for s in servers:
        s.stop(0.5)


def test_study_lifecycle_idempotence_and_restart(stub_factory):
    start, servers = stub_factory
    stub = start()
    from tuner.space import Space, Categorical
    space = Space([Categorical("tile", (4, 8, 16, 32))]).to_dict()
    study = stub.CreateStudy(pb.CreateStudyRequest(name="tiles", space=_struct(space),
                                                   strategy="ucb1"), timeout=10)
    assert study.name == "tiles" and study.strategy == "ucb1" and not study.ended

    t1 = stub.Suggest(pb.SuggestRequest(study="tiles", client_id="ask-1"), timeout=10)
    again = stub.Suggest(pb.SuggestRequest(study="tiles", client_id="ask-1"), timeout=10)
    assert again.id == t1.id and dict(again.params) == dict(t1.params)
    r1 = stub.Report(pb.ReportRequest(study="tiles", trial_id=t1.id, value=2.5,
                                      client_id="rep-1"), timeout=10)
    r2 = stub.Report(pb.ReportRequest(study="tiles", trial_id=t1.id, value=2.5,
                                      client_id="rep-1"), timeout=10)
    assert r1.new and not r2.new
    with pytest.raises(grpc.RpcError) as err:
        stub.Report(pb.ReportRequest(study="tiles", trial_id=t1.id, value=9.0,
                                     client_id="rep-2"), timeout=10)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    t2 = stub.Suggest(pb.SuggestRequest(study="tiles"), timeout=10)
    stub.Report(pb.ReportRequest(study="tiles", trial_id=t2.id, value=1.0), timeout=10)
    best = stub.GetBest(pb.GetBestRequest(study="tiles"), timeout=10)
    assert best.id == t2.id and best.value == 1.0

    servers[0].stop(0.5)  # a restart keeps every acknowledged report
    stub = start()
    trials = stub.ListTrials(pb.ListTrialsRequest(study="tiles"), timeout=10).trials
    assert [(t.id, t.value) for t in trials] == [(t1.id, 2.5), (t2.id, 1.0)]
    ended = stub.EndStudy(pb.EndStudyRequest(study="tiles"), timeout=10)
    assert ended.ended
    with pytest.raises(grpc.RpcError) as err:
        stub.Suggest(pb.SuggestRequest(study="tiles"), timeout=10)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_errors_map_to_status_codes(stub_factory):
    start, _ = stub_factory
    stub = start()
    with pytest.raises(grpc.RpcError) as err:
        stub.Suggest(pb.SuggestRequest(study="nope"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        stub.CreateStudy(pb.CreateStudyRequest(name="bad", space=_struct({"params": "x"})),
                         timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        stub.ReportSolverOutcome(pb.ReportSolverOutcomeRequest(tuner="none", token="1",
                                                               iterations=5), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_solver_pair_suggests_grid_omegas_and_takes_reports(stub_factory):
    start, _ = stub_factory
    stub = start()
    seen = set()
    for i in range(30):
        s = stub.SuggestSolverParameters(pb.SuggestSolverParametersRequest(tuner="poisson"),
                                         timeout=10)
        assert 1.0 <= s.omega <= 1.95
        seen.add(round(s.omega, 3))
        iters = int(200 + 2000 * abs(s.omega - 1.8))  # a solver whose best omega is 1.8
        rep = stub.ReportSolverOutcome(pb.ReportSolverOutcomeRequest(
            tuner="poisson", token=s.token, iterations=iters), timeout=10)
        assert rep.new and not rep.censored
    capped = stub.SuggestSolverParameters(pb.SuggestSolverParametersRequest(tuner="poisson"),
                                          timeout=10)
    rep = stub.ReportSolverOutcome(pb.ReportSolverOutcomeRequest(
        tuner="poisson", token=capped.token, iterations=10_000), timeout=10)
    assert rep.censored  # hitting the cap is censored feedback
    ctx = stub.SuggestSolverParameters(pb.SuggestSolverParametersRequest(tuner="heat",
                                                                         context=0.5), timeout=10)
    assert 1.0 <= ctx.omega <= 1.95
    assert len(seen) > 1


def test_solver_pair_smooths_new_loops_and_resumes_old_ones_as_created(stub_factory, tmp_path):
    """A new non-contextual loop gets Tsallis-INF smoothed over the ordered omegas; a loop
    stored before that default (plain Tsallis-INF) resumes with its own configuration."""
    from tuner.solver.tuner import ORDERED_TSALLIS, SolverTuner
    from tuner.store import open_storage

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    old = SolverTuner(url, name="solver:old", strategy="tsallis_inf")
    omega, token = old.suggest()
    old.report(token, 321)
    start, servers = stub_factory
    stub = start()
    for tuner in ("old", "new"):
        s = stub.SuggestSolverParameters(pb.SuggestSolverParametersRequest(tuner=tuner),
                                         timeout=10)
        rep = stub.ReportSolverOutcome(pb.ReportSolverOutcomeRequest(
            tuner=tuner, token=s.token, iterations=250), timeout=10)
        assert rep.new
    store = open_storage(url)
    assert store.get_study("solver:old").config["options"] == {}
    assert store.get_study("solver:new").config["options"] == ORDERED_TSALLIS
    assert len(list(store.events(store.get_study("solver:old").id))) == 4  # 2 asks + 2 tells
