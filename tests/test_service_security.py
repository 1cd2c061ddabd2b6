"""Tokens, TLS and mutual TLS on a real server; the client's retry and deadline policy."""

from __future__ import annotations

import socket
import subprocess
import threading
import time

import grpc
import pytest

from service.client import CostModelClient
from service.config import ServerConfig, TLSConfig
from service.server import Server

MLIR = "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n  return %a : tensor<4xf32>\n}"


def _serve(**kw) -> Server:
    srv = Server(config=ServerConfig(port=0, **kw))
    srv.start()
    return srv


def test_token_accept_and_reject():
    srv = _serve(token="s3cret-token")
    try:
        with CostModelClient(srv.address, token="s3cret-token", timeout=20) as ok:
            assert ok.analyze(mlir=MLIR).total.n_ops == 2
        for bad in (None, "wrong-token", "s3cret-token-but-longer"):
            with CostModelClient(srv.address, token=bad, timeout=20) as client:
                with pytest.raises(grpc.RpcError) as err:
                    client.analyze(mlir=MLIR)
                assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
                assert client.health() == 1  # health stays open for probes
    finally:
        srv.stop(0.5)


def _openssl(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        (d / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
                 "-out", f"{name}.pem", cwd=d)
    return {p.name: p.read_bytes() for p in d.iterdir() if p.suffix in (".pem", ".key")}


def test_tls(pki):
    srv = _serve(tls=TLSConfig(pki["server.pem"], pki["server.key"]))
    try:
        with CostModelClient(srv.address, root_certificates=pki["ca.pem"], timeout=20) as c:
            assert c.analyze(mlir=MLIR).total.n_ops == 2
        with CostModelClient(srv.address, timeout=3, retries=0) as plain:  # no TLS: refused
            with pytest.raises(grpc.RpcError) as err:
                plain.analyze(mlir=MLIR)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        srv.stop(0.5)


def test_mutual_tls_requires_a_client_certificate(pki):
    srv = _serve(tls=TLSConfig(pki["server.pem"], pki["server.key"], client_ca=pki["ca.pem"]))
    try:
        with CostModelClient(srv.address, root_certificates=pki["ca.pem"],
                             client_cert=pki["client.pem"], client_key=pki["client.key"],
                             timeout=20) as c:
            assert c.analyze(mlir=MLIR).total.n_ops == 2
        with CostModelClient(srv.address, root_certificates=pki["ca.pem"], timeout=3,
                             retries=0) as anon:
            with pytest.raises(grpc.RpcError) as err:
                anon.analyze(mlir=MLIR)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        srv.stop(0.5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_client_retries_unavailable_until_the_server_comes_up():
    port = _free_port()
    holder = {}

    def start_later():
        time.sleep(1.0)
        holder["srv"] = Server(config=ServerConfig(port=port))
        holder["srv"].start()

    t = threading.Thread(target=start_later)
    t.start()
    try:
        with CostModelClient(f"127.0.0.1:{port}", timeout=20, retries=10, backoff=0.2) as c:
            assert c.analyze(mlir=MLIR).total.n_ops == 2
    finally:
        t.join()
        holder["srv"].stop(0.5)


def test_client_does_not_retry_other_errors_and_always_has_a_deadline():
    srv = _serve()
    calls = []
    try:
        with CostModelClient(srv.address, timeout=5) as c:
            real = c.costmodel.Analyze

            def counting(request, timeout=None, metadata=None):
                calls.append(timeout)
                return real(request, timeout=timeout, metadata=metadata)

            c.costmodel.Analyze = counting
            with pytest.raises(grpc.RpcError) as err:
                c.analyze(mlir="not mlir")
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert len(calls) == 1 and 0 < calls[0] <= 5
    finally:
        srv.stop(0.5)
    with CostModelClient(f"127.0.0.1:{_free_port()}", timeout=1.5, retries=3, backoff=0.05) as c:
        t0 = time.monotonic()
        with pytest.raises(grpc.RpcError) as err:
            c.analyze(mlir=MLIR)
        assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        assert time.monotonic() - t0 < 5
