"""The gRPC service, served for real on loopback: health, reflection and Analyze."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from costmodel.cli_args import CHECKOUT
from proto.costmodel.v1 import costmodel_service_pb2 as pb
from proto.costmodel.v1 import costmodel_service_pb2_grpc as pb_grpc
from tests.test_onnx import mlp_model

MATMUL = """func.func @mm(%a: tensor<16x8xf32>, %b: tensor<8x4xf32>, %c: tensor<16x4xf32>) -> tensor<16x4xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<16x8xf32>, tensor<8x4xf32>) outs(%c : tensor<16x4xf32>) -> tensor<16x4xf32>
  return %0 : tensor<16x4xf32>
}"""


def test_health_serving(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    for name in ("", "costmodel.v1.CostModelService"):
        resp = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as err:
        stub.Check(health_pb2.HealthCheckRequest(service="nope.v1.Nothing"), timeout=5)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_services(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    req = reflection_pb2.ServerReflectionRequest(list_services="")
    resp = next(iter(stub.ServerReflectionInfo(iter([req]), timeout=5)))
    names = {s.name for s in resp.list_services_response.service}
    assert {"costmodel.v1.CostModelService", "grpc.health.v1.Health"} <= names


def test_analyze_returns_features(channel):
    stub = pb_grpc.CostModelServiceStub(channel)
    resp = stub.Analyze(pb.AnalyzeRequest(mlir=MATMUL, include_ops=True), timeout=30)
    assert resp.total.flops == 2 * 16 * 4 * 8
    assert resp.total.fully_static
    assert resp.total.families["matmul"] == 1
    mm = [o for o in resp.ops if o.name == "linalg.matmul"][0]
    assert list(mm.loops.ranges) == [16, 4, 8]
    assert [(e.producer, e.consumer) for e in resp.edges] == [(mm.index, mm.index + 1)]
    slim = stub.Analyze(pb.AnalyzeRequest(mlir=MATMUL, include_tokens=True), timeout=30)
    assert not slim.ops and "%ssa" in slim.tokens


def test_analyze_onnx_bytes(channel):
    stub = pb_grpc.CostModelServiceStub(channel)
    resp = stub.Analyze(pb.AnalyzeRequest(onnx=mlp_model(), filename="mlp.onnx"), timeout=60)
    assert resp.total.flops >= 2 * 6 * 7 * 10


def test_malformed_ir_is_invalid_argument_with_location(channel):
    stub = pb_grpc.CostModelServiceStub(channel)
    bad = "func.func @f() -> i32 {\n  %0 = arith.addi %x, %x : i32\n  return %0 : i32\n}"
    with pytest.raises(grpc.RpcError) as err:
        stub.Analyze(pb.AnalyzeRequest(mlir=bad, filename="k.mlir"), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "k.mlir:2:19: error: use of undeclared SSA value name" in err.value.details()
    assert "Traceback" not in err.value.details()
    rid = dict(err.value.trailing_metadata())["x-request-id"]
    assert rid in err.value.details()


@pytest.mark.parametrize("req", [pb.AnalyzeRequest(), pb.AnalyzeRequest(mlir=""),
                                 pb.AnalyzeRequest(onnx=b"\x00garbage")])
def test_empty_or_junk_requests_are_invalid_argument(channel, req):
    stub = pb_grpc.CostModelServiceStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.Analyze(req, timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_oversized_message_is_refused(channel):
    stub = pb_grpc.CostModelServiceStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.Analyze(pb.AnalyzeRequest(mlir="x" * (81 * 1024 * 1024)), timeout=30)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_service_process_announces_address_and_stops_on_sigterm():
    env = dict(os.environ, HOST="127.0.0.1", PORT="0")
    proc = subprocess.Popen([sys.executable, "-m", "service"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        assert port > 0
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(),
                                                        timeout=10)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        out = proc.stdout.read()
        assert "stopped" in out
        # The shipped model was timed on some machine: said only when it is not this one.
        from costmodel.dataset.fingerprint import hardware
        from costmodel.model.artifact import read_manifest
        data = read_manifest(CHECKOUT / "models" / "default")["training_data"]
        trained = data.get("hardware_ids") or [data["hardware_id"]]  # several datasets: any
        assert ("note: " in out) == (hardware()["id"] not in trained), out
        # The service's own log stays; IREE's compiler command lines do not reach it.
        err = proc.stderr.read()
        assert "INFO signal 15: draining" in err and "Invoke IREE Tool" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()


def test_hardware_notice_names_both_machines_only_when_they_differ():
    from service.models import hardware_notice
    model = CHECKOUT / "models" / "default"
    td = json.loads((model / "manifest.json").read_text())["training_data"]
    assert hardware_notice(model, {"id": td["hardware_id"]}) is None
    note = hardware_notice(model, {"id": "0123456789abcdef", "iree_target_cpu": "znver9"})
    assert note is not None and td["hardware_id"] in note and "0123456789abcdef" in note
    assert "znver9" in note and td["name"] in note
