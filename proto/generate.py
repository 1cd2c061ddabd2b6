"""Regenerate the Python gRPC stubs from the .proto files: `python -m proto.generate`.

Stubs are committed so that installs need no protoc; tests/test_proto_stubs.py fails
when they are stale. Paths are relative to the repository root so generated imports
read `from proto.costmodel.v1 import ...`.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def proto_files() -> list[Path]:
    return sorted((ROOT / "proto").rglob("*.proto"))


def generate(out_dir: Path = ROOT) -> list[Path]:
    from grpc_tools import protoc  # dev dependency: grpcio-tools

    include = Path(protoc.__file__).parent / "_proto"
    files = [str(p.relative_to(ROOT)) for p in proto_files()]
    args = ["protoc", f"-I{ROOT}", f"-I{include}", f"--python_out={out_dir}",
            f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}", *files]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return sorted(out_dir.joinpath("proto").rglob("*_pb2*.py*"))


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT):
        print(path)
