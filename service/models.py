"""The models a server can serve: directories under models/, addressed by name or label.

Labels come from models/labels.json ({"stable": "default", "canary": "exp-3"}); without
that file, "stable" means "default". Loaded models are cached; ReloadModel re-reads one.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from pathlib import Path

import grpc

from costmodel.model.artifact import FORMAT, load, read_manifest
from costmodel.model.features import KernelFeatures
from costmodel.model.predictor import CostModel
from service.batching import Batcher
from service.errors import StatusError

DEFAULT_LABELS = {"stable": "default"}


def ir_key(text: str) -> str:
    """Canonical hash of IR text: insensitive to whitespace layout."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def hardware_notice(model_dir: Path, here: dict) -> str | None:
    """One line when the model's training data was timed on other hardware than ``here``
    (``costmodel.dataset.fingerprint.hardware()``), else None: its absolute latencies are
    that machine's. Sessions land on different CPUs, and nothing else would say so."""
    td = read_manifest(model_dir).get("training_data") or {}
    trained = td.get("hardware_id")
    if not trained or here.get("id") in (td.get("hardware_ids") or [trained]):
        return None
    return (f"note: {model_dir} was trained on {td.get('name') or td.get('path') or 'data'} "
            f"timed on hardware {trained} (IREE host {td.get('defaults_target_cpu') or '?'}); "
            f"this machine is {here.get('id')} ({here.get('iree_target_cpu') or '?'}), so its "
            "absolute latencies are the other machine's")


def _is_cost_model(manifest: Path) -> bool:
    """models/ also holds the memory agent and the schedule prior: list cost models only
    (an unreadable manifest stays listed, so loading it reports what is wrong)."""
    try:
        fmt = json.loads(manifest.read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        return True
    return fmt is None or fmt == FORMAT


class ModelRegistry:
    def __init__(self, root: str | Path = "models", *, stable: str | None = None,
                 cache_size: int = 1024) -> None:
        self.root = Path(root)
        self.stable = stable  # overrides the "stable" label (MODEL=models/NAME)
        self._models: dict[str, CostModel] = {}
        self._lock = threading.Lock()
        self._kernels = _LRU(cache_size)
        self._batchers: dict[int, Batcher] = {}
        self._predictions = _LRU(4 * cache_size)
        # Directory scans and labels.json reads are cached: they cost more than a prediction.
        self._names: tuple[float, list[str]] | None = None
        self._labels: tuple[int, dict[str, str], float] | None = None

    def labels(self, *, max_age_s: float = 1.0) -> dict[str, str]:
        cached = self._labels
        now = time.monotonic()
        # A stat per call costs more than a cached prediction: re-check at most once a second.
        if cached is not None and now - cached[2] < max_age_s:
            return dict(cached[1])
        path = self.root / "labels.json"
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = -1
        if cached is not None and cached[0] == stamp:
            self._labels = (stamp, cached[1], now)
            return dict(cached[1])
        labels = dict(DEFAULT_LABELS)
        if stamp >= 0:
            try:
                labels = {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
            except (OSError, ValueError, AttributeError):
                pass
        if self.stable:
            labels["stable"] = self.stable
        self._labels = (stamp, labels, now)
        return dict(labels)

    def names(self, *, max_age_s: float = 2.0) -> list[str]:
        cached = self._names
        now = time.monotonic()
        if cached is not None and now - cached[0] < max_age_s:
            return cached[1]
        names = (sorted(p.parent.name for p in self.root.glob("*/manifest.json")
                        if _is_cost_model(p)) if self.root.is_dir() else [])
        self._names = (now, names)
        return names

    def resolve(self, name_or_label: str) -> str:
        key = name_or_label or "stable"
        name = self.labels().get(key, key)
        if name not in self.names():
            # A miss re-reads labels and rescans at once, so a model added a moment ago is found.
            name = self.labels(max_age_s=0.0).get(key, key)
        if name not in self.names() and name not in self.names(max_age_s=0.0):
            raise StatusError(grpc.StatusCode.NOT_FOUND,
                              f"no model {key!r} under {self.root}/ (have: "
                              f"{', '.join(self.names()) or 'none'})")
        return name

    def get(self, name_or_label: str) -> tuple[str, CostModel]:
        name = self.resolve(name_or_label)
        with self._lock:
            model = self._models.get(name)
        if model is None:
            model = load(self.root / name)  # outside the lock: loading takes a while
            with self._lock:
                model = self._models.setdefault(name, model)
        return name, model

    def reload(self, name_or_label: str) -> str:
        self.labels(max_age_s=0.0)  # an explicit reload sees label edits at once
        name = self.resolve(name_or_label)
        model = load(self.root / name)
        with self._lock:
            self._models[name] = model
            self._kernels.clear()
            self._predictions.clear()
        return name

    def batcher(self, name: str, model: CostModel) -> Batcher:
        """The micro-batcher of this loaded model (a reload gets a fresh one)."""
        with self._lock:
            b = self._batchers.get(id(model))
            if b is None:
                b = self._batchers[id(model)] = Batcher(model)
            return b

    def info(self, name: str) -> dict:
        m = read_manifest(self.root / name)
        labels = sorted(k for k, v in self.labels().items() if v == name)
        return {"name": name, "labels": labels, "feature_schema": m.get("feature_schema", ""),
                "targets": list(m.get("targets", [])),
                "training_data_hash": str(m.get("training_data", {}).get("hash", ""))}

    def cached_prediction(self, key: tuple) -> object | None:
        """A stored response for (model, canonical IR hash, schedules, targets), or None."""
        return self._predictions.get(key)

    def store_prediction(self, key: tuple, response: object) -> None:
        self._predictions.put(key, response)

    def kernel(self, model: CostModel, text: str, key: str | None = None) -> KernelFeatures:
        """Kernel features, cached by a canonical hash of the IR (whitespace-insensitive), so
        repeated queries about one kernel skip parsing."""
        key = key or ir_key(text)
        hit = self._kernels.get(key)
        if hit is None:
            hit = model.kernel(text)  # outside the lock: parsing takes a while
            self._kernels.put(key, hit)
        return hit


class _LRU:
    """A thread-safe least-recently-used map of bounded size."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object) -> object | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: object, value: object) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
