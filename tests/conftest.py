"""Shared fixtures: a real gRPC server on an ephemeral loopback port."""

from __future__ import annotations

import grpc
import pytest

from service.server import Server


@pytest.fixture(scope="module")
def server():
    srv = Server("127.0.0.1", 0)
    srv.start()
    yield srv
    srv.stop(grace=1.0)


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(server.address) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch
