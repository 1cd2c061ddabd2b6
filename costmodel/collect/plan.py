"""What to measure: a deterministic list of work items, so a resumed run plans the same set."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np

from costmodel.errors import InputError


@dataclass(frozen=True)
class WorkItem:
    """One (program, schedule, compile options) to compile and time."""

    key: str  # sample_key: unique per program, schedule, options and run
    run: str
    group_id: str
    family: str
    source: str  # "synthetic" | "real_model"
    shape: dict
    schedule: dict  # Schedule.to_dict()
    is_default: bool
    pipeline: str | None
    data_tiling: bool
    ukernels: bool
    extra_flags: tuple[str, ...] = ()
    model: str | None = None
    dispatch: str | None = None
    entry: str | None = None
    fixed_inputs: tuple = field(default=())  # e.g. the repeat count of dispatch benchmarks
    ir: str | None = None  # stored IR to re-measure as is (noise runs)

    def render(self) -> str:
        """The MLIR text to compile (re-rendered in the worker: items stay small to ship)."""
        if self.ir is not None:
            return self.ir
        if self.source == "real_model":
            from costmodel.programs import real_model_dispatches
            for d in real_model_dispatches(self.model):
                if d.name == self.dispatch:
                    return d.mlir
            raise InputError(f"model {self.model} has no dispatch {self.dispatch}")
        from costmodel.programs import FAMILIES, Schedule
        fam = FAMILIES[self.family]
        return fam.render(self.shape, Schedule.from_dict(self.schedule))


def sample_key(run: str, group_id: str, schedule: dict) -> str:
    blob = json.dumps([run, group_id, schedule], sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:20]


def _family_rng(seed: int, family: str) -> np.random.Generator:
    digest = hashlib.sha1(f"{seed}:{family}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


#: Loop extents of an aligned shape are multiples of this: 16 f32 lanes of an AVX-512
#: vector. Real models' dimensions are (96, 192, 384 ...); the plain draw rounds only a
#: third of the extents, to multiples of 8, so shapes aligned in every dimension are rare.
ALIGN = 16


def synthetic_items(families: list[str], samples: int, *, schedules_per_group: int = 12,
                    seed: int = 0, run: str = "main",
                    aligned_share: float = 0.0) -> list[WorkItem]:
    """About ``samples`` items spread evenly over ``families``; groups of candidate schedules.

    Items are interleaved across families and groups, so a run stopped early still has a
    balanced dataset. ``aligned_share`` of the groups (in expectation) get shapes whose
    loop extents are all multiples of ALIGN; with 0 the plan is exactly the one earlier
    versions made, so their datasets still resume.
    """
    if not 0.0 <= aligned_share <= 1.0:
        raise InputError(f"aligned share must be between 0 and 1, got {aligned_share}")
    from costmodel.programs import FAMILIES, sample_schedules

    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise InputError(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    if samples <= 0 or schedules_per_group <= 0:
        raise InputError("--samples and --schedules-per-group must be positive")
    per_family = math.ceil(samples / len(families))
    groups_per_family = max(1, math.ceil(per_family / schedules_per_group))
    per_family_groups: list[list[list[WorkItem]]] = []
    for name in families:
        fam = FAMILIES[name]
        rng = _family_rng(seed, name)
        # A stream of its own, so the main draws are unchanged when aligned_share is 0.
        coin = _family_rng(seed, f"{name}:aligned")
        groups: list[list[WorkItem]] = []
        seen: set[str] = set()
        for _ in range(groups_per_family * 4):
            if len(groups) >= groups_per_family:
                break
            align = ALIGN if aligned_share and coin.random() < aligned_share else None
            shape = fam.sample_shape(rng, align=align)
            gid = fam.group_id(shape)
            if gid in seen:
                continue
            seen.add(gid)
            items = []
            for s in sample_schedules(fam, shape, rng, schedules_per_group):
                d = s.to_dict()
                items.append(WorkItem(
                    key=sample_key(run, gid, d), run=run, group_id=gid, family=name,
                    source="synthetic", shape=dict(shape), schedule=d, is_default=s.is_default,
                    pipeline=s.pipeline, data_tiling=s.data_tiling, ukernels=s.ukernels,
                    extra_flags=tuple(fam.extra_flags)))
            groups.append(items)
        per_family_groups.append(groups)
    # Round-robin: group g of every family, then group g+1, ...
    out: list[WorkItem] = []
    for g in range(groups_per_family):
        for groups in per_family_groups:
            if g < len(groups):
                out.extend(groups[g])
    return out


#: Flag settings each real-model dispatch is measured under (IREE's own schedules).
DISPATCH_VARIANTS = ((False, False), (True, False), (True, True), (False, True))


def real_model_items(models: list[str], *, run: str = "main") -> list[WorkItem]:
    from costmodel.programs import REAL_MODELS, real_model_dispatches

    unknown = [m for m in models if m not in REAL_MODELS]
    if unknown:
        raise InputError(f"unknown real models {unknown}; known: {', '.join(REAL_MODELS)}")
    out = []
    for model in models:
        for d in real_model_dispatches(model):
            for dt, uk in DISPATCH_VARIANTS:
                sched = {"pipeline": None, "levels": {}, "peeling": False, "data_tiling": dt,
                         "ukernels": uk}
                out.append(WorkItem(
                    key=sample_key(run, d.group_id, sched), run=run, group_id=d.group_id,
                    family=f"dispatch:{d.kind}", source="real_model", shape={}, schedule=sched,
                    is_default=True, pipeline=d.default_pipeline, data_tiling=dt, ukernels=uk,
                    model=model, dispatch=d.name, entry=d.entry, fixed_inputs=(1,)))
    return out
