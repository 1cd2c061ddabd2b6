"""The iteration table: solver iterations for every (instance, omega) of a sequence.

Each entry is an independent solve, so the whole table is computed at once by the batched
stencil kernels and cached on disk as .npz (numpy arrays only, loaded with
allow_pickle=False), keyed by setting, T, seed, grid of omegas and a kernel version.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tuner.solver.instances import OMEGAS, Sequence as InstanceSequence, make_sequence
from tuner.solver.stencil import sor_iterations, ssor_pcg_iterations

TABLE_VERSION = 1


@dataclass(frozen=True)
class Table:
    setting: str
    iterations: np.ndarray   # (T, K) int; maxiter + 1 where the cap was hit
    contexts: np.ndarray     # (T,)
    omegas: np.ndarray       # (K,)
    maxiter: int

    @property
    def cost(self) -> np.ndarray:
        """Iterations paid: a censored run costs the cap."""
        return np.minimum(self.iterations, self.maxiter)


def default_cache_dir() -> Path:
    env = os.environ.get("TUNER_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "costmodel-tuner" / "solver"


def compute_table(seq: InstanceSequence, omegas: Sequence[float] = OMEGAS,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
    T, K = len(seq), len(omegas)
    t_idx = np.repeat(np.arange(T), K)
    w = np.tile(np.asarray(omegas, dtype=float), T)
    if seq.method == "sor":
        it = sor_iterations(seq.d[t_idx], seq.a[t_idx], w, seq.b[t_idx], seq.grid,
                            tol=seq.tol, maxiter=seq.maxiter, progress=progress)
    else:
        it = ssor_pcg_iterations(seq.d[t_idx], seq.a[t_idx], w, seq.b[t_idx], seq.grid,
                                 tol=seq.tol, maxiter=seq.maxiter)
        if progress is not None:
            progress(T * K)
    return it.reshape(T, K)


def load_table(setting: str, T: int, seed: int, *, omegas: Sequence[float] = OMEGAS,
               cache_dir: Path | None = None, progress: Callable[[int], None] | None = None) -> Table:
    cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
    key = hashlib.sha256(np.asarray(omegas, dtype=float).tobytes()).hexdigest()[:10]
    path = cache_dir / f"{setting}-T{T}-seed{seed}-w{key}-v{TABLE_VERSION}.npz"
    if path.is_file():
        try:
            table = _read_cached(path, setting, T, omegas)
        except Exception as exc:  # noqa: BLE001 -- zlib.error, BadZipFile, EOFError, ...
            # Only a cache: a damaged file (a full disk, a copy cut short, a flipped bit) is
            # recomputed, whatever numpy or zipfile make of it.
            print(f"warning: iteration table {path} is unreadable "
                  f"({type(exc).__name__}: {exc}); recomputing it", file=sys.stderr)
        else:
            if progress is not None:
                progress(T * len(omegas))
            return table
    seq = make_sequence(setting, T, seed)
    it = compute_table(seq, omegas, progress)
    table = Table(setting, it, seq.contexts, np.asarray(omegas, dtype=float), seq.maxiter)
    save_table(path, table)
    return table


def _read_cached(path: Path, setting: str, T: int, omegas: Sequence[float]) -> Table:
    with np.load(path, allow_pickle=False) as z:
        table = Table(setting, np.asarray(z["iterations"]), np.asarray(z["contexts"]),
                      np.asarray(z["omegas"]), int(z["maxiter"]))
    if table.iterations.shape != (T, len(omegas)) or table.contexts.shape[:1] != (T,):
        raise ValueError(f"shapes {table.iterations.shape} and {table.contexts.shape}, "
                         f"expected {(T, len(omegas))} and ({T}, ...)")
    if not np.array_equal(table.omegas, np.asarray(omegas, dtype=float)):
        raise ValueError("its omegas are not this grid's")
    return table


def save_table(path: Path, table: Table) -> None:
    """Write ``table`` to ``path`` atomically: a uniquely named temporary file in the same
    directory, then a rename, so a killed run or a concurrent writer never leaves a
    half-written table under the cache's name. A cache that cannot be written (read-only,
    full) only costs recomputation next time."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        tmp = Path(name)
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, iterations=table.iterations, contexts=table.contexts,
                                omegas=np.asarray(table.omegas, dtype=float),
                                maxiter=np.int64(table.maxiter))
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
