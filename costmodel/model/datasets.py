"""Several datasets of one machine type as one training frame (`--data A,B`).

The learning curve says each doubling of the data is worth about +0.04 within-group tau, and
one collection is a session's work: collections of the same CPU (and IREE build), made on
different hosts or days, add up. Latencies of different CPUs do not mix in --data: they are
refused there. ``--transfer-data`` adds another CPU's datasets as training rows marked by the
feature ``data.other_cpu``, which keeps the two CPUs' costs apart in the trees."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from costmodel.errors import InputError
from costmodel.model.data import Frame, load_frame
from costmodel.model.features import FEATURE_NAMES, OTHER_CPU

#: What must agree between datasets trained on together (their hardware ids may differ: the
#: id hashes the hypervisor's CPU flags too, which change between hosts of one CPU model).
SAME_HARDWARE = ("cpu_model", "machine", "iree_version", "iree_target_cpu")


def data_paths(text: str) -> list[str]:
    """``--data``: a dataset directory, or several joined by commas."""
    paths = [p.strip() for p in str(text).split(",")]
    if not all(paths):
        raise InputError(f"--data {text!r}: an empty dataset path in the comma list")
    seen: dict[str, str] = {}
    for p in paths:
        key = str(Path(p).resolve())
        if key in seen:
            raise InputError(f"--data {text!r}: {p!r} is the same dataset as {seen[key]!r} "
                             "(its rows would count twice)")
        seen[key] = p
    return paths


def check_same_hardware(paths: Sequence[str], manifests: Sequence[dict]) -> None:
    """Refuse datasets timed on different CPUs or compiled by different IREE builds."""
    first = manifests[0].get("hardware", {})
    for p, m in zip(paths[1:], manifests[1:]):
        hw = m.get("hardware", {})
        diff = [k for k in SAME_HARDWARE if hw.get(k) != first.get(k)]
        if diff:
            says = ", ".join(f"{k} {first.get(k)!r} vs {hw.get(k)!r}" for k in diff)
            raise InputError(f"--data: {paths[0]} and {p} were measured on different "
                             f"hardware ({says}); their latencies do not mix in one model: "
                             "train on datasets of one CPU")


def load_manifests(paths: Sequence[str]) -> list[dict]:
    """Each dataset's validated manifest (a DatasetError names a bad one)."""
    from costmodel.dataset import load as load_dataset

    return [load_dataset(p)[2] for p in paths]


def load_frames(paths: Sequence[str], *, progress=None) -> Frame:
    """One dataset's frame, or the rows of several of one machine type, in order. Group ids
    stay as collected: a kernel in two datasets is one group (held out as one)."""
    if len(paths) == 1:
        return load_frame(paths[0], progress=progress)
    check_same_hardware(paths, load_manifests(paths))
    return concat_frames([load_frame(p, progress=progress) for p in paths],
                         names=[Path(p).name for p in paths])


def _ranking_groups(frames: Sequence[Frame], names: Sequence[str]
                    ) -> tuple[np.ndarray | None, list[list[dict]]]:
    """Ranking groups of the concatenated frames, and each frame's repeats to match: a group
    id found in more than one frame becomes "<id>@<name>" in each (None: no id is shared)."""
    ids = [set(map(str, f.ranking_group)) for f in frames]
    shared = {g for i, a in enumerate(ids) for b in ids[i + 1:] for g in a & b}
    if not shared:
        if all(f.rank_group is None for f in frames):
            return None, [f.repeats for f in frames]
        # Frames that already rank within their own groups keep them.
        return (np.concatenate([f.ranking_group.astype(object) for f in frames]),
                [f.repeats for f in frames])
    groups, repeats = [], []
    for f, name in zip(frames, names):
        g = f.ranking_group.astype(object)
        hit = np.isin(g.astype(str), sorted(shared))
        g[hit] = [f"{x}@{name}" for x in g[hit]]
        groups.append(g)
        repeats.append([{**r, "group_id": f"{r['group_id']}@{name}"}
                        if str(r.get("group_id")) in shared else r for r in f.repeats])
    return np.concatenate(groups), repeats


