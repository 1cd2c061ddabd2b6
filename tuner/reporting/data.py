"""Studies as plain arrays for reporting, read straight from the store (no strategy replay:
a report must open any study, whatever its strategy code or config version)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuner.errors import InputError, StudyNotFoundError
from tuner.store import Store, StudyRecord, open_storage


@dataclass(frozen=True)
class TrialView:
    number: int
    arm: int
    params: dict[str, Any]
    context: Any
    value: float | None
    censored: bool
    seq: int          # event order of the report (asks and tells interleave)


@dataclass
class StudyView:
    id: int
    name: str
    config: dict[str, Any]
    trials: list[TrialView]           # all asks, in ask order
    done: list[TrialView] = field(default_factory=list)   # reported, in report order

    @property
    def strategy(self) -> str:
        return str(self.config.get("strategy", "?"))

    @property
    def direction(self) -> str:
        return self.config.get("direction", "minimize")

    @property
    def sign(self) -> float:
        """Multiply values by this to get losses (lower is better)."""
        return -1.0 if self.direction == "maximize" else 1.0

    @property
    def kind(self) -> str | None:
        return self.config.get("kind")

    def values(self, *, uncensored: bool = False) -> np.ndarray:
        return np.array([t.value for t in self.done if not (uncensored and t.censored)], float)

    def best(self) -> TrialView | None:
        ok = [t for t in self.done if not t.censored]
        return min(ok, key=lambda t: self.sign * t.value) if ok else None  # type: ignore[operator]

    def param_names(self) -> list[str]:
        space = self.config.get("space", {})
        names = [p.get("name") for p in space.get("params", []) if isinstance(p, dict)]
        names = [n for n in names if n]
        seen = {k for t in self.trials for k in t.params}
        return [n for n in names if n in seen] + sorted(seen - set(names))

    def space_key(self) -> str:
        import json
        return json.dumps(self.config.get("space"), sort_keys=True)


def _view(store: Store, rec: StudyRecord) -> StudyView:
    trials, done = [], []
    for t, m in store.events(rec.id):
        if m is None:
            trials.append(t)
    meas = store.measurements(rec.id)
    views = {t.id: TrialView(t.number, t.arm, dict(t.params), t.context,
                             None if t.id not in meas else float(meas[t.id].value),
                             bool(t.id in meas and meas[t.id].censored),
                             meas[t.id].seq if t.id in meas else t.seq) for t in trials}
    done = sorted((v for v in views.values() if v.value is not None), key=lambda v: v.seq)
    return StudyView(rec.id, rec.name, dict(rec.config), [views[t.id] for t in trials], done)


def load_studies(storage: str | Store, ids: list[str] | None = None, *,
                 all: bool = False) -> list[StudyView]:
    """Studies by name or numeric id (``ids``), or every study of the store (``all``)."""
    store = open_storage(storage, readonly=True)
    records = store.list_studies()
    if all:
        if not records:
            raise StudyNotFoundError(f"no studies in {store.url}")
        return [_view(store, r) for r in records]
    if not ids:
        raise InputError("name a study (name or numeric id) or use --all")
    out = []
    for key in ids:
        rec = next((r for r in records if r.name == key), None)
        if rec is None and key.isdigit():
            rec = next((r for r in records if r.id == int(key)), None)
        if rec is None:
            raise StudyNotFoundError(f"no study {key!r} in {store.url} (names: "
                                     f"{', '.join(r.name for r in records[:10]) or 'none'})")
        out.append(_view(store, rec))
    return out
