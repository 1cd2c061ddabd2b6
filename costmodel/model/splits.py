"""Evaluation splits. Each split is a list of folds (train indices, test indices).

* ``random_within_groups``: rows of every group (>= 4 rows) are dealt to K folds, so test
  candidates come from kernels whose other schedules were seen in training.
* ``unseen_shapes``: whole candidate groups (an op at one shape) are held out, K-fold.
* ``unseen_families``: whole synthetic op families are held out (with the real-model
  dispatches of the same kind, ``dispatch:<family>``), K-fold over families.
* ``unseen_models``: all dispatches of held-out real models, K-fold over models.

A split that the data cannot support (e.g. one family only) is reported as unavailable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel.model.data import Frame
from costmodel.model.novelty import family_root

SPLITS = ("random_within_groups", "unseen_shapes", "unseen_families", "unseen_models")


@dataclass
class Split:
    name: str
    folds: list[tuple[np.ndarray, np.ndarray]]
    held_out: list[list[str]]  # what each fold holds out (groups, families, models)
    unavailable: str | None = None


def _kfold_units(units: list[str], k: int, rng: np.random.Generator) -> list[list[str]]:
    order = [units[i] for i in rng.permutation(len(units))]
    k = min(k, len(order))
    return [order[i::k] for i in range(k)]


def _by_units(name: str, unit_of: np.ndarray, units: list[str], k: int,
              rng: np.random.Generator, *, extra=None) -> Split:
    folds, held = [], []
    for chunk in _kfold_units(units, k, rng):
        test = np.isin(unit_of, chunk)
        if extra is not None:
            test |= extra(chunk)
        if test.all() or not test.any():
            continue
        folds.append((np.flatnonzero(~test), np.flatnonzero(test)))
        held.append(sorted(map(str, chunk)))  # plain str: the report prints the list
    return Split(name, folds, held)


def make_split(name: str, frame: Frame, *, k: int = 3, seed: int = 0) -> Split:
    """The split's folds. Rows of other CPUs (``frame.transfer``) are never tested: the
    folds are made on this CPU's rows, and each fold trains on every transfer row that does
    not share its held-out kernels, families or models."""
    if frame.transfer is None or not frame.transfer.any():
        return _make_split(name, frame, k=k, seed=seed)
    own = np.flatnonzero(~frame.transfer)
    sp = _make_split(name, frame.take(own), k=k, seed=seed)
    extra = np.flatnonzero(frame.transfer)
    folds = []
    for tr, te in sp.folds:
        te = own[te]
        if name == "unseen_shapes":
            clash = np.isin(frame.group[extra], frame.group[te])
        elif name == "unseen_families":
            held = {family_root(f) for f in set(frame.family[te])}
            clash = np.isin([family_root(f) for f in frame.family[extra]], sorted(held))
        elif name == "unseen_models":
            models = sorted({m for m in frame.model[te] if m})
            clash = np.isin(frame.model[extra], models) & (frame.source[extra] == "real_model")
        else:  # random_within_groups: the test kernels' other schedules train anyway
            clash = np.zeros(len(extra), dtype=bool)
        folds.append((np.concatenate([own[tr], extra[~clash]]), te))
    return Split(sp.name, folds, sp.held_out, sp.unavailable)


def _make_split(name: str, frame: Frame, *, k: int = 3, seed: int = 0) -> Split:
    rng = np.random.default_rng(seed)
    n = len(frame)
    if name == "random_within_groups":
        fold_of = np.full(n, -1)
        for g in sorted(set(frame.group)):
            idx = np.flatnonzero(frame.group == g)
            if len(idx) < 4:
                continue  # too small to split: training only
            perm = idx[rng.permutation(len(idx))]
            fold_of[perm] = np.arange(len(idx)) % k
        folds = [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)
                 if (fold_of == f).any()]
        if not folds:
            return Split(name, [], [], "no group has 4 or more feasible samples")
        return Split(name, folds, [["rows"] for _ in folds])
    if name == "unseen_shapes":
        groups = sorted(set(frame.group))
        if len(groups) < 2:
            return Split(name, [], [], "fewer than 2 candidate groups")
        return _by_units(name, frame.group, groups, k, rng)
    if name == "unseen_families":
        synth = sorted(set(frame.family[frame.source == "synthetic"]))
        if len(synth) < 2:
            return Split(name, [], [], f"needs 2+ synthetic families, have {len(synth)}")
        return _by_units(name, frame.family, synth, k, rng,
                         extra=lambda ch: np.isin(frame.family, [f"dispatch:{c}" for c in ch]))
    if name == "unseen_models":
        models = sorted({m for m, s in zip(frame.model, frame.source) if s == "real_model" and m})
        if len(models) < 2:
            return Split(name, [], [], f"needs 2+ real models, have {len(models)}")
        return _by_units(name, np.where(frame.source == "real_model", frame.model, ""),
                         models, k, rng)
    raise ValueError(f"unknown split {name}; known: {SPLITS}")


def holdout_groups(groups: np.ndarray, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """Partition row indices by whole groups: one index array per fraction plus the rest.

    Falls back to a row-level split when there are too few groups to hold any out.
    """
    rng = np.random.default_rng(seed)
    uniq = sorted(set(groups))
    n_units = len(uniq)
    if n_units >= 2 * (len(fractions) + 1):
        unit_of = groups
        units = [uniq[i] for i in rng.permutation(n_units)]
    else:
        unit_of = np.arange(len(groups)).astype(str)
        units = [str(i) for i in rng.permutation(len(groups))]
    out, start = [], 0
    for f in fractions:
        m = max(1, int(round(f * len(units))))
        out.append(np.flatnonzero(np.isin(unit_of, units[start:start + m])))
        start += m
    out.append(np.flatnonzero(np.isin(unit_of, units[start:])))
    return out
