"""Predict latency and throughput against a real server: `python benchmarks/grpc_load.py`.

Starts `python -m service` on an ephemeral loopback port with MODEL (default
models/default), then measures
  * single-client Predict latency for a one-op kernel (p50, p99) over --calls calls,
  * QPS with --concurrency calls in flight for --seconds seconds,
and writes benchmarks/results/grpc_load.json. Goals (2-core machine): p50 <= 1 ms,
p99 <= 5 ms, >= 2,000 QPS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from proto.costmodel.v1 import costmodel_service_pb2 as pb  # noqa: E402
from proto.costmodel.v1 import costmodel_service_pb2_grpc as pb_grpc  # noqa: E402

ONE_OP = """func.func @add(%a: tensor<256xf32>, %b: tensor<256xf32>) -> tensor<256xf32> {
  %0 = arith.addf %a, %b : tensor<256xf32>
  return %0 : tensor<256xf32>
}
"""


def start_server(model: str) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, HOST="127.0.0.1", PORT="0", MODEL=model, STORE="memory:")
    proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.environ.get("MODEL", "models/default"))
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    proc, address = start_server(args.model)
    try:
        channel = grpc.insecure_channel(address)
        stub = pb_grpc.CostModelServiceStub(channel)
        req = pb.PredictRequest(mlir=ONE_OP)
        for _ in range(20):  # warm up: first call loads the model and parses the kernel
            stub.Predict(req, timeout=60)
        lat = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            stub.Predict(req, timeout=10)
            lat.append(time.perf_counter() - t0)
        lat_ms = np.array(lat) * 1e3

        done = 0
        errors = 0
        lock = threading.Lock()
        stop = time.perf_counter() + args.seconds
        sem = threading.Semaphore(args.concurrency)

        def finished(fut) -> None:
            nonlocal done, errors
            with lock:
                if fut.exception() is None:
                    done += 1
                else:
                    errors += 1
            sem.release()

        t0 = time.perf_counter()
        while time.perf_counter() < stop:
            sem.acquire()
            stub.Predict.future(req, timeout=30).add_done_callback(finished)
        for _ in range(args.concurrency):  # drain
            sem.acquire()
        elapsed = time.perf_counter() - t0
        result = {
            "p50_ms": round(float(np.percentile(lat_ms, 50)), 3),
            "p99_ms": round(float(np.percentile(lat_ms, 99)), 3),
            "calls": args.calls,
            "qps": round(done / elapsed, 1),
            "concurrency": args.concurrency,
            "errors": errors,
            "seconds": round(elapsed, 2),
            "model": args.model,
            "goals": {"p50_ms": 1.0, "p99_ms": 5.0, "qps": 2000},
        }
        out = ROOT / "benchmarks" / "results" / "grpc_load.json"
        out.write_text(json.dumps(result, indent=1) + "\n")
        for k, v in result.items():
            print(f"{k}: {v}")
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
