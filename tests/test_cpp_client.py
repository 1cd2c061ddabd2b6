"""A C++ client built from our protos with Debian's gRPC calls a real server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HAVE_TOOLCHAIN = (shutil.which("grpc_cpp_plugin") and shutil.which("protoc")
                  and subprocess.run(["pkg-config", "--exists", "grpc++"]).returncode == 0
                  if shutil.which("pkg-config") else False)

pytestmark = pytest.mark.skipif(
    not HAVE_TOOLCHAIN,
    reason="needs Debian's protobuf-compiler-grpc, libgrpc++-dev, libprotobuf-dev, pkg-config "
           "(.ci/run installs them)")

MATMUL = """func.func @mm(%a: tensor<16x8xf32>, %b: tensor<8x4xf32>, %c: tensor<16x4xf32>) -> tensor<16x4xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<16x8xf32>, tensor<8x4xf32>) outs(%c : tensor<16x4xf32>) -> tensor<16x4xf32>
  return %0 : tensor<16x4xf32>
}
"""


@pytest.fixture(scope="module")
def client_binary() -> Path:
    res = subprocess.run(["make", "-C", str(ROOT / "clients" / "cpp")], capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return ROOT / "build" / "cpp" / "costmodel_client"


def _server(env_extra: dict) -> tuple[subprocess.Popen, int]:
    """`python -m service` in a subprocess on an ephemeral port."""
    env = dict(os.environ, HOST="127.0.0.1", PORT="0", **env_extra)
    proc = subprocess.Popen([sys.executable, "-m", "service"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on "), line
    return proc, int(line.rsplit(":", 1)[1])


def test_cpp_client_health_analyze_and_predict(client_binary, tmp_path, model_dir):
    f = tmp_path / "mm.mlir"
    f.write_text(MATMUL)
    proc, port = _server({"TOKEN": "cpp-token", "MODEL": str(model_dir)})
    try:
        ok = subprocess.run([str(client_binary), f"127.0.0.1:{port}", str(f), "cpp-token"],
                            capture_output=True, text=True, timeout=60)
        assert ok.returncode == 0, ok.stderr
        assert "health SERVING" in ok.stdout
        assert f"flops {2 * 16 * 4 * 8} " in ok.stdout
        line = [ln for ln in ok.stdout.splitlines() if ln.startswith("predict ")][0]
        assert line.startswith("predict latency ") and line.endswith(f"model {model_dir.name}")
        assert float(line.split()[2]) > 0
        denied = subprocess.run([str(client_binary), f"127.0.0.1:{port}", str(f), "nope"],
                                capture_output=True, text=True, timeout=60)
        assert denied.returncode == 1
        assert "code 16" in denied.stderr  # UNAUTHENTICATED
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_cpp_load_client_measures_predict(client_binary, tmp_path, model_dir):
    """The load generator behind benchmarks/grpc_load.py: real calls, real figures, and a
    refused token shows up as a failure rather than as throughput."""
    load = client_binary.parent / "costmodel_load"
    assert load.exists()
    f = tmp_path / "mm.mlir"
    f.write_text(MATMUL)
    proc, port = _server({"TOKEN": "load-token", "MODEL": str(model_dir)})
    try:
        ok = subprocess.run([str(load), f"127.0.0.1:{port}", str(f), "30", "8", "0.5",
                             "load-token"], capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0, ok.stderr
        out = json.loads(ok.stdout)
        assert out["errors"] == 0 and out["calls"] == 30
        assert 0 < out["p50_ms"] <= out["p99_ms"]
        assert out["qps"] > 0 and out["seconds"] >= 0.5
        denied = subprocess.run([str(load), f"127.0.0.1:{port}", str(f), "5", "2", "0.2", "bad"],
                                capture_output=True, text=True, timeout=60)
        assert denied.returncode == 1 and "code 16" in denied.stderr
        bad = subprocess.run([str(load), f"127.0.0.1:{port}", str(f), "0", "2", "0.2"],
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "must be" in bad.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
