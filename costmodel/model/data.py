"""A dataset as training arrays: one feature row per feasible main-run sample."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from costmodel.errors import InputError
from costmodel.model.default_configs import resolve_dataset_defaults
from costmodel.model.features import KernelFeatures, feature_matrix, kernel_features, strip_schedule
from costmodel.model.targets import TARGETS
from costmodel.programs.defaults import default_key


@dataclass
class Frame:
    """Aligned arrays over samples (rows of run 'main', feasible)."""

    X: np.ndarray
    y: dict[str, np.ndarray]  # target -> values (nan where missing)
    group: np.ndarray  # group_id strings
    family: np.ndarray
    source: np.ndarray
    model: np.ndarray  # real-model name or ""
    shape: np.ndarray  # shape_json
    is_default: np.ndarray
    data_tiling: np.ndarray
    ukernels: np.ndarray
    flops: np.ndarray  # analytical FLOPs of the kernel
    bytes: np.ndarray  # analytical bytes of the kernel
    pad: np.ndarray  # log padding factor of vector tiles (for the roofline baseline)
    sample_key: np.ndarray
    schedule_json: np.ndarray
    data_hash: str
    repeats: list[dict] = field(default_factory=list)  # rows of 'repeat-*' runs
    #: The timing's confidence interval never reached its target (the machine was busy):
    #: such latency labels are far less repeatable (see ``costmodel noise``).
    noisy: np.ndarray | None = None
    latency_ci_rel: np.ndarray | None = None  # relative CI half-width of the median latency
    #: The IREE target CPU default candidates were resolved for (None: not resolved).
    defaults_target_cpu: str | None = None
    #: Ranking groups where they differ from ``group`` (see ``ranking_group``).
    rank_group: np.ndarray | None = None
    #: True on rows timed on another CPU than the model's (``costmodel train
    #: --transfer-data``): fit rows only, never validation, calibration or test rows.
    transfer: np.ndarray | None = None

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def ranking_group(self) -> np.ndarray:
        """Candidates timed side by side in one collection: ``group``, except that a kernel
        collected in several datasets is one ranking group per dataset (one schedule timed
        in two sessions differs by up to ~25%; pairs across them partly rank the sessions). Held-out splits still go by ``group``: the kernel is held out as one."""
        return self.group if self.rank_group is None else self.rank_group

    def take(self, idx: np.ndarray) -> Frame:
        kw = {}
        for k, v in self.__dict__.items():
            if isinstance(v, np.ndarray):
                kw[k] = v[idx]
            elif k == "y":
                kw[k] = {t: a[idx] for t, a in v.items()}
            else:
                kw[k] = v
        return Frame(**kw)


def load_frame(root: str, *, progress=None) -> Frame:
    """Featurize a dataset. Each kernel's IR is parsed once (schedules stripped)."""
    from costmodel.dataset import load
    from costmodel.model.features import FEATURE_NAMES, N_BASE

    samples, programs, manifest = load(root)
    ir_by_hash = dict(zip(programs.column("ir_hash").to_pylist(),
                          programs.column("ir").to_pylist()))
    rows = samples.to_pylist()
    main = [r for r in rows if r["run"] == "main" and r["feasible"]]
    repeats = [r for r in rows if r["run"] != "main" and r["feasible"]]
    if not main:
        raise InputError(f"{root}: no feasible samples of run 'main' to train on")
    # Key rows by (group, stripped IR) so each kernel is parsed once.
    kernels: dict[str, KernelFeatures] = {}
    stripped_key: dict[str, str] = {}
    order = []
    for r in main:
        h = r["ir_hash"]
        if h not in stripped_key:
            text = strip_schedule(ir_by_hash[h])
            stripped_key[h] = hashlib.sha256(text.encode()).hexdigest()
            if stripped_key[h] not in kernels:
                order.append((stripped_key[h], ir_by_hash[h]))
                kernels[stripped_key[h]] = None  # type: ignore[assignment]
    it = order if progress is None else progress(order, "featurizing kernels")
    for key, text in it:
        kernels[key] = kernel_features(text)
    # Default candidates are featurized by the schedule IREE chose for them (on the CPU the
    # dataset was measured on): resolved once, kept in DATASET/default_configs.json.
    scheds = [json.loads(r["schedule_json"]) for r in main]
    wanted: dict[str, tuple[str, set[str]]] = {}
    for r, sched in zip(main, scheds):
        setting = default_key(sched)
        if setting is not None:
            wanted.setdefault(stripped_key[r["ir_hash"]],
                              (ir_by_hash[r["ir_hash"]], set()))[1].add(setting)
    cpu, configs = resolve_dataset_defaults(root, manifest, wanted, progress=progress)
    for key, resolved in configs.items():
        kernels[key].defaults = {cpu: resolved}
    by_kernel: dict[str, list[int]] = {}
    for i, r in enumerate(main):
        by_kernel.setdefault(stripped_key[r["ir_hash"]], []).append(i)
    X = np.zeros((len(main), len(FEATURE_NAMES)))
    for key, idx in by_kernel.items():
        X[idx] = feature_matrix(kernels[key], [scheds[i] for i in idx], defaults_cpu=cpu)
    y = {}
    for name, t in TARGETS.items():
        y[name] = np.array([np.nan if (v := t.value(r)) is None else v for r in main])
    col = lambda k, d=None: np.array([r[k] if r[k] is not None else d for r in main])  # noqa: E731
    from costmodel.model.features import SCHEDULE_NAMES
    pad_i = N_BASE + SCHEDULE_NAMES.index("sched.log_pad_flops")
    flops_i = FEATURE_NAMES.index("total.log_flops")
    bytes_i = FEATURE_NAMES.index("total.log_bytes")
    digest = hashlib.sha256()
    for r in main:
        digest.update(json.dumps([r["sample_key"], r["ir_hash"], r["latency_median_s"],
                                  r["static_instructions"], r["spills"], r["vmfb_bytes"],
                                  r["instructions"]]).encode())
    return Frame(
        X=X, y=y, group=col("group_id"), family=col("family"), source=col("source"),
        model=col("model", ""), shape=col("shape_json"), is_default=col("is_default").astype(bool),
        data_tiling=col("data_tiling").astype(bool), ukernels=col("ukernels"),
        flops=np.expm1(X[:, flops_i]), bytes=np.expm1(X[:, bytes_i]), pad=X[:, pad_i],
        sample_key=col("sample_key"), schedule_json=col("schedule_json"),
        data_hash=digest.hexdigest(), repeats=repeats,
        noisy=np.array([bool(r.get("noisy")) for r in main]),
        latency_ci_rel=np.array([np.nan if r.get("latency_ci_rel") is None
                                 else float(r["latency_ci_rel"]) for r in main]),
        defaults_target_cpu=cpu)


def group_index(groups: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Integer group codes and the row indices of each group (in first-seen order)."""
    codes: dict[str, int] = {}
    out = np.empty(len(groups), dtype=np.int64)
    for i, g in enumerate(groups):
        out[i] = codes.setdefault(g, len(codes))
    members = [[] for _ in codes]
    for i, c in enumerate(out):
        members[c].append(i)
    return out, [np.asarray(m) for m in members]
