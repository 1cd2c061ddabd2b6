"""Python client for the service: deadlines on every call, retries only on UNAVAILABLE.

    from service.client import CostModelClient
    with CostModelClient("127.0.0.1:50051", token="...") as client:
        total = client.analyze(mlir=text).total
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from proto.costmodel.v1 import costmodel_service_pb2 as pb
from proto.costmodel.v1 import costmodel_service_pb2_grpc as pb_grpc

T = TypeVar("T")


class CostModelClient:
    def __init__(self, target: str, *, token: str | None = None,
                 root_certificates: bytes | None = None, client_cert: bytes | None = None,
                 client_key: bytes | None = None, timeout: float = 30.0, retries: int = 4,
                 backoff: float = 0.1, max_backoff: float = 2.0) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive: every call carries a deadline")
        options = [("grpc.max_send_message_length", 80 * 1024 * 1024),
                   ("grpc.max_receive_message_length", 80 * 1024 * 1024)]
        if root_certificates is not None or client_cert is not None:
            creds = grpc.ssl_channel_credentials(root_certificates, client_key, client_cert)
            self.channel = grpc.secure_channel(target, creds, options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout, self.retries = timeout, retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self.costmodel = pb_grpc.CostModelServiceStub(self.channel)
        self.health_stub = health_pb2_grpc.HealthStub(self.channel)

    def _call(self, fn: Callable[..., T], request, timeout: float | None) -> T:
        """Retry UNAVAILABLE (server starting, restarting or unreachable) with jittered
        exponential backoff inside the overall deadline; every other status is final."""
        deadline = time.monotonic() + (timeout or self.timeout)
        delay = self.backoff
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                return fn(request, timeout=remaining, metadata=self.metadata)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt == self.retries:
                    raise
            time.sleep(min(delay * (0.5 + random.random()), max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, self.max_backoff)
        return fn(request, timeout=max(deadline - time.monotonic(), 0.001),
                  metadata=self.metadata)

    def analyze(self, *, mlir: str | None = None, onnx: bytes | None = None,
                filename: str = "", include_ops: bool = False, include_tokens: bool = False,
                timeout: float | None = None) -> pb.AnalyzeResponse:
        if (mlir is None) == (onnx is None):
            raise ValueError("give exactly one of mlir= or onnx=")
        req = pb.AnalyzeRequest(mlir=mlir, filename=filename, include_ops=include_ops,
                                include_tokens=include_tokens) if mlir is not None else \
            pb.AnalyzeRequest(onnx=onnx, filename=filename, include_ops=include_ops,
                              include_tokens=include_tokens)
        return self._call(self.costmodel.Analyze, req, timeout)

    def health(self, service: str = "", timeout: float | None = None) -> int:
        """The HealthCheckResponse status (1 = SERVING)."""
        resp = self._call(self.health_stub.Check, health_pb2.HealthCheckRequest(service=service),
                          timeout)
        return resp.status

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> CostModelClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
