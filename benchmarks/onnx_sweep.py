"""Import every ONNX node-test model the onnx package ships; print the supported share.

    python benchmarks/onnx_sweep.py [--every N] [--workers 2] [--json]

"Supported" means: IREE's importer took the model, the input pipeline lowered it to
linalg, and our front end analyzed the result. Every failure must be a typed error.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from costmodel.cli_args import positive_int  # noqa: E402


def node_models() -> list[Path]:
    import onnx

    root = Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"
    return sorted(root.glob("*/model.onnx"))


def try_model(path: str) -> tuple[str, str, str]:
    """(model name, status, detail): status is ok, import_error or untyped_error."""
    from costmodel.errors import CostModelError
    from costmodel.ir import analyze_text, onnx_to_linalg

    name = Path(path).parent.name
    try:
        text = onnx_to_linalg(Path(path).read_bytes(), filename=name)
        total = analyze_text(text, filename=name).total()
        return name, "ok", f"flops={total['flops']}"
    except CostModelError as exc:
        return name, "import_error", str(exc)[:300]
    except Exception as exc:  # noqa: BLE001 - counted: the sweep exists to find these
        return name, "untyped_error", f"{type(exc).__name__}: {exc}"[:300]


def sweep(paths: list[Path], workers: int = 2, progress: bool = True) -> list[tuple[str, str, str]]:
    import warnings

    warnings.filterwarnings("ignore")
    # spawn, not fork: a parent that already used MLIR holds locks a forked child would inherit.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        it = pool.map(try_model, [str(p) for p in paths], chunksize=4)
        if progress:
            from tqdm import tqdm

            it = tqdm(it, total=len(paths), desc="onnx models", unit="model")
        return list(it)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=positive_int, default=1,
                    help="take every Nth model (default all)")
    ap.add_argument("--workers", type=positive_int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    paths = node_models()[:: args.every]
    t0 = time.perf_counter()
    results = sweep(paths, args.workers, progress=not args.json)
    counts = Counter(status for _, status, _ in results)
    summary = {
        "models": len(results),
        "supported": counts["ok"],
        "supported_share": counts["ok"] / len(results) if results else 0.0,
        "typed_errors": counts["import_error"],
        "untyped_errors": counts["untyped_error"],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
        for name, status, detail in results:
            if status == "untyped_error":
                print(f"  untyped: {name}: {detail}")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
