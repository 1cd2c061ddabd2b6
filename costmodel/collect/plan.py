"""What to measure: a deterministic list of work items, so a resumed run plans the same set."""

from __future__ import annotations

import hashlib
import json
import math
import os
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
    root_index: int | None = None  # real dispatch with an explicit schedule: its root op

    def render(self) -> str:
        """The MLIR text to compile (re-rendered in the worker: items stay small to ship)."""
        if self.ir is not None:
            return self.ir
        if self.source == "real_model":
            from costmodel.programs import real_model_dispatches
            for d in real_model_dispatches(self.model):
                if d.name == self.dispatch:
                    return d.mlir if self.root_index is None else _with_schedule(
                        d.mlir, self.root_index, self.schedule)
            raise InputError(f"model {self.model} has no dispatch {self.dispatch}")
        from costmodel.programs import FAMILIES, Schedule
        fam = FAMILIES[self.family]
        return fam.render(self.shape, Schedule.from_dict(self.schedule))


def _with_schedule(mlir: str, root_index: int, schedule: dict) -> str:
    """A dispatch module with IREE's schedules stripped and ``schedule`` on its root."""
    from costmodel.programs import Schedule
    from costmodel.programs.dispatch_target import attach_compilation_info
    from costmodel.programs.dispatches import strip_schedules

    return attach_compilation_info(strip_schedules(mlir), root_index,
                                   Schedule.from_dict(schedule).to_attr())


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
                    seed: int = 0, run: str = "main", aligned_share: float = 0.0,
                    target_cpu: str = "host") -> list[WorkItem]:
    """About ``samples`` items spread evenly over ``families``; groups of candidate schedules.

    Items are interleaved across families and groups, so a run stopped early still has a
    balanced dataset. ``aligned_share`` of the groups (in expectation) get shapes whose
    loop extents are all multiples of ALIGN; with 0 the plan is exactly the one earlier
    versions made, so their datasets still resume. Schedules are drawn within the vector
    size of ``target_cpu`` (IREE's name; "host": this machine), so the plan depends on it.
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
            for s in sample_schedules(fam, shape, rng, schedules_per_group,
                                      target_cpu=target_cpu):
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


def real_model_items(models: list[str], *, run: str = "main", schedules: int = 0,
                     seed: int = 0, progress: bool = False) -> list[WorkItem]:
    """Every dispatch of ``models`` under IREE's own schedules (DISPATCH_VARIANTS), plus
    ``schedules`` sampled schedules of its root in the same group, so the dataset has
    real dispatches whose candidates differ in tiling and pipeline, not only in flags.

    Sampling asks the compiler for the dispatch's root and default (two quick compiles);
    dispatches whose root drops explicit schedules, and plain copies, keep only the
    variants. The draw is seeded per dispatch, so a resumed run plans the same items.
    """
    from costmodel.programs import REAL_MODELS, real_model_dispatches

    unknown = [m for m in models if m not in REAL_MODELS]
    if unknown:
        raise InputError(f"unknown real models {unknown}; known: {', '.join(REAL_MODELS)}")
    if isinstance(schedules, bool) or not isinstance(schedules, int) or schedules < 0:
        raise InputError(f"schedules per dispatch must be an integer >= 0, got {schedules!r}")
    dispatches = [d for model in models for d in real_model_dispatches(model)]
    bar = None
    if progress and schedules:
        from tqdm import tqdm
        bar = tqdm(total=len(dispatches), desc="plan dispatch schedules", unit="dispatch",
                   dynamic_ncols=True)
    out = []
    for d in dispatches:
        for dt, uk in DISPATCH_VARIANTS:
            sched = {"pipeline": None, "levels": {}, "peeling": False, "data_tiling": dt,
                     "ukernels": uk}
            out.append(_dispatch_item(d, run, sched, is_default=True,
                                      pipeline=d.default_pipeline))
        if schedules:
            out.extend(_sampled_dispatch_items(d, schedules, run=run, seed=seed))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


def _sampled_dispatch_items(d, n: int, *, run: str, seed: int) -> list[WorkItem]:
    from costmodel.programs.dispatch_space import DispatchSpace
    from costmodel.programs.dispatch_target import COPY_KINDS

    if d.kind in COPY_KINDS or d.name.startswith("_initializer"):
        return []
    target = _dispatch_target(d)
    if target is None:
        return []
    rng = _family_rng(seed, f"dispatch:{d.model}:{d.name}")
    return [_dispatch_item(d, run, s.to_dict(), is_default=False, pipeline=s.pipeline,
                           root_index=target.root_index)
            for s in DispatchSpace(target).candidates(n, rng)]


def _dispatch_target(d):
    """The dispatch's schedule target, or None when it has no schedulable root (no single
    root op, or IREE rewrites the root and drops explicit configs).

    Finding out costs two compiles per dispatch, and a resumed or extended collect plans the
    same dispatches again, so the answer is cached per module text, IREE build and host CPU."""
    from costmodel.dataset.fingerprint import hardware
    from costmodel.errors import CostModelError
    from costmodel.ir.native import cache_dir
    from costmodel.programs.dispatch_target import (analyze_dispatch, schedule_sticks,
                                                    target_from_json, target_to_json)

    hw = hardware()   # IREE's default schedule depends on its build and the host CPU
    key = hashlib.sha256("\0".join((hw["iree_version"], str(hw["iree_target_cpu"]), d.name,
                                     d.entry or "", d.mlir)).encode())
    path = cache_dir() / "dispatch-targets" / f"{key.hexdigest()[:32]}.json"
    try:
        t = json.loads(path.read_text())
        return target_from_json(t, d.mlir, d.entry) if t["sticks"] else None
    except (OSError, ValueError, KeyError, TypeError):
        pass   # not cached yet, or a damaged entry: ask the compiler again
    try:
        target = analyze_dispatch(d.mlir, name=d.name, entry=d.entry)
        t = target_to_json(target, schedule_sticks(target))
    except CostModelError:
        target, t = None, {"sticks": False}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(t))
        os.replace(tmp, path)
    except OSError:
        pass   # an unwritable cache only costs the compiles next time
    return target if t["sticks"] else None


def _dispatch_item(d, run: str, schedule: dict, *, is_default: bool, pipeline: str | None,
                   root_index: int | None = None) -> WorkItem:
    """One candidate of a real dispatch's group: a benchmark module called with repeat 1."""
    return WorkItem(
        key=sample_key(run, d.group_id, schedule), run=run, group_id=d.group_id,
        family=f"dispatch:{d.kind}", source="real_model", shape={}, schedule=schedule,
        is_default=is_default, pipeline=pipeline, data_tiling=schedule["data_tiling"],
        ukernels=schedule["ukernels"], model=d.model, dispatch=d.name, entry=d.entry,
        fixed_inputs=(1,), root_index=root_index)
