"""Shared fixtures: a real gRPC server on an ephemeral loopback port."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from costmodel.cli import main as costmodel_main
from costmodel.collect import collect, synthetic_items
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


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """A small real dataset: matmul and transpose groups, really compiled and timed."""
    out = tmp_path_factory.mktemp("data") / "tiny"
    items = synthetic_items(["matmul", "transpose"], 28, schedules_per_group=7, seed=3)
    collect(items, str(out), workers=1, time_cap_s=0.2, progress=False)
    return out


@pytest.fixture(scope="session")
def model_dir(dataset, tmp_path_factory) -> Path:
    """A model trained on ``dataset`` with `costmodel train`."""
    out = tmp_path_factory.mktemp("models") / "tiny"
    assert costmodel_main(["train", "--data", str(dataset), "--out", str(out), "--quiet"]) == 0
    return out
