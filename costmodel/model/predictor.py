"""The in-process API: ``costmodel.load(path).predict(ir, schedules=[...])``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from costmodel.errors import InputError
from costmodel.model.errors import SchemaMismatchError
from costmodel.model.features import (N_FEATURES, KernelFeatures, feature_matrix,
                                      kernel_features, schedule_matrix)
from costmodel.model.forest import SMALL_BATCH
from costmodel.model.heads import TargetHeads
from costmodel.model.intervals import interval
from costmodel.model.preprocess import Preprocessor


@dataclass
class Prediction:
    """Predictions for n candidates. Arrays are indexed like the given schedules."""

    values: dict[str, np.ndarray]  # target -> predicted value (seconds, counts, bytes)
    lower: dict[str, np.ndarray]  # target -> lower end of the predictive interval
    upper: dict[str, np.ndarray]
    rank_cost: dict[str, np.ndarray]  # target -> ordering score, lower is better
    coverage: float  # nominal interval coverage, e.g. 0.9

    def __len__(self) -> int:
        return len(next(iter(self.values.values())))

    def best(self, target: str = "latency", k: int = 1) -> list[int]:
        """Indices of the k candidates the model ranks best for ``target``."""
        if not isinstance(target, str) or target not in self.rank_cost:
            raise InputError(f"target must be one of the predicted targets "
                             f"{list(self.rank_cost)}; no prediction for target {target!r}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be an integer >= 1, got {k!r}")
        return [int(i) for i in np.argsort(self.rank_cost[target], kind="stable")[:k]]

    def to_dict(self) -> dict:
        return {t: {"value": self.values[t].tolist(), "lower": self.lower[t].tolist(),
                    "upper": self.upper[t].tolist(), "rank_cost": self.rank_cost[t].tolist()}
                for t in self.values}


def _one_kernel(X: np.ndarray, n_kernel: int) -> bool:
    """Whether every row has row 0's kernel columns (the last row is checked first: rows
    of several kernels usually differ there, and the full pass is then skipped)."""
    if len(X) <= SMALL_BATCH or not n_kernel:
        return False  # few rows take the numpy forest, which gains nothing from it
    K = X[:, :n_kernel]
    return bool(np.array_equal(K[-1], K[0]) and (K == K[0]).all())


class CostModel:
    """A trained model: preprocessing, per-target heads, and its manifest."""

    def __init__(self, pre: Preprocessor, heads: dict[str, TargetHeads], manifest: dict) -> None:
        self.pre = pre
        self.heads = heads
        self.manifest = manifest

    @property
    def targets(self) -> list[str]:
        return list(self.heads)

    @property
    def defaults_cpu(self) -> str | None:
        """The target CPU the model saw IREE's defaults resolved for (None: it saw them
        unresolved, and scores them so)."""
        return (self.manifest.get("training_data") or {}).get("defaults_target_cpu")

    def kernel(self, ir: str) -> KernelFeatures:
        """Parse the IR once; pass the result as ``kernel=`` to score many schedule lists."""
        if not isinstance(ir, str):
            raise InputError(f"ir must be MLIR text (str), got {type(ir).__name__}")
        return kernel_features(ir)

    def features(self, ir: str | KernelFeatures, schedules: Sequence) -> np.ndarray:
        k = ir if isinstance(ir, KernelFeatures) else self.kernel(ir)
        return feature_matrix(k, schedules, defaults_cpu=self.defaults_cpu)

    def predict(self, ir: str | None = None, schedules: Sequence | None = None, *,
                targets: Sequence[str] | str | None = None, kernel: KernelFeatures | dict | None = None,
                features: np.ndarray | None = None, ranking: bool = True) -> Prediction:
        """Predict targets for candidate schedules of one kernel.

        Give ``ir`` (MLIR text; any compilation_info in it is ignored) or ``kernel`` (from
        :meth:`kernel`, or its ``to_dict()``) together with ``schedules`` (Schedule objects,
        ``Schedule.to_dict()`` dicts or their JSON), or give precomputed raw ``features``
        rows (shape (n, N_FEATURES), e.g. from :meth:`features`). The IR is parsed once,
        however many schedules there are. ``schedules=None`` scores IREE's default schedule.
        """
        names = self._targets(targets)
        if not isinstance(ranking, (bool, np.bool_)):
            raise InputError(f"ranking must be True or False, got {ranking!r}")
        if features is not None and (ir is not None or kernel is not None
                                     or schedules is not None):
            raise InputError("give features= alone, or ir= / kernel= with schedules=; "
                             "not both (features rows already hold the schedules)")
        if ir is not None and kernel is not None:
            raise InputError("give ir= or kernel=, not both")
        if features is None:
            if kernel is None:
                if ir is None:
                    raise InputError("predict needs ir=, kernel= or features=")
                kernel = self.kernel(ir)
            elif isinstance(kernel, dict):
                try:
                    kernel = KernelFeatures.from_dict(kernel)
                except (KeyError, TypeError, ValueError, SchemaMismatchError) as e:
                    raise InputError(f"kernel= is not a KernelFeatures.to_dict() object "
                                     f"({type(e).__name__}: {e})") from None
            elif not isinstance(kernel, KernelFeatures):
                raise InputError(f"kernel= takes model.kernel(ir) or its to_dict(), "
                                 f"got {type(kernel).__name__}")
            sm = schedule_matrix(kernel, schedules if schedules is not None else [{}],
                                 defaults_cpu=self.defaults_cpu)
            X = self.pre.transform_parts(kernel.base, sm)
        else:
            try:
                features = np.asarray(features, dtype=np.float64)
            except (TypeError, ValueError) as e:
                raise InputError(f"features must be a numeric (n, {N_FEATURES}) array: {e}"
                                 ) from None
            if features.ndim != 2 or features.shape[1] != N_FEATURES:
                raise InputError(f"features must have shape (n, {N_FEATURES}), "
                                 f"got {features.shape}")
            X = self.pre.transform(features)
        # Rows of one kernel let the trees be specialized to it (specialize.py); given
        # features= rows, check that they are (the kernel's columns come first).
        one = features is None or _one_kernel(X, self.pre.n_kernel)
        vals, lo, hi, rc = {}, {}, {}, {}
        for t in names:
            h = self.heads[t]
            z, rc[t] = h.predict_log_and_cost(X, ranking=ranking, one_kernel=one)
            vals[t] = h.target.inverse(z)
            lo[t], hi[t] = interval(z, h.half_width(X, one_kernel=features is None),
                                    h.target.inverse)
        alpha = next(iter(self.heads.values())).alpha
        return Prediction(vals, lo, hi, rc, 1.0 - alpha)

    def _targets(self, targets) -> list[str]:
        if targets is None:
            return self.targets
        if isinstance(targets, str):
            names = [targets]
        elif isinstance(targets, Sequence) and all(isinstance(t, str) for t in targets):
            names = list(targets)
        else:
            raise InputError(f"targets must be a target name or a list of them, got {targets!r}")
        if not names:
            raise InputError(f"targets is empty; give a target name or a list of them "
                             f"from {self.targets}")
        missing = [t for t in names if t not in self.heads]
        if missing:
            raise InputError(f"model has no head for {missing}; it predicts {self.targets}")
        return names