def concat_frames(frames: Sequence[Frame], names: Sequence[str] | None = None) -> Frame:
    """The frames' rows in order. ``names`` (default: their positions) label the ranking
    groups of kernels that more than one frame holds (``Frame.ranking_group``)."""
    cpus = {f.defaults_target_cpu for f in frames}
    if len(cpus) > 1:
        raise InputError("--data: default schedules resolved for different CPUs "
                         f"{sorted(map(str, cpus))}")
    kw: dict = {}
    for k, v in frames[0].__dict__.items():
        if k in ("repeats", "rank_group"):
            continue  # below
        if isinstance(v, np.ndarray):
            kw[k] = np.concatenate([getattr(f, k) for f in frames])
        elif k == "y":
            kw[k] = {t: np.concatenate([f.y[t] for f in frames]) for t in v}
        elif k == "data_hash":   # one dataset keeps its own hash (models record it)
            kw[k] = hashlib.sha256("+".join(f.data_hash for f in frames).encode()).hexdigest()
        else:
            kw[k] = v
    names = [str(i) for i in range(len(frames))] if names is None else list(names)
    kw["rank_group"], repeats = _ranking_groups(frames, names)
    kw["repeats"] = [r for rs in repeats for r in rs]
    return Frame(**kw)


def check_transfer(paths: Sequence[str], own: Sequence[dict]) -> list[dict]:
    """The manifests of --transfer-data's datasets, refusing invalid ones and any of
    --data's own hardware (whose manifests are ``own``; such a dataset belongs in --data).
    Cheap, so commands call it before any featurizing."""
    manifests = load_manifests(paths)
    mine = own[0].get("hardware", {}) if own else {}
    for p, m in zip(paths, manifests):
        hw = m.get("hardware", {})
        if all(hw.get(k) == mine.get(k) for k in SAME_HARDWARE):
            raise InputError(f"--transfer-data: {p} was measured on the same hardware as "
                             f"--data ({mine.get('cpu_model')!r}, IREE target "
                             f"{mine.get('iree_target_cpu')!r}); add it to --data instead")
    return manifests


def load_transfer(paths: Sequence[str], *, progress=None) -> list[Frame]:
    """``--transfer-data``: datasets timed on other CPUs than ``--data`` (checked by
    ``check_transfer`` first), each a frame of rows marked ``transfer``, with the feature
    ``data.other_cpu`` set to 1. A dataset's ranking groups stay its own
    (``<group>@<dataset>``): the ranking head pairs only candidates timed side by side on
    one CPU."""
    frames = []
    names = [Path(p).name for p in paths]
    for i, p in enumerate(paths):
        f = load_frame(p, progress=progress)
        name = names[i] if names.count(names[i]) == 1 else f"{names[i]}#{i}"
        f.rank_group = np.asarray([f"{g}@{name}" for g in f.ranking_group], dtype=object)
        f.transfer = np.ones(len(f), dtype=bool)
        f.X[:, FEATURE_NAMES.index(OTHER_CPU)] = 1.0
        frames.append(f)
    return frames


def with_transfer(frame: Frame, transfer: Sequence[Frame]) -> Frame:
    """``frame``'s rows followed by the ``transfer`` frames' (``load_transfer``). The result
    keeps ``frame``'s data hash, repeats and defaults CPU: metrics, noise ceilings and models'
    records are of --data; the transfer rows only add training rows."""
    if not transfer:
        return frame
    cpu = frame.defaults_target_cpu
    parts = [frame] + [replace(f, defaults_target_cpu=cpu) for f in transfer]
    both = concat_frames([replace(p, rank_group=None, transfer=None, repeats=[])
                          for p in parts])
    both.rank_group = np.concatenate([p.ranking_group.astype(object) for p in parts])
    both.transfer = np.concatenate([np.zeros(len(frame), dtype=bool)]
                                   + [np.ones(len(f), dtype=bool) for f in transfer])
    both.repeats = frame.repeats
    both.data_hash = frame.data_hash
    return both


def transfer_record(paths: Sequence[str], manifests: Sequence[dict],
                    frames: Sequence[Frame]) -> dict:
    """What a model's manifest says about its --transfer-data (``manifests``: from
    ``check_transfer``)."""
    return {"path": ",".join(paths), "rows": int(sum(len(f) for f in frames)),
            "groups": int(sum(len(set(f.group)) for f in frames)),
            "hash": hashlib.sha256("+".join(f.data_hash for f in frames).encode()).hexdigest(),
            "datasets": [{"path": p, "name": m.get("name"), "rows": len(f),
                          "hardware_id": m.get("hardware", {}).get("id"),
                          "iree_target_cpu": m.get("hardware", {}).get("iree_target_cpu")}
                         for p, m, f in zip(paths, manifests, frames)]}
