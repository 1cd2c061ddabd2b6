"""IREE's default schedules for a dataset's kernels, resolved once and kept beside it.

``DATASET/default_configs.json`` maps each kernel (sha256 of its IR with schedules stripped)
and ukernels setting to the schedule IREE's heuristics chose, for the CPU the dataset was
measured on. The heuristics depend on the target CPU (vector width), so the file records
it: a dataset measured on another CPU than this one is resolved for *its* CPU, not ours.
Resolving is one ``--compile-to=executable-configurations`` per kernel (~0.2 s); later
loads read the file. A dataset directory that cannot be written is resolved in memory.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

FILE = "default_configs.json"
FORMAT = "costmodel-default-configs"


def dataset_target_cpu(manifest: Mapping) -> str | None:
    """The IREE target CPU the dataset's latencies were measured for, when known."""
    return (manifest.get("hardware") or {}).get("iree_target_cpu")


def resolve_dataset_defaults(root: str | os.PathLike, manifest: Mapping,
                             wanted: Mapping[str, tuple[str, set[str]]], *,
                             progress: Callable | None = None) -> tuple[str | None, dict]:
    """``wanted``: kernel key -> (IR text, ukernels settings needed). Returns the target
    CPU and key -> {setting: schedule dict or None}; ``(None, {})`` when the dataset does
    not say which CPU it was measured on (its default candidates then stay unresolved)."""
    from costmodel.dataset.fingerprint import hardware
    from costmodel.programs.defaults import resolve_default

    cpu = dataset_target_cpu(manifest)
    if cpu is None:
        return None, {}
    iree = hardware()["iree_version"]
    path = Path(root) / FILE
    configs: dict[str, dict] = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            if (data.get("format"), data.get("target_cpu"), data.get("iree_version")) == \
                    (FORMAT, cpu, iree):
                configs = data.get("configs") or {}
        except (OSError, ValueError):
            configs = {}  # unreadable: resolve again and rewrite it
    todo = [(k, s) for k, (_, settings) in wanted.items() for s in sorted(settings)
            if s not in configs.get(k, {})]
    if todo:
        it = todo if progress is None else progress(todo, "resolving IREE defaults")
        for key, setting in it:
            configs.setdefault(key, {})[setting] = resolve_default(
                wanted[key][0], setting, target_cpu=cpu)
        try:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"format": FORMAT, "target_cpu": cpu,
                                       "iree_version": iree, "configs": configs},
                                      sort_keys=True, indent=0))
            os.replace(tmp, path)
        except OSError as exc:
            print(f"note: could not save {path}: {exc}", file=sys.stderr)
    return cpu, {k: configs.get(k, {}) for k in wanted}
