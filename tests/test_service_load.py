"""Concurrency on a real server: many clients succeed together; overload is refused cleanly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc

from benchmarks.featurize_module import make_module
from proto.costmodel.v1 import costmodel_service_pb2 as pb
from proto.costmodel.v1 import costmodel_service_pb2_grpc as pb_grpc
from service.config import ServerConfig
from service.server import Server

SMALL = """func.func @f(%a: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<64xf32> {
  %0 = arith.mulf %a, %b : tensor<64xf32>
  return %0 : tensor<64xf32>
}"""


def test_fifty_concurrent_clients_without_errors(server):
    def client(i: int) -> int:
        with grpc.insecure_channel(server.address) as ch:
            stub = pb_grpc.CostModelServiceStub(ch)
            total = 0
            for _ in range(4):
                total += stub.Analyze(pb.AnalyzeRequest(mlir=SMALL, filename=f"c{i}"),
                                      timeout=60).total.flops
            return total

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(client, range(50)))
    assert results == [4 * 64] * 50


def test_overload_is_resource_exhausted():
    srv = Server(config=ServerConfig(port=0, max_concurrent_rpcs=1, max_workers=1))
    srv.start()
    big = make_module(3000)
    try:
        with grpc.insecure_channel(srv.address) as ch:
            stub = pb_grpc.CostModelServiceStub(ch)

            def call(_):
                try:
                    stub.Analyze(pb.AnalyzeRequest(mlir=big), timeout=60)
                    return "ok"
                except grpc.RpcError as exc:
                    return exc.code()

            with ThreadPoolExecutor(12) as pool:
                codes = list(pool.map(call, range(12)))
    finally:
        srv.stop(0.5)
    assert "ok" in codes
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    assert set(codes) <= {"ok", grpc.StatusCode.RESOURCE_EXHAUSTED}
