"""The latency regression head's base margin: the log of the calibrated roofline.

The latency head fits log(latency) - log(roofline), not log(latency). Trees predict a
piecewise-constant function, so on its own a head cannot extrapolate to kernels larger or
smaller than it saw; the roofline carries the scale (FLOPs, bytes, padding) and the trees
learn the efficiency. Measured with `costmodel eval` on datasets/cpu-v2 (see README).

The offset is computed from the model's preprocessed feature columns, so every path that
has those (the native predictor, the numpy forest, the ONNX graph) computes the same value.
Columns are widened from float32 (what XGBoost and the ONNX input see) before the math.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from costmodel.model.baselines import roofline_latency
from costmodel.model.errors import ArtifactError

FLOPS, BYTES, PAD = "total.log_flops", "total.log_bytes", "sched.log_pad_flops"
#: Targets whose regression head uses the offset (the roofline models time only).
OFFSET_TARGETS = ("latency",)


@dataclass(frozen=True)
class RooflineOffset:
    """log(max(flops * exp(pad) / peak, bytes / bandwidth) + overhead) over kept columns,
    floored at baselines.FLOOR_S: the log of baselines.roofline_latency on the kept columns."""

    flops_col: int  # indices into the preprocessed (kept) columns
    bytes_col: int
    pad_col: int
    peak_flops_per_s: float
    bandwidth_bytes_per_s: float
    overhead_s: float = 0.0  # fixed cost of a dispatch (seconds)

    @classmethod
    def for_columns(cls, names: list[str], machine: dict | None) -> RooflineOffset | None:
        """The offset over these kept columns, or None when a column was dropped (constant
        in the training data) or no machine calibration is at hand."""
        if not machine or any(c not in names for c in (FLOPS, BYTES, PAD)):
            return None
        return cls(names.index(FLOPS), names.index(BYTES), names.index(PAD),
                   float(machine["peak_flops_per_s"]), float(machine["bandwidth_bytes_per_s"]),
                   float(machine.get("dispatch_overhead_s", 0.0)))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        c = np.asarray(X[:, [self.flops_col, self.bytes_col, self.pad_col]],
                       dtype=np.float32).astype(np.float64)
        # exp(x) - 1, not expm1: the ONNX graph has no Expm1 and must match bit for bit.
        return np.log(roofline_latency(np.exp(c[:, 0]) - 1.0, np.exp(c[:, 1]) - 1.0, c[:, 2],
                                       self.machine))

    @property
    def machine(self) -> dict:
        return {"peak_flops_per_s": self.peak_flops_per_s,
                "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s,
                "dispatch_overhead_s": self.overhead_s}

    def to_json(self, names: list[str]) -> dict:
        return {"kind": "log_roofline", "columns": {"flops": names[self.flops_col],
                                                    "bytes": names[self.bytes_col],
                                                    "pad": names[self.pad_col]},
                "peak_flops_per_s": self.peak_flops_per_s,
                "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s,
                "overhead_s": self.overhead_s}

    @classmethod
    def from_json(cls, d: dict | None, names: list[str]) -> RooflineOffset | None:
        if d is None:
            return None
        try:
            if d["kind"] != "log_roofline":
                raise ArtifactError(f"unknown regression offset kind {d['kind']!r}")
            cols = d["columns"]
            return cls(names.index(cols["flops"]), names.index(cols["bytes"]),
                       names.index(cols["pad"]), float(d["peak_flops_per_s"]),
                       float(d["bandwidth_bytes_per_s"]), float(d.get("overhead_s", 0.0)))
        except (KeyError, ValueError, TypeError) as exc:
            raise ArtifactError(f"malformed regression offset {d!r}: {exc}") from None
