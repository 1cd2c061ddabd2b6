"""Predict and the model RPCs on a real server, with a model trained on real measurements."""

from __future__ import annotations

import shutil

import grpc
import pytest

from costmodel.programs import FAMILIES, Schedule, sample_schedules
from proto.costmodel.v1 import costmodel_service_pb2 as pb
from proto.costmodel.v1 import costmodel_service_pb2_grpc as pb_grpc
from service.config import ServerConfig
from service.server import Server

import numpy as np


@pytest.fixture(scope="module")
def served(model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(model_dir, root / "default")
    # models/ also holds artifacts that are not cost models: they are not listed.
    (root / "memory-agent").mkdir()
    (root / "memory-agent" / "manifest.json").write_text('{"format": "memory-agent/1"}')
    srv = Server(config=ServerConfig(port=0, models=str(root), admin_token="adm1n"))
    srv.start()
    with grpc.insecure_channel(srv.address) as ch:
        yield pb_grpc.CostModelServiceStub(ch)
    srv.stop(0.5)


def _schedule_msg(s: Schedule) -> pb.Schedule:
    msg = pb.Schedule(pipeline=s.pipeline or "")
    for name, sizes in s.levels:
        msg.levels.add(name=name, sizes=list(sizes))
    msg.flags.update({"peeling": s.peeling, "data_tiling": s.data_tiling,
                      "ukernels": s.ukernels})
    return msg


def test_list_and_get_models(served):
    models = served.ListModels(pb.ListModelsRequest(), timeout=10).models
    assert [m.name for m in models] == ["default"]
    assert list(models[0].labels) == ["stable"]
    info = served.GetModel(pb.GetModelRequest(model="stable"), timeout=10)
    assert info.name == "default" and "latency" in info.targets and info.feature_schema
    with pytest.raises(grpc.RpcError) as err:
        served.GetModel(pb.GetModelRequest(model="nope"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_predict_candidates_with_intervals(served):
    fam = FAMILIES["matmul"]
    shape = {"M": 48, "N": 40, "K": 56}
    scheds = sample_schedules(fam, shape, np.random.default_rng(0), 6)
    req = pb.PredictRequest(mlir=fam.render(shape), schedules=[_schedule_msg(s) for s in scheds])
    resp = served.Predict(req, timeout=60)
    assert resp.model == "default" and len(resp.candidates) == len(scheds)
    assert 0 < resp.coverage < 1
    for cand in resp.candidates:
        by = {t.target: t for t in cand.targets}
        assert set(by) == {"latency", "instructions", "spills", "code_size"}
        assert by["latency"].value > 0
        for t in cand.targets:
            assert t.lower <= t.value <= t.upper
    only = served.Predict(pb.PredictRequest(mlir=fam.render(shape), targets=["latency"]),
                          timeout=60)
    assert len(only.candidates) == 1 and [t.target for t in only.candidates[0].targets] == ["latency"]
    stream = list(served.PredictStream(iter([req, req, req]), timeout=60))
    assert len(stream) == 3
    assert [c.targets[0].value for c in stream[2].candidates] == \
        [c.targets[0].value for c in resp.candidates]


def test_predict_errors(served):
    with pytest.raises(grpc.RpcError) as err:
        served.Predict(pb.PredictRequest(mlir="func.func @f( {"), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1:" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        served.Predict(pb.PredictRequest(mlir=FAMILIES["matmul"].render({"M": 8, "N": 8, "K": 8}),
                                         model="canary"), timeout=30)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        served.Predict(pb.PredictRequest(mlir=FAMILIES["matmul"].render({"M": 8, "N": 8, "K": 8}),
                                         targets=["energy"]), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_reload_is_admin_only(served):
    with pytest.raises(grpc.RpcError) as err:
        served.ReloadModel(pb.ReloadModelRequest(model="default"), timeout=30)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    info = served.ReloadModel(pb.ReloadModelRequest(model="default"), timeout=60,
                              metadata=(("authorization", "Bearer adm1n"),))
    assert info.name == "default"


def test_concurrent_predicts_are_batched_without_mixing_results(served):
    from concurrent.futures import ThreadPoolExecutor

    fam = FAMILIES["matmul"]
    shape = {"M": 40, "N": 24, "K": 72}
    scheds = sample_schedules(fam, shape, np.random.default_rng(1), 8)
    reqs = [pb.PredictRequest(mlir=fam.render(shape), schedules=[_schedule_msg(s)])
            for s in scheds] * 4
    sequential = [served.Predict(r, timeout=60).candidates[0].targets[0].value for r in reqs]
    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(lambda r: served.Predict(r, timeout=60), reqs))
    assert [r.candidates[0].targets[0].value for r in together] == sequential


def test_batcher_stacks_concurrent_rows_and_keeps_them_apart(model_dir):
    from concurrent.futures import ThreadPoolExecutor

    from costmodel.model.artifact import load
    from service.batching import Batcher

    model = load(model_dir)
    fam = FAMILIES["matmul"]
    shape = {"M": 48, "N": 40, "K": 24}
    scheds = sample_schedules(fam, shape, np.random.default_rng(2), 12)
    x = model.features(model.kernel(fam.render(shape)), scheds)
    direct = model.predict(features=x).values["latency"]
    batcher = Batcher(model)
    order = list(range(len(x))) * 6
    with ThreadPoolExecutor(12) as pool:
        outs = list(pool.map(lambda i: batcher.predict(x[i:i + 1]).values["latency"][0], order))
    for i, v in zip(order, outs):
        assert v == pytest.approx(direct[i], rel=1e-5)
    assert batcher.rows == len(order)
    assert 1 <= batcher.batches <= len(order)


def test_repeated_predicts_are_served_from_the_cache_until_a_reload(served):
    fam = FAMILIES["transpose"]
    shape = fam.sample_shape(np.random.default_rng(5))
    req = pb.PredictRequest(mlir=fam.render(shape))
    first = served.Predict(req, timeout=60)
    # Whitespace-only changes keep the canonical IR hash: same cached answer.
    again = served.Predict(pb.PredictRequest(mlir="  " + fam.render(shape).replace("\n", "\n ")),
                           timeout=60)
    assert again == first
    served.ReloadModel(pb.ReloadModelRequest(model="default"), timeout=60,
                       metadata=(("authorization", "Bearer adm1n"),))
    assert served.Predict(req, timeout=60) == first  # recomputed by the reloaded model
